/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A faithful copy of an overlay upper directory (snapshots, restores, copies
 * of instances): owners, modes, times, xattrs (trusted.overlay.* among them,
 * so opaque directories and redirects survive), whiteouts (0:0 character
 * devices), hard links (by inode), symlinks and fifos.  File data is cloned
 * (FICLONE) where the filesystem can, otherwise copied in the kernel
 * (copy_file_range).  With a shift, owners (and the ids inside POSIX ACLs and
 * v3 file capabilities) inside the source range move to the target range.
 *
 * Both trees belong to hull (an instance's upper dir may hold anything the
 * instance wrote, but it is never reached through a path string): the walk
 * opens every entry relative to its parent's fd with O_NOFOLLOW and never
 * crosses a mount point.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "storage/storage.h"
#include "util/file.h"
#include "util/str.h"

#define MAX_DEPTH 512

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path; /* relative to the target root */
};

struct copy {
	int dst_root;
	dev_t dev; /* of the source root: the walk stays on it */
	const struct hull_storage_idshift *shift;
	struct link_seen *links;
	size_t n_links;
	char where[4096]; /* the entry being copied, for errors */
};

static uint32_t shift_id(uint32_t id, uint32_t from, uint32_t to, uint32_t count)
{
	return id >= from && id - from < count ? to + (id - from) : id;
}

static uid_t new_uid(const struct copy *c, uid_t u)
{
	return c->shift ? shift_id(u, c->shift->from_uid, c->shift->to_uid, c->shift->count) : u;
}

static gid_t new_gid(const struct copy *c, gid_t g)
{
	return c->shift ? shift_id(g, c->shift->from_gid, c->shift->to_gid, c->shift->count) : g;
}

/* Shifts the ids inside an ACL or a v3 capability xattr (in place). */
static void shift_xattr(const struct copy *c, const char *name, char *v, size_t len)
{
	if (!c->shift)
		return;
	if (streq(name, "system.posix_acl_access") || streq(name, "system.posix_acl_default")) {
		/* u32 version, then { u16 tag, u16 perm, u32 id } entries */
		for (size_t off = 4; off + 8 <= len; off += 8) {
			uint16_t tag;
			uint32_t id;

			memcpy(&tag, v + off, 2);
			memcpy(&id, v + off + 4, 4);
			tag = le16toh(tag);
			id = le32toh(id);
			if (tag == 0x02) /* ACL_USER */
				id = new_uid(c, id);
			else if (tag == 0x08) /* ACL_GROUP */
				id = new_gid(c, id);
			else
				continue;
			id = htole32(id);
			memcpy(v + off + 4, &id, 4);
		}
	} else if (streq(name, "security.capability") && len == 24) {
		/* vfs_ns_cap_data: magic_etc, 2 x {permitted, inheritable}, rootid */
		uint32_t id;

		memcpy(&id, v + 20, 4);
		id = htole32(new_uid(c, le32toh(id)));
		memcpy(v + 20, &id, 4);
	}
}

/* Copies every xattr of src_dir/name to dst_dir/name (not following a final symlink). */
static int copy_xattrs(const struct copy *c, int src_dir, const char *sname, int dst_dir,
		       const char *dname)
{
	char sp[PATH_MAX], dp[PATH_MAX], list[65536], value[65536];
	ssize_t n;

	/* the directory fd's magic link, then one name not followed: never a path string */
	snprintf(sp, sizeof(sp), "/proc/self/fd/%d/%s", src_dir, sname);
	snprintf(dp, sizeof(dp), "/proc/self/fd/%d/%s", dst_dir, dname);
	n = llistxattr(sp, list, sizeof(list));
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (char *k = list; k < list + n; k += strlen(k) + 1) {
		ssize_t len = lgetxattr(sp, k, value, sizeof(value));

		if (len < 0) {
			if (errno == ENODATA)
				continue;
			return -errno;
		}
		shift_xattr(c, k, value, (size_t)len);
		if (lsetxattr(dp, k, value, (size_t)len, 0) < 0)
			return -errno;
	}
	return 0;
}

static int copy_data(int src, int dst, off_t size)
{
	off_t done = 0;

	if (ioctl(dst, FICLONE, src) == 0)
		return 0;
	while (done < size) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)(size - done), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 &&
		    (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
			char buf[65536];

			n = RETRY_EINTR(read(src, buf, sizeof(buf)));
			if (n > 0 && hull_write_all(dst, buf, (size_t)n) < 0)
				return -errno;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	return 0;
}

/* Owner, mode (not for symlinks), xattrs; times are set last by the caller. */
static int set_meta(const struct copy *c, int src_dir, int dst_dir, const char *n,
		    const struct stat *st)
{
	int r;

	if (fchownat(dst_dir, n, new_uid(c, st->st_uid), new_gid(c, st->st_gid),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* after the chown, which clears set-id bits */
	if (!S_ISLNK(st->st_mode) && fchmodat(dst_dir, n, st->st_mode & 07777, 0) < 0)
		return -errno;
	r = copy_xattrs(c, src_dir, n, dst_dir, n);
	if (r < 0)
		return r;
	return 0;
}

static int set_times(int dst_dir, const char *n, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	return utimensat(dst_dir, n, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static const char *link_find(const struct copy *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_links; i++)
		if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
			return c->links[i].path;
	return NULL;
}

static int link_add(struct copy *c, const struct stat *st, const char *path)
{
	struct link_seen *l = reallocarray(c->links, c->n_links + 1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	c->links = l;
	l[c->n_links].path = strdup(path);
	if (!l[c->n_links].path)
		return -ENOMEM;
	l[c->n_links].dev = st->st_dev;
	l[c->n_links].ino = st->st_ino;
	c->n_links++;
	return 0;
}

static int copy_entry(struct copy *c, int src, int dst, const char *n, const char *rel,
		      unsigned depth);

static int copy_dir(struct copy *c, int src, int dst, const char *rel, unsigned depth)
{
	struct dirent *de;
	DIR *d;
	int r;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	r = hull_opendir_dup(src, &d);
	if (r < 0)
		return r;
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (streq_dots(de->d_name))
			continue;
		path = *rel ? hull_strdup_printf("%s/%s", rel, de->d_name) : strdup(de->d_name);
		if (!path) {
			r = -ENOMEM;
			break;
		}
		r = copy_entry(c, src, dst, de->d_name, path, depth);
	}
	if (r >= 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}

static int copy_entry(struct copy *c, int src, int dst, const char *n, const char *rel,
		      unsigned depth)
{
	_cleanup_close_ int s = -EBADF, t = -EBADF;
	const char *first;
	struct stat st;
	int r = 0;

	snprintf(c->where, sizeof(c->where), "%s", rel);
	if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && (first = link_find(c, &st))) {
		/* a hard link to a name already copied */
		return linkat(c->dst_root, first, dst, n, 0) < 0 ? -errno : 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != c->dev)
			return -EXDEV; /* a mount point inside: never crossed */
		if (mkdirat(dst, n, 0700) < 0)
			return -errno;
		s = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || t < 0)
			return -errno;
		r = copy_dir(c, s, t, rel, depth + 1);
		if (r < 0)
			return r;
		snprintf(c->where, sizeof(c->where), "%s", rel);
	} else if (S_ISREG(st.st_mode)) {
		s = openat(src, n, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		t = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s < 0 || t < 0)
			return -errno;
		r = copy_data(s, t, st.st_size);
		if (r < 0)
			return r;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(src, n, target, sizeof(target) - 1);

		if (len < 0)
			return -errno;
		target[len] = '\0';
		if (symlinkat(target, dst, n) < 0)
			return -errno;
	} else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		if (mknodat(dst, n, (st.st_mode & S_IFMT) | 0600, 0) < 0)
			return -errno;
	} else if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		/* an overlay whiteout: a file deleted from the lower layer */
		if (mknodat(dst, n, S_IFCHR | 0600, makedev(0, 0)) < 0)
			return -errno;
	} else {
		/* an unprivileged instance cannot make device nodes: not ours */
		return -EPERM;
	}
	r = set_meta(c, src, dst, n, &st);
	if (r >= 0)
		r = set_times(dst, n, &st);
	if (r >= 0 && !S_ISDIR(st.st_mode) && st.st_nlink > 1)
		r = link_add(c, &st, rel);
	return r;
}

int hull_storage_copy(int src_dirfd, int dst_dirfd, const struct hull_storage_idshift *shift,
		      struct hull_error **reterr)
{
	struct copy c = { .dst_root = dst_dirfd, .shift = shift };
	struct stat st;
	int r;

	if (fstat(src_dirfd, &st) < 0)
		return hull_error_errno(reterr, -errno, "copy: stat the source");
	c.dev = st.st_dev;
	r = copy_dir(&c, src_dirfd, dst_dirfd, "", 0);
	if (r >= 0) {
		c.where[0] = '\0';
		r = set_meta(&c, src_dirfd, dst_dirfd, ".", &st);
	}
	if (r >= 0)
		r = set_times(dst_dirfd, ".", &st);
	for (size_t i = 0; i < c.n_links; i++)
		free(c.links[i].path);
	free(c.links);
	if (r < 0) {
		if (r == -EPERM && *c.where)
			return hull_error_errno(reterr, r, "copy '%s': not a file hull copies",
						c.where);
		return hull_error_errno(reterr, r, "copy '%s'", *c.where ? c.where : ".");
	}
	if (syncfs(dst_dirfd) < 0)
		return hull_error_errno(reterr, -errno, "copy: sync");
	return 0;
}
