/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ptys, the controlling terminal, raw mode and runc's --console-socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "linux/terminal.h"
#include "util/error.h"
#include "util/file.h"
#include "util/socket.h"

static bool cloexec(int fd)
{
	return fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

static void test_open(void **state)
{
	struct hull_oci_process p = { .terminal = true };
	int master = -EBADF, slave = -EBADF;
	struct winsize ws = {};
	char buf[16] = "";

	p.console_size.height = 24;
	p.console_size.width = 80;
	p.console_size.set = true;
	assert_int_equal(hull_terminal_open(&p, &master, &slave, NULL), 0);
	assert_true(isatty(master));
	assert_true(isatty(slave));
	assert_true(cloexec(master));
	assert_true(cloexec(slave));
	/* consoleSize reached the pty */
	assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 24);
	assert_int_equal(ws.ws_col, 80);
	/* the two ends are connected */
	assert_int_equal(hull_terminal_make_raw(slave, &(struct termios){}), 0);
	assert_int_equal(write(slave, "ping", 4), 4);
	assert_int_equal(read(master, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "ping");

	assert_int_equal(hull_terminal_set_size(master, 50, 132), 0);
	assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 50);
	assert_int_equal(ws.ws_col, 132);
	assert_int_equal(hull_terminal_set_size(master, 70000, 1), -EINVAL);
	close(master);
	close(slave);

	/* no process (exec without one): no size, still a pty */
	assert_int_equal(hull_terminal_open(NULL, &master, &slave, NULL), 0);
	close(master);
	close(slave);
}

static void test_raw(void **state)
{
	struct termios saved, now;
	int master = -EBADF, slave = -EBADF, p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(hull_terminal_make_raw(p[0], &saved), -ENOTTY);
	close(p[0]);
	close(p[1]);

	assert_int_equal(hull_terminal_open(NULL, &master, &slave, NULL), 0);
	assert_int_equal(tcgetattr(slave, &now), 0);
	assert_true(now.c_lflag & ICANON);
	assert_int_equal(hull_terminal_make_raw(slave, &saved), 0);
	assert_int_equal(tcgetattr(slave, &now), 0);
	assert_false(now.c_lflag & (ICANON | ECHO | ISIG));
	assert_true(saved.c_lflag & ICANON);
	assert_int_equal(hull_terminal_restore(slave, &saved), 0);
	assert_int_equal(tcgetattr(slave, &now), 0);
	assert_true(now.c_lflag & ICANON);
	close(master);
	close(slave);
}

static void test_console_socket(void **state)
{
	char dir[] = "/tmp/hull-test-console-XXXXXX", path[100], msg[64] = "", want[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hull_error *err = NULL;
	int listener, conn, master = -EBADF, slave = -EBADF, got = -EBADF;
	struct stat a, b;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(listener >= 0);
	assert_int_equal(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(listener, 1), 0);

	assert_int_equal(hull_terminal_open(NULL, &master, &slave, NULL), 0);
	assert_int_equal(hull_console_socket_send(path, master, &err), 0);
	conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(conn >= 0);
	n = hull_socket_recv_fd(conn, &got, msg, sizeof(msg) - 1);
	assert_true(n > 0);
	/* what runc sends as the name */
	assert_string_equal(msg, "/dev/ptmx");
	/* it is our master: what the slave writes comes out of it */
	assert_true(got >= 0);
	assert_int_equal(fstat(got, &a), 0);
	assert_int_equal(fstat(master, &b), 0);
	assert_int_equal(a.st_rdev, b.st_rdev);
	assert_int_equal(hull_terminal_make_raw(slave, &(struct termios){}), 0);
	assert_int_equal(write(slave, "x", 1), 1);
	assert_int_equal(read(got, msg, 1), 1);
	assert_int_equal(msg[0], 'x');

	close(got);
	close(conn);
	close(listener);
	unlink(path);

	/* nobody listening: the error names the socket */
	assert_int_equal(hull_console_socket_send(path, master, &err), -ENOENT);
	snprintf(want, sizeof(want), "connect to console socket '%s': No such file or directory",
		 path);
	assert_string_equal(err->msg, want);
	hull_error_free(err);
	close(master);
	close(slave);
	assert_int_equal(rmdir(dir), 0);
}

/* In a child: a new session whose controlling terminal is the pty, on stdio. */
static void test_make_controlling(void **state)
{
	int master = -EBADF, slave = -EBADF, status;
	pid_t pid;

	assert_int_equal(hull_terminal_open(NULL, &master, &slave, NULL), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stat s, io;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (hull_terminal_make_controlling(slave, NULL) < 0)
			_exit(2);
		if (getsid(0) != getpid() || tcgetsid(STDIN_FILENO) != getpid())
			_exit(3);
		if (fstat(slave, &s) < 0)
			_exit(4);
		for (int fd = 0; fd <= 2; fd++) {
			if (fstat(fd, &io) < 0 || io.st_rdev != s.st_rdev)
				_exit(5);
			if (cloexec(fd))
				_exit(6); /* stdio must survive execve */
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(master);
	close(slave);
}

/*
 * In a private mount namespace: the pty shows up as /dev/console.  The pty is
 * opened in there, as the container does after pivot_root.
 */
static void test_mount_console(void **state)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int master = -EBADF, slave = -EBADF;
		struct stat s, c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			_exit(2);
		if (hull_terminal_open(NULL, &master, &slave, NULL) < 0)
			_exit(3);
		if (hull_terminal_mount_console(slave, NULL) < 0)
			_exit(4);
		if (fstat(slave, &s) < 0 || stat("/dev/console", &c) < 0 || c.st_rdev != s.st_rdev)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),	       cmocka_unit_test(test_raw),
		cmocka_unit_test(test_console_socket), cmocka_unit_test(test_make_controlling),
		cmocka_unit_test(test_mount_console),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
