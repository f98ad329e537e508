/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client's transport: certs.d, one libcurl GET with retries and
 * backoff, and the registry's error bodies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/blob-store.h"
#include "image/registry-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

/* ---- certs.d ---- */

static int read_small(const char *path, char **ret, size_t *ret_len)
{
	int r = hull_read_file_at(AT_FDCWD, path, ret, ret_len);

	if (r >= 0 && *ret_len > CERTS_MAX_SIZE) {
		free(*ret);
		*ret = NULL;
		return -EFBIG;
	}
	return r;
}

static int append(char **buf, size_t *len, const char *data, size_t n)
{
	char *b = realloc(*buf, *len + n + 2);

	if (!b)
		return -ENOMEM;
	memcpy(b + *len, data, n);
	*len += n;
	b[(*len)++] = '\n';
	b[*len] = '\0';
	*buf = b;
	return 0;
}

static int load_certs_dir(struct hull_registry *r, const char *dir, struct hull_error **reterr)
{
	_cleanup_free_ char *d = hull_strdup_printf("%s/%s", dir, r->host);
	struct dirent **list = NULL;
	int n, ret = 0;

	if (!d)
		return -ENOMEM;
	n = scandir(d, &list, NULL, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t l = strlen(name);
		_cleanup_free_ char *p = NULL, *data = NULL;
		size_t len = 0;

		if (ret < 0 || name[0] == '.')
			goto next;
		p = hull_strdup_printf("%s/%s", d, name);
		if (!p) {
			ret = -ENOMEM;
			goto next;
		}
		if (l > 4 && streq(name + l - 4, ".crt")) {
			if (!r->ca_pem) {
				/* the system CAs stay trusted, as with podman */
				if (read_small(SYSTEM_CA_BUNDLE, &r->ca_pem, &r->ca_len) < 0) {
					r->ca_pem = NULL;
					r->ca_len = 0;
				}
			}
			ret = read_small(p, &data, &len);
			if (ret < 0) {
				hull_error_errno(reterr, ret, "read CA '%s'", p);
				goto next;
			}
			ret = append(&r->ca_pem, &r->ca_len, data, len);
		} else if (l > 5 && streq(name + l - 5, ".cert") && !r->client_cert) {
			_cleanup_free_ char *key =
				hull_strdup_printf("%.*s.key", (int)(l - 5), name);
			_cleanup_free_ char *kp = key ? hull_strdup_printf("%s/%s", d, key) : NULL;

			if (!kp) {
				ret = -ENOMEM;
				goto next;
			}
			if (access(kp, R_OK) < 0) {
				ret = hull_error_errno(reterr, negative_errno(),
						       "client certificate '%s' without its key "
						       "'%s'",
						       p, kp);
				goto next;
			}
			r->client_cert = TAKE_PTR(p);
			r->client_key = TAKE_PTR(kp);
		}
	next:
		free(list[i]);
	}
	free(list);
	return ret;
}

int registry_load_certs(struct hull_registry *r, struct hull_error **reterr)
{
	const char *env = getenv("HULL_CERTS_DIRS");
	_cleanup_free_ char *dirs =
		strdup(env && *env ? env : "/etc/containers/certs.d:/etc/docker/certs.d");
	char *save = NULL;
	int ret;

	if (!dirs)
		return -ENOMEM;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		ret = load_certs_dir(r, d, reterr);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- one HTTP exchange ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}
int registry_curl_init(struct hull_error **reterr)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return hull_error_set(reterr, -EIO, "libcurl: %s",
				      curl_easy_strerror(curl_init_result));
	return 0;
}

void registry_xfer_reset(struct xfer *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdrs);
	free(x->www_auth);
	free(x->content_type);
	free(x->digest);
	free(x->body);
	hull_blob_writer_free(x->w);
	hull_error_free(x->werr);
	x->h = NULL;
	x->hdrs = NULL;
	x->www_auth = x->content_type = x->digest = x->body = NULL;
	x->len = 0;
	x->too_big = false;
	x->w = NULL;
	x->werr = NULL;
	x->wr = 0;
	x->errbuf[0] = '\0';
}

long registry_xfer_status(struct xfer *x)
{
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static void set_header(char **field, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	free(*field);
	*field = strndup(v, n);
}

static size_t header_cb(char *buf, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * n;
	const char *colon;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after a redirect or a 100): forget the previous one's */
		free(x->www_auth);
		free(x->content_type);
		free(x->digest);
		x->www_auth = x->content_type = x->digest = NULL;
		return len;
	}
	colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	if (colon - buf == 16 && strncasecmp(buf, "www-authenticate", 16) == 0)
		set_header(&x->www_auth, colon + 1, len - (colon + 1 - buf));
	else if (colon - buf == 12 && strncasecmp(buf, "content-type", 12) == 0)
		set_header(&x->content_type, colon + 1, len - (colon + 1 - buf));
	else if (colon - buf == 21 && strncasecmp(buf, "docker-content-digest", 21) == 0)
		set_header(&x->digest, colon + 1, len - (colon + 1 - buf));
	return len;
}

uint64_t registry_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t write_cb(char *buf, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * n;
	long status = registry_xfer_status(x);

	if (x->w && status >= 200 && status < 300) {
		x->wr = hull_blob_writer_write(x->w, buf, len, &x->werr);
		if (x->wr < 0)
			return 0; /* aborts the transfer */
		if (x->progress) {
			uint64_t done = hull_blob_writer_size(x->w), t = registry_now_ms();

			if (t - x->reported >= 200 || done == x->req->size) {
				x->reported = t;
				x->progress(HULL_BLOB_PROGRESS, x->index, x->req->digest, done,
					    x->req->size, x->userdata);
			}
		}
		return len;
	}
	/* an in-memory body, or an error response kept for its message */
	{
		size_t max = (x->w || status >= 300) ? ERROR_BODY_MAX : x->max;
		size_t take = len;
		char *b;

		if (x->len + take > max) {
			x->too_big = true;
			if (!x->w && status < 300)
				return 0;
			take = max > x->len ? max - x->len : 0;
		}
		b = realloc(x->body, x->len + take + 1);
		if (!b)
			return 0;
		memcpy(b + x->len, buf, take);
		x->len += take;
		b[x->len] = '\0';
		x->body = b;
	}
	return len;
}

int registry_xfer_setup(struct xfer *x, const char *url, const char *accept)
{
	struct hull_registry *r = x->reg;
	_cleanup_free_ char *acc = NULL;
	struct curl_slist *l;

	x->h = curl_easy_init();
	if (!x->h)
		return -ENOMEM;
	if (accept) {
		acc = hull_strdup_printf("Accept: %s", accept);
		if (!acc || !(l = curl_slist_append(x->hdrs, acc)))
			return -ENOMEM;
		x->hdrs = l;
	}
	if (r->authorization) {
		l = curl_slist_append(x->hdrs, r->authorization);
		if (!l)
			return -ENOMEM;
		x->hdrs = l;
	}
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_USERAGENT, "hull/" HULL_VERSION);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT, r->connect_timeout);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->h, CURLOPT_MAXREDIRS, 5L);
	/* a custom Authorization header is not sent to another host on redirect (curl 7.58+) */
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, r->insecure ? "http,https" : "https");
	curl_easy_setopt(x->h, CURLOPT_REDIR_PROTOCOLS_STR, r->insecure ? "http,https" : "https");
	curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, r->insecure ? 0L : 1L);
	curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, r->insecure ? 0L : 2L);
	if (r->ca_pem) {
		struct curl_blob b = { .data = r->ca_pem,
				       .len = r->ca_len,
				       .flags = CURL_BLOB_NOCOPY };

		curl_easy_setopt(x->h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (r->client_cert) {
		curl_easy_setopt(x->h, CURLOPT_SSLCERT, r->client_cert);
		curl_easy_setopt(x->h, CURLOPT_SSLKEY, r->client_key);
	}
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	return 0;
}

bool registry_curl_retryable(CURLcode c)
{
	return c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
	       c == CURLE_PARTIAL_FILE || c == CURLE_OPERATION_TIMEDOUT ||
	       c == CURLE_HTTP2_STREAM || c == CURLE_HTTP2;
}

bool registry_status_retryable(long status)
{
	return status >= 500 || status == 429;
}

static void backoff(unsigned attempt)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 250000000L << attempt };

	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	nanosleep(&ts, NULL);
}

/* The registry's own words from an error body ({"errors":[{"message":...}]}), or NULL. */
char *registry_message(const struct xfer *x)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *errs = NULL, *e, *m = NULL, *code = NULL;

	if (!x->body || hull_json_parse(x->body, x->len, "error", &o, NULL) < 0)
		return NULL;
	if (!json_object_object_get_ex(o, "errors", &errs) ||
	    !json_object_is_type(errs, json_type_array) || json_object_array_length(errs) == 0)
		return NULL;
	e = json_object_array_get_idx(errs, 0);
	json_object_object_get_ex(e, "message", &m);
	json_object_object_get_ex(e, "code", &code);
	if (m && json_object_is_type(m, json_type_string))
		return hull_strdup_printf("%s%s%s%s", json_object_get_string(m), code ? " (" : "",
					  code ? json_object_get_string(code) : "",
					  code ? ")" : "");
	return NULL;
}

int registry_curl_error(struct hull_registry *r, struct xfer *x, CURLcode c,
			struct hull_error **reterr)
{
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(c);
	bool tls = c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CONNECT_ERROR ||
		   c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CACERT_BADFILE;

	return hull_error_set(reterr,
			      c == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
			      : tls			    ? -EPROTO
							    : -EHOSTUNREACH,
			      "registry '%s': %s%s", r->host, why,
			      tls && !r->insecure ? " (a CA in certs.d, or --tls-verify=false for "
						    "an insecure registry)"
						  : "");
}

int registry_perform(struct xfer *x, const char *url, const char *accept, long *ret_status,
		     struct hull_error **reterr)
{
	for (unsigned attempt = 0;; attempt++) {
		CURLcode c;
		int r;

		registry_xfer_reset(x);
		r = registry_xfer_setup(x, url, accept);
		if (r < 0)
			return r;
		c = curl_easy_perform(x->h);
		if (c == CURLE_WRITE_ERROR && x->too_big)
			return hull_error_set(reterr, -EFBIG,
					      "registry '%s': '%s': response too large",
					      x->reg->host, url);
		if (c != CURLE_OK) {
			if (registry_curl_retryable(c) && attempt + 1 < ATTEMPTS) {
				hull_log(HULL_LOG_DEBUG, "registry '%s': %s: retrying",
					 x->reg->host, x->errbuf);
				backoff(attempt);
				continue;
			}
			return registry_curl_error(x->reg, x, c, reterr);
		}
		*ret_status = registry_xfer_status(x);
		if (registry_status_retryable(*ret_status) && attempt + 1 < ATTEMPTS) {
			hull_log(HULL_LOG_DEBUG, "registry '%s': HTTP %ld: retrying", x->reg->host,
				 *ret_status);
			backoff(attempt);
			continue;
		}
		return 0;
	}
}

char *registry_base_url(struct hull_registry *r)
{
	return hull_strdup_printf("%s://%s/v2/", r->scheme, r->net_host);
}
