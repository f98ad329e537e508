/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container process's own attributes, applied by the process itself
 * right before execve: keyring, LSM labels, oom score, rlimits, personality,
 * identity (groups, gid, uid, umask), capabilities, no_new_privs, seccomp.
 */
#pragma once

#include <stdbool.h>

#include "oci/config.h"
#include "util/error.h"

struct hull_seccomp_program;
struct hull_seccomp_listener;

enum hull_process_flags {
	HULL_PROCESS_NEW_KEYRING =
		1 << 0, /* join a new session keyring (not with --no-new-keyring) */
};

/* Host support for LSMs; used to reject apparmorProfile/selinuxLabel with a clear error. */
bool hull_apparmor_enabled(void);
bool hull_selinux_enabled(void);

/*
 * Checks what can be checked before clone: LSM availability
 * ("process.apparmorProfile: apparmor is not enabled on this host"), rlimit
 * values (soft <= hard, no duplicates), oomScoreAdj, ioPriority and nice
 * ranges, umask.
 */
int hull_process_validate(const struct hull_oci_process *p, struct hull_error **reterr);

/*
 * Applies everything of `p` (and linux.personality from `lc`, may be NULL)
 * to the calling process, in the order the kernel needs, stopping right
 * before execve.  `seccomp` (may be NULL) is installed as late as possible:
 * after the capability drop when noNewPrivileges is set, before it otherwise.
 * When the filter has a notify action, `listener` says who takes the
 * listener (hull_seccomp_install: announced before the load, copied by the
 * runtime with pidfd_getfd) and listener->fd receives it; `listener` may be
 * NULL when there is no notify.  Without noNewPrivileges the filter is
 * installed before the uid switch, so notified prctl/capset/setgroups/
 * setres[ug]id calls wait for the agent, which the runtime is handing the
 * listener to meanwhile.
 * oomScoreAdj is left to the caller (hull_process_set_oom_score_adj from the
 * runtime).  Order: session keyring, LSM exec label, rlimits, personality,
 * ioPriority, scheduler, [seccomp], bounding set, groups/gid/uid (keeping
 * caps), umask, capset + ambient, [exec check], no_new_privs, [seccomp].
 * exec_path (may be NULL) is checked right after capset, as the user the
 * process now is (faccessat X_OK, AT_EACCESS): -EACCES with "exec: '/prog'
 * as uid 1000: Permission denied" for a program that user may not run.
 * Every failure names its step ("capset: Operation not permitted").
 */
int hull_process_apply(const struct hull_oci_process *p, const struct hull_oci_linux *lc,
		       const struct hull_seccomp_program *seccomp, enum hull_process_flags flags,
		       const char *exec_path, struct hull_seccomp_listener *listener,
		       struct hull_error **reterr);

/*
 * Finds args[0] through the PATH of p->env (like execvp, but with the
 * container's PATH; the default PATH when env has none) and returns its
 * path.  -ENOENT with "exec: 'foo': executable file not found in $PATH";
 * an args[0] with a '/' is checked as is (-EACCES for a directory or a file
 * without execute permission).
 */
int hull_process_find_exec(const struct hull_oci_process *p, char **ret_path,
			   struct hull_error **reterr);

/*
 * execve(path, args, env); returns only on failure.  Adds HOME (from
 * /etc/passwd for process.user.uid, "/" when absent) when env has none, as
 * runc does.  The caller closes what must not leak (close_range) before.
 */
int hull_process_exec(const struct hull_oci_process *p, const char *path,
		      struct hull_error **reterr);

/* Writes /proc/PID/oom_score_adj (/proc/self when pid <= 0). */
int hull_process_set_oom_score_adj(pid_t pid, int adj, struct hull_error **reterr);

/*
 * Before clone: hostname/domainname need a private UTS namespace (a new one,
 * or a path that is not the runtime's own).
 */
int hull_uts_validate(const struct hull_oci_config *c, struct hull_error **reterr);

/* Sets hostname and domainname from the config (in the container's UTS ns). */
int hull_uts_apply(const struct hull_oci_config *c, struct hull_error **reterr);

/*
 * Before clone: every linux.sysctl key must belong to a namespace the
 * container has of its own (ipc: kernel.msg*, kernel.sem, kernel.shm*,
 * fs.mqueue.*; net: net.*; uts: kernel.domainname), as runc checks, so a
 * container never writes the host's sysctls.
 */
int hull_sysctl_validate(const struct hull_oci_config *c, struct hull_error **reterr);

/* Writes linux.sysctl through /proc/sys (after pivot_root, before readonly paths). */
int hull_sysctl_apply(const struct hull_oci_linux *lc, struct hull_error **reterr);
