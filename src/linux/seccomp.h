/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp through libseccomp.  The filter is compiled to BPF before the
 * container process is cloned; the process only installs it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "oci/config.h"
#include "util/error.h"

struct hull_seccomp_program;

/*
 * Compiles linux.seccomp into BPF.  Unknown syscall names are skipped and
 * rules whose action equals the default are dropped (as runc does); several
 * comparisons of the same argument become one rule each.  SCMP_ACT_NOTIFY
 * may be used for any syscall and as the default action, and needs
 * listenerPath.  Errors name the field ("linux.seccomp.flags[0]: ...").
 */
int hull_seccomp_compile(const struct hull_oci_seccomp *s, struct hull_seccomp_program **ret,
			 struct hull_error **reterr);
void hull_seccomp_program_free(struct hull_seccomp_program *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_seccomp_program *, hull_seccomp_program_free)

/* True when the program can notify (a SCMP_ACT_NOTIFY rule or default): it needs a listener. */
bool hull_seccomp_program_has_notify(const struct hull_seccomp_program *p);

/*
 * Where a listener goes (runtime side: src/runtime/seccomp-handoff.c).
 * `announce` runs right before the filter is loaded, with the fd number the
 * kernel will give the listener (the lowest free one: nothing is opened or
 * closed between the call and the load).  The taker copies the listener
 * with pidfd_getfd(2), so nothing the process does after the load is part
 * of the hand-off and every syscall may be notified.
 */
struct hull_seccomp_listener {
	int (*announce)(int fd, void *userdata, struct hull_error **reterr);
	/*
	 * Optional, right after the load: for a taker that may not use
	 * pidfd_getfd (an unprivileged runtime and a non-dumpable process), the
	 * process sends the listener itself -- which deadlocks if that very
	 * syscall is notified.
	 */
	int (*loaded)(int fd, void *userdata, struct hull_error **reterr);
	void *userdata;
	int fd; /* out: the listener (O_CLOEXEC), -EBADF when the filter has no notify */
};

/*
 * Installs the program on the calling thread with seccomp(2) and the flags
 * from the config (the caller sets no_new_privs, or has CAP_SYS_ADMIN).
 * A program with a notify action needs `l` (with an announce callback);
 * l->fd gets the listener.  l may be NULL otherwise.
 */
int hull_seccomp_install(const struct hull_seccomp_program *p, struct hull_seccomp_listener *l,
			 struct hull_error **reterr);

/* Whether the kernel supports SECCOMP_FILTER_FLAG_NEW_LISTENER / an action. */
bool hull_seccomp_notify_supported(void);

/*
 * Sends the listener fd to linux.seccomp.listenerPath with the container
 * process state JSON (runtime-spec "containerProcessState") and waits until
 * the agent has received it.  Every step is bounded by `timeout_usec`
 * together: connecting, sending, and the agent taking the message off its
 * socket.  Errors name the path:
 * "linux.seccomp.listenerPath '/x': connect: Connection refused",
 * "...: the agent closed the connection without receiving the listener",
 * "...: the agent did not receive the listener within 10s".
 */
int hull_seccomp_send_listener(const char *listener_path, int listener_fd,
			       const char *process_state_json, uint64_t timeout_usec,
			       struct hull_error **reterr);

/*
 * How long the runtime waits on the agent and on a container process that
 * may be blocked in a notification: the annotation
 * "run.hull.seccomp-listener-timeout" (docs/config.md), 10 seconds without it.
 */
#define HULL_SECCOMP_TIMEOUT_ANNOTATION "run.hull.seccomp-listener-timeout"
#define HULL_SECCOMP_TIMEOUT_DEFAULT_USEC (10 * 1000000ULL)
#define HULL_SECCOMP_TIMEOUT_MAX_USEC (3600 * 1000000ULL)

/*
 * Parses a timeout: a whole number with a unit, "ms", "s" or "m" ("500ms",
 * "10s", "2m"), or a bare number of seconds; from 1ms to 1 hour.  -EINVAL
 * for anything else, -ERANGE outside the range.
 */
int hull_seccomp_parse_timeout(const char *s, uint64_t *ret_usec);

/*
 * The timeout from `annotations` (alternating keys and values, may be NULL),
 * or the default.  A bad value is an error naming the annotation.
 */
int hull_seccomp_listener_timeout(char *const *annotations, uint64_t *ret_usec,
				  struct hull_error **reterr);

/* A timeout for messages: "10s", "1500ms". */
struct hull_seccomp_timeout_text {
	char s[32];
};
struct hull_seccomp_timeout_text hull_seccomp_timeout_str(uint64_t usec);
