/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finalize (phase 3, after pivot and sysctls): maskedPaths, readonlyPaths,
 * a read-only root and the final rootfsPropagation.  A masked file gets a
 * bind of /dev/null only once it is checked to be the null device (1:3),
 * a masked directory an empty read-only tmpfs; paths are resolved inside
 * the new root to O_PATH fds.
 */
#include "linux/rootfs-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/str.h"

static int mask_path(int root, int *null_fd, const char *path, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF, mnt = -EBADF;
	struct stat st;
	int r;

	target = hull_open_in_root(root, path, O_PATH, NULL);
	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return hull_error_errno(reterr, target, "mask '%s'", path);
	if (fstat(target, &st) < 0)
		return hull_error_errno(reterr, -errno, "mask '%s'", path);

	if (S_ISDIR(st.st_mode)) {
		char kmsg[HULL_FS_KMSG_MAX];

		mnt = hull_fs_new("tmpfs", "tmpfs", MS_RDONLY, NULL, MOUNT_ATTR_RDONLY, kmsg,
				  sizeof(kmsg));
		if (mnt < 0)
			return hull_error_errno(reterr, mnt, "mask '%s': mount tmpfs", path);
		r = hull_mount_attach(mnt, target);
	} else {
		if (*null_fd < 0) {
			/* never a /dev/null the rootfs made a symlink to a host file */
			*null_fd = hull_open_device_in_root(root, "/dev/null", O_PATH | O_NOFOLLOW,
							    S_IFCHR, 1, 3, reterr);
			if (*null_fd < 0)
				return hull_error_wrap(reterr, *null_fd,
						       "linux.maskedPaths: mask '%s'", path);
		}
		r = hull_mount_bind_fd(*null_fd, NULL, target, false, 0, 0);
		safe_close(r);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "mask '%s'", path);
	return 0;
}

static int readonly_path(int root, const char *path, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF;
	int r;

	target = hull_open_in_root(root, path, O_PATH, NULL);
	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return hull_error_errno(reterr, target, "make '%s' read-only", path);
	/* bind onto itself, then read-only on top; nosuid etc. stay as they are */
	r = hull_mount_bind_fd(target, NULL, target, true, MOUNT_ATTR_RDONLY, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "make '%s' read-only", path);
	safe_close(r);
	return 0;
}

int hull_rootfs_finalize(const struct hull_rootfs_opts *o, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = o->config->linux_config;
	_cleanup_close_ int root = -EBADF, null_fd = -EBADF;
	int r;

	if (!rootfs_has_mount_ns(o))
		return 0;
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hull_error_errno(reterr, -errno, "open '/'");

	if (lc) {
		hull_strv_foreach (p, lc->masked_paths) {
			r = mask_path(root, &null_fd, p, reterr);
			if (r < 0)
				return r;
		}
		hull_strv_foreach (p, lc->readonly_paths) {
			r = readonly_path(root, p, reterr);
			if (r < 0)
				return r;
		}
	}

	if (o->config->root.readonly) {
		r = hull_mount_setattr(root, false, MOUNT_ATTR_RDONLY, 0, 0, -EBADF);
		if (r < 0)
			return hull_error_errno(reterr, r, "make '/' read-only");
	}

	if (lc && lc->rootfs_propagation) {
		unsigned long prop;

		r = hull_mount_propagation_parse(lc->rootfs_propagation, &prop);
		if (r < 0)
			return hull_error_set(reterr, r,
					      "linux.rootfsPropagation: unknown value '%s'",
					      lc->rootfs_propagation);
		if (mount(NULL, "/", NULL, prop, NULL) < 0)
			return hull_error_errno(reterr, -errno, "set propagation of '/' to '%s'",
						lc->rootfs_propagation);
	}
	return 0;
}
