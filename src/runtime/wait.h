/* SPDX-License-Identifier: Apache-2.0 */
/* Foreground waiting shared by run and exec (runtime room). */
#pragma once

#include <signal.h>
#include <sys/types.h>

/* Blocks the signals wait_foreground() forwards, before the child exists. */
void wait_block_signals(sigset_t *ret_old);

/*
 * Waits for our child `pid`, forwarding signals to it and proxying the pty
 * (pty_master >= 0) with our stdio; *ret_exit gets runc's exit code.
 */
int wait_foreground(pid_t pid, int pidfd, int pty_master, int *ret_exit);

/* exit status for a wait status: the code, or 128 + signal. */
int wait_status_to_exit(int status);
