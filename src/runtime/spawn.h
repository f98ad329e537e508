/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One path for putting a process into a container, shared by create (the
 * container's init) and exec (a process joining a running container):
 *
 *   runtime                                process
 *   spawn_check_preserved_fds()
 *   spawn_enter_for_children()
 *   spawn_clone() ----------------------> spawn_child_begin()
 *   spawn_leave_for_children()             [spawn_fork_sibling()]
 *   (cgroup, id maps, oom) -- SYNC_GO --> joins and makes namespaces,
 *                                          sets up the root (create's own part)
 *   spawn_drive_until_ready() <---------- spawn_become_process(): SYNC_PTY,
 *     pty, seccomp hand-off, errors         SYNC_SECCOMP_FD, SYNC_READY
 *                                          execve (or, failing, spawn_child_fail)
 *
 * What differs between the two (create's mounts, hooks and user namespace
 * maps; exec's joining of existing namespaces) stays in container-init.c,
 * container-create.c and container-exec.c.  Private to the runtime room.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "linux/process.h"
#include "oci/config.h"
#include "runtime/seccomp-handoff.h"
#include "runtime/sync.h"
#include "util/error.h"
#include "util/macro.h"

struct hull_seccomp_program;

/* ---- the runtime's side ---- */

/*
 * Before anything is opened or made: fds 3 .. 3+n-1 must be fds the caller
 * passed.  Those are the fds without FD_CLOEXEC (execve closed the caller's
 * close-on-exec ones, and every fd of the runtime is O_CLOEXEC), so a
 * runtime fd that landed in a gap of the range is never mistaken for the
 * caller's.  -EBADF with "--preserve-fds 3: fd 4 is not open in the caller".
 */
int spawn_check_preserved_fds(unsigned n, struct hull_error **reterr);

/* The runtime's own pid and time namespaces while it is in the container's (see below). */
struct spawn_saved_ns {
	int pid, time;
};
#define SPAWN_SAVED_NS_INIT                   \
	{                                     \
		.pid = -EBADF, .time = -EBADF \
	}

/*
 * The pid and time namespaces only place children: the runtime enters them
 * (pid_ns, time_ns: fds, or -EBADF) right before spawn_clone() and leaves
 * them right after, so what it runs later stays in its own.  With
 * `new_time` (the config's linux, time_ns < 0) it makes a time namespace
 * and writes linux.timeOffsets instead.  On failure the caller still calls
 * spawn_leave_for_children().
 */
int spawn_enter_for_children(int pid_ns, int time_ns, const struct hull_oci_linux *new_time,
			     struct spawn_saved_ns *saved, struct hull_error **reterr);
/* Back to the runtime's own pid and time namespaces; closes what `saved` holds. */
void spawn_leave_for_children(struct spawn_saved_ns *saved);

/*
 * clone3 with `flags` and SIGCHLD, into the cgroup `cgroup_fd` when >= 0
 * (CLONE_INTO_CGROUP); plain clone() where clone3 is missing.  Returns the
 * pid (0 in the child) or -1 with errno.
 */
pid_t spawn_clone(unsigned long flags, int cgroup_fd);

/* The runtime's end of the setup conversation, after SYNC_GO. */
struct spawn_driver {
	int sync;	  /* the runtime's end of the sync socket */
	int *pty_master;  /* receives the pty master (SYNC_PTY) */
	const char *what; /* "container process", "process": for messages */
	/* the seccomp listener hand-off; `other` updates pid and pidfd when they change */
	struct seccomp_handoff handoff;
	/* messages only one verb knows (create: SYNC_HOOKS, SYNC_PID); may be NULL */
	int (*other)(struct spawn_driver *d, const struct sync_msg *m, struct hull_error **reterr);
	void *userdata;
};

/*
 * Reads the process's messages until SYNC_READY: SYNC_ERROR becomes the
 * error, SYNC_PTY's fd goes to *pty_master, SYNC_SECCOMP_FD runs the
 * hand-off, anything else goes to `other` (an unknown type is -EBADMSG).
 * -EPIPE with "<what> exited during setup" when the process is gone.  Each
 * read waits for the process, which is killed by the caller on any error.
 */
int spawn_drive_until_ready(struct spawn_driver *d, struct hull_error **reterr);

/*
 * After SYNC_READY of a process that keeps its sync socket until execve
 * (spawn_process.sync_until_exec): waits up to `timeout_ms` for the EOF its
 * execve makes, so the caller returns once the process runs its program.
 * A SYNC_ERROR (the execve failed) becomes the error; a timeout is not an
 * error (a process frozen in a paused cgroup, a seccomp agent answering
 * slowly: it runs on, as before).
 */
int spawn_wait_for_exec(int sync, int timeout_ms, struct hull_error **reterr);

/* ---- the process's side ---- */

/*
 * First thing after the clone: non-dumpable until execve (no container
 * process may read its memory or open its fds through /proc/<pid>), every
 * signal at its default, nothing blocked.
 */
void spawn_child_begin(void);

/*
 * Clones a sibling (CLONE_PARENT: the runtime stays its parent and reaps
 * it), tells the runtime its pid (SYNC_PID) and exits; returns 0 in the
 * sibling only.  For a pid namespace the process itself made or joined
 * (setns and unshare of a pid namespace only place children).
 */
int spawn_fork_sibling(int sync, struct hull_error **reterr);

/* Waits for the runtime's next message, which must be `type`. */
int spawn_wait_for_runtime(int sync, enum sync_type type, struct sync_msg *ret,
			   struct hull_error **reterr);

/* What the process applies at the end of its setup. */
struct spawn_process {
	const struct hull_oci_process *p;
	const struct hull_oci_linux *lc; /* linux.personality; may be NULL */
	const struct hull_seccomp_program *seccomp;
	enum hull_process_flags flags;
	unsigned preserve_fds;
	const int *keep; /* fds still needed after SYNC_READY (create's exec fifo) */
	size_t n_keep;
	bool rootless; /* the runtime cannot pidfd_getfd: the listener is sent */
	/*
	 * exec: *sync stays open (it is O_CLOEXEC) until the execve, so the
	 * runtime learns that the process runs (EOF) or why its execve failed.
	 */
	bool sync_until_exec;
};

/*
 * The common end of setup, inside the container's namespaces and root:
 * finds the executable, closes every fd but stdio, the preserved ones, *sync
 * and `keep`, enters process.cwd and checks that it lies inside the root
 * (a cwd through a preserved host fd or a magic link is refused, as runc's
 * CVE-2024-21626 fix does), applies the process settings
 * (hull_process_apply: ids, capabilities, the exec check as the user,
 * seccomp), hands a seccomp listener over, says SYNC_READY and closes *sync
 * (unless sp->sync_until_exec).  *ret_exec_path: what to execve
 * (hull_process_exec).
 */
int spawn_become_process(const struct spawn_process *sp, int *sync, char **ret_exec_path,
			 struct hull_error **reterr);

/*
 * A failed setup: tells the runtime why over `sync`, or, once that is
 * closed, on stderr (the only way left), and exits with 127.
 */
_noreturn_ void spawn_child_fail(int sync, int r, const struct hull_error *err);
