/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pull: reference -> registries.conf -> manifest (platform chosen from an
 * index) -> config and layers into the blob store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/blob-store.h"
#include "image/registry.h"
#include "oci/image-spec.h"
#include "util/log.h"
#include "util/str.h"

#define PULL_PARALLEL 3

void hull_pull_result_done(struct hull_pull_result *p)
{
	free(p->name);
	free(p->tagged_name);
	free(p->manifest_digest);
	free(p->index_digest);
	free(p->config_digest);
	*p = (struct hull_pull_result){};
}

/* Stores a fetched manifest/index as a blob (its digest was computed from the same bytes). */
static int store_doc(struct hull_blob_store *store, const char *body, size_t len,
		     const char *digest, struct hull_error **reterr)
{
	char got[HULL_DIGEST_MAX];
	int r;

	r = hull_blob_store_add(store, body, len, got, reterr);
	if (r < 0)
		return r;
	if (!streq(got, digest))
		return hull_error_set(reterr, -EBADMSG, "manifest '%s': stored as '%s'", digest,
				      got);
	return 0;
}

/* Pulls one fully qualified candidate. */
static int pull_one(struct hull_blob_store *store, const struct hull_registries_conf *conf,
		    const struct hull_image_ref *ref, const struct hull_pull_opts *o,
		    struct hull_pull_result *ret, struct hull_error **reterr)
{
	_cleanup_(hull_registry_freep) struct hull_registry *reg = NULL;
	_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
	_cleanup_free_ char *body = NULL, *media = NULL, *index_digest = NULL;
	_cleanup_free_ struct hull_blob_request *req = NULL;
	struct hull_registry_endpoint ep = {};
	struct hull_registry_opts ro = { .auth_file = o->auth_file };
	struct hull_pull_result res = {};
	enum hull_oci_doc_kind kind;
	char digest[HULL_DIGEST_MAX];
	size_t len = 0;
	int r;

	r = hull_registries_conf_endpoint(conf, ref, &ep, reterr);
	if (r < 0)
		return r;
	ro.insecure = ep.insecure || o->tls_verify_off;
	r = hull_registry_new(ep.host, ep.path, &ro, &reg, reterr);
	hull_registry_endpoint_done(&ep);
	if (r < 0)
		return r;
	r = hull_registry_get_manifest(reg, ref->digest ? ref->digest : ref->tag, &body, &len,
				       &media, digest, reterr);
	if (r < 0)
		return r;
	r = hull_oci_doc_kind(body, len, media, &kind, reterr);
	if (r < 0)
		return r;
	if (kind == HULL_OCI_DOC_INDEX) {
		_cleanup_(hull_oci_index_freep) struct hull_oci_index *idx = NULL;
		const struct hull_oci_descriptor *d = NULL;
		_cleanup_free_ char *d_digest = NULL;

		r = hull_oci_index_parse(body, len, media, &idx, reterr);
		if (r < 0)
			return r;
		r = hull_oci_index_select(idx, o->platform, &d, reterr);
		if (r < 0)
			return r;
		r = store_doc(store, body, len, digest, reterr);
		if (r < 0)
			return r;
		index_digest = strdup(digest);
		d_digest = strdup(d->digest);
		if (!index_digest || !d_digest)
			return -ENOMEM;
		free(body);
		free(media);
		body = media = NULL;
		r = hull_registry_get_manifest(reg, d_digest, &body, &len, &media, digest, reterr);
		if (r < 0)
			return r;
		r = hull_oci_doc_kind(body, len, media, &kind, reterr);
		if (r < 0)
			return r;
		if (kind != HULL_OCI_DOC_MANIFEST)
			return hull_error_set(reterr, -EPROTO,
					      "manifest '%s': an index inside an index", d_digest);
	}
	r = hull_oci_manifest_parse(body, len, media, &m, reterr);
	if (r < 0)
		return r;
	req = calloc(m->n_layers + 1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req[0] = (struct hull_blob_request){ m->config.digest, m->config.size };
	for (size_t i = 0; i < m->n_layers; i++)
		req[i + 1] = (struct hull_blob_request){ m->layers[i].digest, m->layers[i].size };
	res.name = hull_image_ref_string(ref);
	if (!res.name)
		return -ENOMEM;
	if (ref->tag) {
		res.tagged_name = hull_strdup_printf("%s/%s:%s", ref->domain, ref->path, ref->tag);
		if (!res.tagged_name) {
			hull_pull_result_done(&res);
			return -ENOMEM;
		}
	}
	if (o->resolved)
		o->resolved(res.name, digest, m->n_layers + 1, o->userdata);
	r = hull_registry_get_blobs(reg, store, req, m->n_layers + 1, PULL_PARALLEL, o->progress,
				    o->userdata, reterr);
	if (r >= 0)
		/* the manifest last: a stored manifest means its blobs are all there */
		r = store_doc(store, body, len, digest, reterr);
	if (r < 0) {
		hull_pull_result_done(&res);
		return r;
	}
	res.manifest_digest = strdup(digest);
	res.config_digest = strdup(m->config.digest);
	res.index_digest = TAKE_PTR(index_digest);
	if (!res.manifest_digest || !res.config_digest) {
		hull_pull_result_done(&res);
		return -ENOMEM;
	}
	*ret = res;
	return 0;
}

int hull_image_pull_blobs(struct hull_blob_store *store, const char *ref_s,
			  const struct hull_pull_opts *o, struct hull_pull_result *ret,
			  struct hull_error **reterr)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *ref = NULL;
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *conf = NULL;
	_cleanup_(hull_image_ref_list_freep) struct hull_image_ref **cands = NULL;
	_cleanup_free_ char *errors = NULL;
	int r, first = 0;

	if (o->platform) {
		r = hull_oci_platform_check(o->platform, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "--platform");
	}
	r = hull_image_ref_parse(ref_s, &ref, reterr);
	if (r < 0)
		return r;
	r = hull_registries_conf_load(&conf, reterr);
	if (r < 0)
		return r;
	r = hull_image_ref_resolve(conf, ref, &cands, reterr);
	if (r < 0)
		return r;
	if (!cands[1]) {
		r = pull_one(store, conf, cands[0], o, ret, reterr);
		if (r < 0) {
			_cleanup_free_ char *name = hull_image_ref_string(cands[0]);

			return hull_error_wrap(reterr, r, "pull '%s'", name ? name : ref_s);
		}
		return 0;
	}
	/* several search registries (permissive mode): the first that has it, in order */
	for (size_t i = 0; cands[i]; i++) {
		_cleanup_error_ struct hull_error *err = NULL;
		_cleanup_free_ char *name = hull_image_ref_string(cands[i]);
		char *e;

		r = pull_one(store, conf, cands[i], o, ret, &err);
		if (r >= 0)
			return 0;
		if (!first)
			first = r;
		hull_log(HULL_LOG_DEBUG, "pull '%s': %s", name ? name : "?",
			 err && err->msg ? err->msg : "failed");
		e = hull_strdup_printf("%s%s%s: %s", errors ? errors : "", errors ? "; " : "",
				       name ? name : "?",
				       err && err->msg ? err->msg : strerror(-r));
		free(errors);
		errors = e;
	}
	return hull_error_set(reterr, first, "pull '%s': not pulled from any search registry (%s)",
			      ref_s, errors ? errors : "");
}
