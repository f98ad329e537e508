/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What create and exec share to put a process into a container: the
 * caller's --preserve-fds, the fds the process may keep, its signal state.
 * Private to the runtime room.
 */
#pragma once

#include <stddef.h>

#include "util/error.h"

/*
 * Runtime side, before anything is opened or made: fds 3 .. 3+n-1 must be
 * fds the caller passed.  Those are the fds without FD_CLOEXEC (execve
 * closed the caller's close-on-exec ones, and every fd of the runtime is
 * O_CLOEXEC), so a runtime fd that landed in a gap of the range is never
 * mistaken for the caller's.  -EBADF with "--preserve-fds 3: fd 4 is not
 * open in the caller" otherwise.
 */
int spawn_check_preserved_fds(unsigned n, struct hull_error **reterr);

/*
 * Container side, before the process drops its privileges: closes every fd
 * from 3 + n_preserved up except the `keep` ones (the sync socket, the exec
 * fifo: O_CLOEXEC, closed before execve) and makes the preserved ones
 * survive execve.  What is left at execve is stdio and the preserved fds.
 */
int spawn_close_fds(unsigned n_preserved, const int *keep, size_t n_keep,
		    struct hull_error **reterr);

/* Container side, first thing: default dispositions for every signal, nothing blocked. */
void spawn_reset_signals(void);
