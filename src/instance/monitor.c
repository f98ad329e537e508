/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor: one process per running instance, like conmon.  It creates
 * and starts the container through libhull (so the container's init is its
 * child), owns the console (the pty master goes to console.log), reaps init,
 * and puts the instance back at rest when init exits.  It holds monitor.lock
 * for its whole life: a free lock with a "running" state.json means the
 * monitor died, which `hull list` reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/device-internal.h"
#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/log.h"
#include "util/socket.h"
#include "util/str.h"

#define CONSOLE_LOG_MAX (1u << 20) /* console.log starts over past 1 MiB */

static void notify(int *fd, const char *msg)
{
	if (*fd < 0)
		return;
	hull_write_all(*fd, msg, strlen(msg));
	*fd = safe_close(*fd);
}

static int listen_console(int dirfd, char *path, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;

	/* through /proc/self/fd: instance paths may exceed sun_path */
	snprintf(path, size, "/proc/self/fd/%d/console.sock", dirfd);
	unlinkat(dirfd, "console.sock", 0);
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		return -errno;
	if (fchmodat(dirfd, "console.sock", 0600, 0) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int recv_console(int sock)
{
	_cleanup_close_ int conn = -EBADF;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int master = -EBADF;
	char buf[256];

	if (RETRY_EINTR(poll(&pfd, 1, 10 * 1000)) <= 0)
		return -ETIMEDOUT;
	conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -errno;
	if (hull_socket_recv_fd(conn, &master, buf, sizeof(buf)) < 0 || master < 0)
		return -EBADMSG;
	return master;
}

static void console_copy(int master, int logfd, int *client)
{
	char buf[8192];
	ssize_t n = read(master, buf, sizeof(buf));
	struct stat st;

	if (n <= 0)
		return;
	if (*client >= 0 && send(*client, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN)
		*client = safe_close(*client);
	if (fstat(logfd, &st) == 0 && st.st_size > CONSOLE_LOG_MAX)
		if (ftruncate(logfd, 0) < 0)
			return;
	hull_write_all(logfd, buf, (size_t)n);
}

/*
 * `hull console` clients connect to console.attach in the instance dir (host
 * root only, 0600).  One client at a time: a second one is told so and
 * closed.  Nothing a client or the instance does may block the monitor: the
 * master and the client socket are non-blocking, and what cannot be written
 * at once is dropped (the console log keeps everything the instance wrote).
 */
static int listen_attach(int dirfd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/console.attach", dirfd);
	unlinkat(dirfd, "console.attach", 0);
	/* packets: each client message is one record (see attach_input) */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		return -errno;
	if (fchmodat(dirfd, "console.attach", 0600, 0) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static void attach_accept(int lsock, int *client)
{
	int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	static const char busy[] = "\r\nhull: another console client is attached\r\n";

	if (c < 0)
		return;
	if (*client >= 0) {
		if (send(c, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			hull_debug("console: tell a second client: %s", strerror(errno));
		close(c);
		return;
	}
	*client = c;
}

/*
 * Client -> the instance's console, one packet per message: 'd' + bytes to
 * type (dropped when the tty's input is full), or 'w' + a struct winsize,
 * the client's terminal size, set on the pty (the kernel sends SIGWINCH to
 * the console's foreground process group) and kept for the next boot.
 */
static void attach_input(int *client, int master, struct winsize *ws)
{
	char buf[1 + HULL_CONSOLE_DATA_MAX];
	ssize_t n = RETRY_EINTR(recv(*client, buf, sizeof(buf), MSG_DONTWAIT));

	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		*client = safe_close(*client);
		return;
	}
	if (n <= 0)
		return;
	if (buf[0] == HULL_CONSOLE_DATA && n > 1 && master >= 0 &&
	    write(master, buf + 1, (size_t)n - 1) < 0)
		hull_debug("console: input dropped: %s", strerror(errno));
	if (buf[0] == HULL_CONSOLE_WINSIZE && n == 1 + (ssize_t)sizeof(*ws)) {
		memcpy(ws, buf + 1, sizeof(*ws));
		if (master >= 0 && ioctl(master, TIOCSWINSZ, ws) < 0)
			hull_debug("console: resize: %s", strerror(errno));
	}
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * One boot's console: the pty master (non-blocking) and a peer keeping it
 * open; and init's network namespace, held so that physical nics can be
 * given back after init is gone.
 */
struct boot {
	pid_t init_pid;
	int master, peer, netns;
};

static void boot_done(int dfd, struct boot *b)
{
	if (b->netns >= 0) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
		_cleanup_error_ struct hull_error *e = NULL;

		if (instance_config_load(dfd, &c, NULL) >= 0 &&
		    instance_nics_return(c, b->netns, &e) < 0)
			hull_err("%s", e && e->msg ? e->msg : "physical nics not given back");
		b->netns = safe_close(b->netns);
	}
	b->master = safe_close(b->master);
	b->peer = safe_close(b->peer);
	b->init_pid = 0;
}

/*
 * Creates and starts the container from the bundle's config.json; init is
 * our child.  On failure the runtime's container may remain (the caller's
 * cleanup deletes it).
 */
static int boot(struct hull_home *h, int dfd, const char *name, const char *bundle, struct boot *b,
		struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *st = NULL;
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int sock = -EBADF;
	struct hull_create_opts co = {};
	char sockpath[128];
	int r;

	sock = listen_console(dfd, sockpath, sizeof(sockpath));
	if (sock < 0)
		return hull_error_errno(reterr, sock, "listen for the console");
	co.bundle = bundle;
	co.console_socket = sockpath;
	r = hull_container_create(&h->rt, name, &co, reterr);
	if (r < 0)
		return r;
	b->master = recv_console(sock);
	sock = safe_close(sock);
	unlinkat(dfd, "console.sock", 0);
	if (b->master < 0)
		return hull_error_errno(reterr, b->master, "receive the console");
	/* holding a peer open keeps the master from reporting POLLHUP whenever
	 * no process inside has the console open */
	b->peer = ioctl(b->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fcntl(b->master, F_SETFL, fcntl(b->master, F_GETFL) | O_NONBLOCK) < 0)
		hull_warn("console: non-blocking master: %s", strerror(errno));
	r = hull_container_state(&h->rt, name, &st, reterr);
	if (r < 0)
		return r;
	b->init_pid = st->pid;
	{
		char ns[64];

		snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)b->init_pid);
		b->netns = open(ns, O_RDONLY | O_CLOEXEC);
	}
	/* the devices go in while init waits to be started */
	r = instance_config_load(dfd, &c, reterr);
	if (r >= 0)
		r = instance_devices_plug_all(c, b->init_pid, reterr);
	if (r < 0)
		return r;
	return hull_container_start(&h->rt, name, reterr);
}

/*
 * Serves the console until init exits; returns its wait status (-1 when
 * the monitor's own poll failed).
 */
/* What serve() watches besides the console: uevents for usb hot-plug. */
struct serve_devices {
	struct hull_home *h;
	int dfd;
	const char *name;
	int uevent;
};

static int serve(int sfd, struct boot *b, int logfd, int attach, int *client, struct winsize *ws,
		 struct instance_proxy *px, const struct serve_devices *d)
{
	/* the size the client asked for outlives a reboot */
	if (ws->ws_row && b->master >= 0)
		ioctl(b->master, TIOCSWINSZ, ws);
	for (;;) {
		struct pollfd p[6] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = b->master, .events = POLLIN },
			{ .fd = attach, .events = POLLIN },
			{ .fd = *client, .events = POLLIN },
			{ .fd = instance_proxy_fd(px), .events = POLLIN },
			{ .fd = d->uevent, .events = POLLIN },
		};

		/* negative fds are ignored by poll */
		if (RETRY_EINTR(poll(p, 6, -1)) < 0)
			return -1;
		if (p[4].revents & POLLIN)
			instance_proxy_dispatch(px);
		if (p[5].revents & POLLIN)
			instance_uevent_handle(d->h, d->dfd, d->name, b->init_pid, d->uevent);
		if (p[2].revents & POLLIN)
			attach_accept(attach, client);
		if (*client >= 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
			attach_input(client, b->master, ws);
		if (b->master >= 0 && (p[1].revents & POLLIN))
			console_copy(b->master, logfd, client);
		else if (b->master >= 0 && (p[1].revents & (POLLHUP | POLLERR))) {
			/* no peer could be kept: stop reading rather than spin */
			if (b->peer < 0)
				b->master = safe_close(b->master);
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			int status;
			pid_t pid;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				if (pid == b->init_pid)
					return status;
		}
	}
}

/* The instance's proxy devices, for the boot whose init is `pid`. */
static int proxies_start(int dfd, pid_t pid, struct instance_proxy **ret,
			 struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	int r = instance_config_load(dfd, &c, reterr);

	if (r < 0)
		return r;
	return instance_proxy_start(c, pid, ret, reterr);
}

#define REBOOT_LOCK_WAIT_SEC 60 /* how long a reboot waits for the instance's lock */

/*
 * After init died of SIGHUP (the kernel's word for reboot(2) RESTART in a
 * pid namespace): takes the instance's lock for the new boot, unless a
 * `hull stop` is under way (its "stopping" mark), which turns the reboot
 * into a halt.  Returns the lock fd, or -ECANCELED.
 */
static int reboot_lock(int dfd)
{
	_cleanup_close_ int fd =
		openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < REBOOT_LOCK_WAIT_SEC * 10; i++) {
		if (faccessat(dfd, "stopping", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return -ECANCELED;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (faccessat(dfd, "stopping", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				return -ECANCELED;
			return TAKE_FD(fd);
		}
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/* The old container goes, a new one is made from instance.json as it is now. */
static int reboot_prepare(struct hull_home *h, int dfd, const char *name,
			  struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *own = NULL, *c = NULL;
	int r = hull_container_delete(&h->rt, name, true, reterr);

	if (r < 0)
		return hull_error_wrap(reterr, r, "delete the old container");
	r = instance_config_load(dfd, &own, reterr);
	if (r >= 0)
		r = hull_instance_config_expand(h, own, &c, reterr);
	if (r < 0)
		return r;
	/* the rootfs stays mounted for the ids it was started with: a change of
	 * security.privileged waits for a start (which shifts the files) */
	if (instance_privileged(c) != own->storage_host_ids) {
		hull_info("instance '%s': security.privileged applies at the next start", name);
		if (hull_instance_config_set(c, "security.privileged",
					     own->storage_host_ids ? "true" : "false") < 0)
			return -ENOMEM;
	}
	return instance_oci_write(dfd, c, reterr);
}

_noreturn_ void hull_monitor_main(struct hull_home *h, const char *name, int notify_fd)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_close_ int dfd = -EBADF, mlock = -EBADF, logfd = -EBADF, sfd = -EBADF,
			    null = -EBADF, mlog = -EBADF, attach = -EBADF, client = -EBADF;
	_cleanup_free_ char *bundle = NULL;
	struct boot b = { .master = -EBADF, .peer = -EBADF, .netns = -EBADF };
	struct instance_proxy *px = NULL;
	struct serve_devices devs = { .uevent = -EBADF };
	struct winsize ws = {};
	char started[32], msg[1100];
	int r, status, last_exit = -1;
	sigset_t mask;

	prctl(PR_SET_NAME, "hull-monitor");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}

	dfd = openat(h->instances_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		notify(&notify_fd, "the monitor cannot open the instance directory\n");
		_exit(1);
	}
	mlog = openat(dfd, "monitor.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (mlog >= 0)
		dup2(mlog, STDERR_FILENO);
	hull_log_setup(STDERR_FILENO, HULL_LOG_TEXT, HULL_LOG_INFO);
	mlock = openat(dfd, "monitor.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (mlock < 0 || flock(mlock, LOCK_EX | LOCK_NB) < 0) {
		notify(&notify_fd, "another monitor holds 'monitor.lock'\n");
		_exit(1);
	}
	instance_now(started);
	instance_state_write(dfd, "starting", 0, getpid(), started, -1);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	bundle = hull_strdup_printf("%s/instances/%s", h->path, name);
	logfd = openat(dfd, "console.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	if (sfd < 0 || !bundle || logfd < 0) {
		r = hull_error_errno(&err, -errno, "set up the monitor");
		goto fail;
	}
	attach = listen_attach(dfd);
	if (attach < 0)
		hull_warn("console: no console.attach socket (%s): `hull console` will not work",
			  strerror(-attach));
	r = boot(h, dfd, name, bundle, &b, &err);
	if (r >= 0)
		r = proxies_start(dfd, b.init_pid, &px, &err);
	if (r < 0)
		goto fail;
	/* opened after the container's init was cloned: it never holds it */
	devs = (struct serve_devices){ h, dfd, name, instance_uevent_open() };
	if (devs.uevent < 0)
		hull_warn("usb hot-plug: no uevent socket: %s", strerror(-devs.uevent));
	instance_state_write(dfd, "running", b.init_pid, getpid(), started, -1);
	hull_info("instance '%s' running: init pid %d", name, (int)b.init_pid);
	notify(&notify_fd, "ok\n");

	for (;;) {
		_cleanup_close_ int lock = -EBADF;

		status = serve(sfd, &b, logfd, attach, &client, &ws, px, &devs);
		last_exit = exit_code(status);
		boot_done(dfd, &b);
		hull_info("instance '%s': init exited (%d)", name, last_exit);
		/*
		 * reboot(2) in a pid namespace kills its init with SIGHUP for
		 * RESTART and SIGINT for HALT/POWER_OFF (kernel/pid_namespace.c,
		 * reboot_pid_ns); LXC's monitor tells them apart the same way.
		 */
		if (status < 0 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGHUP)
			break;
		lock = reboot_lock(dfd);
		if (lock < 0) {
			hull_info("instance '%s': reboot not done (%s): stopping", name,
				  lock == -ECANCELED ? "a stop is under way" : strerror(-lock));
			break;
		}
		hull_info("instance '%s': rebooting", name);
		hull_error_free(err);
		err = NULL;
		instance_proxy_free(px);
		px = NULL;
		r = reboot_prepare(h, dfd, name, &err);
		if (r >= 0)
			r = boot(h, dfd, name, bundle, &b, &err);
		if (r >= 0)
			r = proxies_start(dfd, b.init_pid, &px, &err);
		if (r < 0) {
			hull_err("instance '%s': reboot failed: %s", name,
				 err && err->msg ? err->msg : strerror(-r));
			boot_done(dfd, &b);
			break;
		}
		instance_now(started);
		instance_state_write(dfd, "running", b.init_pid, getpid(), started, -1);
		hull_info("instance '%s' running again: init pid %d", name, (int)b.init_pid);
	}
	instance_proxy_free(px);
	px = NULL;
	client = safe_close(client);
	attach = safe_close(attach);
	unlinkat(dfd, "console.attach", 0);
	hull_error_free(err);
	err = NULL;
	r = instance_cleanup(h, dfd, name, last_exit, &err);
	if (r < 0)
		hull_err("%s", err->msg);
	_exit(r < 0 ? 1 : 0);

fail:
	snprintf(msg, sizeof(msg), "%s\n", err && err->msg ? err->msg : strerror(-r));
	hull_err("%s", msg);
	instance_proxy_free(px);
	boot_done(dfd, &b);
	{
		_cleanup_error_ struct hull_error *e2 = NULL;

		instance_cleanup(h, dfd, name, -1, &e2);
	}
	unlinkat(dfd, "console.sock", 0);
	unlinkat(dfd, "console.attach", 0);
	notify(&notify_fd, msg);
	_exit(1);
}
