/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull file push|pull: files moved in and out of an instance's rootfs.
 * Paths inside the instance are hostile (the instance made its symlinks):
 * each is resolved from an fd of the instance's mounted rootfs with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), so a
 * symlink, absolute or with "..", stays inside the rootfs; the file is then
 * used through that fd only.  A push writes a temp file in the resolved
 * parent directory and renames it over the name, which replaces a symlink
 * there instead of following it.  No code of hull's runs in the instance.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "instance/device-internal.h"
#include "instance/instance-internal.h"
#include "storage/storage.h"
#include "util/file.h"
#include "util/str.h"

static int open_in_root(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = mode,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, root, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/*
 * Opens the instance's rootfs, mounting it for the call when the instance is
 * stopped (*ret_mounted says so; the caller unmounts).  Holds the instance's
 * lock in *ret_lock, so no start or stop runs meanwhile.
 */
static int rootfs_open(struct hull_home *h, const char *name, int *ret_dfd, int *ret_lock,
		       bool *ret_mounted, struct hull_instance_config **ret_c,
		       struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, image = -EBADF;
	struct hull_storage_idmap map;
	bool mounted = false;
	int r, root;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return lock;
	r = instance_config_load(dfd, &c, reterr);
	if (r < 0)
		return r;
	if (!hull_storage_is_mounted(dfd)) {
		if (instance_monitor_alive(dfd))
			return hull_error_set(reterr, -EIO, "the rootfs of '%s' is not mounted",
					      name);
		r = hull_image_rootfs_open(h->images, c->image, &image, reterr);
		if (r < 0)
			return r;
		map = (struct hull_storage_idmap){ c->uid_base, c->gid_base, c->id_count };
		r = hull_storage_mount(dfd, image, &map, 0, reterr);
		if (r < 0)
			return r;
		mounted = true;
	}
	root = openat(dfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0) {
		r = hull_error_errno(reterr, -errno, "open the rootfs of '%s'", name);
		if (mounted) {
			_cleanup_error_ struct hull_error *ignored = NULL;

			hull_storage_umount(dfd, &ignored);
		}
		return r;
	}
	*ret_dfd = TAKE_FD(dfd);
	*ret_lock = TAKE_FD(lock);
	*ret_mounted = mounted;
	*ret_c = TAKE_PTR(c);
	return root;
}

static void rootfs_close(int dfd, bool mounted)
{
	_cleanup_error_ struct hull_error *ignored = NULL;

	if (mounted)
		hull_storage_umount(dfd, &ignored);
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = RETRY_EINTR(read(in, buf, sizeof(buf)))) > 0) {
		int r = hull_write_all(out, buf, (size_t)n);

		if (r < 0)
			return r;
	}
	return n < 0 ? -errno : 0;
}

int hull_instance_file_pull(struct hull_home *h, const char *name, const char *path, int out_fd,
			    struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, root = -EBADF, fd = -EBADF, disk = -EBADF;
	const char *rest = NULL;
	bool mounted = false;
	struct stat st;
	int r;

	root = rootfs_open(h, name, &dfd, &lock, &mounted, &c, reterr);
	if (root < 0)
		return hull_error_wrap(reterr, root, "pull from '%s'", name);
	/* a path on a disk device is the disk's, as the instance sees it */
	disk = instance_disk_for_path(c, path, &rest, reterr);
	if (disk < 0) {
		r = hull_error_wrap(reterr, disk, "pull '%s' from '%s'", path, name);
		goto out;
	}
	fd = open_in_root(disk > 0 ? disk : root, disk > 0 ? rest : path,
			  O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0) {
		r = hull_error_errno(reterr, fd, "pull '%s' from '%s'", path, name);
		goto out;
	}
	/* a fifo or device would block or reach the host's devices */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = hull_error_set(reterr, -EINVAL, "pull '%s' from '%s': not a regular file", path,
				   name);
		goto out;
	}
	r = copy_fd(fd, out_fd);
	if (r < 0)
		hull_error_errno(reterr, r, "pull '%s' from '%s'", path, name);
out:
	rootfs_close(dfd, mounted);
	return r;
}

int hull_instance_file_push(struct hull_home *h, const char *name, const char *path, int in_fd,
			    uint32_t uid, uint32_t gid, mode_t mode, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, root = -EBADF, dir = -EBADF, fd = -EBADF,
			    disk = -EBADF;
	_cleanup_free_ char *parent = NULL;
	const char *base, *rest = NULL;
	uint32_t uid_base, gid_base;
	bool mounted = false;
	char tmp[64];
	int r;

	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!*base || streq_dots(base))
		return hull_error_set(reterr, -EINVAL, "push to '%s': expected a file name", path);
	if (mode & ~07777u)
		return hull_error_set(reterr, -EINVAL, "--mode: expected at most 07777");
	parent = strndup(path, (size_t)(base - path));
	if (!parent)
		return -ENOMEM;
	root = rootfs_open(h, name, &dfd, &lock, &mounted, &c, reterr);
	if (root < 0)
		return hull_error_wrap(reterr, root, "push to '%s'", name);
	if (uid >= c->id_count || gid >= c->id_count) {
		r = hull_error_set(
			reterr, -EINVAL,
			"push to '%s': --uid/--gid must be below %u (the instance's range)", name,
			c->id_count);
		goto out;
	}
	/* on a disk device: in its source, with the instance's ids as they are
	 * (the disk is id-mapped); elsewhere shifted into the instance's range */
	disk = instance_disk_for_path(c, *parent ? parent : "/", &rest, reterr);
	if (disk < 0) {
		r = hull_error_wrap(reterr, disk, "push to '%s'", name);
		goto out;
	}
	uid_base = disk > 0 ? 0 : c->uid_base;
	gid_base = disk > 0 ? 0 : c->gid_base;
	dir = open_in_root(disk > 0 ? disk : root,
			   disk > 0  ? rest
			   : *parent ? parent
				     : ".",
			   O_PATH | O_DIRECTORY, 0);
	if (dir < 0) {
		r = hull_error_errno(reterr, dir, "push to '%s': open '%s'", name,
				     *parent ? parent : "/");
		goto out;
	}
	snprintf(tmp, sizeof(tmp), ".hull-push-%d", (int)getpid());
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = hull_error_errno(reterr, -errno, "push '%s' to '%s'", path, name);
		goto out;
	}
	r = copy_fd(in_fd, fd);
	if (r >= 0 && (fchown(fd, uid_base + uid, gid_base + gid) < 0 || fchmod(fd, mode) < 0 ||
		       fsync(fd) < 0))
		r = -errno;
	/* replaces whatever is there (a symlink too, never followed) */
	if (r >= 0 && renameat(dir, tmp, dir, base) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir, tmp, 0);
		hull_error_errno(reterr, r, "push '%s' to '%s'", path, name);
	}
out:
	rootfs_close(dfd, mounted);
	return r;
}
