/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's side of the agent protocol (agent-proto.h): connect to a
 * hull-agent, run a container, start exec processes, and pump their stdio
 * between local fds and the agent until they exit.  What `hull run --vm`
 * and hull-runtime-vm call.  Every frame from the agent goes through the
 * same bounded decoder the agent uses: a hostile guest gets its session
 * ended with an error, never more.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "agent/agent-proto.h"
#include "util/error.h"

struct hull_agent_client;

/* Connects to an agent listening on the unix socket `path` and exchanges HELLO. */
int hull_agent_client_connect_unix(const char *path, struct hull_agent_client **ret,
				   struct hull_error **reterr);

/*
 * Connects through a VMM's vsock bridge (Firecracker's convention): the
 * unix socket `uds`, then "CONNECT <port>\n" answered by "OK <n>\n", then
 * HELLO.  -ECONNREFUSED / -ECONNRESET while nobody listens on the port yet.
 */
int hull_agent_client_connect_vsock(const char *uds, uint32_t port, struct hull_agent_client **ret,
				    struct hull_error **reterr);

void hull_agent_client_free(struct hull_agent_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_agent_client *, hull_agent_client_free)

/* One process of the session, as the pump sees it. */
struct hull_agent_stream {
	uint32_t id;
	int in_fd;  /* its stdin comes from here; -1: EOF at once */
	int out_fd; /* STDOUT frames go here (and STDERR when err_fd < 0) */
	int err_fd;
	bool started, exited;
	int64_t pid; /* in the guest, once started */
	int code;    /* exit code (runc's 128+n after signal n) */
	int signal;  /* the signal that ended it, when the agent knows */
	char *error; /* an ERROR the agent sent about this stream (then exited is set) */
	/* internal */
	bool in_eof_sent;
};

void hull_agent_stream_done(struct hull_agent_stream *s);

/*
 * Queues RUN (stream `s->id`) for container `id` with `config` (an OCI
 * config.json object; the agent writes it into a bundle) and an optional
 * rootfs path in the guest.
 */
int hull_agent_client_run(struct hull_agent_client *c, const char *id, struct json_object *config,
			  const char *rootfs, const struct hull_agent_stream *s,
			  struct hull_error **reterr);
/* Queues EXEC of `process` (an OCI process object) as stream `s->id`. */
int hull_agent_client_exec(struct hull_agent_client *c, struct json_object *process,
			   const struct hull_agent_stream *s, struct hull_error **reterr);
int hull_agent_client_signal(struct hull_agent_client *c, uint32_t stream, int sig,
			     struct hull_error **reterr);
int hull_agent_client_resize(struct hull_agent_client *c, uint32_t stream, unsigned rows,
			     unsigned cols, struct hull_error **reterr);

/*
 * One round of the pump over `streams` (n of them): waits up to timeout_ms
 * (-1: until something happens) for the agent or a stdin fd, writes what the
 * agent sent to the streams' fds, forwards stdin.  Returns 1 when every
 * stream has exited, 0 otherwise; -errno when the session broke (the agent
 * closed the connection, a refused frame, a connection-level ERROR).
 */
int hull_agent_client_step(struct hull_agent_client *c, struct hull_agent_stream *streams, size_t n,
			   int timeout_ms, struct hull_error **reterr);

/* Steps until every stream has exited. */
int hull_agent_client_wait(struct hull_agent_client *c, struct hull_agent_stream *streams, size_t n,
			   struct hull_error **reterr);
