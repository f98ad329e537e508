/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent protocol: how the host talks to hull-agent, the PID 1 of a hull
 * micro-VM, over one byte stream (vsock in the guest, a unix socket in
 * tests).  docs/vm.md describes it for people; this header is the contract.
 *
 * A frame is a 12-byte header then a payload:
 *
 *   u32 length   bytes after the header (big-endian), <= HULL_AGENT_MAX_PAYLOAD
 *   u8  type     enum hull_agent_type
 *   u8  flags    0 (anything else is refused)
 *   u16 reserved 0
 *   u32 stream   the process a frame is about (big-endian); 0 = the connection
 *
 * Data frames (STDIN, STDOUT, STDERR) carry raw bytes, at most
 * HULL_AGENT_MAX_DATA.  Control frames carry one JSON object whose members
 * depend on the type; unknown members are ignored (so a newer peer may add
 * some), a member of the wrong type or out of range refuses the frame.
 * Both sides decode every frame with the same code (this file), so a
 * hostile host and a hostile guest meet the same bounds.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define HULL_AGENT_PROTO_VERSION 1
#define HULL_AGENT_HEADER_SIZE 12
#define HULL_AGENT_MAX_PAYLOAD (1024 * 1024) /* a RUN with a large config.json fits */
#define HULL_AGENT_MAX_DATA (64 * 1024)	     /* one STDIN/STDOUT/STDERR frame */
#define HULL_AGENT_MAX_STREAMS 16	     /* processes alive at once in one session */
#define HULL_AGENT_MAX_STREAM_ID 0xffff
#define HULL_AGENT_MAX_MESSAGE 4096 /* an ERROR's text */
#define HULL_AGENT_JSON_DEPTH 64
#define HULL_AGENT_VSOCK_PORT 1024

enum hull_agent_type {
	HULL_AGENT_HELLO = 1,	  /* both ways, stream 0: {"version":1,"software":"..."} */
	HULL_AGENT_RUN = 2,	  /* host: {"id","config",["rootfs"]} starts the container */
	HULL_AGENT_EXEC = 3,	  /* host: {"process"} a second process in it, new stream */
	HULL_AGENT_STARTED = 4,	  /* agent: {"pid"} the stream's process runs */
	HULL_AGENT_STDIN = 5,	  /* host: data for the process's stdin */
	HULL_AGENT_STDIN_EOF = 6, /* host: {} closes the process's stdin */
	HULL_AGENT_STDOUT = 7,	  /* agent: data the process wrote */
	HULL_AGENT_STDERR = 8,	  /* agent: data the process wrote */
	HULL_AGENT_RESIZE = 9,	  /* host: {"rows","cols"} of the process's terminal */
	HULL_AGENT_SIGNAL = 10,	  /* host: {"signal"} to the stream's process */
	HULL_AGENT_EXIT = 11,	  /* agent: {"code"[,"signal"]} the process ended */
	HULL_AGENT_ERROR = 12,	  /* both: {"message"} one line; stream 0 ends the session */
	HULL_AGENT_TYPE_MAX = HULL_AGENT_ERROR,
};

/* Which side sent a frame: each accepts only the types the other may send. */
enum hull_agent_side {
	HULL_AGENT_FROM_HOST,
	HULL_AGENT_FROM_AGENT,
};

/* One decoded frame.  Pointers point into the frame or json objects it owns. */
struct hull_agent_msg {
	enum hull_agent_type type;
	uint32_t stream;
	/* data frames */
	const uint8_t *data;
	size_t data_len;
	/* the parsed control object (NULL for data frames), owned by the msg */
	struct json_object *json;
	/* decoded members, by type */
	uint32_t version;	     /* HELLO */
	const char *software;	     /* HELLO, may be NULL */
	const char *id;		     /* RUN: the container id */
	struct json_object *config;  /* RUN: the OCI config.json object */
	const char *rootfs;	     /* RUN: may be NULL (the agent's default) */
	struct json_object *process; /* EXEC: an OCI process object */
	int64_t pid;		     /* STARTED */
	uint16_t rows, cols;	     /* RESIZE */
	int signal;		     /* SIGNAL; EXIT (0 when the process exited) */
	int code;		     /* EXIT: 0..255, runc's 128+n after a signal */
	const char *message;	     /* ERROR */
};

/* Releases what hull_agent_msg_parse() stored; the msg may be zeroed or half-filled. */
void hull_agent_msg_done(struct hull_agent_msg *m);

/*
 * Decodes the 12-byte header at `hdr`: *ret_len is the payload length that
 * follows.  Refuses (-EBADMSG, with a message) a length above
 * HULL_AGENT_MAX_PAYLOAD, an unknown type, nonzero flags or reserved bits,
 * a stream id above HULL_AGENT_MAX_STREAM_ID, or a type the sending side
 * may not send.
 */
int hull_agent_header_parse(const uint8_t hdr[HULL_AGENT_HEADER_SIZE], enum hull_agent_side from,
			    uint32_t *ret_len, enum hull_agent_type *ret_type, uint32_t *ret_stream,
			    struct hull_error **reterr);

/*
 * Decodes one whole frame (header + payload, exactly `len` bytes) sent by
 * `from` into *ret (which must be zeroed; release with hull_agent_msg_done()).
 * Data pointers point into `frame`, which must outlive *ret.  Every field is
 * checked: -EBADMSG with a message naming it otherwise, *ret then untouched.
 */
int hull_agent_msg_parse(const uint8_t *frame, size_t len, enum hull_agent_side from,
			 struct hull_agent_msg *ret, struct hull_error **reterr);

/*
 * Encodes one frame into a new buffer (*ret, *ret_len).  `json` (for
 * control types) is serialised compactly; `data` (for data types) is copied.
 * -EMSGSIZE when the payload would exceed the limits.
 */
int hull_agent_frame_new(enum hull_agent_type type, uint32_t stream, struct json_object *json,
			 const void *data, size_t data_len, uint8_t **ret, size_t *ret_len);

/*
 * A receive buffer that turns a byte stream into frames: feed it what a
 * read() returned, then take complete frames out.  Holds at most one frame
 * plus a header, so a peer cannot make it grow without bound.
 */
struct hull_agent_decoder {
	enum hull_agent_side from;
	uint8_t *buf;
	size_t len, cap;
	bool broken; /* a frame was refused: the stream has lost its framing */
};

void hull_agent_decoder_init(struct hull_agent_decoder *d, enum hull_agent_side from);
void hull_agent_decoder_done(struct hull_agent_decoder *d);

/*
 * Where the next read() should go and how much it may write: *ret_buf gets
 * room for up to the returned number of bytes (never more than the current
 * frame still needs, so the buffer stays bounded).  0 when a frame is
 * complete or its header is refused: call hull_agent_decoder_next().
 * -EBADMSG once broken, -ENOMEM.
 */
ssize_t hull_agent_decoder_space(struct hull_agent_decoder *d, uint8_t **ret_buf);
/* Records that `n` bytes were written at the space returned above. */
void hull_agent_decoder_fill(struct hull_agent_decoder *d, size_t n);

/*
 * Takes the next complete frame: 1 with *ret filled (valid until the next
 * call on the decoder), 0 when more bytes are needed, -EBADMSG when the
 * frame is refused (the decoder then stays broken: the session must end).
 */
int hull_agent_decoder_next(struct hull_agent_decoder *d, struct hull_agent_msg *ret,
			    struct hull_error **reterr);

/* Builders for the control objects (NULL on allocation failure). */
struct json_object *hull_agent_json_hello(const char *software);
struct json_object *hull_agent_json_error(const char *message);
