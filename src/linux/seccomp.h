/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp through libseccomp.  The filter is compiled to BPF before the
 * container process is cloned; the process only installs it.
 */
#pragma once

#include <stdbool.h>

#include "oci/config.h"
#include "util/error.h"

struct hull_seccomp_program;

/*
 * Compiles linux.seccomp into BPF.  Unknown syscall names are skipped and
 * rules whose action equals the default are dropped (as runc does); several
 * comparisons of the same argument become one rule each.  SCMP_ACT_NOTIFY
 * is refused as the default action and for write(2), and needs
 * listenerPath.  Errors name the field ("linux.seccomp.flags[0]: ...").
 */
int hull_seccomp_compile(const struct hull_oci_seccomp *s, struct hull_seccomp_program **ret,
			 struct hull_error **reterr);
void hull_seccomp_program_free(struct hull_seccomp_program *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_seccomp_program *, hull_seccomp_program_free)

/* True when the program has a SCMP_ACT_NOTIFY rule (needs a listener fd). */
bool hull_seccomp_program_has_notify(const struct hull_seccomp_program *p);

/*
 * Installs the program on the calling thread with seccomp(2) and the flags
 * from the config (the caller sets no_new_privs, or has CAP_SYS_ADMIN).
 * *ret_listener_fd gets the notify fd (O_CLOEXEC) when there is one,
 * -EBADF otherwise; ret_listener_fd may be NULL.
 */
int hull_seccomp_install(const struct hull_seccomp_program *p, int *ret_listener_fd,
			 struct hull_error **reterr);

/* Whether the kernel supports SECCOMP_FILTER_FLAG_NEW_LISTENER / an action. */
bool hull_seccomp_notify_supported(void);

/*
 * Sends the listener fd to linux.seccomp.listenerPath with the container
 * process state JSON (runtime-spec "containerProcessState").
 */
int hull_seccomp_send_listener(const char *listener_path, int listener_fd,
			       const char *process_state_json, struct hull_error **reterr);
