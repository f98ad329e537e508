/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent protocol's frames (agent-proto.h): header, payload checks per
 * type, the encoder and a bounded stream decoder.  Everything a peer sends
 * is hostile here: lengths are checked before anything is allocated, JSON is
 * parsed with a depth bound, and every member is checked for type and range.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent-proto.h"
#include "util/json.h"
#include "util/str.h"
#include "util/macro.h"

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool type_is_data(enum hull_agent_type t)
{
	return t == HULL_AGENT_STDIN || t == HULL_AGENT_STDOUT || t == HULL_AGENT_STDERR;
}

static bool type_from_host(enum hull_agent_type t)
{
	switch (t) {
	case HULL_AGENT_HELLO:
	case HULL_AGENT_RUN:
	case HULL_AGENT_EXEC:
	case HULL_AGENT_STDIN:
	case HULL_AGENT_STDIN_EOF:
	case HULL_AGENT_RESIZE:
	case HULL_AGENT_SIGNAL:
	case HULL_AGENT_ERROR:
		return true;
	default:
		return false;
	}
}

static bool type_from_agent(enum hull_agent_type t)
{
	switch (t) {
	case HULL_AGENT_HELLO:
	case HULL_AGENT_STARTED:
	case HULL_AGENT_STDOUT:
	case HULL_AGENT_STDERR:
	case HULL_AGENT_EXIT:
	case HULL_AGENT_ERROR:
		return true;
	default:
		return false;
	}
}

/* HELLO is about the connection (stream 0), ERROR about either, the rest about a process. */
static bool stream_ok(enum hull_agent_type t, uint32_t stream)
{
	if (t == HULL_AGENT_ERROR)
		return true;
	return (t == HULL_AGENT_HELLO) == (stream == 0);
}

void hull_agent_msg_done(struct hull_agent_msg *m)
{
	if (!m)
		return;
	if (m->json)
		json_object_put(m->json);
	*m = (struct hull_agent_msg){ 0 };
}

int hull_agent_header_parse(const uint8_t hdr[HULL_AGENT_HEADER_SIZE], enum hull_agent_side from,
			    uint32_t *ret_len, enum hull_agent_type *ret_type, uint32_t *ret_stream,
			    struct hull_error **reterr)
{
	uint32_t len = get_be32(hdr), stream = get_be32(hdr + 8);
	unsigned type = hdr[4];

	if (len > HULL_AGENT_MAX_PAYLOAD)
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: length %" PRIu32 " above the limit of %d", len,
				      HULL_AGENT_MAX_PAYLOAD);
	if (type < HULL_AGENT_HELLO || type > HULL_AGENT_TYPE_MAX)
		return hull_error_set(reterr, -EBADMSG, "agent frame: unknown type %u", type);
	if (hdr[5] != 0 || hdr[6] != 0 || hdr[7] != 0)
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: flags and reserved bits must be 0");
	if (stream > HULL_AGENT_MAX_STREAM_ID)
		return hull_error_set(reterr, -EBADMSG, "agent frame: stream %" PRIu32 " too large",
				      stream);
	if (from == HULL_AGENT_FROM_HOST ? !type_from_host(type) : !type_from_agent(type))
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: type %u not allowed from the %s", type,
				      from == HULL_AGENT_FROM_HOST ? "host" : "agent");
	if (!stream_ok(type, stream))
		return hull_error_set(reterr, -EBADMSG, "agent frame: type %u on stream %" PRIu32,
				      type, stream);
	if (type_is_data(type) && len > HULL_AGENT_MAX_DATA)
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: data length %" PRIu32 " above the limit of %d",
				      len, HULL_AGENT_MAX_DATA);
	*ret_len = len;
	*ret_type = type;
	*ret_stream = stream;
	return 0;
}

/* Parses a control payload: one JSON object, bounded depth, no NUL inside. */
static int parse_object(const uint8_t *p, size_t len, struct json_object **ret,
			struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_tokener *tok;
	enum json_tokener_error jerr;

	if (len == 0)
		return hull_error_set(reterr, -EBADMSG, "agent frame: empty control payload");
	if (memchr(p, 0, len))
		return hull_error_set(reterr, -EBADMSG, "agent frame: NUL byte in control payload");
	tok = json_tokener_new_ex(HULL_AGENT_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, (const char *)p, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!o || jerr != json_tokener_success || (size_t)json_tokener_get_parse_end(tok) != len) {
		const char *why = jerr == json_tokener_success ? "trailing bytes after the object"
							       : json_tokener_error_desc(jerr);
		if (jerr == json_tokener_continue)
			why = "truncated JSON";
		json_tokener_free(tok);
		return hull_error_set(reterr, -EBADMSG, "agent frame: bad JSON: %s", why);
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object))
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: payload is not a JSON object");
	*ret = TAKE_PTR(o);
	return 0;
}

/* A member that must be an integer in [min, max]; absent is -ENOENT (not an error message). */
static int get_int(struct json_object *o, const char *name, int64_t min, int64_t max, int64_t *ret,
		   const char *what, struct hull_error **reterr)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_int))
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s': expected an integer", what,
				      name);
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c saturates values beyond int64 and may set errno */
	if (errno != 0 || x < min || x > max)
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s': out of range", what, name);
	*ret = x;
	return 0;
}

static int need_int(struct json_object *o, const char *name, int64_t min, int64_t max, int64_t *ret,
		    const char *what, struct hull_error **reterr)
{
	int r = get_int(o, name, min, max, ret, what, reterr);

	if (r == -ENOENT)
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s' missing", what, name);
	return r;
}

/*
 * A string member of at most `max` bytes, one line, no control characters;
 * absent is -ENOENT.
 */
static int get_string(struct json_object *o, const char *name, size_t max, const char **ret,
		      const char *what, struct hull_error **reterr)
{
	struct json_object *v;
	const char *s;
	int n;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s': expected a string", what,
				      name);
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n < 0 || (size_t)n > max)
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s': longer than %zu bytes",
				      what, name, max);
	for (int i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return hull_error_set(reterr, -EBADMSG,
					      "agent %s: '%s': control character in the text", what,
					      name);
	}
	*ret = s;
	return 0;
}

static int need_string(struct json_object *o, const char *name, size_t max, const char **ret,
		       const char *what, struct hull_error **reterr)
{
	int r = get_string(o, name, max, ret, what, reterr);

	if (r == -ENOENT)
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s' missing", what, name);
	return r;
}

static int need_object(struct json_object *o, const char *name, struct json_object **ret,
		       const char *what, struct hull_error **reterr)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s' missing", what, name);
	if (!json_object_is_type(v, json_type_object))
		return hull_error_set(reterr, -EBADMSG, "agent %s: '%s': expected an object", what,
				      name);
	*ret = v;
	return 0;
}

/* A container id as hull_container_id_check() accepts it (checked again by create). */
static bool id_ok(const char *id)
{
	if (!*id || streq(id, ".") || streq(id, ".."))
		return false;
	for (const char *p = id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' || *p == '.' || *p == '-'))
			return false;
	}
	return true;
}

static int parse_control(struct hull_agent_msg *m, struct hull_error **reterr)
{
	struct json_object *o = m->json;
	int64_t x;
	int r;

	switch (m->type) {
	case HULL_AGENT_HELLO:
		r = need_int(o, "version", 1, UINT32_MAX, &x, "hello", reterr);
		if (r < 0)
			return r;
		m->version = (uint32_t)x;
		r = get_string(o, "software", 256, &m->software, "hello", reterr);
		return r == -ENOENT ? 0 : r;
	case HULL_AGENT_RUN:
		r = need_string(o, "id", 1024, &m->id, "run", reterr);
		if (r < 0)
			return r;
		if (!id_ok(m->id))
			return hull_error_set(reterr, -EBADMSG,
					      "agent run: 'id': not a container id");
		r = need_object(o, "config", &m->config, "run", reterr);
		if (r < 0)
			return r;
		r = get_string(o, "rootfs", PATH_MAX - 1, &m->rootfs, "run", reterr);
		if (r == -ENOENT)
			return 0;
		if (r >= 0 && m->rootfs[0] != '/')
			return hull_error_set(reterr, -EBADMSG,
					      "agent run: 'rootfs': not absolute");
		return r;
	case HULL_AGENT_EXEC:
		return need_object(o, "process", &m->process, "exec", reterr);
	case HULL_AGENT_STARTED:
		r = need_int(o, "pid", 1, INT_MAX, &x, "started", reterr);
		if (r >= 0)
			m->pid = x;
		return r;
	case HULL_AGENT_STDIN_EOF:
		return 0;
	case HULL_AGENT_RESIZE:
		r = need_int(o, "rows", 0, UINT16_MAX, &x, "resize", reterr);
		if (r < 0)
			return r;
		m->rows = (uint16_t)x;
		r = need_int(o, "cols", 0, UINT16_MAX, &x, "resize", reterr);
		if (r < 0)
			return r;
		m->cols = (uint16_t)x;
		return 0;
	case HULL_AGENT_SIGNAL:
		r = need_int(o, "signal", 1, 64, &x, "signal", reterr);
		if (r >= 0)
			m->signal = (int)x;
		return r;
	case HULL_AGENT_EXIT:
		r = need_int(o, "code", 0, 255, &x, "exit", reterr);
		if (r < 0)
			return r;
		m->code = (int)x;
		r = get_int(o, "signal", 0, 64, &x, "exit", reterr);
		if (r == -ENOENT)
			return 0;
		if (r >= 0)
			m->signal = (int)x;
		return r;
	case HULL_AGENT_ERROR:
		return need_string(o, "message", HULL_AGENT_MAX_MESSAGE, &m->message, "error",
				   reterr);
	default:
		return hull_error_set(reterr, -EBADMSG, "agent frame: type %d has no JSON",
				      (int)m->type);
	}
}

int hull_agent_msg_parse(const uint8_t *frame, size_t len, enum hull_agent_side from,
			 struct hull_agent_msg *ret, struct hull_error **reterr)
{
	struct hull_agent_msg m = { 0 };
	enum hull_agent_type type;
	uint32_t plen, stream;
	int r;

	if (len < HULL_AGENT_HEADER_SIZE)
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: %zu bytes, shorter than a header", len);
	r = hull_agent_header_parse(frame, from, &plen, &type, &stream, reterr);
	if (r < 0)
		return r;
	if (len - HULL_AGENT_HEADER_SIZE != plen)
		return hull_error_set(reterr, -EBADMSG,
				      "agent frame: length %" PRIu32 " but %zu payload bytes", plen,
				      len - HULL_AGENT_HEADER_SIZE);
	m.type = type;
	m.stream = stream;
	if (type_is_data(type)) {
		m.data = frame + HULL_AGENT_HEADER_SIZE;
		m.data_len = plen;
		*ret = m;
		return 0;
	}
	r = parse_object(frame + HULL_AGENT_HEADER_SIZE, plen, &m.json, reterr);
	if (r < 0)
		return r;
	r = parse_control(&m, reterr);
	if (r < 0) {
		hull_agent_msg_done(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int hull_agent_frame_new(enum hull_agent_type type, uint32_t stream, struct json_object *json,
			 const void *data, size_t data_len, uint8_t **ret, size_t *ret_len)
{
	const char *text = NULL;
	size_t plen;
	uint8_t *f;

	if (type < HULL_AGENT_HELLO || type > HULL_AGENT_TYPE_MAX ||
	    stream > HULL_AGENT_MAX_STREAM_ID)
		return -EINVAL;
	if (type_is_data(type)) {
		if (data_len > HULL_AGENT_MAX_DATA)
			return -EMSGSIZE;
		plen = data_len;
	} else {
		if (!json)
			return -EINVAL;
		text = json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!text)
			return -ENOMEM;
		plen = strlen(text);
		if (plen > HULL_AGENT_MAX_PAYLOAD)
			return -EMSGSIZE;
		data = text;
	}
	f = malloc(HULL_AGENT_HEADER_SIZE + plen);
	if (!f)
		return -ENOMEM;
	put_be32(f, (uint32_t)plen);
	f[4] = (uint8_t)type;
	f[5] = f[6] = f[7] = 0;
	put_be32(f + 8, stream);
	if (plen)
		memcpy(f + HULL_AGENT_HEADER_SIZE, data, plen);
	*ret = f;
	*ret_len = HULL_AGENT_HEADER_SIZE + plen;
	return 0;
}

void hull_agent_decoder_init(struct hull_agent_decoder *d, enum hull_agent_side from)
{
	*d = (struct hull_agent_decoder){ .from = from };
}

void hull_agent_decoder_done(struct hull_agent_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = 0;
}

/* Bytes the frame being received still needs (0: a whole frame is buffered). */
static size_t decoder_need(const struct hull_agent_decoder *d)
{
	if (d->len < HULL_AGENT_HEADER_SIZE)
		return HULL_AGENT_HEADER_SIZE - d->len;
	/* the header was checked when it completed: the length is bounded */
	return HULL_AGENT_HEADER_SIZE + get_be32(d->buf) - d->len;
}

ssize_t hull_agent_decoder_space(struct hull_agent_decoder *d, uint8_t **ret_buf)
{
	size_t need;

	if (d->broken)
		return -EBADMSG;
	if (d->len >= HULL_AGENT_HEADER_SIZE && get_be32(d->buf) > HULL_AGENT_MAX_PAYLOAD)
		return 0; /* refused by the next hull_agent_decoder_next() */
	need = decoder_need(d);
	if (d->len + need > d->cap) {
		size_t cap = d->len + need;
		uint8_t *b;

		if (cap < 4096)
			cap = 4096;
		b = realloc(d->buf, cap);
		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->cap = cap;
	}
	*ret_buf = d->buf + d->len;
	return (ssize_t)need;
}

void hull_agent_decoder_fill(struct hull_agent_decoder *d, size_t n)
{
	d->len += n;
}

int hull_agent_decoder_next(struct hull_agent_decoder *d, struct hull_agent_msg *ret,
			    struct hull_error **reterr)
{
	enum hull_agent_type type;
	uint32_t plen, stream;
	int r;

	if (d->broken)
		return hull_error_set(reterr, -EBADMSG, "agent stream: framing lost earlier");
	if (d->len < HULL_AGENT_HEADER_SIZE)
		return 0;
	/* checked as soon as it is whole, before any payload is buffered */
	r = hull_agent_header_parse(d->buf, d->from, &plen, &type, &stream, reterr);
	if (r < 0) {
		d->broken = true;
		return r;
	}
	if (d->len < HULL_AGENT_HEADER_SIZE + (size_t)plen)
		return 0;
	r = hull_agent_msg_parse(d->buf, d->len, d->from, ret, reterr);
	/* the caller uses the frame until its next call; then the buffer starts over */
	d->len = 0;
	if (r < 0)
		d->broken = true;
	return r < 0 ? r : 1;
}

struct json_object *hull_agent_json_hello(const char *software)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "version", json_object_new_int(HULL_AGENT_PROTO_VERSION));
	if (software)
		json_object_object_add(o, "software", json_object_new_string(software));
	return o;
}

struct json_object *hull_agent_json_error(const char *message)
{
	char line[HULL_AGENT_MAX_MESSAGE + 1];
	struct json_object *o;
	size_t i;

	/* one line, no control characters, bounded: what the parser will accept */
	for (i = 0; message[i] && i < HULL_AGENT_MAX_MESSAGE; i++) {
		unsigned char c = (unsigned char)message[i];
		line[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	line[i] = 0;
	o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "message", json_object_new_string(line));
	return o;
}
