/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Waiting for a foreground process (run, exec): forwards the signals the
 * runtime receives, copies between our stdio and the pty when there is one,
 * and turns the wait status into an exit code the way runc does.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "linux/terminal.h"
#include "runtime/wait.h"
#include "util/file.h"
#include "util/macro.h"

static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM, SIGUSR1,
				 SIGUSR2, SIGCONT, SIGWINCH, SIGALRM, SIGPIPE };

void wait_block_signals(sigset_t *ret_old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, ret_old);
}

int wait_status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(to, TIOCSWINSZ, &ws);
}

/* Copies what is readable from `in` to `out`; returns false at EOF or error. */
static bool pump(int in, int out)
{
	char buf[8192];
	ssize_t n = read(in, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	return hull_write_all(out, buf, (size_t)n) >= 0;
}

int wait_foreground(pid_t pid, int pidfd, int pty_master, int *ret_exit)
{
	_cleanup_close_ int sfd = -EBADF;
	struct termios saved;
	bool raw = false, stdin_open = pty_master >= 0;
	sigset_t set;
	int status = 0;

	sigemptyset(&set);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	if (pty_master >= 0) {
		if (hull_terminal_make_raw(STDIN_FILENO, &saved) >= 0)
			raw = true;
		copy_winsize(STDIN_FILENO, pty_master);
	}

	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = pty_master, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		int r = poll(pfd, 4, -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
				if (si.ssi_signo == SIGWINCH && pty_master >= 0)
					copy_winsize(STDIN_FILENO, pty_master);
				else
					(void)syscall(SYS_pidfd_send_signal, pidfd, si.ssi_signo,
						      NULL, 0);
			}
		}
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!pump(pty_master, STDOUT_FILENO) && !(pfd[2].revents & POLLIN))
				pty_master = -1;
		}
		if (pfd[3].revents & (POLLIN | POLLHUP)) {
			if (!pump(STDIN_FILENO, pty_master))
				stdin_open = false;
		}
		if (pfd[1].revents & POLLIN) {
			/* drain what the process wrote before it exited */
			while (pty_master >= 0) {
				struct pollfd p = { .fd = pty_master, .events = POLLIN };

				if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN) ||
				    !pump(pty_master, STDOUT_FILENO))
					break;
			}
			break;
		}
	}
	if (raw)
		hull_terminal_restore(STDIN_FILENO, &saved);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	*ret_exit = wait_status_to_exit(status);
	return 0;
}
