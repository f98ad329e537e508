/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sync channel between the runtime and a process it is setting up
 * (container init or exec'd process): a SOCK_SEQPACKET pair carrying small
 * typed messages, fds attached where a message needs one.
 */
#pragma once

#include <stdint.h>

#include "util/error.h"

enum sync_type {
	SYNC_GO = 1,	   /* parent -> child: ids mapped, cgroup joined; continue */
	SYNC_HOOKS,	   /* child -> parent: mounts done, run prestart/createRuntime */
	SYNC_HOOKS_DONE,   /* parent -> child */
	SYNC_PTY,	   /* child -> parent: pty master attached */
	SYNC_SECCOMP_FD,   /* child -> parent: seccomp listener attached */
	SYNC_SECCOMP_DONE, /* parent -> child: listener forwarded */
	SYNC_READY,	   /* child -> parent: set up, about to wait for start / exec */
	SYNC_ERROR,	   /* child -> parent: text is the error message, value the -errno */
	SYNC_PID,	   /* child -> parent: the pid of the process that goes on */
	SYNC_USERNS,	   /* child -> parent: user namespace made, write its id maps */
};

struct sync_msg {
	uint32_t type;
	int32_t value;
	char text[4000];
};

/* Sends a message (text may be NULL), with fd attached when fd >= 0. */
int sync_send(int sock, enum sync_type type, int value, const char *text, int fd);
/*
 * Receives one message; *ret_fd gets an attached fd or -EBADF (ret_fd may be
 * NULL).  -EPIPE when the peer is gone (EOF, or a reset connection).
 */
int sync_recv(int sock, struct sync_msg *ret, int *ret_fd);
/* Receives and checks the type; an SYNC_ERROR from the child becomes the returned error. */
int sync_expect(int sock, enum sync_type type, struct sync_msg *ret, int *ret_fd,
		struct hull_error **reterr);
/* Child side: reports an error to the parent (best effort). */
void sync_send_error(int sock, int code, const struct hull_error *err);
