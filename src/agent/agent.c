/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-agent: the PID 1 of a hull micro-VM, and the same program in a test
 * mode on any host.
 *
 * As PID 1 (in the initramfs hull writes, src/vmm/initramfs.h) it mounts
 * /proc, /sys, /dev, /dev/pts, /sys/fs/cgroup and /run, mounts the root
 * image (/dev/vda, ext4: read-only under a tmpfs-backed overlay, or
 * read-write with hull.rw on the kernel command line), listens on vsock port
 * 1024 and serves one session of the agent protocol (agent-proto.h): it runs
 * the container with the library's create/start/exec (runtime/container.h,
 * the very code of hull-runtime), forwards stdio, signals, window size and
 * exit statuses, and ends the VM (a reset, see agent_power_off() in agent-guest.c) when the session
 * ends.
 *
 * Test mode: `hull-agent --listen unix:PATH --rootfs DIR [--state DIR]`,
 * not as PID 1: the same session on a unix socket, the container from a
 * rootfs directory; the agent exits when the session ends.
 *
 * Every process of the session (the container's init, each exec) gets a
 * short-lived "runner" child that holds its stdio (pipes, or a pty sent
 * back through a console socket) while it calls create+start or exec -d and
 * exits.  The process itself is then re-parented to the agent (PID 1, or a
 * child subreaper in test mode), which reaps it and so learns its exact
 * status.  The agent itself is single-threaded: one poll loop, a bounded
 * queue per direction, and backpressure instead of unbounded buffers.
 */
#include "agent/agent-internal.h"

/* ---- children ---- */

static bool stdin_congested(struct agent *a)
{
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		if (a->streams[i].used && a->streams[i].in_len >= STDIN_HIGH)
			return true;
	}
	return false;
}

/* The runner of `s` ended: its process runs now (STARTED), or it failed (ERROR). */
static void runner_done(struct agent *a, struct stream *s, int status)
{
	char buf[HULL_AGENT_MAX_MESSAGE + 1], *text = NULL;
	ssize_t n;
	size_t len;
	int64_t pid = 0;

	s->runner = 0;
	n = read(s->runner_err, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	s->runner_err = safe_close(s->runner_err);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		agent_send_error(a, s->id, buf[0] ? buf : "the runner failed");
		if (s->is_init)
			a->session_over = true;
		agent_stream_free(s);
		return;
	}
	if (hull_read_file_at(AT_FDCWD, s->pid_path, &text, &len) >= 0) {
		char *end;
		errno = 0;
		pid = strtoll(text, &end, 10);
		if (errno || end == text || pid <= 0 || pid > INT32_MAX)
			pid = 0;
		free(text);
	}
	if (pid == 0) {
		agent_send_error(a, s->id, "the process started but its pid is unknown");
		agent_stream_free(s);
		return;
	}
	s->pid = (pid_t)pid;
	s->started = true;
	agent_send_int(a, HULL_AGENT_STARTED, s->id, "pid", (int)pid, NULL, 0);
	/* reaped already? */
	for (size_t i = 0; i < a->n_orphans; i++) {
		if (a->orphans[i].pid == s->pid) {
			s->exited = true;
			s->status = a->orphans[i].status;
			a->orphans[i] = a->orphans[--a->n_orphans];
			agent_stream_finish(a, s);
			return;
		}
	}
}

static void reap(struct agent *a)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		bool known = false;

		if (pid <= 0)
			return;
		for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
			struct stream *s = &a->streams[i];

			if (!s->used)
				continue;
			if (s->runner == pid) {
				runner_done(a, s, status);
				known = true;
				break;
			}
			if (s->started && s->pid == pid) {
				s->exited = true;
				s->status = status;
				agent_stream_finish(a, s);
				known = true;
				break;
			}
		}
		if (!known) {
			/* a process whose runner has not told us its pid yet, or any orphan */
			if (a->n_orphans == ORPHANS)
				a->n_orphans--; /* forget the newest: orphans of orphans */
			a->orphans[a->n_orphans].pid = pid;
			a->orphans[a->n_orphans].status = status;
			a->n_orphans++;
		}
	}
}

/* The pty of a tty process arrives on its console socket. */
static void accept_console(struct agent *a, struct stream *s)
{
	_cleanup_close_ int c = accept4(s->console_listen, NULL, NULL, SOCK_CLOEXEC);
	int master = -EBADF;
	char b[64];

	if (c < 0)
		return;
	if (hull_socket_recv_fd(c, &master, b, sizeof(b)) < 0 || master < 0) {
		agent_send_error(a, s->id, "the pty did not arrive");
		return;
	}
	s->console_listen = safe_close(s->console_listen);
	(void)unlink(s->console_path);
	s->console_path[0] = 0;
	(void)fcntl(master, F_SETFL, O_NONBLOCK);
	s->in_fd = s->out_fd = master;
	if (s->has_size)
		(void)hull_terminal_set_size(master, s->rows, s->cols);
	agent_pump_stdin(s);
}

/* ---- the loop ---- */

static void read_host(struct agent *a)
{
	for (;;) {
		_cleanup_error_ struct hull_error *err = NULL;
		struct hull_agent_msg m = { 0 };
		uint8_t *buf;
		ssize_t room, n;
		int r;

		r = hull_agent_decoder_next(&a->dec, &m, &err);
		if (r < 0) {
			agent_send_error(a, 0, err ? err->msg : "bad frame");
			a->session_over = true;
			return;
		}
		if (r > 0) {
			agent_handle_msg(a, &m);
			hull_agent_msg_done(&m);
			if (a->session_over || stdin_congested(a))
				return;
			continue;
		}
		room = hull_agent_decoder_space(&a->dec, &buf);
		if (room < 0) {
			a->session_over = true;
			return;
		}
		if (room == 0)
			continue;
		n = recv(a->conn, buf, (size_t)room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			hull_info("the host closed the connection");
			a->conn = safe_close(a->conn);
			a->session_over = true;
			return;
		}
		hull_agent_decoder_fill(&a->dec, (size_t)n);
	}
}

static bool streams_left(struct agent *a)
{
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		if (a->streams[i].used)
			return true;
	}
	return false;
}

static bool runners_left(struct agent *a)
{
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		if (a->streams[i].used && a->streams[i].runner > 0)
			return true;
	}
	return false;
}

/* Reaps for up to `rounds` tenths of a second while `pred` holds. */
static void reap_while(struct agent *a, bool (*pred)(struct agent *), int rounds)
{
	for (int i = 0; i < rounds && pred(a); i++) {
		struct pollfd p = { .fd = a->sfd, .events = POLLIN };
		struct signalfd_siginfo si;

		if (poll(&p, 1, 100) > 0 && read(a->sfd, &si, sizeof(si)) < 0)
			hull_debug("signalfd: %m");
		reap(a);
	}
}

/*
 * Ends what is still running (the host left early, or sent garbage).  A
 * runner in the middle of create is let finish (bounded) rather than killed,
 * so delete finds a whole container to remove.
 */
static void session_teardown(struct agent *a)
{
	_cleanup_error_ struct hull_error *err = NULL;

	a->conn = safe_close(a->conn); /* nothing more is sent: no EXIT for killed streams */
	reap_while(a, runners_left, 100);
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		struct stream *s = &a->streams[i];

		if (s->used && s->runner > 0)
			(void)kill(s->runner, SIGKILL);
	}
	reap_while(a, runners_left, 50);
	if (a->id) {
		(void)hull_container_kill(&a->rt, a->id, SIGKILL, true, NULL);
		if (hull_container_delete(&a->rt, a->id, true, &err) < 0 && err)
			hull_info("delete '%s': %s", a->id, err->msg);
	}
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		struct stream *s = &a->streams[i];

		if (s->used && s->started && !s->exited)
			(void)kill(s->pid, SIGKILL);
	}
	reap_while(a, streams_left, 50);
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		if (a->streams[i].used)
			agent_stream_free(&a->streams[i]);
	}
}

static int serve(struct agent *a)
{
	for (;;) {
		struct pollfd p[3 + 4 * HULL_AGENT_MAX_STREAMS];
		struct {
			struct stream *s;
			int what; /* 0 out, 1 err, 2 in, 3 console */
		} map[4 * HULL_AGENT_MAX_STREAMS];
		size_t np = 0, nm = 0;
		bool out_ok = a->out_len < OUT_HIGH;

		agent_flush_out(a);
		if (a->session_over || (a->ran && !streams_left(a))) {
			/* done: what is queued goes out (bounded), then the session ends */
			for (int i = 0; i < 100 && a->conn >= 0 && a->out_len > 0; i++) {
				struct pollfd q = { .fd = a->conn, .events = POLLOUT };
				(void)poll(&q, 1, 100);
				agent_flush_out(a);
			}
			return 0;
		}
		p[np++] = (struct pollfd){ .fd = a->sfd, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = a->conn,
					   .events = (stdin_congested(a) ? 0 : POLLIN) |
						     (a->out_len ? POLLOUT : 0) };
		for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
			struct stream *s = &a->streams[i];

			if (!s->used)
				continue;
			if (s->out_fd >= 0 && out_ok) {
				map[nm++] = (typeof(map[0])){ s, 0 };
				p[np++] = (struct pollfd){ .fd = s->out_fd, .events = POLLIN };
			}
			if (s->err_fd >= 0 && out_ok) {
				map[nm++] = (typeof(map[0])){ s, 1 };
				p[np++] = (struct pollfd){ .fd = s->err_fd, .events = POLLIN };
			}
			if (s->in_fd >= 0 && s->in_len > 0) {
				map[nm++] = (typeof(map[0])){ s, 2 };
				p[np++] = (struct pollfd){ .fd = s->in_fd, .events = POLLOUT };
			}
			if (s->console_listen >= 0) {
				map[nm++] = (typeof(map[0])){ s, 3 };
				p[np++] = (struct pollfd){ .fd = s->console_listen,
							   .events = POLLIN };
			}
		}
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(a->sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					a->session_over = true;
			}
			reap(a);
		}
		for (size_t i = 0; i < nm; i++) {
			struct stream *s = map[i].s;
			short rev = p[2 + i].revents;

			if (!s->used || !rev)
				continue;
			switch (map[i].what) {
			case 0:
				if (s->out_fd >= 0)
					(void)agent_pump_output(a, s, &s->out_fd,
								HULL_AGENT_STDOUT);
				break;
			case 1:
				if (s->err_fd >= 0)
					(void)agent_pump_output(a, s, &s->err_fd,
								HULL_AGENT_STDERR);
				break;
			case 2:
				agent_pump_stdin(s);
				break;
			case 3:
				if (s->console_listen >= 0)
					accept_console(a, s);
				break;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_host(a);
		agent_flush_out(a);
	}
}

static void usage(FILE *f)
{
	fputs("usage: hull-agent [--listen unix:PATH|vsock:PORT] [--rootfs DIR] [--state DIR]\n"
	      "As PID 1 of a hull VM it sets the guest up and listens on vsock:1024.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_error_ struct hull_error *err = NULL;
	struct agent a = { .conn = -EBADF, .listen_fd = -EBADF, .sfd = -EBADF };
	const char *listen_spec = "vsock:1024";
	char listen_buf[32], state_root[512];
	sigset_t set;
	int c, r;

	a.pid1 = getpid() == 1;
	a.state_dir = DEFAULT_STATE;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'r':
			a.rootfs = optarg;
			break;
		case 's':
			a.state_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (a.pid1)
				break; /* the kernel may pass us anything */
			usage(stderr);
			return 2;
		}
	}
	hull_log_setup(STDERR_FILENO, HULL_LOG_TEXT, HULL_LOG_INFO);
	/* the sealed copy below needs /proc; it re-runs main(), so every mount checks first */
	if (a.pid1 && !agent_is_fs("/proc", PROC_SUPER_MAGIC))
		(void)agent_mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				     NULL, NULL);
	/* CVE-2019-5736: never enter a container as the binary file itself */
	r = hull_cloned_binary_ensure(argv, &err);
	if (r < 0) {
		hull_err("%s", err ? err->msg : strerror(-r));
		if (a.pid1)
			agent_power_off();
		return 1;
	}
	if (a.pid1) {
		r = agent_guest_setup(&a, &err);
		if (r < 0) {
			hull_err("%s", err ? err->msg : strerror(-r));
			agent_power_off();
		}
		snprintf(listen_buf, sizeof(listen_buf), "vsock:%d", HULL_AGENT_VSOCK_PORT);
		listen_spec = listen_buf;
	} else {
		/* test mode: the container's processes come back to us when their runner exits */
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	r = hull_mkdir_p_at(AT_FDCWD, a.state_dir, 0700);
	if (r >= 0) {
		snprintf(state_root, sizeof(state_root), "%s/state", a.state_dir);
		r = hull_mkdir_p_at(AT_FDCWD, state_root, 0700);
		a.rt.root = state_root;
	}
	if (r >= 0)
		r = a.listen_fd = agent_listen_on(listen_spec, &err);
	if (r < 0) {
		hull_err("%s", err ? err->msg : strerror(-r));
		if (a.pid1)
			agent_power_off();
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	a.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	hull_info("hull-agent %s listening on %s", HULL_VERSION, listen_spec);

	/* one session: accept the host, serve it, then end */
	for (;;) {
		struct pollfd p[2] = { { .fd = a.listen_fd, .events = POLLIN },
				       { .fd = a.sfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		bool stop = false;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		while (read(a.sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				stop = true;
		}
		reap(&a); /* PID 1 adopts every orphan of the guest */
		if (stop)
			break;
		if (p[0].revents & POLLIN) {
			a.conn = accept4(a.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (a.conn >= 0)
				break;
		}
	}
	a.listen_fd = safe_close(a.listen_fd);
	if (startswith(listen_spec, "unix:"))
		(void)unlink(listen_spec + 5);
	if (a.conn >= 0) {
		hull_agent_decoder_init(&a.dec, HULL_AGENT_FROM_HOST);
		r = serve(&a);
		if (r < 0)
			hull_err("%s", strerror(-r));
		/* the VM ends right after: let the host read the last messages first */
		if (a.pid1)
			agent_linger(a.conn);
	}
	session_teardown(&a);
	if (a.id) {
		char bundle[512];
		snprintf(bundle, sizeof(bundle), "%s/bundles/%s", a.state_dir, a.id);
		(void)hull_rm_rf_at(AT_FDCWD, bundle);
	}
	hull_agent_decoder_done(&a.dec);
	free(a.out);
	free(a.id);
	if (a.pid1)
		agent_power_off();
	return 0;
}
