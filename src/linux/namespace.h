/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Namespaces and user-namespace id maps.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

/*
 * Opens the namespace files the config asks to join (linux.namespaces[].path),
 * one fd per type in ret_fds[] (-EBADF where not joining), checking each is
 * a namespace of the named type (ioctl NS_GET_NSTYPE).
 */
int hull_ns_open_paths(const struct hull_oci_linux *lc, int ret_fds[_HULL_NS_MAX],
		       struct hull_error **reterr);

/* Joins the namespaces in fds[] (user first), closing each after use. */
int hull_ns_join(int fds[_HULL_NS_MAX], struct hull_error **reterr);

/* Closes every fd in fds[]. */
void hull_ns_close_all(int fds[_HULL_NS_MAX]);

/*
 * Writes /proc/PID/{uid_map,gid_map} from the config.  As root it writes the
 * files itself; unprivileged it calls newuidmap/newgidmap (uidmap package).
 * Writes "deny" to setgroups when unprivileged without newgidmap.
 */
int hull_idmap_write(pid_t pid, const struct hull_oci_idmap *uids, size_t n_uids,
		     const struct hull_oci_idmap *gids, size_t n_gids, struct hull_error **reterr);

/* Writes /proc/PID/timens_offsets (before the first process enters the time ns). */
int hull_timens_write_offsets(pid_t pid, const struct hull_oci_linux *lc,
			      struct hull_error **reterr);

/* Brings the loopback interface of the current network namespace up (as runc does). */
int hull_netns_loopback_up(struct hull_error **reterr);
