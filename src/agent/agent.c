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
 * exit statuses, and ends the VM (a reset, see power_off()) when the session
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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent-proto.h"
#include "linux/terminal.h"
#include "runtime/cloned-binary.h"
#include "runtime/container.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/socket.h"
#include "util/str.h"

#define OUT_HIGH (512 * 1024)	/* stop reading the processes above this much unsent */
#define STDIN_HIGH (256 * 1024) /* stop reading the host while a stdin holds this much */
#define DRAIN_READS 16		/* reads of a pipe after its process ended: 1 MiB */
#define ORPHANS 64		/* exit statuses of pids reaped before we knew them */
#define DEFAULT_STATE "/run/hull-agent"
#define GUEST_ROOTFS "/run/hull-agent/rootfs"

struct stream {
	uint32_t id;
	bool used, is_init, tty;
	pid_t runner; /* > 0 while the runner lives */
	int runner_err;
	pid_t pid; /* the process, once the runner said it runs */
	bool started, exited;
	int status;
	int in_fd;  /* stdin pipe (write end) or the pty master */
	int out_fd; /* stdout pipe (read end) or the pty master */
	int err_fd;
	int console_listen;
	char console_path[256];
	char pid_path[256];
	uint8_t *inbuf;
	size_t in_len;
	bool in_eof;
	bool has_size;
	unsigned short rows, cols;
};

struct agent {
	struct hull_runtime rt;
	const char *state_dir;
	const char *rootfs; /* default rootfs for RUN */
	bool pid1;
	int sfd, listen_fd, conn;
	struct hull_agent_decoder dec;
	bool hello_done, ran, session_over;
	char *id; /* the container */
	struct stream streams[HULL_AGENT_MAX_STREAMS];
	uint8_t *out;
	size_t out_len, out_cap;
	struct {
		pid_t pid;
		int status;
	} orphans[ORPHANS];
	size_t n_orphans;
};

/* ---- output queue ---- */

static int send_frame(struct agent *a, enum hull_agent_type type, uint32_t stream,
		      struct json_object *json, const void *data, size_t len)
{
	_cleanup_free_ uint8_t *f = NULL;
	size_t flen;
	int r;

	if (a->conn < 0)
		return 0;
	r = hull_agent_frame_new(type, stream, json, data, len, &f, &flen);
	if (r < 0)
		return r;
	if (a->out_len + flen > a->out_cap) {
		size_t cap =
			a->out_cap * 2 > a->out_len + flen ? a->out_cap * 2 : a->out_len + flen;
		uint8_t *b = realloc(a->out, cap);

		if (!b)
			return -ENOMEM;
		a->out = b;
		a->out_cap = cap;
	}
	memcpy(a->out + a->out_len, f, flen);
	a->out_len += flen;
	return 0;
}

static void send_error(struct agent *a, uint32_t stream, const char *msg)
{
	_cleanup_json_ struct json_object *o = hull_agent_json_error(msg);

	hull_info("stream %" PRIu32 ": error: %s", stream, msg);
	if (o)
		(void)send_frame(a, HULL_AGENT_ERROR, stream, o, NULL, 0);
}

static void send_int(struct agent *a, enum hull_agent_type type, uint32_t stream, const char *k1,
		     int v1, const char *k2, int v2)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, k1, json_object_new_int(v1));
	if (k2)
		json_object_object_add(o, k2, json_object_new_int(v2));
	(void)send_frame(a, type, stream, o, NULL, 0);
}

static void flush_out(struct agent *a)
{
	while (a->conn >= 0 && a->out_len > 0) {
		ssize_t n = send(a->conn, a->out, a->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				hull_info("host connection: %m");
				a->conn = safe_close(a->conn);
				a->out_len = 0;
				a->session_over = true;
			}
			return;
		}
		memmove(a->out, a->out + n, a->out_len - (size_t)n);
		a->out_len -= (size_t)n;
	}
}

/* ---- streams ---- */

static struct stream *stream_find(struct agent *a, uint32_t id)
{
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		if (a->streams[i].used && a->streams[i].id == id)
			return &a->streams[i];
	}
	return NULL;
}

static struct stream *stream_new(struct agent *a, uint32_t id)
{
	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		struct stream *s = &a->streams[i];

		if (!s->used) {
			*s = (struct stream){ .used = true,
					      .id = id,
					      .runner_err = -EBADF,
					      .in_fd = -EBADF,
					      .out_fd = -EBADF,
					      .err_fd = -EBADF,
					      .console_listen = -EBADF };
			return s;
		}
	}
	return NULL;
}

static void stream_close_io(struct stream *s)
{
	if (s->in_fd == s->out_fd)
		s->in_fd = -EBADF; /* one pty master */
	s->in_fd = safe_close(s->in_fd);
	s->out_fd = safe_close(s->out_fd);
	s->err_fd = safe_close(s->err_fd);
	s->console_listen = safe_close(s->console_listen);
	if (s->console_path[0])
		(void)unlink(s->console_path);
	if (s->pid_path[0])
		(void)unlink(s->pid_path);
	s->console_path[0] = s->pid_path[0] = 0;
	free(s->inbuf);
	s->inbuf = NULL;
	s->in_len = 0;
}

static void stream_free(struct stream *s)
{
	stream_close_io(s);
	s->runner_err = safe_close(s->runner_err);
	s->used = false;
}

/* Reads what one output fd has into STDOUT/STDERR frames; false at EOF or error. */
static bool pump_output(struct agent *a, struct stream *s, int *fd, enum hull_agent_type type)
{
	uint8_t buf[HULL_AGENT_MAX_DATA];
	ssize_t n;

	n = read(*fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		/* a pty master reads EIO once the last slave is closed */
		if (*fd == s->in_fd)
			s->in_fd = -EBADF;
		*fd = safe_close(*fd);
		return false;
	}
	(void)send_frame(a, type, s->id, NULL, buf, (size_t)n);
	return true;
}

static void pump_stdin(struct stream *s)
{
	while (s->in_len > 0 && s->in_fd >= 0) {
		ssize_t n = write(s->in_fd, s->inbuf, s->in_len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			/* the process closed its stdin: what it did not read is dropped */
			s->in_len = 0;
			break;
		}
		memmove(s->inbuf, s->inbuf + n, s->in_len - (size_t)n);
		s->in_len -= (size_t)n;
	}
	if (s->in_len == 0 && s->in_eof && !s->tty)
		s->in_fd = safe_close(s->in_fd);
}

/*
 * The process ended: send what it wrote before, tidy up (the whole container
 * for its init, so nothing is left when the host sees EXIT), then EXIT.
 */
static void stream_finish(struct agent *a, struct stream *s)
{
	int code = 255, sig = 0;

	/*
	 * What the process wrote before it ended is in the pipe: send it.  Bounded,
	 * for a process it left behind may still be writing.
	 */
	for (int i = 0; i < DRAIN_READS && s->out_fd >= 0; i++) {
		struct pollfd p = { .fd = s->out_fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !pump_output(a, s, &s->out_fd, HULL_AGENT_STDOUT))
			break;
	}
	for (int i = 0; i < DRAIN_READS && s->err_fd >= 0; i++) {
		struct pollfd p = { .fd = s->err_fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !pump_output(a, s, &s->err_fd, HULL_AGENT_STDERR))
			break;
	}
	if (WIFEXITED(s->status)) {
		code = WEXITSTATUS(s->status);
	} else if (WIFSIGNALED(s->status)) {
		sig = WTERMSIG(s->status);
		code = 128 + sig;
	}
	if (s->is_init) {
		_cleanup_error_ struct hull_error *err = NULL;

		if (hull_container_delete(&a->rt, a->id, true, &err) < 0)
			hull_warn("delete '%s': %s", a->id, err ? err->msg : "failed");
	}
	send_int(a, HULL_AGENT_EXIT, s->id, "code", code, sig ? "signal" : NULL, sig);
	hull_info("stream %" PRIu32 ": exit code %d", s->id, code);
	stream_free(s);
}

/* ---- the runner child ---- */

_noreturn_ static void runner_fail(int errfd, struct hull_error *err, int r)
{
	const char *msg = err && err->msg ? err->msg : strerror(-r);

	(void)hull_write_all(errfd, msg, strlen(msg));
	_exit(1);
}

/*
 * In the runner: the process's stdio on 0..2, then create+start (init) or
 * exec -d.  The error text, if any, goes to `errfd`.
 */
_noreturn_ static void runner_main(struct agent *a, struct stream *s, int fds[3], int errfd,
				   const char *bundle, struct hull_oci_process *p)
{
	_cleanup_error_ struct hull_error *err = NULL;
	sigset_t none;
	int r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			runner_fail(errfd, NULL, -errno);
	}
	if (s->is_init) {
		struct hull_create_opts o = {
			.bundle = bundle,
			.console_socket = s->tty ? s->console_path : NULL,
			.pid_file = s->pid_path,
			/* pivot_root(2) refuses to move the initramfs's root (rootfs),
			 * which is the agent's own root as PID 1 of a VM: the container
			 * gets its root the way runc --no-pivot does (the VM is the
			 * boundary here) */
			.no_pivot = a->pid1,
		};

		r = hull_container_create(&a->rt, a->id, &o, &err);
		if (r >= 0)
			r = hull_container_start(&a->rt, a->id, &err);
		if (r < 0) {
			_cleanup_error_ struct hull_error *e2 = NULL;
			(void)hull_container_delete(&a->rt, a->id, true, &e2);
		}
	} else {
		struct hull_exec_opts o = {
			.console_socket = s->tty ? s->console_path : NULL,
			.pid_file = s->pid_path,
			.detach = true,
		};
		int code;

		r = hull_container_exec(&a->rt, a->id, p, &o, &code, &err);
	}
	if (r < 0)
		runner_fail(errfd, err, r);
	_exit(0);
}

/* Pipes or a console socket for the process; then the runner. */
static int stream_spawn(struct agent *a, struct stream *s, const char *bundle,
			struct hull_oci_process *p, struct hull_error **reterr)
{
	_cleanup_close_ int in_r = -EBADF, out_w = -EBADF, err_w = -EBADF, errp_w = -EBADF;
	int pfd[2], fds[3];
	pid_t pid;

	snprintf(s->pid_path, sizeof(s->pid_path), "%s/stream-%" PRIu32 ".pid", a->state_dir,
		 s->id);
	(void)unlink(s->pid_path);
	if (s->tty) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(s->console_path, sizeof(s->console_path), "%s/console-%" PRIu32 ".sock",
			 a->state_dir, s->id);
		(void)unlink(s->console_path);
		if (strlen(s->console_path) >= sizeof(sa.sun_path))
			return hull_error_set(reterr, -ENAMETOOLONG,
					      "console socket path too long");
		strcpy(sa.sun_path, s->console_path);
		s->console_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s->console_listen < 0 ||
		    bind(s->console_listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(s->console_listen, 1) < 0)
			return hull_error_errno(reterr, -errno, "console socket '%s'",
						s->console_path);
		/* a pty process gets /dev/null until the pty replaces it */
		fds[0] = fds[1] = fds[2] = -1;
	} else {
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return hull_error_errno(reterr, -errno, "pipe");
		in_r = pfd[0];
		s->in_fd = pfd[1];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return hull_error_errno(reterr, -errno, "pipe");
		s->out_fd = pfd[0];
		out_w = pfd[1];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return hull_error_errno(reterr, -errno, "pipe");
		s->err_fd = pfd[0];
		err_w = pfd[1];
		(void)fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
		(void)fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
		(void)fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
		fds[0] = in_r;
		fds[1] = out_w;
		fds[2] = err_w;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	s->runner_err = pfd[0];
	errp_w = pfd[1];
	(void)fcntl(s->runner_err, F_SETFL, O_NONBLOCK);
	if (s->tty) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0)
			return hull_error_errno(reterr, -errno, "open '/dev/null'");
		in_r = null;
		fds[0] = fds[1] = fds[2] = null;
	}
	pid = fork();
	if (pid < 0)
		return hull_error_errno(reterr, -errno, "fork");
	if (pid == 0)
		runner_main(a, s, fds, errp_w, bundle, p);
	s->runner = pid;
	return 0;
}

/* Writes the bundle (config.json with root.path = the rootfs) under the state dir. */
static int write_bundle(struct agent *a, struct json_object *config, const char *rootfs,
			char *bundle, size_t size, bool *ret_tty, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *cfg = NULL;
	struct json_object *root, *proc, *term;
	const char *text;
	int r;

	r = json_object_deep_copy(config, &cfg, NULL);
	if (r < 0)
		return -ENOMEM;
	root = json_object_new_object();
	if (!root)
		return -ENOMEM;
	json_object_object_add(root, "path", json_object_new_string(rootfs));
	/* the config's own root.readonly stays as asked */
	{
		struct json_object *old, *ro;
		if (json_object_object_get_ex(cfg, "root", &old) &&
		    json_object_object_get_ex(old, "readonly", &ro))
			json_object_object_add(root, "readonly", json_object_get(ro));
	}
	json_object_object_add(cfg, "root", root);
	*ret_tty = json_object_object_get_ex(cfg, "process", &proc) &&
		   json_object_object_get_ex(proc, "terminal", &term) &&
		   json_object_is_type(term, json_type_boolean) && json_object_get_boolean(term);
	snprintf(bundle, size, "%s/bundles/%s", a->state_dir, a->id);
	r = hull_mkdir_p_at(AT_FDCWD, bundle, 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create bundle '%s'", bundle);
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
	{
		_cleanup_close_ int dfd = open(bundle, O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return hull_error_errno(reterr, -errno, "open bundle '%s'", bundle);
		r = hull_write_file_atomic_at(dfd, "config.json", text, strlen(text), 0600, 0);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s/config.json'", bundle);
	return 0;
}

static void handle_run(struct agent *a, const struct hull_agent_msg *m)
{
	_cleanup_error_ struct hull_error *err = NULL;
	char bundle[512];
	const char *rootfs = m->rootfs ? m->rootfs : a->rootfs;
	struct stream *s;
	bool tty = false;
	int r;

	if (a->ran || stream_find(a, m->stream)) {
		send_error(a, m->stream, "run: this session already has a container");
		return;
	}
	a->ran = true; /* one container per session, even when this one fails */
	s = stream_new(a, m->stream);
	if (!s) {
		send_error(a, m->stream, "run: too many streams");
		return;
	}
	s->is_init = true;
	if (!rootfs) {
		send_error(a, m->stream, "run: no rootfs (none given, and no root image mounted)");
		stream_free(s);
		a->session_over = true;
		return;
	}
	a->id = strdup(m->id);
	r = a->id ? write_bundle(a, m->config, rootfs, bundle, sizeof(bundle), &tty, &err)
		  : -ENOMEM;
	s->tty = tty;
	if (r >= 0)
		r = stream_spawn(a, s, bundle, NULL, &err);
	if (r < 0) {
		send_error(a, m->stream, err && err->msg ? err->msg : strerror(-r));
		stream_free(s);
		a->session_over = true;
	}
}

static void handle_exec(struct agent *a, const struct hull_agent_msg *m)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_oci_process_freep) struct hull_oci_process *p = NULL;
	struct stream *init = NULL, *s;
	const char *text;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(a->streams); i++) {
		if (a->streams[i].used && a->streams[i].is_init)
			init = &a->streams[i];
	}
	if (stream_find(a, m->stream)) {
		send_error(a, m->stream, "exec: stream already in use");
		return;
	}
	if (!init || !init->started || init->exited) {
		send_error(a, m->stream, "exec: the container is not running");
		return;
	}
	text = json_object_to_json_string_ext(m->process, JSON_C_TO_STRING_PLAIN);
	r = hull_oci_process_parse(text, strlen(text), &p, &err);
	if (r < 0) {
		send_error(a, m->stream, err && err->msg ? err->msg : "exec: bad process");
		return;
	}
	s = stream_new(a, m->stream);
	if (!s) {
		send_error(a, m->stream, "exec: too many streams");
		return;
	}
	s->tty = p->terminal;
	r = stream_spawn(a, s, NULL, p, &err);
	if (r < 0) {
		send_error(a, m->stream, err && err->msg ? err->msg : strerror(-r));
		stream_free(s);
	}
}

static void handle_stdin(struct agent *a, const struct hull_agent_msg *m)
{
	struct stream *s = stream_find(a, m->stream);
	uint8_t *b;

	if (!s || s->in_eof)
		return; /* the process is gone already, or the host raced its own EOF */
	if (m->type == HULL_AGENT_STDIN_EOF) {
		s->in_eof = true;
		pump_stdin(s);
		return;
	}
	b = realloc(s->inbuf, s->in_len + m->data_len);
	if (!b)
		return;
	s->inbuf = b;
	memcpy(s->inbuf + s->in_len, m->data, m->data_len);
	s->in_len += m->data_len;
	pump_stdin(s);
}

static void handle_signal(struct agent *a, const struct hull_agent_msg *m)
{
	struct stream *s = stream_find(a, m->stream);

	if (!s || s->exited)
		return;
	if (!s->started) {
		send_error(a, 0, "signal: the process has not started yet");
		a->session_over = true;
		return;
	}
	if (s->is_init) {
		_cleanup_error_ struct hull_error *err = NULL;

		if (hull_container_kill(&a->rt, a->id, m->signal, false, &err) < 0)
			hull_info("kill '%s': %s", a->id, err ? err->msg : "failed");
	} else {
		/* our child, not yet reaped: its pid cannot have been reused */
		(void)kill(s->pid, m->signal);
	}
}

static void handle_resize(struct agent *a, const struct hull_agent_msg *m)
{
	struct stream *s = stream_find(a, m->stream);

	if (!s)
		return;
	s->has_size = true;
	s->rows = m->rows;
	s->cols = m->cols;
	if (s->tty && s->out_fd >= 0)
		(void)hull_terminal_set_size(s->out_fd, s->rows, s->cols);
}

static void handle_msg(struct agent *a, const struct hull_agent_msg *m)
{
	if (!a->hello_done) {
		if (m->type != HULL_AGENT_HELLO) {
			send_error(a, 0, "expected hello first");
			a->session_over = true;
		} else if (m->version != HULL_AGENT_PROTO_VERSION) {
			char msg[128];
			snprintf(msg, sizeof(msg), "protocol version %u not supported (only %d)",
				 m->version, HULL_AGENT_PROTO_VERSION);
			send_error(a, 0, msg);
			a->session_over = true;
		} else {
			_cleanup_json_ struct json_object *h =
				hull_agent_json_hello("hull-agent " HULL_VERSION);
			a->hello_done = true;
			if (h)
				(void)send_frame(a, HULL_AGENT_HELLO, 0, h, NULL, 0);
		}
		return;
	}
	switch (m->type) {
	case HULL_AGENT_RUN:
		handle_run(a, m);
		break;
	case HULL_AGENT_EXEC:
		handle_exec(a, m);
		break;
	case HULL_AGENT_STDIN:
	case HULL_AGENT_STDIN_EOF:
		handle_stdin(a, m);
		break;
	case HULL_AGENT_SIGNAL:
		handle_signal(a, m);
		break;
	case HULL_AGENT_RESIZE:
		handle_resize(a, m);
		break;
	case HULL_AGENT_ERROR:
		hull_info("host: %s", m->message);
		a->session_over = true;
		break;
	default:
		send_error(a, 0, "unexpected frame after hello");
		a->session_over = true;
		break;
	}
}

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
		send_error(a, s->id, buf[0] ? buf : "the runner failed");
		if (s->is_init)
			a->session_over = true;
		stream_free(s);
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
		send_error(a, s->id, "the process started but its pid is unknown");
		stream_free(s);
		return;
	}
	s->pid = (pid_t)pid;
	s->started = true;
	send_int(a, HULL_AGENT_STARTED, s->id, "pid", (int)pid, NULL, 0);
	/* reaped already? */
	for (size_t i = 0; i < a->n_orphans; i++) {
		if (a->orphans[i].pid == s->pid) {
			s->exited = true;
			s->status = a->orphans[i].status;
			a->orphans[i] = a->orphans[--a->n_orphans];
			stream_finish(a, s);
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
				stream_finish(a, s);
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
		send_error(a, s->id, "the pty did not arrive");
		return;
	}
	s->console_listen = safe_close(s->console_listen);
	(void)unlink(s->console_path);
	s->console_path[0] = 0;
	(void)fcntl(master, F_SETFL, O_NONBLOCK);
	s->in_fd = s->out_fd = master;
	if (s->has_size)
		(void)hull_terminal_set_size(master, s->rows, s->cols);
	pump_stdin(s);
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
			send_error(a, 0, err ? err->msg : "bad frame");
			a->session_over = true;
			return;
		}
		if (r > 0) {
			handle_msg(a, &m);
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
			stream_free(&a->streams[i]);
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

		flush_out(a);
		if (a->session_over || (a->ran && !streams_left(a))) {
			/* done: what is queued goes out (bounded), then the session ends */
			for (int i = 0; i < 100 && a->conn >= 0 && a->out_len > 0; i++) {
				struct pollfd q = { .fd = a->conn, .events = POLLOUT };
				(void)poll(&q, 1, 100);
				flush_out(a);
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
					(void)pump_output(a, s, &s->out_fd, HULL_AGENT_STDOUT);
				break;
			case 1:
				if (s->err_fd >= 0)
					(void)pump_output(a, s, &s->err_fd, HULL_AGENT_STDERR);
				break;
			case 2:
				pump_stdin(s);
				break;
			case 3:
				if (s->console_listen >= 0)
					accept_console(a, s);
				break;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_host(a);
		flush_out(a);
	}
}

/* ---- set-up ---- */

static int listen_on(const char *spec, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	const char *v;

	if ((v = startswith(spec, "unix:"))) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(v) >= sizeof(sa.sun_path) || !*v)
			return hull_error_set(reterr, -EINVAL, "--listen '%s': bad path", spec);
		strcpy(sa.sun_path, v);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return hull_error_errno(reterr, -errno, "listen on '%s'", v);
	} else if ((v = startswith(spec, "vsock:"))) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
		char *end;
		unsigned long port;

		errno = 0;
		port = strtoul(v, &end, 10);
		if (errno || *end || end == v || port > UINT32_MAX)
			return hull_error_set(reterr, -EINVAL, "--listen '%s': bad port", spec);
		sa.svm_port = (unsigned)port;
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return hull_error_errno(reterr, -errno, "listen on vsock port %lu", port);
	} else {
		return hull_error_set(reterr, -EINVAL,
				      "--listen '%s': expected unix:PATH or vsock:PORT", spec);
	}
	if (listen(fd, 4) < 0)
		return hull_error_errno(reterr, -errno, "listen on '%s'", spec);
	return TAKE_FD(fd);
}

static bool is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

/* Whether path is on another filesystem than its parent. */
static bool is_mount_point(const char *path)
{
	char parent[PATH_MAX];
	struct stat a, b;

	if (snprintf(parent, sizeof(parent), "%s/..", path) >= (int)sizeof(parent))
		return false;
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static int mount_at(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *data, struct hull_error **reterr)
{
	(void)mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0)
		return hull_error_errno(reterr, -errno, "mount %s on '%s'", type, dst);
	return 0;
}

/* Reads hull.* options from the kernel command line. */
static void guest_options(bool *ret_rw, char *root, size_t size)
{
	_cleanup_free_ char *cmdline = NULL;
	size_t len;
	char *save = NULL;

	*ret_rw = false;
	snprintf(root, size, "/dev/vda");
	if (hull_read_file_at(AT_FDCWD, "/proc/cmdline", &cmdline, &len) < 0)
		return;
	for (char *w = strtok_r(cmdline, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		const char *v;

		if (streq(w, "hull.rw"))
			*ret_rw = true;
		else if ((v = startswith(w, "hull.root=")))
			snprintf(root, size, "%s", v);
	}
}

/* PID 1: the file systems the guest and the container need, then the root image. */
static int guest_setup(struct agent *a, struct hull_error **reterr)
{
	char dev[128];
	bool rw;
	int r;

	if (!is_fs("/proc", PROC_SUPER_MAGIC)) {
		r = mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			     reterr);
		if (r < 0)
			return r;
	}
	if (!is_fs("/sys", SYSFS_MAGIC)) {
		r = mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			     reterr);
		if (r < 0)
			return r;
	}
	/* devtmpfs reports the tmpfs magic, and so does the initramfs's own root
	 * (/dev's directory on it): only a mount point of its own is devtmpfs */
	if (!is_mount_point("/dev") || !is_fs("/dev", TMPFS_MAGIC)) {
		r = mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", reterr);
		if (r < 0)
			return r;
	}
	if (!is_fs("/dev/pts", DEVPTS_SUPER_MAGIC)) {
		r = mount_at("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			     "ptmxmode=0666,mode=0620,gid=5", reterr);
		if (r < 0)
			return r;
	}
	if (!is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
		r = mount_at("cgroup2", "/sys/fs/cgroup", "cgroup2",
			     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, reterr);
		if (r < 0)
			return r;
	}
	if (!is_fs("/run", TMPFS_MAGIC)) {
		r = mount_at("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", reterr);
		if (r < 0)
			return r;
	}
	(void)mkdir(DEFAULT_STATE, 0700);
	guest_options(&rw, dev, sizeof(dev));
	/* virtio-blk probes before init runs; a short bounded wait covers a slow probe */
	for (int i = 0; i < 50 && access(dev, F_OK) < 0; i++)
		usleep(100 * 1000);
	if (access(dev, F_OK) < 0) {
		hull_warn("no root image '%s': RUN must name a rootfs", dev);
		return 0;
	}
	if (rw) {
		r = mount_at(dev, GUEST_ROOTFS, "ext4", 0, NULL, reterr);
		if (r < 0)
			return r;
	} else {
		r = mount_at(dev, DEFAULT_STATE "/base", "ext4", MS_RDONLY, NULL, reterr);
		if (r >= 0)
			r = mount_at("tmpfs", DEFAULT_STATE "/rw", "tmpfs", 0, "mode=0755", reterr);
		if (r < 0)
			return r;
		(void)mkdir(DEFAULT_STATE "/rw/upper", 0755);
		(void)mkdir(DEFAULT_STATE "/rw/work", 0755);
		r = mount_at("overlay", GUEST_ROOTFS, "overlay", 0,
			     "lowerdir=" DEFAULT_STATE "/base,upperdir=" DEFAULT_STATE
			     "/rw/upper,workdir=" DEFAULT_STATE "/rw/work",
			     reterr);
		if (r < 0)
			return r;
	}
	a->rootfs = GUEST_ROOTFS;
	return 0;
}

/*
 * Ends the VM.  A micro-VM has no ACPI, so a power-off would only halt the
 * vCPUs (and an in-kernel irqchip keeps HLT from ever reaching the VMM): the
 * agent restarts instead, which with hull-vmm's `reboot=k` is the i8042
 * reset the VMM takes as the end of the VM (Firecracker does the same).
 */
_noreturn_ static void power_off(void)
{
	sync();
	(void)reboot(RB_AUTOBOOT);
	(void)reboot(RB_POWER_OFF);
	/* PID 1 must not exit: the kernel would panic */
	for (;;)
		pause();
}

/*
 * Half-closes the connection and waits, at most LINGER_MS, for the host to
 * close its side: a reset of the VM would otherwise drop what is still in
 * flight (the exit status) on the way through the vsock device.
 */
#define LINGER_MS 3000
static void linger(int fd)
{
	char buf[256];

	if (fd < 0 || shutdown(fd, SHUT_WR) < 0)
		return;
	for (int waited = 0; waited < LINGER_MS; waited += 50) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
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
	if (a.pid1 && !is_fs("/proc", PROC_SUPER_MAGIC))
		(void)mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			       NULL);
	/* CVE-2019-5736: never enter a container as the binary file itself */
	r = hull_cloned_binary_ensure(argv, &err);
	if (r < 0) {
		hull_err("hull-agent: %s", err ? err->msg : strerror(-r));
		if (a.pid1)
			power_off();
		return 1;
	}
	if (a.pid1) {
		r = guest_setup(&a, &err);
		if (r < 0) {
			hull_err("hull-agent: %s", err ? err->msg : strerror(-r));
			power_off();
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
		r = a.listen_fd = listen_on(listen_spec, &err);
	if (r < 0) {
		hull_err("hull-agent: %s", err ? err->msg : strerror(-r));
		if (a.pid1)
			power_off();
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
			hull_err("hull-agent: %s", strerror(-r));
		/* the VM ends right after: let the host read the last messages first */
		if (a.pid1)
			linger(a.conn);
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
		power_off();
	return 0;
}
