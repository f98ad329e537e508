/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tar unpacking into an fd of the image root.
 *
 * Every entry name is checked (no absolute names, no '..'), then its parent
 * directory is resolved from the root fd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS), so neither a name nor a symlink the archive made
 * earlier can lead outside the tree; the entry itself is created relative to
 * that parent fd with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW.  A hostile entry is
 * refused, never silently rewritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/archive-dl.h"
#include "util/crypto-dl.h"
#include "image/image-internal.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/str.h"

#define RESOLVE_FLAGS \
	(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int openat2_dir(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_FLAGS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS) {
		/* kernels before 5.6: names hold no '..' (checked), so one
		 * O_NOFOLLOW step per component stays beneath dirfd */
		_cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
		_cleanup_free_ char *copy = strdup(path);
		char *save = NULL;

		if (cur < 0 || !copy)
			return cur < 0 ? -errno : -ENOMEM;
		for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			int next = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (next < 0)
				return errno == ENOTDIR ? -ELOOP : -errno;
			safe_close(cur);
			cur = next;
		}
		return TAKE_FD(cur);
	}
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Normalises an entry name into `out`: strips "./" and empty components.
 * Returns -EPERM (with *why set) for absolute names and '..'.
 */
static int clean_name(const char *name, char *out, size_t size, const char **why)
{
	size_t n = 0;
	const char *p = name;

	if (!name || !*name) {
		*why = "empty name";
		return -EPERM;
	}
	if (*name == '/') {
		*why = "absolute path";
		return -EPERM;
	}
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			*why = "'..' in the path";
			return -EPERM;
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > size) {
				*why = "name too long";
				return -EPERM;
			}
			if (n > 0)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = *end ? end + 1 : end;
	}
	out[n] = '\0';
	return 0;
}

/* Splits "a/b/c" into "a/b" (in place) and returns "c"; "c" gives "" and "c". */
static const char *split_parent(char *path, const char **ret_dir)
{
	char *slash = strrchr(path, '/');

	if (!slash) {
		*ret_dir = "";
		return path;
	}
	*slash = '\0';
	*ret_dir = path;
	return slash + 1;
}

/*
 * Opens the parent directory `dir` of an entry, creating missing directories
 * (mode 0755, root-owned; a later entry for them sets their metadata).
 */
static int open_parent(int root_fd, const char *dir, bool create, const char **why)
{
	_cleanup_free_ char *copy = NULL;
	_cleanup_close_ int cur = -EBADF;
	char *save = NULL;
	int fd;

	if (!*dir) {
		fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}
	fd = openat2_dir(root_fd, dir);
	if (fd >= 0 || fd != -ENOENT || !create)
		goto out;

	copy = strdup(dir);
	cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (!copy || cur < 0)
		return !copy ? -ENOMEM : -errno;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat2_dir(cur, c);

		if (next == -ENOENT) {
			if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
				return -errno;
			next = openat2_dir(cur, c);
		}
		if (next < 0) {
			fd = next;
			goto out;
		}
		safe_close(cur);
		cur = next;
	}
	return TAKE_FD(cur);
out:
	if (fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV)
		*why = "goes through a symlink or a non-directory";
	return fd;
}

/* Removes what is at parent/base unless it is a directory and keep_dir is set. */
static int make_room(int parent, const char *base, bool keep_dir, bool *ret_is_dir)
{
	struct stat st;

	*ret_is_dir = false;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir) {
			*ret_is_dir = true;
			return 0;
		}
		return unlinkat(parent, base, AT_REMOVEDIR) < 0 ? -errno : 0;
	}
	return unlinkat(parent, base, 0) < 0 ? -errno : 0;
}

static int set_meta_fd(int fd, struct archive_entry *e)
{
	struct timespec ts[2] = {
		{ .tv_sec = archive_entry_atime(e), .tv_nsec = archive_entry_atime_nsec(e) },
		{ .tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e) },
	};

	if (!archive_entry_atime_is_set(e))
		ts[0] = ts[1];
	/* chown first: it clears set-id bits that the chmod below restores */
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return -errno;
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return -errno;
	if (archive_entry_mtime_is_set(e) && futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

/*
 * The xattrs of an entry (libarchive reads SCHILY.xattr / LIBARCHIVE.xattr).
 * overlayfs's own (trusted.overlay.*, user.overlay.*) would let a layer forge
 * whiteouts, redirects or metacopy data the kernel trusts: refused.  Other
 * security.* labels belong to the host's policy: not copied.
 */
static int set_xattrs(int fd, struct archive_entry *e, const char **why)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (strstr(name, ".overlay.")) {
			*why = "overlayfs xattrs are refused";
			return -EPERM;
		}
		if (!startswith(name, "user.") && !startswith(name, "trusted.") &&
		    !streq(name, "security.capability"))
			continue;
		if (fsetxattr(fd, name, value, size, 0) < 0)
			return -errno;
	}
	return 0;
}

static int write_data(struct archive *a, int fd)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
					   (off_t)off + (off_t)done);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			done += (size_t)n;
		}
	}
	return r == ARCHIVE_EOF ? 0 : -EIO;
}

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* Removes every entry of the directory `dir_fd` (an O_PATH fd is fine). */
static int empty_dir(int dir_fd)
{
	_cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return -errno;
	r = hull_opendir_dup(fd, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d)))
		if (!streq_dots(de->d_name)) {
			r = hull_rm_rf_at(fd, de->d_name);
			if (r < 0)
				break;
		}
	closedir(d);
	return r;
}

/*
 * An AUFS-style whiteout of an OCI layer: ".wh.NAME" hides NAME of the layers
 * below, ".wh..wh..opq" everything below in its directory.  Overlay form: a
 * 0:0 char device NAME / trusted.overlay.opaque=y on the directory; apply
 * form (flattening): delete what they name.  `parent` was resolved inside the
 * root without symlinks, so a whiteout cannot name a path outside.
 */
static int whiteout(int parent, const char *base, enum hull_unpack_flags flags, const char **why)
{
	const char *name = base + strlen(WH_PREFIX);
	bool is_dir;
	int r;

	if (streq(base, WH_OPAQUE)) {
		_cleanup_close_ int fd = -EBADF;

		if (flags & HULL_UNPACK_WHITEOUT_APPLY)
			return empty_dir(parent);
		fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		return fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0 ? -errno : 0;
	}
	if (!*name || streq_dots(name) || startswith(name, WH_PREFIX)) {
		*why = "bad whiteout name";
		return -EPERM;
	}
	if (flags & HULL_UNPACK_WHITEOUT_APPLY)
		return hull_rm_rf_at(parent, name);
	r = make_room(parent, name, false, &is_dir);
	if (r < 0)
		return r;
	return mknodat(parent, name, S_IFCHR | 0, makedev(0, 0)) < 0 ? -errno : 0;
}

static int unpack_entry(struct archive *a, struct archive_entry *e, int root_fd,
			enum hull_unpack_flags flags, const char **why)
{
	_cleanup_close_ int parent = -EBADF, fd = -EBADF;
	char path[4096], target[4096];
	const char *dir, *base, *link = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	bool is_dir = false;
	int r;

	r = clean_name(archive_entry_pathname(e), path, sizeof(path), why);
	if (r < 0)
		return r;
	if (!*path) {
		/* the root itself ("./"): only its metadata */
		if (!link && type == AE_IFDIR) {
			fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			return fd < 0 ? -errno : set_meta_fd(fd, e);
		}
		*why = "names the image root";
		return -EPERM;
	}
	base = split_parent(path, &dir);
	parent = open_parent(root_fd, dir, true, why);
	if (parent < 0)
		return parent;
	if ((flags & (HULL_UNPACK_WHITEOUT_OVERLAY | HULL_UNPACK_WHITEOUT_APPLY)) &&
	    startswith(base, WH_PREFIX))
		return whiteout(parent, base, flags, why);

	if (link) {
		_cleanup_close_ int tparent = -EBADF;
		const char *tdir, *tbase;
		struct stat st;

		r = clean_name(link, target, sizeof(target), why);
		if (r < 0) {
			*why = "hard link target leaves the image root";
			return r;
		}
		if (!*target) {
			*why = "hard link to the image root";
			return -EPERM;
		}
		tbase = split_parent(target, &tdir);
		tparent = open_parent(root_fd, tdir, false, why);
		if (tparent < 0) {
			*why = "hard link target is not inside the image";
			return -EPERM;
		}
		if (fstatat(tparent, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
			*why = "hard link target is missing or a directory";
			return -EPERM;
		}
		r = make_room(parent, base, false, &is_dir);
		if (r < 0)
			return r;
		return linkat(tparent, tbase, parent, base, 0) < 0 ? -errno : 0;
	}

	switch (type) {
	case AE_IFREG:
		r = make_room(parent, base, false, &is_dir);
		if (r < 0)
			return r;
		fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0)
			return -errno;
		r = write_data(a, fd);
		if (r < 0)
			return r;
		if (ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
			return -errno;
		r = set_meta_fd(fd, e);
		if (r >= 0 && (flags & HULL_UNPACK_XATTRS))
			r = set_xattrs(fd, e, why);
		return r;
	case AE_IFDIR:
		r = make_room(parent, base, true, &is_dir);
		if (r < 0)
			return r;
		if (!is_dir && mkdirat(parent, base, 0700) < 0)
			return -errno;
		fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = set_meta_fd(fd, e);
		if (r >= 0 && (flags & HULL_UNPACK_XATTRS))
			r = set_xattrs(fd, e, why);
		return r;
	case AE_IFLNK:
		r = make_room(parent, base, false, &is_dir);
		if (r < 0)
			return r;
		if (!archive_entry_symlink(e)) {
			*why = "symlink without a target";
			return -EPERM;
		}
		if (symlinkat(archive_entry_symlink(e), parent, base) < 0)
			return -errno;
		if (fchownat(parent, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
			     AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return 0;
	case AE_IFIFO:
	case AE_IFCHR:
	case AE_IFBLK:
		if (type != AE_IFIFO && !(flags & HULL_UNPACK_ALLOW_DEVICES)) {
			*why = "device nodes are refused in unprivileged images";
			return -EPERM;
		}
		r = make_room(parent, base, false, &is_dir);
		if (r < 0)
			return r;
		if (mknodat(parent, base, (type == AE_IFIFO ? S_IFIFO : type) | 0600,
			    archive_entry_rdev(e)) < 0)
			return -errno;
		fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fchownat(fd, "", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
			     AT_EMPTY_PATH) < 0)
			return -errno;
		return fchmodat(parent, base, archive_entry_perm(e) & 07777, 0) < 0 ? -errno : 0;
	default:
		*why = "unsupported entry type (sockets are refused)";
		return -EPERM;
	}
}

/* Copies an entry name for a message: control characters become '?', long names are cut. */
static void printable(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; s && *s && n + 1 < size; s++)
		out[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[n] = '\0';
}

/* Unpacks every entry of the opened tar reader `a`. */
static int unpack_all(struct archive *a, int root_fd, enum hull_unpack_flags flags,
		      struct hull_error **reterr)
{
	struct archive_entry *e;
	int r;

	for (;;) {
		const char *why = NULL;
		char name[512];

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return hull_error_set(reterr, -EINVAL, "read archive: %s",
					      archive_error_string(a) ?: "bad header");
		r = unpack_entry(a, e, root_fd, flags, &why);
		if (r < 0) {
			printable(archive_entry_pathname(e), name, sizeof(name));
			if (why)
				return hull_error_set(reterr, -EPERM, "entry '%s': %s", name, why);
			return hull_error_errno(reterr, r, "entry '%s'", name);
		}
	}
	return 0;
}

static int tar_unpack(int tar_fd, int root_fd, enum hull_unpack_flags flags,
		      struct hull_error **reterr)
{
	_cleanup_(image_archive_read_freep) struct archive *a = image_tar_reader_new();

	if (!a)
		return -ENOMEM;
	if (archive_read_open_fd(a, tar_fd, 64 * 1024) != ARCHIVE_OK)
		return hull_error_set(reterr, -EINVAL, "read archive: %s",
				      archive_error_string(a) ?: "not a tar archive");
	return unpack_all(a, root_fd, flags, reterr);
}

int hull_tar_unpack(int tar_fd, int root_fd, enum hull_unpack_flags flags,
		    struct hull_error **reterr)
{
	int r = hull_archive_load(reterr);

	return r < 0 ? r : tar_unpack(tar_fd, root_fd, flags, reterr);
}

/*
 * A layer is read twice over, in one pass: a "raw" libarchive reader
 * decompresses the blob (gzip, zstd or none), and its output both feeds the
 * sha256 of the diff_id and is the input of the tar reader.
 */
struct layer_stream {
	struct archive *raw;
	EVP_MD_CTX *ctx;
	char buf[64 * 1024];
	bool failed;
};

static la_ssize_t layer_read(struct archive *a, void *userdata, const void **ret_buf)
{
	struct layer_stream *ls = userdata;
	la_ssize_t n = archive_read_data(ls->raw, ls->buf, sizeof(ls->buf));

	if (n < 0) {
		ls->failed = true;
		archive_set_error(a, EIO, "decompress: %s",
				  archive_error_string(ls->raw) ?: "read error");
		return -1;
	}
	if (n > 0 && EVP_DigestUpdate(ls->ctx, ls->buf, (size_t)n) != 1) {
		ls->failed = true;
		archive_set_error(a, EIO, "sha256 failed");
		return -1;
	}
	*ret_buf = ls->buf;
	return n;
}

static int layer_unpack(int blob_fd, int root_fd, enum hull_unpack_flags flags,
			char ret_diff_id[HULL_DIGEST_MAX], struct hull_error **reterr)
{
	_cleanup_(image_archive_read_freep) struct archive *raw = archive_read_new();
	_cleanup_(image_archive_read_freep) struct archive *a = archive_read_new();
	struct layer_stream ls = { .raw = raw };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int r;

	if (!raw || !a)
		return -ENOMEM;
	if (image_raw_open_fd(raw, blob_fd) < 0)
		return hull_error_set(reterr, -EINVAL, "read layer: %s",
				      archive_error_string(raw) ?: "unreadable");
	ls.ctx = EVP_MD_CTX_new();
	if (!ls.ctx || EVP_DigestInit_ex(ls.ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ls.ctx);
		return -ENOMEM;
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open(a, &ls, NULL, layer_read, NULL) != ARCHIVE_OK) {
		r = hull_error_set(reterr, -EINVAL, "read layer: %s",
				   archive_error_string(a) ?: "not a tar archive");
		goto out;
	}
	r = unpack_all(a, root_fd, flags, reterr);
	if (r < 0)
		goto out;
	/* the bytes after the end-of-archive blocks count in the diff_id too */
	for (;;) {
		const void *buf;
		la_ssize_t n = layer_read(a, &ls, &buf);

		if (n < 0) {
			r = hull_error_set(reterr, -EINVAL, "read layer: %s",
					   archive_error_string(a) ?: "read error");
			goto out;
		}
		if (n == 0)
			break;
	}
	if (EVP_DigestFinal_ex(ls.ctx, md, &mdlen) != 1 || mdlen != 32) {
		r = -EIO;
		goto out;
	}
	hull_digest_format(md, ret_diff_id);
	r = 0;
out:
	EVP_MD_CTX_free(ls.ctx);
	return r;
}

int hull_sha256_fd(int fd, char ret[HULL_IMAGE_FINGERPRINT_LEN + 1])
{
	return hull_sha256_fds(&fd, 1, ret);
}

int hull_sha256_fds(const int *fds, size_t n_fds, char ret[HULL_IMAGE_FINGERPRINT_LEN + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE], buf[64 * 1024];
	unsigned len = 0;
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < n_fds; i++)
		for (;;) {
			ssize_t n = read(fds[i], buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				goto out;
			}
			if (n == 0)
				break;
			if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
				r = -EIO;
				goto out;
			}
		}
	if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32) {
		r = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < len; i++)
		snprintf(ret + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int hull_layer_unpack(int blob_fd, int root_fd, enum hull_unpack_flags flags,
		      char ret_diff_id[HULL_DIGEST_MAX], struct hull_error **reterr)
{
	int r = hull_archive_load(reterr);

	return r < 0 ? r : layer_unpack(blob_fd, root_fd, flags, ret_diff_id, reterr);
}
