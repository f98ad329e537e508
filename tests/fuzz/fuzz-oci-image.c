/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the OCI image spec parsers (manifest, index, image config) and the
 * platform selector.  Besides the sanitizers it checks what the parsers
 * promise: a failure comes with a message; an accepted document holds only
 * valid digests, bounded counts and known layer types.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "oci/image-spec.h"
#include "util/error.h"
#include "util/str.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static void check_descriptor(const struct hull_oci_descriptor *d)
{
	CHECK(d->media_type && strchr(d->media_type, '/'));
	CHECK(hull_digest_valid(d->digest));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct hull_oci_manifest *m = NULL;
	struct hull_oci_index *idx = NULL;
	struct hull_oci_image_config *c = NULL;
	struct hull_error *err = NULL;
	enum hull_oci_doc_kind kind;

	if (hull_oci_doc_kind(text, size, NULL, &kind, &err) < 0)
		CHECK(err && err->msg && err->msg[0]);
	hull_error_free(err);
	err = NULL;

	if (hull_oci_manifest_parse(text, size, NULL, &m, &err) >= 0) {
		enum hull_oci_compression comp;

		CHECK(m && !err && m->media_type);
		CHECK(m->n_layers >= 1 && m->n_layers <= HULL_OCI_MAX_LAYERS);
		check_descriptor(&m->config);
		CHECK(hull_oci_media_is_config(m->config.media_type));
		for (size_t i = 0; i < m->n_layers; i++) {
			check_descriptor(&m->layers[i]);
			CHECK(hull_oci_layer_compression(m->layers[i].media_type, &comp) == 0);
		}
		hull_oci_manifest_free(m);
	} else {
		CHECK(!m && err && err->msg && err->msg[0]);
	}
	hull_error_free(err);
	err = NULL;

	if (hull_oci_index_parse(text, size, NULL, &idx, &err) >= 0) {
		const struct hull_oci_descriptor *d = NULL;

		CHECK(idx->n_manifests <= HULL_OCI_MAX_MANIFESTS);
		for (size_t i = 0; i < idx->n_manifests; i++)
			check_descriptor(&idx->manifests[i]);
		hull_error_free(err);
		err = NULL;
		if (hull_oci_index_select(idx, NULL, &d, &err) >= 0)
			CHECK(d >= idx->manifests && d < idx->manifests + idx->n_manifests);
		else
			CHECK(err && err->msg);
		hull_error_free(err);
		err = NULL;
		(void)hull_oci_index_select(idx, "linux/arm64", &d, &err);
		hull_oci_index_free(idx);
	} else {
		CHECK(!idx && err && err->msg && err->msg[0]);
	}
	hull_error_free(err);
	err = NULL;

	if (hull_oci_image_config_parse(text, size, &c, &err) >= 0) {
		CHECK(c->os && c->architecture && streq(c->rootfs.type, "layers"));
		hull_strv_foreach (d, c->rootfs.diff_ids)
			CHECK(hull_digest_valid(d));
		hull_strv_foreach (e, c->config.env)
			CHECK(strchr(e, '=') && e[0] != '=');
		hull_oci_image_config_free(c);
	} else {
		CHECK(!c && err && err->msg && err->msg[0]);
	}
	hull_error_free(err);
	return 0;
}
