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
 *   lower-shifted/  or: a copy of the image with shifted owners (the fallback)
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

enum hull_storage_flags {
	HULL_STORAGE_SHIFT = 1 << 0, /* use the shifted copy even where id-mapped mounts work */
};

/*
 * Mounts the instance's rootfs (lower, then the overlay).  Idempotent: an
 * instance already mounted is left as it is.  On failure nothing stays mounted.
 * Where the kernel or filesystem refuses id-mapped mounts (or with
 * HULL_STORAGE_SHIFT), the lower layer is lower-shifted/, a copy of the image
 * with its owners shifted into the range, made once (hull_storage_shift_copy);
 * once an instance has one, it keeps using it.  A map based at 0:0 (host
 * ids, a privileged instance) mounts the image read-only without mapping.
 */
int hull_storage_mount(int instance_fd, int image_rootfs_fd, const struct hull_storage_idmap *map,
		       enum hull_storage_flags flags, struct hull_error **reterr);

/* Makes <instance>/lower-shifted from the image (all or nothing; kept when present). */
int hull_storage_shift_copy(int instance_fd, int image_rootfs_fd,
			    const struct hull_storage_idmap *map, struct hull_error **reterr);

/* Unmounts rootfs/ and lower/ (missing mounts are fine). */
int hull_storage_umount(int instance_fd, struct hull_error **reterr);

/* True when rootfs/ is a mount point. */
bool hull_storage_is_mounted(int instance_fd);

/*
 * A user namespace fd with 0..count-1 mapped to the bases, for id-mapped
 * mounts.  The namespace outlives the short-lived process that made it.
 */
int hull_storage_userns_fd(const struct hull_storage_idmap *map, struct hull_error **reterr);

/* Moves owners inside [from, from+count) to [to, to+count); others stay. */
struct hull_storage_idshift {
	uint32_t from_uid, from_gid, to_uid, to_gid, count;
};

/*
 * Copies the tree under src_dirfd into the existing, empty dst_dirfd (and
 * src's own owner, mode, xattrs and times onto dst): owners, modes, times,
 * xattrs (overlay's opaque and redirect marks among them), overlay whiteouts
 * (0:0 character devices), hard links, symlinks (never followed), fifos.
 * Data is reflinked (FICLONE) or copied in the kernel (copy_file_range).
 * Other device nodes and mount points inside are refused.  With `shift`
 * (NULL: none), owners and the ids in POSIX ACLs and v3 file capabilities
 * move to the new range.  dst is syncfs()ed when done.
 */
int hull_storage_copy(int src_dirfd, int dst_dirfd, const struct hull_storage_idshift *shift,
		      struct hull_error **reterr);
