/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client's auth: WWW-Authenticate challenges, basic
 * credentials, and bearer tokens from the challenge's realm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry-internal.h"
#include "util/crypto-dl.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

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

/* ---- auth ---- */

int registry_set_basic(struct hull_registry *r)
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
		ret = registry_set_basic(r);
		if (ret < 0)
			goto out;
	}
	ret = registry_perform(&x, url, "application/json", &status, reterr);
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
	registry_xfer_reset(&x);
	return ret;
}

/* Answers a 401's challenge: basic credentials, or a (new) token. */
int registry_authenticate(struct hull_registry *r, const char *www_auth, struct hull_error **reterr)
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
		return registry_set_basic(r);
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

int registry_denied(struct hull_registry *r, struct hull_error **reterr)
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
int registry_get(struct hull_registry *r, struct xfer *x, const char *url, const char *accept,
		 long *ret_status, struct hull_error **reterr)
{
	int ret;

	ret = registry_perform(x, url, accept, ret_status, reterr);
	if (ret < 0 || *ret_status != 401)
		return ret;
	ret = registry_authenticate(r, x->www_auth, reterr);
	if (ret < 0)
		return ret;
	ret = registry_perform(x, url, accept, ret_status, reterr);
	if (ret >= 0 && *ret_status == 401)
		return registry_denied(r, reterr);
	return ret;
}
