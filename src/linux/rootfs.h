/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's root filesystem, built inside its new mount namespace.
 *
 * Every mount target is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT,
 * or an equivalent component-by-component walk where openat2 is missing), so
 * a symlink in the rootfs can never point a mount outside of it.
 */
#pragma once

#include <stdbool.h>

#include "oci/config.h"
#include "util/error.h"

struct hull_cgroup;
struct hull_mount_sources;

struct hull_rootfs_opts {
	const struct hull_oci_config *config;
	int bundle_fd; /* directory fd of the bundle: root.path is relative to it */
	const struct hull_cgroup *cgroup; /* for mounts of type "cgroup"; may be NULL */
	bool no_pivot;			  /* MS_MOVE + chroot instead of pivot_root */
	bool in_userns;			  /* bind host devices instead of mknod */
	bool cgroupns;			  /* the container has its own cgroup namespace */
	bool no_mount_ns;		  /* it shares ours: chroot only, nothing is mounted */
	/* bind sources the runtime cloned on the host side; may be NULL */
	const struct hull_mount_sources *mount_sources;
};

/*
 * Phase 1, in the new mount namespace: sets / to MS_SLAVE|MS_REC (or the
 * rootfsPropagation asked for; private while "unbindable" waits for
 * finalize), binds the rootfs onto itself, performs the
 * config's mounts in order, and populates /dev (default devices,
 * linux.devices, /dev/pts with ptmx, /dev/shm, /dev/fd and stdio links)
 * unless the config binds /dev from elsewhere.  Returns an O_PATH fd of the
 * rootfs.
 */
int hull_rootfs_prepare(const struct hull_rootfs_opts *o, int *ret_rootfs_fd,
			struct hull_error **reterr);

/*
 * Runtime side, before the container init is cloned into its user
 * namespace: clones the source of every bind mount in `c` as a detached
 * mount (open_tree OPEN_TREE_CLONE), while the runtime is still host root
 * and can reach it.  A source below a directory the container's mapped
 * root may not enter (mode 0700, owned by host root) is then mounted all
 * the same, as runc's mount-source fds do.  The fds are inherited by the
 * init, which attaches them in prepare; they never outlive its exec.
 * Free with hull_mount_sources_free() (accepts NULL).
 */
int hull_mount_sources_open(const struct hull_oci_config *c, int bundle_fd,
			    struct hull_mount_sources **ret, struct hull_error **reterr);
void hull_mount_sources_free(struct hull_mount_sources *s);

/*
 * Phase 2, after createContainer hooks: pivot_root into the rootfs, or with
 * no_pivot MS_MOVE + chroot once the host's proc and sysfs are detached
 * (so no fresh procfs can be mounted inside), or chroot alone without a
 * mount namespace.
 */
int hull_rootfs_pivot(const struct hull_rootfs_opts *o, int rootfs_fd, struct hull_error **reterr);

/*
 * Phase 3, after sysctls are written: maskedPaths (files masked with the
 * container's /dev/null only once it is checked to be the null device 1:3,
 * directories with an empty read-only tmpfs), readonlyPaths, a read-only
 * root when root.readonly, and the final rootfsPropagation.
 */
int hull_rootfs_finalize(const struct hull_rootfs_opts *o, struct hull_error **reterr);

/*
 * Opens `path` below `root_fd` as if root_fd were "/": ".." and absolute
 * symlinks never leave it.  `flags` are open(2) flags (O_CLOEXEC is added;
 * O_CREAT creates with mode 0644, O_TMPFILE is refused).
 */
int hull_open_in_root(int root_fd, const char *path, int flags, struct hull_error **reterr);

/*
 * Like hull_open_in_root() but creates missing directories on the way and
 * the final component (a directory, or an empty file when `file`), as bind
 * mount targets need; a dangling symlink on the way gets what it points to
 * created (inside the root), as mkdir -p would.  Returns an O_PATH fd of
 * the final component.
 */
int hull_mkdir_in_root(int root_fd, const char *path, bool file, mode_t mode,
		       struct hull_error **reterr);
