/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Distribution API v2 client over libcurl: ping and auth, manifests,
 * and blobs streamed in parallel (curl multi) into the blob store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/blob-store.h"
#include "image/registry-internal.h"
#include "oci/image-spec.h"
#include "util/log.h"
#include "util/str.h"

/* ---- the client ---- */

int hull_registry_new(const char *host, const char *path, const struct hull_registry_opts *o,
		      struct hull_registry **ret, struct hull_error **reterr)
{
	_cleanup_(hull_registry_freep) struct hull_registry *r = NULL;
	const char *ct = getenv("HULL_REGISTRY_CONNECT_TIMEOUT");
	uint32_t t;
	int k;

	k = hull_curl_load(reterr);
	if (k < 0)
		return k;
	k = registry_curl_init(reterr);
	if (k < 0)
		return k;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->host = strdup(host);
	r->net_host = strdup(streq(host, "docker.io") ? "registry-1.docker.io" : host);
	if (!r->host || !r->net_host || (path && !(r->path = strdup(path))))
		return -ENOMEM;
	r->insecure = o && o->insecure;
	r->connect_timeout = 10;
	if (ct && hull_parse_u32(ct, &t) >= 0 && t > 0 && t <= 600)
		r->connect_timeout = t;
	if (o && o->username) {
		r->user = strdup(o->username);
		r->password = strdup(o->password ? o->password : "");
		if (!r->user || !r->password)
			return -ENOMEM;
	} else {
		k = hull_auth_lookup(o ? o->auth_file : NULL, host, path, &r->user, &r->password,
				     reterr);
		if (k < 0 && k != -ENOENT)
			return k;
	}
	k = registry_load_certs(r, reterr);
	if (k < 0)
		return hull_error_wrap(reterr, k, "registry '%s'", host);
	*ret = TAKE_PTR(r);
	return 0;
}

void hull_registry_free(struct hull_registry *r)
{
	if (!r)
		return;
	free(r->host);
	free(r->net_host);
	free(r->path);
	free(r->user);
	if (r->password)
		explicit_bzero(r->password, strlen(r->password));
	free(r->password);
	free(r->authorization);
	hull_auth_challenge_done(&r->challenge);
	free(r->ca_pem);
	free(r->client_cert);
	free(r->client_key);
	free(r);
}

static int ensure_ready(struct hull_registry *r, struct hull_error **reterr)
{
	struct xfer x = { .reg = r, .max = ERROR_BODY_MAX };
	_cleanup_free_ char *url = NULL;
	long status = 0;
	int ret;

	if (r->scheme)
		return 0;
	/* the first request decides the scheme and learns the auth challenge */
	r->scheme = "https";
	url = registry_base_url(r);
	if (!url)
		return -ENOMEM;
	ret = registry_perform(&x, url, NULL, &status, reterr);
	if (ret < 0 && r->insecure && ret != -ETIMEDOUT) {
		hull_log(HULL_LOG_DEBUG, "registry '%s': trying plain HTTP", r->host);
		r->scheme = "http";
		free(url);
		url = registry_base_url(r);
		ret = url ? registry_perform(&x, url, NULL, &status, reterr) : -ENOMEM;
	}
	if (ret < 0) {
		r->scheme = NULL;
	} else if (status == 401 && x.www_auth) {
		struct hull_auth_challenge ch = {};

		/* basic: send credentials from now on; bearer: fetch a token for our scope */
		if (hull_auth_challenge_parse(x.www_auth, &ch) >= 0) {
			if (streq(ch.scheme, "basic") && r->user)
				ret = registry_set_basic(r);
			else if (streq(ch.scheme, "bearer"))
				ret = registry_authenticate(r, x.www_auth, reterr);
			hull_auth_challenge_done(&ch);
		}
	} else if (status != 200 && status != 401) {
		ret = hull_error_set(reterr, -EPROTO,
				     "registry '%s': GET /v2/: HTTP %ld (not a registry?)", r->host,
				     status);
		r->scheme = NULL;
	}
	registry_xfer_reset(&x);
	return ret;
}

int hull_registry_ping(struct hull_registry *r, struct hull_error **reterr)
{
	struct xfer x = { .reg = r, .max = ERROR_BODY_MAX };
	_cleanup_free_ char *url = NULL;
	long status = 0;
	int ret;

	ret = ensure_ready(r, reterr);
	if (ret < 0)
		return ret;
	/* with the credentials (or token) now in use, /v2/ must answer 200 */
	url = registry_base_url(r);
	if (!url)
		return -ENOMEM;
	ret = registry_perform(&x, url, NULL, &status, reterr);
	if (ret >= 0 && status == 401)
		ret = registry_denied(r, reterr);
	else if (ret >= 0 && status != 200)
		ret = hull_error_set(reterr, -EPROTO, "registry '%s': GET /v2/: HTTP %ld", r->host,
				     status);
	registry_xfer_reset(&x);
	return ret;
}

static char *strip_params(const char *ct)
{
	size_t n = strcspn(ct, "; \t");

	return strndup(ct, n);
}

int hull_registry_get_manifest(struct hull_registry *r, const char *reference, char **ret_body,
			       size_t *ret_len, char **ret_media_type, char ret_digest[72],
			       struct hull_error **reterr)
{
	struct xfer x = { .reg = r, .max = HULL_OCI_MANIFEST_MAX_SIZE };
	_cleanup_free_ char *url = NULL, *media = NULL, *msg = NULL;
	char digest[HULL_DIGEST_MAX];
	long status = 0;
	int ret;

	ret = ensure_ready(r, reterr);
	if (ret < 0)
		return ret;
	url = hull_strdup_printf("%s://%s/v2/%s/manifests/%s", r->scheme, r->net_host, r->path,
				 reference);
	if (!url)
		return -ENOMEM;
	ret = registry_get(r, &x, url, HULL_OCI_MANIFEST_ACCEPT, &status, reterr);
	if (ret < 0)
		goto out;
	if (status != 200) {
		msg = registry_message(&x);
		ret = hull_error_set(reterr, status == 404 ? -ENOENT : -EPROTO,
				     "registry '%s': manifest '%s:%s': %s%s%ld%s", r->host, r->path,
				     reference, status == 404 ? "not found" : (msg ? msg : ""),
				     status == 404 || msg ? " (HTTP " : "HTTP ", status,
				     status == 404 || msg ? ")" : "");
		goto out;
	}
	ret = hull_digest_buffer(x.body ? x.body : "", x.len, digest);
	if (ret < 0)
		goto out;
	if (startswith(reference, "sha256:") && !streq(reference, digest)) {
		ret = hull_error_set(reterr, -EBADMSG,
				     "registry '%s': manifest '%s': digest mismatch (got '%s')",
				     r->host, reference, digest);
		goto out;
	}
	media = strip_params(x.content_type ? x.content_type : "");
	if (!media) {
		ret = -ENOMEM;
		goto out;
	}
	if (*media && !streq(media, "application/json") && !hull_oci_media_is_manifest(media) &&
	    !hull_oci_media_is_index(media)) {
		ret = hull_error_set(
			reterr, -EPROTO, "registry '%s': manifest '%s:%s': media type '%s' %s",
			r->host, r->path, reference, media,
			startswith(media, "application/vnd.docker.distribution.manifest.v1")
				? "(Docker schema 1) is not supported"
				: "is not an image manifest or index");
		goto out;
	}
	*ret_body = TAKE_PTR(x.body);
	*ret_len = x.len;
	*ret_media_type = TAKE_PTR(media);
	memcpy(ret_digest, digest, sizeof(digest));
	ret = 0;
out:
	registry_xfer_reset(&x);
	return ret;
}

/* ---- blobs in parallel ---- */

static int blob_start(struct hull_registry *r, CURLM *m, struct hull_blob_store *store,
		      struct xfer *x, struct hull_error **reterr)
{
	_cleanup_free_ char *url = NULL;
	int ret;

	registry_xfer_reset(x);
	url = hull_strdup_printf("%s://%s/v2/%s/blobs/%s", r->scheme, r->net_host, r->path,
				 x->req->digest);
	if (!url)
		return -ENOMEM;
	ret = hull_blob_writer_begin(store, x->req->digest, x->req->size, &x->w, reterr);
	if (ret < 0)
		return ret;
	ret = registry_xfer_setup(x, url, NULL);
	if (ret < 0)
		return ret;
	if (curl_multi_add_handle(m, x->h) != CURLM_OK)
		return -ENOMEM;
	x->active = true;
	x->reported = 0;
	if (x->progress)
		x->progress(HULL_BLOB_START, x->index, x->req->digest, 0, x->req->size,
			    x->userdata);
	return 0;
}

/* Looks at a finished transfer: 0 done, 1 to start again, <0 failed. */
static int blob_finished(struct hull_registry *r, struct xfer *x, CURLcode c,
			 struct hull_error **reterr)
{
	long status = registry_xfer_status(x);
	int ret;

	if (x->wr < 0) {
		if (reterr) {
			hull_error_free(*reterr);
			*reterr = TAKE_PTR(x->werr);
		}
		return x->wr;
	}
	if (c != CURLE_OK) {
		if (registry_curl_retryable(c) && ++x->attempts < ATTEMPTS)
			return 1;
		return registry_curl_error(r, x, c, reterr);
	}
	if (status == 401 && !x->reauthed) {
		x->reauthed = true;
		ret = registry_authenticate(r, x->www_auth, reterr);
		return ret < 0 ? ret : 1;
	}
	if (registry_status_retryable(status) && ++x->attempts < ATTEMPTS)
		return 1;
	if (status == 401)
		return registry_denied(r, reterr);
	if (status != 200) {
		_cleanup_free_ char *msg = registry_message(x);

		return hull_error_set(reterr, status == 404 ? -ENOENT : -EPROTO,
				      "registry '%s': blob '%s': %s (HTTP %ld)", r->host,
				      x->req->digest, msg ? msg : "download failed", status);
	}
	ret = hull_blob_writer_commit(x->w, NULL, reterr);
	if (ret < 0)
		return ret;
	if (x->progress)
		x->progress(HULL_BLOB_DONE, x->index, x->req->digest, x->req->size, x->req->size,
			    x->userdata);
	return 0;
}

int hull_registry_get_blobs(struct hull_registry *r, struct hull_blob_store *store,
			    const struct hull_blob_request *req, size_t n, unsigned parallel,
			    hull_blob_progress_fn progress, void *userdata,
			    struct hull_error **reterr)
{
	_cleanup_free_ struct xfer *xs = NULL;
	CURLM *m = NULL;
	size_t remaining = 0;
	unsigned active = 0;
	int ret;

	ret = ensure_ready(r, reterr);
	if (ret < 0)
		return ret;
	if (parallel == 0)
		parallel = 1;
	xs = calloc(n ? n : 1, sizeof(*xs));
	m = curl_multi_init();
	if (!xs || !m) {
		if (m)
			curl_multi_cleanup(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		xs[i] = (struct xfer){ .reg = r,
				       .index = i,
				       .req = &req[i],
				       .progress = progress,
				       .userdata = userdata };
		if (hull_blob_store_has(store, req[i].digest)) {
			xs[i].done = true;
			if (progress)
				progress(HULL_BLOB_EXISTS, i, req[i].digest, req[i].size,
					 req[i].size, userdata);
		} else {
			remaining++;
		}
	}
	while (remaining > 0) {
		uint64_t now = registry_now_ms(), wake = 0;
		CURLMsg *msg;
		int running = 0, left = 0;

		for (size_t i = 0; i < n && active < parallel; i++) {
			if (xs[i].done || xs[i].active)
				continue;
			if (xs[i].retry_at > now) {
				if (!wake || xs[i].retry_at < wake)
					wake = xs[i].retry_at;
				continue;
			}
			ret = blob_start(r, m, store, &xs[i], reterr);
			if (ret < 0)
				goto out;
			active++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			for (size_t i = 0; i < n; i++)
				if (xs[i].active && xs[i].h == msg->easy_handle)
					x = &xs[i];
			if (!x)
				continue;
			curl_multi_remove_handle(m, x->h);
			x->active = false;
			active--;
			ret = blob_finished(r, x, msg->data.result, reterr);
			if (ret < 0)
				goto out;
			if (ret == 1) {
				/* the partial blob goes with its writer; start again later */
				registry_xfer_reset(x);
				x->retry_at = registry_now_ms() +
					      (250u << (x->attempts ? x->attempts : 0));
				if (progress)
					progress(HULL_BLOB_RETRY, x->index, x->req->digest, 0,
						 x->req->size, userdata);
				continue;
			}
			registry_xfer_reset(x);
			x->done = true;
			remaining--;
		}
		if (remaining > 0) {
			int timeout = 500;

			if (wake) {
				uint64_t t = registry_now_ms();

				timeout = wake > t ? (int)(wake - t) : 0;
				if (timeout > 500)
					timeout = 500;
			}
			curl_multi_poll(m, NULL, 0, timeout, NULL);
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++) {
		if (xs[i].active)
			curl_multi_remove_handle(m, xs[i].h);
		registry_xfer_reset(&xs[i]); /* an unfinished writer removes its temp file */
	}
	curl_multi_cleanup(m);
	return ret;
}
