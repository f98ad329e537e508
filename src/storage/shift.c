/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fallback for kernels or filesystems without id-mapped mounts: a copy
 * of the image whose owners are shifted into the instance's range, made once
 * per instance (lower-shifted/ in the instance directory) and used as the
 * overlay's lower layer from then on.  Files are cloned (FICLONE) where the
 * filesystem can, otherwise copied in the kernel (copy_file_range).
 *
 * The source is the image (trusted, made by hull); everything is still
 * opened relative to directory fds with O_NOFOLLOW, so the walk never leaves
 * the two trees.  Owners beyond the range become the range's 65534 (nobody),
 * as an id-mapped mount shows them.  Not kept: hard links (each name gets its
 * own copy), xattrs (file capabilities among them), device nodes (hull images
 * have none).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"
#include "util/file.h"
#include "util/str.h"

#define MAX_DEPTH 256

static uid_t shift(uint32_t id, uint32_t base, uint32_t count)
{
	return base + (id < count ? id : (count > 65534 ? 65534 : count - 1));
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
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP)) {
			char buf[65536];

			n = read(src, buf, sizeof(buf));
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

static int set_meta(int fd, const struct stat *st, const struct hull_storage_idmap *m)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchown(fd, shift(st->st_uid, m->uid_base, m->count),
		   shift(st->st_gid, m->gid_base, m->count)) < 0 ||
	    fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

static int copy_tree(int src, int dst, const struct hull_storage_idmap *m, unsigned depth,
		     char *failed, size_t size)
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
		_cleanup_close_ int s = -EBADF, t = -EBADF;
		const char *n = de->d_name;
		struct stat st;

		if (streq_dots(n))
			continue;
		snprintf(failed, size, "%s", n);
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, n, 0700) < 0) {
				r = -errno;
				break;
			}
			s = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || t < 0) {
				r = -errno;
				break;
			}
			r = copy_tree(s, t, m, depth + 1, failed, size);
			if (r >= 0)
				r = set_meta(t, &st, m);
		} else if (S_ISREG(st.st_mode)) {
			s = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			t = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				   0600);
			if (s < 0 || t < 0) {
				r = -errno;
				break;
			}
			r = copy_data(s, t, st.st_size);
			if (r >= 0)
				r = set_meta(t, &st, m);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlinkat(src, n, target, sizeof(target) - 1);
			struct timespec ts[2] = { st.st_atim, st.st_mtim };

			if (len < 0) {
				r = -errno;
				break;
			}
			target[len] = '\0';
			if (symlinkat(target, dst, n) < 0 ||
			    fchownat(dst, n, shift(st.st_uid, m->uid_base, m->count),
				     shift(st.st_gid, m->gid_base, m->count),
				     AT_SYMLINK_NOFOLLOW) < 0 ||
			    utimensat(dst, n, ts, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
		} else if (S_ISFIFO(st.st_mode)) {
			if (mknodat(dst, n, S_IFIFO | 0600, 0) < 0) {
				r = -errno;
				break;
			}
			t = openat(dst, n, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
			r = t < 0 ? -errno : set_meta(t, &st, m);
		}
		/* sockets and device nodes are not carried over */
	}
	if (r >= 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}

int hull_storage_shift_copy(int instance_fd, int image_rootfs_fd,
			    const struct hull_storage_idmap *map, struct hull_error **reterr)
{
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	char failed[256] = "";
	struct stat st;
	int r;

	if (faccessat(instance_fd, "lower-shifted", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	r = hull_rm_rf_at(instance_fd, "lower-shifted.tmp");
	if (r < 0)
		return hull_error_errno(reterr, r, "remove 'lower-shifted.tmp'");
	if (mkdirat(instance_fd, "lower-shifted.tmp", 0700) < 0)
		return hull_error_errno(reterr, -errno, "create 'lower-shifted.tmp'");
	src = openat(image_rootfs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dst = openat(instance_fd, "lower-shifted.tmp",
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 || dst < 0 || fstat(src, &st) < 0) {
		r = hull_error_errno(reterr, -errno, "open the image for the ownership shift");
		goto fail;
	}
	r = copy_tree(src, dst, map, 0, failed, sizeof(failed));
	if (r >= 0)
		r = set_meta(dst, &st, map);
	if (r < 0) {
		hull_error_errno(reterr, r, "shift the image's owners to %u:%u (at '%s')",
				 map->uid_base, map->gid_base, failed);
		goto fail;
	}
	syncfs(dst);
	if (renameat(instance_fd, "lower-shifted.tmp", instance_fd, "lower-shifted") < 0) {
		r = hull_error_errno(reterr, -errno, "rename 'lower-shifted.tmp'");
		goto fail;
	}
	return 0;
fail:
	hull_rm_rf_at(instance_fd, "lower-shifted.tmp");
	return r;
}
