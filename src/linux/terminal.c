/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "linux/mount-options.h"
#include "linux/rootfs.h"
#include "util/file.h"
#include "util/macro.h"
#include "util/socket.h"

/* runc sends the master's file name, which is always this */
#define PTY_NAME "/dev/ptmx"

int hull_terminal_set_size(int fd, unsigned rows, unsigned cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };

	if (rows > USHRT_MAX || cols > USHRT_MAX)
		return -EINVAL;
	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

int hull_terminal_open(const struct hull_oci_process *p, int *ret_master, int *ret_slave,
		       struct hull_error **reterr)
{
	_cleanup_close_ int root = -EBADF, master = -EBADF, slave = -EBADF;
	int r;

	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hull_error_errno(reterr, -errno, "open '/'");
	/* the container's /dev/ptmx must be a pty multiplexer (5:2), nothing it points elsewhere */
	master = hull_open_device_in_root(root, "/dev/ptmx", O_RDWR | O_NOCTTY, S_IFCHR, 5, 2,
					  reterr);
	if (master < 0)
		return master;
	if (unlockpt(master) < 0)
		return hull_error_errno(reterr, -errno, "unlock pty");

	/* TIOCGPTPEER opens the peer through the master, not a path that could be swapped */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		char name[64];

		if (errno != EINVAL && errno != ENOTTY)
			return hull_error_errno(reterr, -errno, "open pty peer");
		r = ptsname_r(master, name, sizeof(name));
		if (r != 0)
			return hull_error_errno(reterr, -r, "get pty name");
		slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0)
			return hull_error_errno(reterr, -errno, "open '%s'", name);
	}

	/*
	 * As runc (fixStdioPermissions): the process's user owns its tty, so a
	 * non-root process can reopen it (/dev/stdin, /proc/self/fd/0); only
	 * the uid changes, the group stays the one devpts gave (gid=5: tty).
	 */
	if (p && p->user.uid != 0 && fchown(slave, p->user.uid, (gid_t)-1) < 0)
		return hull_error_errno(reterr, -errno, "chown pty to process.user.uid %u",
					p->user.uid);
	if (p && p->console_size.set) {
		r = hull_terminal_set_size(master, p->console_size.height, p->console_size.width);
		if (r < 0)
			return hull_error_errno(reterr, r, "set console size %ux%u",
						p->console_size.width, p->console_size.height);
	}
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}

int hull_terminal_make_controlling(int slave, struct hull_error **reterr)
{
	/* a session leader already (the caller did setsid) is fine */
	if (setsid() < 0 && !(errno == EPERM && getsid(0) == getpid()))
		return hull_error_errno(reterr, -errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return hull_error_errno(reterr, -errno, "make the pty the controlling terminal");
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int r;

		/* dup2 clears O_CLOEXEC on the copy; the slave itself keeps it */
		if (fd == slave)
			r = hull_fd_set_cloexec(fd, false);
		else
			r = dup2(slave, fd) < 0 ? -errno : 0;
		if (r < 0)
			return hull_error_errno(reterr, r, "connect the pty to fd %d", fd);
	}
	return 0;
}

int hull_terminal_mount_console(int slave, struct hull_error **reterr)
{
	_cleanup_close_ int root = -EBADF, target = -EBADF;
	int r;

	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hull_error_errno(reterr, -errno, "open '/'");
	/* a file of our own: a symlink at /dev/console is replaced, never followed */
	target = hull_dev_bind_target(root, "/dev/console", reterr);
	if (target < 0)
		return hull_error_wrap(reterr, target, "mount pty on '/dev/console'");
	r = hull_mount_bind_fd(slave, NULL, target, false, 0, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "mount pty on '/dev/console'");
	safe_close(r);
	return 0;
}

int hull_console_socket_send(const char *socket_path, int master, struct hull_error **reterr)
{
	_cleanup_close_ int sock = -EBADF;
	int r;

	sock = hull_socket_connect_unix(socket_path);
	if (sock < 0)
		return hull_error_errno(reterr, sock, "connect to console socket '%s'",
					socket_path);
	r = hull_socket_send_fd(sock, master, PTY_NAME, strlen(PTY_NAME));
	if (r < 0)
		return hull_error_errno(reterr, r, "send pty to console socket '%s'", socket_path);
	return 0;
}

int hull_terminal_make_raw(int fd, struct termios *ret_saved)
{
	struct termios old, raw;

	if (!isatty(fd))
		return -ENOTTY;
	if (tcgetattr(fd, &old) < 0)
		return -errno;
	raw = old;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return -errno;
	*ret_saved = old;
	return 0;
}

int hull_terminal_restore(int fd, const struct termios *saved)
{
	if (tcsetattr(fd, TCSANOW, saved) < 0)
		return -errno;
	return 0;
}
