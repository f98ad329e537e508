/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instance root filesystems: an overlayfs whose lower layer is the (shared,
 * read-only) image tree seen through an id-mapped mount, so that the image's
 * root-owned files appear owned by the instance's own subordinate range
 * (host uid 0 -> uid_base) without copying or chowning the image.  The upper
 * and work directories belong to the instance.
 *
 * In the instance directory:
 *   lower/   mount point of the id-mapped image (read-only)
 *   upper/   overlay upper directory (its root owned by uid_base:gid_base)
 *   work/    overlay work directory
 *   rootfs/  mount point of the overlay (the OCI bundle's root.path)
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct hull_storage_idmap {
	uint32_t uid_base, gid_base, count;
};

/* Makes lower/ upper/ work/ rootfs/ in the instance directory. */
int hull_storage_prepare(int instance_fd, const struct hull_storage_idmap *map,
			 struct hull_error **reterr);

/*
 * Mounts the instance's rootfs (lower, then the overlay).  Idempotent: an
 * instance already mounted is left as it is.  On failure nothing stays mounted.
 */
int hull_storage_mount(int instance_fd, int image_rootfs_fd, const struct hull_storage_idmap *map,
		       struct hull_error **reterr);

/* Unmounts rootfs/ and lower/ (missing mounts are fine). */
int hull_storage_umount(int instance_fd, struct hull_error **reterr);

/* True when rootfs/ is a mount point. */
bool hull_storage_is_mounted(int instance_fd);

/*
 * A user namespace fd with 0..count-1 mapped to the bases, for id-mapped
 * mounts.  The namespace outlives the short-lived process that made it.
 */
int hull_storage_userns_fd(const struct hull_storage_idmap *map, struct hull_error **reterr);
