/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the agent protocol as both ends see it: the input is a byte stream
 * from a hostile host (first byte even) or a hostile guest (odd), fed to the
 * bounded decoder in chunks whose size the second byte picks; every frame it
 * yields must be fully decoded and self-consistent, a refusal must come with
 * a message, and the decoder may never buffer more than one frame.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent-proto.h"
#include "fuzz.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static void check_msg(const struct hull_agent_msg *m, enum hull_agent_side from)
{
	CHECK(m->type >= HULL_AGENT_HELLO && m->type <= HULL_AGENT_TYPE_MAX);
	CHECK(m->stream <= HULL_AGENT_MAX_STREAM_ID);
	switch (m->type) {
	case HULL_AGENT_STDIN:
	case HULL_AGENT_STDOUT:
	case HULL_AGENT_STDERR:
		CHECK(m->data_len <= HULL_AGENT_MAX_DATA && !m->json);
		CHECK(m->type == HULL_AGENT_STDIN ? from == HULL_AGENT_FROM_HOST
						  : from == HULL_AGENT_FROM_AGENT);
		break;
	case HULL_AGENT_HELLO:
		CHECK(m->stream == 0 && m->version >= 1);
		break;
	case HULL_AGENT_RUN:
		CHECK(from == HULL_AGENT_FROM_HOST && m->id && *m->id && m->config);
		CHECK(json_object_is_type(m->config, json_type_object));
		CHECK(!m->rootfs || m->rootfs[0] == '/');
		break;
	case HULL_AGENT_EXEC:
		CHECK(m->process && json_object_is_type(m->process, json_type_object));
		break;
	case HULL_AGENT_STARTED:
		CHECK(m->pid >= 1);
		break;
	case HULL_AGENT_SIGNAL:
		CHECK(m->signal >= 1 && m->signal <= 64);
		break;
	case HULL_AGENT_EXIT:
		CHECK(m->code >= 0 && m->code <= 255 && m->signal >= 0 && m->signal <= 64);
		break;
	case HULL_AGENT_ERROR:
		CHECK(m->message && strlen(m->message) <= HULL_AGENT_MAX_MESSAGE);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hull_agent_decoder d;
	enum hull_agent_side from;
	size_t chunk, off = 2;

	if (size < 2)
		return 0;
	from = data[0] & 1 ? HULL_AGENT_FROM_AGENT : HULL_AGENT_FROM_HOST;
	chunk = (size_t)data[1] * 61 + 1;
	hull_agent_decoder_init(&d, from);
	for (;;) {
		struct hull_error *err = NULL;
		struct hull_agent_msg m = { 0 };
		uint8_t *buf;
		ssize_t room;
		size_t n;
		int r = hull_agent_decoder_next(&d, &m, &err);

		if (r < 0) {
			CHECK(err && err->msg && d.broken);
			hull_error_free(err);
			break;
		}
		CHECK(!err);
		if (r > 0) {
			check_msg(&m, from);
			hull_agent_msg_done(&m);
			continue;
		}
		if (off == size)
			break;
		room = hull_agent_decoder_space(&d, &buf);
		CHECK(room >= 0);
		CHECK(d.cap <= HULL_AGENT_HEADER_SIZE + HULL_AGENT_MAX_PAYLOAD || d.cap <= 4096);
		if (room == 0)
			continue;
		n = size - off < chunk ? size - off : chunk;
		if (n > (size_t)room)
			n = (size_t)room;
		memcpy(buf, data + off, n);
		hull_agent_decoder_fill(&d, n);
		off += n;
	}
	hull_agent_decoder_done(&d);
	return 0;
}
