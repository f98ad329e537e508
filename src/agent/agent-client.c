/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's client of hull-agent (agent-client.h).  The socket is
 * non-blocking with an outgoing queue: the client always keeps reading the
 * agent while it writes, and reads a stdin fd only while the queue is short,
 * so neither side can wedge the other by not reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent-client.h"
#include "util/file.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/socket.h"
#include "util/str.h"

#define QUEUE_HIGH (256 * 1024) /* stop reading stdin above this much unsent */
#define HELLO_TIMEOUT_MS 30000

struct hull_agent_client {
	int fd;
	struct hull_agent_decoder dec;
	uint8_t *out;
	size_t out_len, out_cap;
};

void hull_agent_client_free(struct hull_agent_client *c)
{
	if (!c)
		return;
	safe_close(c->fd);
	hull_agent_decoder_done(&c->dec);
	free(c->out);
	free(c);
}

void hull_agent_stream_done(struct hull_agent_stream *s)
{
	free(s->error);
	s->error = NULL;
}

static int queue(struct hull_agent_client *c, enum hull_agent_type type, uint32_t stream,
		 struct json_object *json, const void *data, size_t len)
{
	_cleanup_free_ uint8_t *f = NULL;
	size_t flen;
	int r;

	r = hull_agent_frame_new(type, stream, json, data, len, &f, &flen);
	if (r < 0)
		return r;
	if (c->out_len + flen > c->out_cap) {
		size_t cap =
			c->out_cap * 2 > c->out_len + flen ? c->out_cap * 2 : c->out_len + flen;
		uint8_t *b = realloc(c->out, cap);

		if (!b)
			return -ENOMEM;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, f, flen);
	c->out_len += flen;
	return 0;
}

/* Writes what the socket takes now; -EPIPE when the agent is gone. */
static int flush_some(struct hull_agent_client *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads what is there into the decoder and hands back one frame: 1 with
 * *m, 0 when none is complete yet, -errno (-ECONNRESET at EOF).
 */
static int read_frame(struct hull_agent_client *c, struct hull_agent_msg *m,
		      struct hull_error **reterr)
{
	for (;;) {
		uint8_t *buf;
		ssize_t room, n;
		int r;

		r = hull_agent_decoder_next(&c->dec, m, reterr);
		if (r != 0)
			return r < 0 ? hull_error_wrap(reterr, r, "from the agent") : 1;
		room = hull_agent_decoder_space(&c->dec, &buf);
		if (room < 0)
			return (int)room;
		if (room == 0)
			continue;
		n = recv(c->fd, buf, (size_t)room, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return hull_error_errno(reterr, -errno, "read from the agent");
		}
		if (n == 0)
			return hull_error_set(reterr, -ECONNRESET,
					      "the agent closed the connection");
		hull_agent_decoder_fill(&c->dec, (size_t)n);
	}
}

static int poll_one(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* HELLO both ways: the agent must answer with our version before anything else. */
static int handshake(struct hull_agent_client *c, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *hello = hull_agent_json_hello("hull " HULL_VERSION);
	int r;

	if (!hello)
		return -ENOMEM;
	r = queue(c, HULL_AGENT_HELLO, 0, hello, NULL, 0);
	if (r < 0)
		return r;
	for (;;) {
		struct hull_agent_msg m = { 0 };

		r = flush_some(c);
		if (r < 0)
			return hull_error_errno(reterr, r, "send hello to the agent");
		r = read_frame(c, &m, reterr);
		if (r < 0)
			return r;
		if (r > 0) {
			if (m.type == HULL_AGENT_ERROR) {
				r = hull_error_set(reterr, -EPROTO, "agent: %s", m.message);
			} else if (m.type != HULL_AGENT_HELLO) {
				r = hull_error_set(reterr, -EPROTO,
						   "agent: frame type %d before hello",
						   (int)m.type);
			} else if (m.version != HULL_AGENT_PROTO_VERSION) {
				r = hull_error_set(reterr, -EPROTONOSUPPORT,
						   "agent speaks protocol version %u, not %d",
						   m.version, HULL_AGENT_PROTO_VERSION);
			}
			hull_agent_msg_done(&m);
			return r;
		}
		r = poll_one(c->fd, POLLIN | (c->out_len ? POLLOUT : 0), HELLO_TIMEOUT_MS);
		if (r < 0)
			return hull_error_errno(reterr, r, "wait for the agent's hello");
		if (r == 0)
			return hull_error_set(reterr, -ETIMEDOUT, "the agent sent no hello");
	}
}

static int client_new(int fd, struct hull_agent_client **ret, struct hull_error **reterr)
{
	_cleanup_(hull_agent_client_freep) struct hull_agent_client *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		safe_close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	hull_agent_decoder_init(&c->dec, HULL_AGENT_FROM_AGENT);
	r = handshake(c, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int hull_agent_client_connect_unix(const char *path, struct hull_agent_client **ret,
				   struct hull_error **reterr)
{
	int fd = hull_socket_connect_unix(path);

	if (fd < 0)
		return hull_error_errno(reterr, fd, "connect to the agent at '%s'", path);
	return client_new(fd, ret, reterr);
}

int hull_agent_client_connect_vsock(const char *uds, uint32_t port, struct hull_agent_client **ret,
				    struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	char line[64];
	size_t len = 0;
	int r;

	fd = hull_socket_connect_unix(uds);
	if (fd < 0)
		return hull_error_errno(reterr, fd, "connect to the vsock socket '%s'", uds);
	r = snprintf(line, sizeof(line), "CONNECT %" PRIu32 "\n", port);
	r = hull_write_all(fd, line, (size_t)r);
	if (r < 0)
		return hull_error_errno(reterr, r, "vsock '%s': send CONNECT", uds);
	/* the answer, one byte at a time so nothing of the agent's first frame is eaten */
	while (len < sizeof(line) - 1) {
		ssize_t n;

		r = poll_one(fd, POLLIN, HELLO_TIMEOUT_MS);
		if (r <= 0)
			return hull_error_set(reterr, r < 0 ? r : -ETIMEDOUT,
					      "vsock '%s': no answer to CONNECT %" PRIu32, uds,
					      port);
		n = read(fd, line + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hull_error_set(reterr, -ECONNRESET,
					      "vsock '%s': port %" PRIu32 " refused", uds, port);
		if (line[len++] == '\n')
			break;
	}
	line[len] = 0;
	if (!startswith(line, "OK ") || line[len - 1] != '\n')
		return hull_error_set(reterr, -ECONNREFUSED,
				      "vsock '%s': port %" PRIu32 ": unexpected answer", uds, port);
	return client_new(TAKE_FD(fd), ret, reterr);
}

int hull_agent_client_run(struct hull_agent_client *c, const char *id, struct json_object *config,
			  const char *rootfs, const struct hull_agent_stream *s,
			  struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "config", json_object_get(config));
	if (rootfs)
		json_object_object_add(o, "rootfs", json_object_new_string(rootfs));
	r = queue(c, HULL_AGENT_RUN, s->id, o, NULL, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "run '%s' in the agent", id);
	return 0;
}

int hull_agent_client_exec(struct hull_agent_client *c, struct json_object *process,
			   const struct hull_agent_stream *s, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "process", json_object_get(process));
	r = queue(c, HULL_AGENT_EXEC, s->id, o, NULL, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "exec in the agent");
	return 0;
}

int hull_agent_client_signal(struct hull_agent_client *c, uint32_t stream, int sig,
			     struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "signal", json_object_new_int(sig));
	r = queue(c, HULL_AGENT_SIGNAL, stream, o, NULL, 0);
	return r < 0 ? hull_error_errno(reterr, r, "send signal %d", sig) : 0;
}

int hull_agent_client_resize(struct hull_agent_client *c, uint32_t stream, unsigned rows,
			     unsigned cols, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "rows", json_object_new_int((int)rows));
	json_object_object_add(o, "cols", json_object_new_int((int)cols));
	r = queue(c, HULL_AGENT_RESIZE, stream, o, NULL, 0);
	return r < 0 ? hull_error_errno(reterr, r, "send resize") : 0;
}

static struct hull_agent_stream *find_stream(struct hull_agent_stream *streams, size_t n,
					     uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (streams[i].id == id)
			return &streams[i];
	}
	return NULL;
}

/* Applies one frame from the agent; -errno ends the session. */
static int handle(struct hull_agent_stream *streams, size_t n, const struct hull_agent_msg *m,
		  struct hull_error **reterr)
{
	struct hull_agent_stream *s;
	int fd, r;

	if (m->stream == 0) {
		if (m->type == HULL_AGENT_ERROR)
			return hull_error_set(reterr, -EPROTO, "agent: %s", m->message);
		return hull_error_set(reterr, -EPROTO, "agent: unexpected frame type %d",
				      (int)m->type);
	}
	s = find_stream(streams, n, m->stream);
	if (!s || s->exited)
		return hull_error_set(reterr, -EPROTO, "agent: frame for unknown stream %" PRIu32,
				      m->stream);
	switch (m->type) {
	case HULL_AGENT_STARTED:
		s->started = true;
		s->pid = m->pid;
		return 0;
	case HULL_AGENT_STDOUT:
	case HULL_AGENT_STDERR:
		fd = m->type == HULL_AGENT_STDERR && s->err_fd >= 0 ? s->err_fd : s->out_fd;
		if (fd >= 0 && m->data_len > 0) {
			r = hull_write_all(fd, m->data, m->data_len);
			if (r < 0 && r != -EPIPE)
				return hull_error_errno(reterr, r, "write the process's output");
		}
		return 0;
	case HULL_AGENT_EXIT:
		s->exited = true;
		s->code = m->code;
		s->signal = m->signal;
		return 0;
	case HULL_AGENT_ERROR:
		s->exited = true;
		s->code = 255;
		free(s->error);
		s->error = strdup(m->message);
		return s->error ? 0 : -ENOMEM;
	default:
		return hull_error_set(reterr, -EPROTO, "agent: unexpected frame type %d",
				      (int)m->type);
	}
}

/* Forwards what one stdin fd has (or its EOF). */
static int pump_stdin(struct hull_agent_client *c, struct hull_agent_stream *s)
{
	char buf[HULL_AGENT_MAX_DATA];
	_cleanup_json_ struct json_object *eof = NULL;
	ssize_t n;

	n = read(s->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n > 0)
		return queue(c, HULL_AGENT_STDIN, s->id, NULL, buf, (size_t)n);
	eof = json_object_new_object();
	if (!eof)
		return -ENOMEM;
	s->in_eof_sent = true;
	return queue(c, HULL_AGENT_STDIN_EOF, s->id, eof, NULL, 0);
}

int hull_agent_client_step(struct hull_agent_client *c, struct hull_agent_stream *streams, size_t n,
			   int timeout_ms, struct hull_error **reterr)
{
	struct pollfd p[1 + HULL_AGENT_MAX_STREAMS];
	size_t np = 1, all_exited = 0;
	int r;

	if (n > HULL_AGENT_MAX_STREAMS)
		return -E2BIG;
	/* streams without stdin, or started ones whose stdin ended: EOF once */
	for (size_t i = 0; i < n; i++) {
		struct hull_agent_stream *s = &streams[i];

		if (s->in_fd < 0 && !s->in_eof_sent && !s->exited) {
			_cleanup_json_ struct json_object *eof = json_object_new_object();

			if (!eof)
				return -ENOMEM;
			s->in_eof_sent = true;
			r = queue(c, HULL_AGENT_STDIN_EOF, s->id, eof, NULL, 0);
			if (r < 0)
				return r;
		}
	}
	r = flush_some(c);
	if (r < 0)
		return hull_error_errno(reterr, r, "write to the agent");
	p[0] = (struct pollfd){ .fd = c->fd, .events = POLLIN | (c->out_len ? POLLOUT : 0) };
	for (size_t i = 0; i < n; i++) {
		struct hull_agent_stream *s = &streams[i];
		bool want =
			s->in_fd >= 0 && !s->in_eof_sent && !s->exited && c->out_len < QUEUE_HIGH;

		p[np++] = (struct pollfd){ .fd = want ? s->in_fd : -1, .events = POLLIN };
	}
	r = poll(p, np, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : hull_error_errno(reterr, -errno, "poll");
	for (size_t i = 0; i < n; i++) {
		if (p[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = pump_stdin(c, &streams[i]);
			if (r < 0)
				return hull_error_errno(reterr, r, "forward stdin");
		}
	}
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		for (;;) {
			struct hull_agent_msg m = { 0 };

			r = read_frame(c, &m, reterr);
			if (r <= 0)
				break;
			r = handle(streams, n, &m, reterr);
			hull_agent_msg_done(&m);
			if (r < 0)
				return r;
		}
		if (r < 0) {
			/* the agent may close right after the last EXIT: that is no error */
			for (size_t i = 0; i < n; i++)
				all_exited += streams[i].exited;
			if (r == -ECONNRESET && all_exited == n)
				return 1;
			return r;
		}
	}
	r = flush_some(c);
	if (r < 0)
		return hull_error_errno(reterr, r, "write to the agent");
	for (size_t i = 0; i < n; i++)
		all_exited += streams[i].exited;
	return all_exited == n ? 1 : 0;
}

int hull_agent_client_wait(struct hull_agent_client *c, struct hull_agent_stream *streams, size_t n,
			   struct hull_error **reterr)
{
	for (;;) {
		int r = hull_agent_client_step(c, streams, n, -1, reterr);

		if (r != 0)
			return r < 0 ? r : 0;
	}
}
