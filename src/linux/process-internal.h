/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the process-attribute files of src/linux/ (process.c, caps.c,
 * identity.c, rlimit.c, lsm.c, uts-sysctl.c): the steps hull_process_apply()
 * strings together.  Each step reports its own failure ("capset: ...").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "oci/config.h"
#include "util/error.h"

/* ---- process.c -------------------------------------------------------- */

/*
 * Opens a file below /proc (absolute `path`, last component not followed)
 * and checks it really lives on procfs, so a rootfs that put something else
 * on /proc cannot redirect the write.  Writes `value` in one write(2).
 */
int hull_procfs_write(const char *path, const char *value);
/* Same check for a directory below /proc; returns an O_PATH|O_DIRECTORY fd. */
int hull_procfs_open_dir(const char *path);

/* ---- caps.c ----------------------------------------------------------- */

/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int hull_caps_last_kernel(void);

/* Drops from the bounding set every capability not in c->bounding (needs CAP_SETPCAP). */
int hull_caps_apply_bounding(const struct hull_oci_caps *c, struct hull_error **reterr);

/* capset() effective/permitted/inheritable, then clears and raises the ambient set. */
int hull_caps_apply(const struct hull_oci_caps *c, struct hull_error **reterr);

/* ---- identity.c ------------------------------------------------------- */

/*
 * setgroups(additionalGids) (skipped when the user namespace denies it and
 * there are none), setresgid(gid), setresuid(uid).
 */
int hull_identity_apply(const struct hull_oci_user *u, struct hull_error **reterr);

/* umask from the config, 0022 when not set (as runc). */
int hull_umask_apply(const struct hull_oci_user *u, struct hull_error **reterr);

/*
 * Looks `uid` up in /etc/passwd (of the current root) and returns its home
 * directory; "/" when the file or the entry is missing.
 */
int hull_identity_home(uint32_t uid, char **ret);

/* ---- rlimit.c --------------------------------------------------------- */

int hull_rlimits_validate(const struct hull_oci_process *p, struct hull_error **reterr);
int hull_rlimits_apply(const struct hull_oci_process *p, struct hull_error **reterr);

/* ---- lsm.c ------------------------------------------------------------ */

int hull_lsm_validate(const struct hull_oci_process *p, struct hull_error **reterr);
/* Sets the AppArmor profile / SELinux label the next execve() switches to. */
int hull_lsm_apply(const struct hull_oci_process *p, struct hull_error **reterr);
