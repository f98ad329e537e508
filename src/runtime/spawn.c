/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>

#include "util/file.h"

int spawn_check_preserved_fds(unsigned n, struct hull_error **reterr)
{
	for (unsigned i = 0; i < n; i++) {
		int fd = 3 + (int)i, flags = fcntl(fd, F_GETFD);

		if (flags < 0 || (flags & FD_CLOEXEC))
			return hull_error_set(reterr, -EBADF,
					      "--preserve-fds %u: fd %d is not open in the caller",
					      n, fd);
	}
	return 0;
}

int spawn_close_fds(unsigned n_preserved, const int *keep, size_t n_keep,
		    struct hull_error **reterr)
{
	int first = 3 + (int)n_preserved, r;

	r = hull_close_fds_from(first, keep, n_keep);
	if (r < 0)
		return hull_error_errno(reterr, r, "close inherited fds");
	for (int fd = 3; fd < first; fd++) {
		r = hull_fd_set_cloexec(fd, false);
		if (r < 0)
			return hull_error_errno(reterr, r, "--preserve-fds: keep fd %d", fd);
	}
	return 0;
}

void spawn_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}
