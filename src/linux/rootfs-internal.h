/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the files of the rootfs room only: rootfs.c (prepare: the
 * rootfs mount and the order of things), rootfs-mounts.c (the config's
 * mounts), rootfs-pivot.c (entering the rootfs), rootfs-mask.c (finalize:
 * masked and read-only paths).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "linux/mount-options.h"
#include "linux/rootfs.h"

struct rootfs_ro_later {
	int fd;
	size_t idx; /* in config.mounts */
};

/* What prepare carries from one mount to the next. */
struct rootfs_ctx {
	const struct hull_rootfs_opts *o;
	const struct hull_oci_linux *lc;  /* may be NULL */
	int bundle_fd;			  /* the bundle, opened in our mount namespace */
	int root_fd;			  /* the rootfs mount (O_PATH) */
	char *root_path;		  /* its path in our mount namespace, lazily */
	size_t idx;			  /* mounts[idx] is being mounted */
	struct rootfs_ro_later *ro_later; /* mounts made read-only after the mounts below them */
	size_t n_ro_later;
};

static inline void rootfs_mount_options_donep(struct hull_mount_options *o)
{
	hull_mount_options_done(o);
}

/* False when the container shares our mount namespace: nothing is mounted then. */
static inline bool rootfs_has_mount_ns(const struct hull_rootfs_opts *o)
{
	return !o->no_mount_ns;
}

/* "/dev", "/dev/", "//dev" are all /dev. */
bool rootfs_dest_is(const char *dest, const char *want);

/* The path of `fd` in our mount namespace (its /proc/self/fd link). */
int rootfs_fd_path(int fd, char **ret);

/* Mounts config.mounts[c->idx] (`m`) inside the rootfs. */
int rootfs_mount_one(struct rootfs_ctx *c, const struct hull_oci_mount *m,
		     struct hull_error **reterr);

/* Makes the read-only tmpfs and /dev mounts deferred by rootfs_mount_one() read-only. */
int rootfs_apply_ro_later(struct rootfs_ctx *c, struct hull_error **reterr);

/*
 * pivot_root(2) and MS_MOVE refuse a rootfs whose parent mount is shared:
 * makes that one mount private.
 */
int rootfs_make_parent_private(int dir_fd);
