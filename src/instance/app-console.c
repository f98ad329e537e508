/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stdio of app containers: hull's own swapped for the container's while
 * it starts, and -t with -d, where the container's terminal outlives `hull run`.  The runtime
 * sends the pty master to a console socket in the container's directory
 * (the OCI --console-socket protocol); a keeper process, double-forked into
 * a session of its own as conmon is, copies what the container writes to
 * console.log (what `hull logs` shows) until the terminal closes, which is
 * when the container's last process exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/app-internal.h"
#include "util/file.h"
#include "util/socket.h"

#define CONSOLE_SOCK "console.sock"
#define RECV_TIMEOUT_MS (10 * 1000)

void app_stdio_restore(struct app_stdio *s)
{
	for (int i = 0; i < 3; i++)
		if (s->fd[i] >= 0) {
			dup2(s->fd[i], i);
			s->fd[i] = safe_close(s->fd[i]);
		}
}

int app_stdio_replace(struct app_stdio *s, int i, int fd)
{
	s->fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
	if (s->fd[i] < 0 || dup2(fd, i) < 0)
		return -errno;
	return 0;
}

int app_console_listen(int adir, char *ret_path, size_t size, struct hull_error **reterr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;

	/* through /proc/self/fd: the container's directory may be longer than sun_path */
	snprintf(ret_path, size, "/proc/self/fd/%d/" CONSOLE_SOCK, adir);
	if (strlen(ret_path) >= sizeof(sa.sun_path))
		return hull_error_set(reterr, -ENAMETOOLONG, "console socket '%s'", ret_path);
	strcpy(sa.sun_path, ret_path);
	(void)unlinkat(adir, CONSOLE_SOCK, 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
	    fchmodat(adir, CONSOLE_SOCK, 0600, 0) < 0)
		return hull_error_errno(reterr, -errno, "console socket");
	return TAKE_FD(fd);
}

void app_console_unlink(int adir)
{
	(void)unlinkat(adir, CONSOLE_SOCK, 0);
}

/* The keeper: terminal output to the log until the container's side is gone (EIO). */
static _Noreturn void keep(int master, int logfd)
{
	char buf[8192];

	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || hull_write_all(logfd, buf, (size_t)n) < 0)
			_exit(0);
	}
}

int app_console_keep(int sock, int logfd, struct hull_error **reterr)
{
	_cleanup_close_ int conn = -EBADF, master = -EBADF;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	char buf[256];
	pid_t pid;
	int r;

	/* the runtime connected and sent the master before the container started */
	r = poll(&pfd, 1, RECV_TIMEOUT_MS);
	if (r <= 0)
		return hull_error_set(reterr, r < 0 ? -errno : -ETIMEDOUT,
				      "console socket: no terminal from the runtime");
	conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return hull_error_errno(reterr, -errno, "console socket");
	if (hull_socket_recv_fd(conn, &master, buf, sizeof(buf)) < 0 || master < 0)
		return hull_error_set(reterr, -EBADMSG, "console socket: no terminal received");
	pid = fork();
	if (pid < 0)
		return hull_error_errno(reterr, -errno, "fork the console keeper");
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return 0;
	}
	if (fork() != 0)
		_exit(0);
	(void)setsid();
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int m = fcntl(master, F_DUPFD, 10), l = fcntl(logfd, F_DUPFD, 10);

		if (null < 0 || m < 0 || l < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0 || dup2(m, 3) < 0 || dup2(l, 4) < 0)
			_exit(1);
		/* nothing of hull's (locks, the store) stays open in the keeper */
		if (syscall(SYS_close_range, 5U, ~0U, 0U) < 0)
			_exit(1);
	}
	keep(3, 4);
}
