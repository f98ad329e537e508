/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Distribution API v2 client over libcurl: ping and auth, manifests,
 * and blobs streamed in parallel (curl multi) into the blob store.
 */
#include "image/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/blob-store.h"
#include "image/curl-dl.h"
#include "oci/image-spec.h"
#include "util/crypto-dl.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define ATTEMPTS 4
#define ERROR_BODY_MAX 4096
#define TOKEN_BODY_MAX (1 << 20)
#define STALL_SECONDS 30L
#define CERTS_MAX_SIZE (4 << 20)
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct hull_registry {
	char *host;	/* as named: "docker.io", "127.0.0.1:5000" */
	char *net_host; /* what is connected to: registry-1.docker.io for docker.io */
	char *path;	/* the repository, or NULL (login) */
	bool insecure;
	const char *scheme; /* decided by the first ping */
	char *user, *password;
	char *authorization; /* "Authorization: ..." header, or NULL (anonymous) */
	bool bearer;
	struct hull_auth_challenge challenge;
	char *ca_pem; /* system CAs + certs.d *.crt; NULL = curl's default */
	size_t ca_len;
	char *client_cert, *client_key;
	long connect_timeout;
};

/* ---- WWW-Authenticate ---- */

void hull_auth_challenge_done(struct hull_auth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	*c = (struct hull_auth_challenge){};
}

int hull_auth_challenge_parse(const char *header, struct hull_auth_challenge *ret)
{
	struct hull_auth_challenge c = {};
	const char *p = header;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, " \t");
	if (n == 0)
		return -EINVAL;
	c.scheme = strndup(p, n);
	if (!c.scheme)
		return -ENOMEM;
	for (char *s = c.scheme; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
	p += n;
	for (;;) {
		_cleanup_free_ char *key = NULL, *val = NULL;
		size_t k;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		k = strcspn(p, "= \t,");
		if (k == 0 || p[k] != '=')
			goto bad;
		key = strndup(p, k);
		p += k + 1;
		if (*p == '"') {
			_cleanup_free_ char *v = malloc(strlen(p) + 1);
			size_t i = 0;

			if (!v)
				goto nomem;
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				v[i++] = *p;
			}
			if (*p != '"')
				goto bad;
			p++;
			v[i] = '\0';
			val = TAKE_PTR(v);
		} else {
			size_t vl = strcspn(p, ", \t");

			val = strndup(p, vl);
			p += vl;
		}
		if (!key || !val)
			goto nomem;
		for (char *s = key; *s; s++)
			if (*s >= 'A' && *s <= 'Z')
				*s += 'a' - 'A';
		if (streq(key, "realm"))
			free(c.realm), c.realm = TAKE_PTR(val);
		else if (streq(key, "service"))
			free(c.service), c.service = TAKE_PTR(val);
		else if (streq(key, "scope"))
			free(c.scope), c.scope = TAKE_PTR(val);
	}
	if (streq(c.scheme, "bearer") && (!c.realm || !*c.realm))
		goto bad;
	*ret = c;
	return 0;
bad:
	hull_auth_challenge_done(&c);
	return -EINVAL;
nomem:
	hull_auth_challenge_done(&c);
	return -ENOMEM;
}

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

static int load_certs(struct hull_registry *r, struct hull_error **reterr)
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

struct xfer {
	struct hull_registry *reg;
	CURL *h;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char *www_auth, *content_type, *digest;
	/* body in memory (max bytes), or into a blob writer */
	char *body;
	size_t len, max;
	bool too_big;
	struct hull_blob_writer *w;
	struct hull_error *werr;
	int wr;
	/* blob transfers */
	size_t index;
	const struct hull_blob_request *req;
	unsigned attempts;
	bool reauthed, active, done;
	uint64_t retry_at, reported;
	hull_blob_progress_fn progress;
	void *userdata;
};

static void xfer_reset(struct xfer *x)
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

static long xfer_status(struct xfer *x)
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t write_cb(char *buf, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * n;
	long status = xfer_status(x);

	if (x->w && status >= 200 && status < 300) {
		x->wr = hull_blob_writer_write(x->w, buf, len, &x->werr);
		if (x->wr < 0)
			return 0; /* aborts the transfer */
		if (x->progress) {
			uint64_t done = hull_blob_writer_size(x->w), t = now_ms();

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

static int xfer_setup(struct xfer *x, const char *url, const char *accept)
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

static bool curl_retryable(CURLcode c)
{
	return c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING ||
	       c == CURLE_PARTIAL_FILE || c == CURLE_OPERATION_TIMEDOUT ||
	       c == CURLE_HTTP2_STREAM || c == CURLE_HTTP2;
}

static bool status_retryable(long status)
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
static char *registry_message(const struct xfer *x)
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

static int curl_error(struct hull_registry *r, struct xfer *x, CURLcode c,
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

/*
 * Performs one GET with retries (transport errors, 5xx, 429), leaving the
 * response in x (status in *ret_status).  The caller handles 401.
 */
static int perform(struct xfer *x, const char *url, const char *accept, long *ret_status,
		   struct hull_error **reterr)
{
	for (unsigned attempt = 0;; attempt++) {
		CURLcode c;
		int r;

		xfer_reset(x);
		r = xfer_setup(x, url, accept);
		if (r < 0)
			return r;
		c = curl_easy_perform(x->h);
		if (c == CURLE_WRITE_ERROR && x->too_big)
			return hull_error_set(reterr, -EFBIG,
					      "registry '%s': '%s': response too large",
					      x->reg->host, url);
		if (c != CURLE_OK) {
			if (curl_retryable(c) && attempt + 1 < ATTEMPTS) {
				hull_log(HULL_LOG_DEBUG, "registry '%s': %s: retrying",
					 x->reg->host, x->errbuf);
				backoff(attempt);
				continue;
			}
			return curl_error(x->reg, x, c, reterr);
		}
		*ret_status = xfer_status(x);
		if (status_retryable(*ret_status) && attempt + 1 < ATTEMPTS) {
			hull_log(HULL_LOG_DEBUG, "registry '%s': HTTP %ld: retrying", x->reg->host,
				 *ret_status);
			backoff(attempt);
			continue;
		}
		return 0;
	}
}

static char *base_url(struct hull_registry *r)
{
	return hull_strdup_printf("%s://%s/v2/", r->scheme, r->net_host);
}

/* ---- auth ---- */

static int set_basic(struct hull_registry *r)
{
	_cleanup_free_ char *plain = hull_strdup_printf("%s:%s", r->user, r->password);
	_cleanup_free_ unsigned char *b64 = NULL;
	size_t n;

	if (!plain)
		return -ENOMEM;
	n = strlen(plain);
	b64 = malloc((n + 2) / 3 * 4 + 1);
	if (!b64)
		return -ENOMEM;
	EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
	explicit_bzero(plain, n);
	free(r->authorization);
	r->authorization = hull_strdup_printf("Authorization: Basic %s", b64);
	return r->authorization ? 0 : -ENOMEM;
}

/* Fetches a bearer token from the challenge's realm. */
static int fetch_token(struct hull_registry *r, const struct hull_auth_challenge *ch,
		       struct hull_error **reterr)
{
	_cleanup_free_ char *url = NULL, *scope = NULL, *saved = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	struct xfer x = { .reg = r, .max = TOKEN_BODY_MAX };
	struct json_object *t = NULL;
	const char *sc = ch->scope;
	long status = 0;
	int ret;

	if (!startswith(ch->realm, "https://") &&
	    !(r->insecure && startswith(ch->realm, "http://")))
		return hull_error_set(reterr, -EPROTO,
				      "registry '%s': token realm '%s' is not https", r->host,
				      ch->realm);
	if (!sc && r->path)
		sc = scope = hull_strdup_printf("repository:%s:pull", r->path);
	{
		CURL *e = curl_easy_init();
		char *es = NULL, *ee = NULL;

		if (!e)
			return -ENOMEM;
		if (ch->service)
			es = curl_easy_escape(e, ch->service, 0);
		if (sc)
			ee = curl_easy_escape(e, sc, 0);
		url = hull_strdup_printf("%s%s%s%s%s%s%s", ch->realm,
					 strchr(ch->realm, '?') ? "&" : "?", es ? "service=" : "",
					 es ? es : "", es && ee ? "&" : "", ee ? "scope=" : "",
					 ee ? ee : "");
		curl_free(es);
		curl_free(ee);
		curl_easy_cleanup(e);
	}
	if (!url)
		return -ENOMEM;
	/* the token request itself carries basic credentials (when any), not a token */
	saved = TAKE_PTR(r->authorization);
	if (r->user) {
		ret = set_basic(r);
		if (ret < 0)
			goto out;
	}
	ret = perform(&x, url, "application/json", &status, reterr);
	if (ret < 0)
		goto out;
	if (status == 401 || status == 403) {
		ret = hull_error_set(reterr, -EACCES, "registry '%s': %s", r->host,
				     r->user ? "invalid username or password"
					     : "the token server refused anonymous access");
		goto out;
	}
	if (status != 200) {
		ret = hull_error_set(reterr, -EPROTO, "registry '%s': token server '%s': HTTP %ld",
				     r->host, ch->realm, status);
		goto out;
	}
	ret = hull_json_parse(x.body ? x.body : "", x.len, "token response", &o, reterr);
	if (ret < 0)
		goto out;
	if ((!json_object_object_get_ex(o, "token", &t) ||
	     !json_object_is_type(t, json_type_string) || !*json_object_get_string(t)) &&
	    (!json_object_object_get_ex(o, "access_token", &t) ||
	     !json_object_is_type(t, json_type_string))) {
		ret = hull_error_set(reterr, -EPROTO,
				     "registry '%s': token response without a token", r->host);
		goto out;
	}
	free(r->authorization);
	r->authorization =
		hull_strdup_printf("Authorization: Bearer %s", json_object_get_string(t));
	ret = r->authorization ? 0 : -ENOMEM;
	r->bearer = true;
out:
	if (ret < 0) {
		/* not the basic header of the token request: what was there before */
		free(r->authorization);
		r->authorization = TAKE_PTR(saved);
	}
	xfer_reset(&x);
	return ret;
}

/* Answers a 401's challenge: basic credentials, or a (new) token. */
static int authenticate(struct hull_registry *r, const char *www_auth, struct hull_error **reterr)
{
	struct hull_auth_challenge ch = {};
	int ret;

	if (!www_auth || hull_auth_challenge_parse(www_auth, &ch) < 0)
		return hull_error_set(reterr, -EPROTO,
				      "registry '%s': HTTP 401 without a usable WWW-Authenticate",
				      r->host);
	if (streq(ch.scheme, "basic")) {
		hull_auth_challenge_done(&ch);
		if (!r->user)
			return hull_error_set(reterr, -EACCES,
					      "registry '%s': authentication required (hull login "
					      "%s)",
					      r->host, r->host);
		return set_basic(r);
	}
	if (!streq(ch.scheme, "bearer")) {
		ret = hull_error_set(reterr, -EPROTO,
				     "registry '%s': unsupported authentication scheme '%s'",
				     r->host, ch.scheme);
		hull_auth_challenge_done(&ch);
		return ret;
	}
	ret = fetch_token(r, &ch, reterr);
	hull_auth_challenge_done(&r->challenge);
	r->challenge = ch;
	return ret;
}

static int denied(struct hull_registry *r, struct hull_error **reterr)
{
	if (!r->user)
		return hull_error_set(reterr, -EACCES,
				      "registry '%s': authentication required (hull login %s)",
				      r->host, r->host);
	return hull_error_set(reterr, -EACCES,
			      "registry '%s': invalid username or password, or no access to '%s'",
			      r->host, r->path ? r->path : "/v2/");
}

/*
 * GET with auth: answers one 401 (and a 401 after that with fresh
 * credentials means they are refused).
 */
static int get(struct hull_registry *r, struct xfer *x, const char *url, const char *accept,
	       long *ret_status, struct hull_error **reterr)
{
	int ret;

	ret = perform(x, url, accept, ret_status, reterr);
	if (ret < 0 || *ret_status != 401)
		return ret;
	ret = authenticate(r, x->www_auth, reterr);
	if (ret < 0)
		return ret;
	ret = perform(x, url, accept, ret_status, reterr);
	if (ret >= 0 && *ret_status == 401)
		return denied(r, reterr);
	return ret;
}

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
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return hull_error_set(reterr, -EIO, "libcurl: %s",
				      curl_easy_strerror(curl_init_result));
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
	k = load_certs(r, reterr);
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
	url = base_url(r);
	if (!url)
		return -ENOMEM;
	ret = perform(&x, url, NULL, &status, reterr);
	if (ret < 0 && r->insecure && ret != -ETIMEDOUT) {
		hull_log(HULL_LOG_DEBUG, "registry '%s': trying plain HTTP", r->host);
		r->scheme = "http";
		free(url);
		url = base_url(r);
		ret = url ? perform(&x, url, NULL, &status, reterr) : -ENOMEM;
	}
	if (ret < 0) {
		r->scheme = NULL;
	} else if (status == 401 && x.www_auth) {
		struct hull_auth_challenge ch = {};

		/* basic: send credentials from now on; bearer: fetch a token for our scope */
		if (hull_auth_challenge_parse(x.www_auth, &ch) >= 0) {
			if (streq(ch.scheme, "basic") && r->user)
				ret = set_basic(r);
			else if (streq(ch.scheme, "bearer"))
				ret = authenticate(r, x.www_auth, reterr);
			hull_auth_challenge_done(&ch);
		}
	} else if (status != 200 && status != 401) {
		ret = hull_error_set(reterr, -EPROTO,
				     "registry '%s': GET /v2/: HTTP %ld (not a registry?)", r->host,
				     status);
		r->scheme = NULL;
	}
	xfer_reset(&x);
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
	url = base_url(r);
	if (!url)
		return -ENOMEM;
	ret = perform(&x, url, NULL, &status, reterr);
	if (ret >= 0 && status == 401)
		ret = denied(r, reterr);
	else if (ret >= 0 && status != 200)
		ret = hull_error_set(reterr, -EPROTO, "registry '%s': GET /v2/: HTTP %ld", r->host,
				     status);
	xfer_reset(&x);
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
	ret = get(r, &x, url, HULL_OCI_MANIFEST_ACCEPT, &status, reterr);
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
	xfer_reset(&x);
	return ret;
}

/* ---- blobs in parallel ---- */

static int blob_start(struct hull_registry *r, CURLM *m, struct hull_blob_store *store,
		      struct xfer *x, struct hull_error **reterr)
{
	_cleanup_free_ char *url = NULL;
	int ret;

	xfer_reset(x);
	url = hull_strdup_printf("%s://%s/v2/%s/blobs/%s", r->scheme, r->net_host, r->path,
				 x->req->digest);
	if (!url)
		return -ENOMEM;
	ret = hull_blob_writer_begin(store, x->req->digest, x->req->size, &x->w, reterr);
	if (ret < 0)
		return ret;
	ret = xfer_setup(x, url, NULL);
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
	long status = xfer_status(x);
	int ret;

	if (x->wr < 0) {
		if (reterr) {
			hull_error_free(*reterr);
			*reterr = TAKE_PTR(x->werr);
		}
		return x->wr;
	}
	if (c != CURLE_OK) {
		if (curl_retryable(c) && ++x->attempts < ATTEMPTS)
			return 1;
		return curl_error(r, x, c, reterr);
	}
	if (status == 401 && !x->reauthed) {
		x->reauthed = true;
		ret = authenticate(r, x->www_auth, reterr);
		return ret < 0 ? ret : 1;
	}
	if (status_retryable(status) && ++x->attempts < ATTEMPTS)
		return 1;
	if (status == 401)
		return denied(r, reterr);
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
		uint64_t now = now_ms(), wake = 0;
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
				xfer_reset(x);
				x->retry_at = now_ms() + (250u << (x->attempts ? x->attempts : 0));
				if (progress)
					progress(HULL_BLOB_RETRY, x->index, x->req->digest, 0,
						 x->req->size, userdata);
				continue;
			}
			xfer_reset(x);
			x->done = true;
			remaining--;
		}
		if (remaining > 0) {
			int timeout = 500;

			if (wake) {
				uint64_t t = now_ms();

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
		xfer_reset(&xs[i]); /* an unfinished writer removes its temp file */
	}
	curl_multi_cleanup(m);
	return ret;
}
