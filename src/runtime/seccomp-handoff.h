/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hands the seccomp notify listener of a container process (init or exec'd)
 * to the agent at linux.seccomp.listenerPath.  The protocol is described in
 * seccomp-handoff.c and docs/config.md (linux.seccomp).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/config.h"
#include "runtime/container.h"
#include "util/error.h"

/* ---- the container process's side ---- */

/*
 * hull_seccomp_listener.announce: tells the runtime (userdata: int *, the
 * process's end of the sync socket) the fd number the listener will get.
 */
int seccomp_handoff_announce(int fd, void *userdata, struct hull_error **reterr);

/*
 * hull_seccomp_listener.loaded for an unprivileged runtime, which may not
 * pidfd_getfd a non-dumpable process: sends the listener over the sync socket.
 */
int seccomp_handoff_send(int fd, void *userdata, struct hull_error **reterr);

/*
 * After hull_process_apply: waits until the runtime has handed the listener
 * over (SYNC_SECCOMP_DONE), then closes our copy.  Nothing to do when
 * *listener < 0.
 */
int seccomp_handoff_child_finish(int sync, int *listener, struct hull_error **reterr);

/* ---- the runtime's side ---- */

struct seccomp_handoff {
	int sync;  /* the runtime's end of the sync socket */
	int pidfd; /* of the process that loads the filter */
	pid_t pid;
	const struct hull_oci_config *config; /* linux.seccomp and the annotations */
	const struct hull_state *state;
	enum hull_status status; /* reported to the agent */
	bool sent; /* unprivileged: the process sends the listener (seccomp_handoff_send) */
};

/*
 * On SYNC_SECCOMP_FD with the announced fd number: takes the listener from
 * the process, sends it to the agent, tells the process, and waits (bounded)
 * until the process has something to say (READY, an error, or its exit).
 * Returns 0 when the caller may read the sync socket again without blocking
 * long; every failure is an error and the caller kills the process.
 */
int seccomp_handoff_run(const struct seccomp_handoff *h, int fd_nr, struct hull_error **reterr);

/*
 * `start` waited `timeout` for container `id`'s process `pid` to pass the
 * exec fifo (it may be blocked in a notification nobody answers): the error,
 * saying so when the process waits for its agent.
 */
int seccomp_handoff_start_timeout(const char *id, pid_t pid, uint64_t timeout,
				  struct hull_error **reterr);
