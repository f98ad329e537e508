/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's root filesystem, in three phases: prepare (this file:
 * propagation, the rootfs bound onto itself, the config's mounts of
 * rootfs-mounts.c, /dev of devices.c), pivot (rootfs-pivot.c) and finalize
 * (rootfs-mask.c).  Most mounts use the new mount API (mount-api.c); the
 * propagation changes and the pivot use mount(2) on paths of our own mount
 * namespace, never on a path inside the rootfs.
 */
#include "linux/rootfs-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

/*
 * The bundle fd was most likely opened before the mount namespace was
 * unshared, so it points into the old namespace's mounts, which open_tree()
 * refuses (EINVAL).  Open the same directory again from here.
 */
static int reopen_bundle(int bundle_fd, struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat a, b;
	int r;

	if (bundle_fd == AT_FDCWD)
		return AT_FDCWD;
	r = rootfs_fd_path(bundle_fd, &path);
	if (r < 0)
		return hull_error_errno(reterr, r, "find the bundle directory");
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open bundle '%s'", path);
	if (fstat(fd, &a) < 0 || fstat(bundle_fd, &b) < 0)
		return hull_error_errno(reterr, -errno, "open bundle '%s'", path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return hull_error_set(reterr, -ESTALE,
				      "open bundle '%s': not the directory given (moved?)", path);
	return TAKE_FD(fd);
}

static int open_rootfs(int bundle_fd, const struct hull_rootfs_opts *o, struct hull_error **reterr)
{
	const char *path = o->config->root.path;
	int fd;

	if (!path || !path[0])
		return hull_error_set(reterr, -EINVAL, "root.path: missing");
	fd = openat(path[0] == '/' ? AT_FDCWD : bundle_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open rootfs '%s'", path);
	return fd;
}

/*
 * No mount namespace of its own: the container shares ours (the spec's
 * "inherited"), so nothing may be mounted at all, or the host's table would
 * change (runc mounts there anyway).  The rootfs is taken as it is and
 * entered with chroot; masks and read-only paths cannot be had, so a config
 * asking for them is refused, as runc does.
 */
static int prepare_without_mount_ns(const struct hull_rootfs_opts *o, int *ret_rootfs_fd,
				    struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = o->config->linux_config;
	int fd;

	if (lc && hull_strv_length(lc->masked_paths) > 0)
		return hull_error_set(
			reterr, -EINVAL,
			"linux.maskedPaths: cannot be applied without a mount namespace");
	if (lc && hull_strv_length(lc->readonly_paths) > 0)
		return hull_error_set(reterr, -EINVAL,
				      "linux.readonlyPaths: cannot be applied without a mount "
				      "namespace");
	if (o->config->n_mounts > 0 || o->config->root.readonly)
		hull_debug("no mount namespace: mounts and root.readonly left out, the host's "
			   "mount table is not changed");
	fd = open_rootfs(o->bundle_fd, o, reterr);
	if (fd < 0)
		return fd;
	*ret_rootfs_fd = fd;
	return 0;
}

int hull_rootfs_prepare(const struct hull_rootfs_opts *o, int *ret_rootfs_fd,
			struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = o->config->linux_config;
	_cleanup_close_ int bundle = -EBADF, dir = -EBADF, root = -EBADF;
	unsigned long prop = MS_SLAVE | MS_REC;
	struct rootfs_ctx c = { .o = o, .lc = lc };
	const struct hull_oci_mount *dev_mount = NULL;
	int r;

	if (!rootfs_has_mount_ns(o))
		return prepare_without_mount_ns(o, ret_rootfs_fd, reterr);
	if (lc && lc->rootfs_propagation) {
		r = hull_mount_propagation_parse(lc->rootfs_propagation, &prop);
		if (r < 0)
			return hull_error_set(reterr, r,
					      "linux.rootfsPropagation: unknown value '%s'",
					      lc->rootfs_propagation);
		/* an unbindable tree cannot be bound: that comes at the end (finalize) */
		if (prop & MS_UNBINDABLE)
			prop = MS_PRIVATE;
		prop |= MS_REC;
	}
	/* nothing done in here may reach the host's mount namespace */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return hull_error_errno(reterr, -errno, "set propagation of '/'");

	bundle = reopen_bundle(o->bundle_fd, reterr);
	if (bundle < 0 && bundle != AT_FDCWD)
		return bundle;
	c.bundle_fd = bundle;
	dir = open_rootfs(bundle, o, reterr);
	if (dir < 0)
		return dir;
	r = rootfs_make_parent_private(dir);
	if (r < 0)
		return hull_error_errno(reterr, r, "make the parent mount of rootfs '%s' private",
					o->config->root.path);
	/* a mount of its own, so pivot_root can take it */
	root = hull_mount_bind_fd(dir, NULL, dir, true, 0, 0);
	if (root < 0)
		return hull_error_errno(reterr, root, "bind rootfs '%s'", o->config->root.path);
	c.root_fd = root;

	for (size_t i = 0; i < o->config->n_mounts; i++) {
		const struct hull_oci_mount *m = &o->config->mounts[i];

		c.idx = i;
		r = rootfs_mount_one(&c, m, reterr);
		if (r < 0)
			goto out;
		if (rootfs_dest_is(m->destination, "/dev"))
			dev_mount = m;
	}

	if (!dev_mount) {
		/* runc's nodes right in the rootfs' /dev, replacing what is not one */
		r = hull_devices_setup(root, lc, true, o->in_userns, reterr);
	} else {
		_cleanup_(rootfs_mount_options_donep) struct hull_mount_options mo = {};

		r = hull_mount_options_parse(dev_mount->options, &mo);
		if (r < 0) {
			hull_error_errno(reterr, r, "parse options of '/dev'");
			goto out;
		}
		/* a /dev bound from elsewhere is taken as it is, as runc does */
		if (!(mo.flags & MS_BIND) && !streq_ptr(dev_mount->type, "bind"))
			r = hull_devices_setup(root, lc, true, o->in_userns, reterr);
	}
	if (r < 0)
		goto out;

	r = rootfs_apply_ro_later(&c, reterr);
	if (r < 0)
		goto out;

	if (lc && lc->mount_label)
		hull_debug("linux.mountLabel ignored: no SELinux support");
	*ret_rootfs_fd = TAKE_FD(root);
	r = 0;
out:
	for (size_t i = 0; i < c.n_ro_later; i++)
		safe_close(c.ro_later[i].fd);
	free(c.ro_later);
	free(c.root_path);
	return r;
}
