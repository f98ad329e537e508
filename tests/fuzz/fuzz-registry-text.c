/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the registry client's parsers of text it does not control: a
 * WWW-Authenticate challenge (from any server a pull talks to), an image
 * reference, and a registries.conf.  Each either succeeds with a consistent
 * result or fails with a message (references, registries.conf).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "image/reference.h"
#include "image/registry.h"
#include "util/error.h"
#include "util/str.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *c = NULL;
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *ref = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_auth_challenge ch = {};
	_cleanup_free_ char *s = NULL;
	int r;

	if (size > 64 * 1024)
		return 0;
	s = strndup((const char *)data, size);
	if (!s)
		return 0;

	r = hull_auth_challenge_parse(s, &ch);
	if (r == 0) {
		CHECK(ch.scheme && *ch.scheme);
		CHECK(!streq(ch.scheme, "bearer") || (ch.realm && *ch.realm));
		hull_auth_challenge_done(&ch);
	}

	r = hull_image_ref_parse(s, &ref, &err);
	if (r == 0) {
		_cleanup_free_ char *str = hull_image_ref_string(ref);
		_cleanup_(hull_image_ref_freep) struct hull_image_ref *again = NULL;

		/* the normalised form parses to itself */
		CHECK(str);
		CHECK(hull_image_ref_parse(str, &again, NULL) == 0);
		CHECK(streq_ptr(again->domain, ref->domain) && streq(again->path, ref->path) &&
		      streq_ptr(again->tag, ref->tag) && streq_ptr(again->digest, ref->digest));
	} else {
		CHECK(err && err->msg);
	}
	hull_error_free(err);
	err = NULL;

	c = hull_registries_conf_new();
	CHECK(c);
	r = hull_registries_conf_parse(c, s, "fuzz.conf", &err);
	CHECK(r == 0 || (err && err->msg));
	for (size_t i = 0; r == 0 && i < c->n_entries; i++)
		CHECK(c->entries[i].prefix && *c->entries[i].prefix);
	return 0;
}
