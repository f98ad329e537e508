/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Room header of the rootfs code: OCI mount option strings, the mount
 * primitives (mount-api.c, mount-idmap.c) and the device nodes (devices.c)
 * the rootfs files and terminal.c share.
 *
 * Options are the ones runc knows.  Per-mount and superblock options become
 * mount(2) MS_* bits; the "r" variants (rro, rnosuid, ...) become
 * mount_setattr(AT_RECURSIVE) attributes; propagation options are kept in
 * the order given; anything unknown is passed to the filesystem as data.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

enum hull_mount_idmap {
	HULL_MOUNT_IDMAP_NONE,
	HULL_MOUNT_IDMAP,	    /* "idmap": the top mount only */
	HULL_MOUNT_IDMAP_RECURSIVE, /* "ridmap": every mount of the tree */
};

struct hull_mount_options {
	unsigned long flags;	   /* MS_* asked for (MS_BIND, MS_REC, MS_RDONLY, MS_NOSUID, ...) */
	unsigned long clear_flags; /* MS_* asked off ("rw", "suid", "dev", "exec", "atime", ...) */
	unsigned long *propagation; /* MS_PRIVATE|MS_SHARED|MS_SLAVE|MS_UNBINDABLE [|MS_REC] */
	size_t n_propagation;
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) */
	enum hull_mount_idmap idmap;
	bool tmpcopyup;
	char *data; /* the rest, comma-joined ("mode=755,size=65536k"); NULL when none */
};

/*
 * Parses `options` (a strv, may be NULL; later options win over earlier ones)
 * into *ret.  Only fails with -ENOMEM.  Free with hull_mount_options_done().
 */
int hull_mount_options_parse(char *const *options, struct hull_mount_options *ret);
void hull_mount_options_done(struct hull_mount_options *o);

/* True when the options carry any recursive mount_setattr attribute. */
bool hull_mount_options_has_rec_attrs(const struct hull_mount_options *o);

/*
 * "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
 * "runbindable" -> MS_* (with MS_REC for the r-variants); -EINVAL otherwise.
 */
int hull_mount_propagation_parse(const char *s, unsigned long *ret);

/*
 * Translates the per-mount MS_* bits of `flags` into MOUNT_ATTR_* bits
 * (rdonly, nosuid, nodev, noexec, nodiratime, nosymfollow and the atime
 * mode: strictatime wins over noatime, relatime is the default).
 */
uint64_t hull_mount_flags_to_attr(unsigned long flags);

/*
 * Attributes for mount_setattr() that turn an existing mount into what `o`
 * asks for, touching only what the options mention (so flags a user
 * namespace locks stay as they are).  Returns false when nothing changes.
 */
bool hull_mount_options_to_setattr(const struct hull_mount_options *o, uint64_t *ret_set,
				   uint64_t *ret_clr);

/*
 * Bind-mounts `source` (resolved from `source_dirfd`, or the fd itself when
 * source is NULL or "") onto the O_PATH fd `target_fd`, recursively when
 * `recursive`, then applies `attr_set`/`attr_clr` to the new top mount
 * before it is attached.  Uses open_tree(OPEN_TREE_CLONE) + move_mount, so
 * the target is exactly the fd, never a path.  Returns the O_PATH fd of the
 * new mount.
 */
int hull_mount_bind_fd(int source_dirfd, const char *source, int target_fd, bool recursive,
		       uint64_t attr_set, uint64_t attr_clr);

/* ---- mount-api.c ---- */

#define HULL_FS_KMSG_MAX 256

/* mount_setattr() on the mount `fd` (AT_RECURSIVE when `recursive`). */
int hull_mount_setattr(int fd, bool recursive, uint64_t set, uint64_t clr, uint64_t propagation,
		       int userns_fd);

/* move_mount() of the detached mount `mnt_fd` onto the O_PATH fd `target_fd`. */
int hull_mount_attach(int mnt_fd, int target_fd);

/* Clones the tree at dirfd/path (or dirfd itself when path is NULL/"") as a detached mount. */
int hull_mount_clone(int dirfd, const char *path, bool recursive);

/*
 * Creates a new filesystem of `type` (superblock flags from MS_* `flags`,
 * "k=v,flag" `data`) as a detached mount with MOUNT_ATTR_* `attrs`.  On
 * failure the kernel's own explanation, if any, is left in kmsg.
 */
int hull_fs_new(const char *type, const char *source, unsigned long flags, const char *data,
		uint64_t attrs, char *kmsg, size_t kmsg_len);

/* fsconfig() pieces, for a reconfigure through fspick(). */
int hull_fs_flag(int fsfd, const char *key);
int hull_fs_data(int fsfd, const char *data);
int hull_fs_sb_flags(int fsfd, unsigned long flags);

/* The last error the kernel logged on an fs_context fd, without its "e " tag. */
void hull_fs_kernel_msg(int fsfd, char *buf, size_t len);

/* ---- mount-idmap.c ---- */

/* A user namespace holding the given maps (for MOUNT_ATTR_IDMAP): its fd. */
int hull_idmap_userns_new(const struct hull_oci_idmap *uids, size_t n_uids,
			  const struct hull_oci_idmap *gids, size_t n_gids, int *ret_fd,
			  struct hull_error **reterr);

/* ---- devices.c ---- */

/*
 * Creates device nodes below the rootfs `root_fd` (before pivot_root).
 * With `full` (/dev is a filesystem the config mounted, or the rootfs' own
 * /dev when the config mounts none): the default devices (null zero full
 * random urandom tty), linux.devices, /dev/ptmx, the
 * /dev/{fd,stdin,stdout,stderr,core} links, /dev/pts and /dev/shm.  Without
 * (/dev is bound from elsewhere), only linux.devices.  A node the rootfs
 * already has is kept only when it is that very device; anything else there
 * (a symlink to a host file) is replaced, and mode and owner are set on an
 * fd of the checked node, never through a path.  In a user namespace (or
 * when mknod is not permitted) host device nodes are bind-mounted instead.
 */
int hull_devices_setup(int root_fd, const struct hull_oci_linux *lc, bool full, bool in_userns,
		       struct hull_error **reterr);

/*
 * Opens `path` below `root_fd` with `flags` (O_NOFOLLOW: the last component
 * is never followed) and checks it is the device node `type` (S_IFCHR,
 * S_IFBLK) `major`:`minor`.  The node is checked on an O_PATH fd before it
 * is opened for real, and again after.  What the runtime mounts from or
 * opens as a pty (/dev/null for masks, /dev/ptmx) must be that device, never
 * a file a symlink in the rootfs points to.
 */
int hull_open_device_in_root(int root_fd, const char *path, int flags, mode_t type, unsigned major,
			     unsigned minor, struct hull_error **reterr);

/*
 * An empty regular file at `path` below `root_fd` for a bind mount to land
 * on (/dev/console, device nodes bound from the host): its directory is
 * resolved inside the root, and whatever the rootfs had at the last
 * component (a symlink, a directory, a device) is replaced, so the mount
 * lands on that file and nowhere else.  Returns its O_PATH fd.
 */
int hull_dev_bind_target(int root_fd, const char *path, struct hull_error **reterr);
