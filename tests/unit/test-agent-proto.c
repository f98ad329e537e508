/* SPDX-License-Identifier: Apache-2.0 */
/* The agent protocol's frames: encoding, decoding, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent-proto.h"
#include "util/json.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A frame with `payload` (NUL-terminated text) built by hand, bypassing the encoder. */
static size_t raw_frame(uint8_t *buf, size_t size, unsigned type, uint32_t stream,
			const char *payload)
{
	size_t n = strlen(payload);

	assert_true(HULL_AGENT_HEADER_SIZE + n <= size);
	put32(buf, (uint32_t)n);
	buf[4] = (uint8_t)type;
	buf[5] = buf[6] = buf[7] = 0;
	put32(buf + 8, stream);
	memcpy(buf + HULL_AGENT_HEADER_SIZE, payload, n);
	return HULL_AGENT_HEADER_SIZE + n;
}

/* Parses a hand-made control frame; returns the parse result, error text in *msg. */
static int parse_raw(enum hull_agent_side from, unsigned type, uint32_t stream, const char *payload,
		     struct hull_agent_msg *m, char *msg, size_t msg_size)
{
	uint8_t buf[8192];
	struct hull_error *err = NULL;
	size_t n = raw_frame(buf, sizeof(buf), type, stream, payload);
	int r;

	*m = (struct hull_agent_msg){ 0 };
	r = hull_agent_msg_parse(buf, n, from, m, &err);
	if (msg && msg_size) {
		msg[0] = 0;
		if (err && err->msg)
			strncpy(msg, err->msg, msg_size - 1);
	}
	if (r < 0) {
		assert_non_null(err);
		assert_non_null(err->msg);
	}
	hull_error_free(err);
	return r;
}

static void test_roundtrip_control(void **state)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct hull_agent_msg m = { 0 };
	uint8_t *f = NULL;
	size_t len;

	json_object_object_add(o, "rows", json_object_new_int(40));
	json_object_object_add(o, "cols", json_object_new_int(120));
	assert_int_equal(hull_agent_frame_new(HULL_AGENT_RESIZE, 3, o, NULL, 0, &f, &len), 0);
	assert_int_equal(hull_agent_msg_parse(f, len, HULL_AGENT_FROM_HOST, &m, NULL), 0);
	assert_int_equal(m.type, HULL_AGENT_RESIZE);
	assert_int_equal(m.stream, 3);
	assert_int_equal(m.rows, 40);
	assert_int_equal(m.cols, 120);
	hull_agent_msg_done(&m);
	/* the agent may not send RESIZE */
	assert_int_equal(hull_agent_msg_parse(f, len, HULL_AGENT_FROM_AGENT, &m, NULL), -EBADMSG);
	free(f);
}

static void test_roundtrip_data(void **state)
{
	struct hull_agent_msg m = { 0 };
	uint8_t *f = NULL, big[HULL_AGENT_MAX_DATA + 1];
	size_t len;

	assert_int_equal(hull_agent_frame_new(HULL_AGENT_STDOUT, 1, NULL, "a\0b", 3, &f, &len), 0);
	assert_int_equal(len, HULL_AGENT_HEADER_SIZE + 3);
	assert_int_equal(hull_agent_msg_parse(f, len, HULL_AGENT_FROM_AGENT, &m, NULL), 0);
	assert_int_equal(m.data_len, 3);
	assert_memory_equal(m.data, "a\0b", 3);
	assert_null(m.json);
	hull_agent_msg_done(&m);
	free(f);
	/* one byte over the data limit is refused by the encoder */
	memset(big, 'x', sizeof(big));
	assert_int_equal(
		hull_agent_frame_new(HULL_AGENT_STDIN, 1, NULL, big, sizeof(big), &f, &len),
		-EMSGSIZE);
}

static void test_hello_and_run(void **state)
{
	struct hull_agent_msg m;
	char msg[256];

	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_HELLO, 0,
				   "{\"version\":1,\"software\":\"hull 0.1\"}", &m, NULL, 0),
			 0);
	assert_int_equal(m.version, 1);
	assert_string_equal(m.software, "hull 0.1");
	hull_agent_msg_done(&m);
	/* HELLO only on stream 0 */
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_HELLO, 1, "{\"version\":1}", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RUN, 1,
				   "{\"id\":\"web\",\"config\":{\"process\":{}},\"rootfs\":\"/r\"}",
				   &m, NULL, 0),
			 0);
	assert_string_equal(m.id, "web");
	assert_string_equal(m.rootfs, "/r");
	assert_true(json_object_is_type(m.config, json_type_object));
	hull_agent_msg_done(&m);
	/* bad ids, a relative rootfs, a config that is no object, a missing config */
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RUN, 1,
				   "{\"id\":\"../x\",\"config\":{}}", &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_non_null(strstr(msg, "'id'"));
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RUN, 1,
				   "{\"id\":\"..\",\"config\":{}}", &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RUN, 1,
				   "{\"id\":\"a\",\"config\":{},\"rootfs\":\"rel\"}", &m, msg,
				   sizeof(msg)),
			 -EBADMSG);
	assert_non_null(strstr(msg, "'rootfs'"));
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RUN, 1,
				   "{\"id\":\"a\",\"config\":[]}", &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_non_null(strstr(msg, "'config'"));
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RUN, 1, "{\"id\":\"a\"}", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	assert_non_null(strstr(msg, "missing"));
}

static void test_ranges(void **state)
{
	struct hull_agent_msg m;
	char msg[256];

	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "{\"signal\":0}", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "{\"signal\":65}",
				   &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "{\"signal\":\"9\"}",
				   &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_non_null(strstr(msg, "expected an integer"));
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "{\"signal\":9}", &m,
				   NULL, 0),
			 0);
	assert_int_equal(m.signal, 9);
	hull_agent_msg_done(&m);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_RESIZE, 1,
				   "{\"rows\":65536,\"cols\":80}", &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_EXIT, 1, "{\"code\":256}", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_EXIT, 1, "{\"code\":-1}", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_EXIT, 1,
				   "{\"code\":99999999999999999999999}", &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_EXIT, 1,
				   "{\"code\":137,\"signal\":9}", &m, NULL, 0),
			 0);
	assert_int_equal(m.code, 137);
	assert_int_equal(m.signal, 9);
	hull_agent_msg_done(&m);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_STARTED, 1, "{\"pid\":0}", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	/* an ERROR's text is one line */
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_ERROR, 0,
				   "{\"message\":\"a\\nb\"}", &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(parse_raw(HULL_AGENT_FROM_AGENT, HULL_AGENT_ERROR, 2,
				   "{\"message\":\"no such file\"}", &m, NULL, 0),
			 0);
	assert_string_equal(m.message, "no such file");
	hull_agent_msg_done(&m);
}

static void test_bad_json(void **state)
{
	struct hull_agent_msg m;
	char msg[256];
	char deep[400];
	size_t i = 0;

	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "{\"signal\":9", &m,
				   msg, sizeof(msg)),
			 -EBADMSG);
	assert_non_null(strstr(msg, "JSON"));
	assert_int_equal(parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "{\"signal\":9} {}",
				   &m, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(
		parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, "[9]", &m, msg, sizeof(msg)),
		-EBADMSG);
	assert_int_equal(
		parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_STDIN_EOF, 1, "", &m, msg, sizeof(msg)),
		-EBADMSG);
	/* nesting beyond the depth bound */
	memcpy(deep, "{\"signal\":9,\"x\":", 16);
	i = 16;
	while (i < 16 + HULL_AGENT_JSON_DEPTH + 10)
		deep[i++] = '[';
	deep[i] = 0;
	assert_int_equal(
		parse_raw(HULL_AGENT_FROM_HOST, HULL_AGENT_SIGNAL, 1, deep, &m, msg, sizeof(msg)),
		-EBADMSG);
}

static void test_header(void **state)
{
	uint8_t h[HULL_AGENT_HEADER_SIZE] = { 0 };
	enum hull_agent_type type;
	uint32_t len, stream;
	struct hull_error *err = NULL;

	put32(h, HULL_AGENT_MAX_PAYLOAD + 1);
	h[4] = HULL_AGENT_RUN;
	put32(h + 8, 1);
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, &err),
		-EBADMSG);
	assert_non_null(strstr(err->msg, "above the limit"));
	hull_error_free(err);
	err = NULL;
	put32(h, 10);
	h[4] = 0;
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL),
		-EBADMSG);
	h[4] = HULL_AGENT_TYPE_MAX + 1;
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL),
		-EBADMSG);
	h[4] = HULL_AGENT_RUN;
	h[5] = 1; /* flags */
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL),
		-EBADMSG);
	h[5] = 0;
	put32(h + 8, HULL_AGENT_MAX_STREAM_ID + 1);
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL),
		-EBADMSG);
	put32(h + 8, 0); /* RUN on the connection stream */
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL),
		-EBADMSG);
	put32(h + 8, 7);
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL), 0);
	assert_int_equal(len, 10);
	assert_int_equal(type, HULL_AGENT_RUN);
	assert_int_equal(stream, 7);
	/* STDIN data above its own limit */
	h[4] = HULL_AGENT_STDIN;
	put32(h, HULL_AGENT_MAX_DATA + 1);
	assert_int_equal(
		hull_agent_header_parse(h, HULL_AGENT_FROM_HOST, &len, &type, &stream, NULL),
		-EBADMSG);
}

/* Feeds `len` bytes into the decoder in chunks of `chunk`, collecting frames of type STDOUT. */
static int feed(struct hull_agent_decoder *d, const uint8_t *in, size_t len, size_t chunk,
		size_t *ret_frames, size_t *ret_bytes)
{
	size_t off = 0;

	*ret_frames = *ret_bytes = 0;
	for (;;) {
		struct hull_agent_msg m = { 0 };
		uint8_t *buf;
		ssize_t room;
		size_t n;
		int r = hull_agent_decoder_next(d, &m, NULL);

		if (r < 0)
			return r;
		if (r > 0) {
			(*ret_frames)++;
			*ret_bytes += m.data_len;
			hull_agent_msg_done(&m);
			continue;
		}
		if (off == len)
			return 0;
		room = hull_agent_decoder_space(d, &buf);
		if (room < 0)
			return (int)room;
		if (room == 0)
			continue;
		n = len - off < chunk ? len - off : chunk;
		if (n > (size_t)room)
			n = (size_t)room;
		memcpy(buf, in + off, n);
		hull_agent_decoder_fill(d, n);
		off += n;
	}
}

static void test_decoder(void **state)
{
	struct hull_agent_decoder d;
	uint8_t stream[3 * (HULL_AGENT_HEADER_SIZE + 1000)];
	size_t off = 0, frames, bytes;
	uint8_t hdr[HULL_AGENT_HEADER_SIZE];

	for (int i = 0; i < 3; i++) {
		uint8_t *f;
		size_t len;
		char data[1000];

		memset(data, 'a' + i, sizeof(data));
		assert_int_equal(hull_agent_frame_new(HULL_AGENT_STDOUT, 1, NULL, data,
						      sizeof(data), &f, &len),
				 0);
		memcpy(stream + off, f, len);
		off += len;
		free(f);
	}
	for (size_t chunk = 1; chunk < 3000; chunk = chunk * 3 + 1) {
		hull_agent_decoder_init(&d, HULL_AGENT_FROM_AGENT);
		assert_int_equal(feed(&d, stream, off, chunk, &frames, &bytes), 0);
		assert_int_equal(frames, 3);
		assert_int_equal(bytes, 3000);
		/* the buffer never held more than one frame */
		assert_true(d.cap <= 4096);
		hull_agent_decoder_done(&d);
	}
	/* a hostile length: refused from the header alone, nothing allocated for it */
	put32(hdr, 0xffffffffu);
	hdr[4] = HULL_AGENT_STDOUT;
	hdr[5] = hdr[6] = hdr[7] = 0;
	put32(hdr + 8, 1);
	hull_agent_decoder_init(&d, HULL_AGENT_FROM_AGENT);
	assert_int_equal(feed(&d, hdr, sizeof(hdr), 5, &frames, &bytes), -EBADMSG);
	assert_true(d.broken);
	assert_true(d.cap <= 4096);
	/* broken stays broken */
	assert_int_equal(feed(&d, stream, off, 100, &frames, &bytes), -EBADMSG);
	hull_agent_decoder_done(&d);
}

static void test_error_builder(void **state)
{
	_cleanup_json_ struct json_object *o = hull_agent_json_error("line one\nline\ttwo");
	struct hull_agent_msg m = { 0 };
	uint8_t *f;
	size_t len;
	char long_msg[HULL_AGENT_MAX_MESSAGE + 100];

	assert_int_equal(hull_agent_frame_new(HULL_AGENT_ERROR, 0, o, NULL, 0, &f, &len), 0);
	assert_int_equal(hull_agent_msg_parse(f, len, HULL_AGENT_FROM_AGENT, &m, NULL), 0);
	assert_string_equal(m.message, "line one line two");
	hull_agent_msg_done(&m);
	free(f);
	json_object_put(o);
	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = 0;
	o = hull_agent_json_error(long_msg);
	assert_int_equal(hull_agent_frame_new(HULL_AGENT_ERROR, 0, o, NULL, 0, &f, &len), 0);
	assert_int_equal(hull_agent_msg_parse(f, len, HULL_AGENT_FROM_HOST, &m, NULL), 0);
	assert_int_equal(strlen(m.message), HULL_AGENT_MAX_MESSAGE);
	hull_agent_msg_done(&m);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_control), cmocka_unit_test(test_roundtrip_data),
		cmocka_unit_test(test_hello_and_run),	  cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_bad_json),	  cmocka_unit_test(test_header),
		cmocka_unit_test(test_decoder),		  cmocka_unit_test(test_error_builder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
