/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull console NAME: attach to a running instance's console (the monitor
 * keeps the pty master and serves it on console.attach).  ctrl-a q detaches;
 * ctrl-a ctrl-a sends one ctrl-a.  The terminal's size goes to the console's
 * pty at attach and on every SIGWINCH.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "util/file.h"

#define ESCAPE 0x01 /* ctrl-a */

static struct termios saved;
static bool raw_set;

static void restore_tty(void)
{
	if (raw_set)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	raw_set = false;
}

static int console_connect(struct hull_cli *cli, const char *name, struct hull_error **reterr)
{
	_cleanup_(hull_instance_info_freep) struct hull_instance_info *info = NULL;
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r = hull_instance_get(cli->home, name, &info, reterr);

	if (r < 0)
		return r;
	if (info->status != HULL_INSTANCE_RUNNING)
		return hull_error_set(reterr, -EINVAL, "instance '%s' is not running", name);
	dfd = openat(cli->home->instances_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return hull_error_errno(reterr, -errno, "open instance '%s'", name);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/console.attach", dfd);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_error_errno(reterr, -errno,
					"attach to the console of '%s' (its monitor may predate "
					"`hull console`: restart it)",
					name);
	return TAKE_FD(fd);
}

/* Sends bytes to type, in packets of at most HULL_CONSOLE_DATA_MAX. */
static int send_data(int sock, const char *data, size_t len)
{
	char pkt[1 + HULL_CONSOLE_DATA_MAX];

	pkt[0] = HULL_CONSOLE_DATA;
	while (len > 0) {
		size_t k = len < HULL_CONSOLE_DATA_MAX ? len : HULL_CONSOLE_DATA_MAX;

		memcpy(pkt + 1, data, k);
		if (RETRY_EINTR(send(sock, pkt, k + 1, MSG_NOSIGNAL)) < 0)
			return -errno;
		data += k;
		len -= k;
	}
	return 0;
}

/* The size of our terminal to the console's pty (at attach and on SIGWINCH). */
static void send_winsize(int sock)
{
	char pkt[1 + sizeof(struct winsize)];
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return;
	pkt[0] = HULL_CONSOLE_WINSIZE;
	memcpy(pkt + 1, &ws, sizeof(ws));
	RETRY_EINTR(send(sock, pkt, sizeof(pkt), MSG_NOSIGNAL));
}

static int console_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
	_cleanup_close_ int sock = -EBADF, winch = -EBADF;
	bool escaped = false;
	sigset_t mask;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_console, argc, argv, "", opts, &c, reterr)) == 0 &&
	       c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_console, argc, argv, 1, 1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	sock = console_connect(cli, argv[optind], reterr);
	if (sock < 0)
		return sock;
	fprintf(stderr, "hull: attached to the console of '%s' (detach: ctrl-a q)\r\n",
		argv[optind]);
	if (isatty(STDIN_FILENO)) {
		sigemptyset(&mask);
		sigaddset(&mask, SIGWINCH);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		winch = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
		send_winsize(sock);
	}
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios raw = saved;

		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
			raw_set = true;
	}
	for (;;) {
		struct pollfd p[3] = { { .fd = STDIN_FILENO, .events = POLLIN },
				       { .fd = sock, .events = POLLIN },
				       { .fd = winch, .events = POLLIN } };
		char buf[8192], out[8192];
		size_t k = 0;
		ssize_t n;

		if (RETRY_EINTR(poll(p, 3, -1)) < 0) {
			r = hull_error_errno(reterr, -errno, "poll");
			break;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(winch, &si, sizeof(si)) == sizeof(si))
				;
			send_winsize(sock);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = RETRY_EINTR(read(sock, buf, sizeof(buf)));
			if (n <= 0) {
				restore_tty();
				fprintf(stderr, "\r\nhull: the console of '%s' closed\n",
					argv[optind]);
				break;
			}
			if (hull_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = RETRY_EINTR(read(STDIN_FILENO, buf, sizeof(buf) / 2));
		if (n <= 0)
			break; /* stdin closed: detach */
		for (ssize_t i = 0; i < n; i++) {
			if (escaped) {
				escaped = false;
				if (buf[i] == 'q' || buf[i] == 'Q') {
					restore_tty();
					send_data(sock, out, k);
					fprintf(stderr, "\r\nhull: detached\n");
					return 0;
				}
				if (buf[i] != ESCAPE)
					out[k++] = ESCAPE;
				out[k++] = buf[i];
			} else if (buf[i] == ESCAPE) {
				escaped = true;
			} else {
				out[k++] = buf[i];
			}
		}
		if (k && send_data(sock, out, k) < 0)
			break;
	}
	restore_tty();
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_console = {
	.name = "console",
	.summary = "attach to a running instance's console (detach: ctrl-a q)",
	.usage = "NAME",
	.run = console_run,
};
