/* SPDX-License-Identifier: Apache-2.0 */
/* hull-agent: the output queue, the streams (one a process), their runner
 * children and the host's requests: see agent.c. */
#include "agent/agent-internal.h"

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

void agent_send_error(struct agent *a, uint32_t stream, const char *msg)
{
	_cleanup_json_ struct json_object *o = hull_agent_json_error(msg);

	hull_info("stream %" PRIu32 ": error: %s", stream, msg);
	if (o)
		(void)send_frame(a, HULL_AGENT_ERROR, stream, o, NULL, 0);
}

void agent_send_int(struct agent *a, enum hull_agent_type type, uint32_t stream, const char *k1,
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

void agent_flush_out(struct agent *a)
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

void agent_stream_free(struct stream *s)
{
	stream_close_io(s);
	s->runner_err = safe_close(s->runner_err);
	s->used = false;
}

/* Reads what one output fd has into STDOUT/STDERR frames; false at EOF or error. */
bool agent_pump_output(struct agent *a, struct stream *s, int *fd, enum hull_agent_type type)
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

void agent_pump_stdin(struct stream *s)
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
void agent_stream_finish(struct agent *a, struct stream *s)
{
	int code = 255, sig = 0;

	/*
	 * What the process wrote before it ended is in the pipe: send it.  Bounded,
	 * for a process it left behind may still be writing.
	 */
	for (int i = 0; i < DRAIN_READS && s->out_fd >= 0; i++) {
		struct pollfd p = { .fd = s->out_fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !agent_pump_output(a, s, &s->out_fd, HULL_AGENT_STDOUT))
			break;
	}
	for (int i = 0; i < DRAIN_READS && s->err_fd >= 0; i++) {
		struct pollfd p = { .fd = s->err_fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !agent_pump_output(a, s, &s->err_fd, HULL_AGENT_STDERR))
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
	agent_send_int(a, HULL_AGENT_EXIT, s->id, "code", code, sig ? "signal" : NULL, sig);
	hull_info("stream %" PRIu32 ": exit code %d", s->id, code);
	agent_stream_free(s);
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
		agent_send_error(a, m->stream, "run: this session already has a container");
		return;
	}
	a->ran = true; /* one container per session, even when this one fails */
	s = stream_new(a, m->stream);
	if (!s) {
		agent_send_error(a, m->stream, "run: too many streams");
		return;
	}
	s->is_init = true;
	if (!rootfs) {
		agent_send_error(a, m->stream,
				 "run: no rootfs (none given, and no root image mounted)");
		agent_stream_free(s);
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
		agent_send_error(a, m->stream, err && err->msg ? err->msg : strerror(-r));
		agent_stream_free(s);
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
		agent_send_error(a, m->stream, "exec: stream already in use");
		return;
	}
	if (!init || !init->started || init->exited) {
		agent_send_error(a, m->stream, "exec: the container is not running");
		return;
	}
	text = json_object_to_json_string_ext(m->process, JSON_C_TO_STRING_PLAIN);
	r = hull_oci_process_parse(text, strlen(text), &p, &err);
	if (r < 0) {
		agent_send_error(a, m->stream, err && err->msg ? err->msg : "exec: bad process");
		return;
	}
	s = stream_new(a, m->stream);
	if (!s) {
		agent_send_error(a, m->stream, "exec: too many streams");
		return;
	}
	s->tty = p->terminal;
	r = stream_spawn(a, s, NULL, p, &err);
	if (r < 0) {
		agent_send_error(a, m->stream, err && err->msg ? err->msg : strerror(-r));
		agent_stream_free(s);
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
		agent_pump_stdin(s);
		return;
	}
	b = realloc(s->inbuf, s->in_len + m->data_len);
	if (!b)
		return;
	s->inbuf = b;
	memcpy(s->inbuf + s->in_len, m->data, m->data_len);
	s->in_len += m->data_len;
	agent_pump_stdin(s);
}

static void handle_signal(struct agent *a, const struct hull_agent_msg *m)
{
	struct stream *s = stream_find(a, m->stream);

	if (!s || s->exited)
		return;
	if (!s->started) {
		agent_send_error(a, 0, "signal: the process has not started yet");
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

void agent_handle_msg(struct agent *a, const struct hull_agent_msg *m)
{
	if (!a->hello_done) {
		if (m->type != HULL_AGENT_HELLO) {
			agent_send_error(a, 0, "expected hello first");
			a->session_over = true;
		} else if (m->version != HULL_AGENT_PROTO_VERSION) {
			char msg[128];
			snprintf(msg, sizeof(msg), "protocol version %u not supported (only %d)",
				 m->version, HULL_AGENT_PROTO_VERSION);
			agent_send_error(a, 0, msg);
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
		agent_send_error(a, 0, "unexpected frame after hello");
		a->session_over = true;
		break;
	}
}
