/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image reference parsing, after distribution's grammar (reference/regexp.go)
 * and podman's normalisation of Docker Hub names.
 */
#include "image/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

void hull_image_ref_free(struct hull_image_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r);
}

void hull_image_ref_list_free(struct hull_image_ref **l)
{
	for (size_t i = 0; l && l[i]; i++)
		hull_image_ref_free(l[i]);
	free(l);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static const char *check_component(const char *c, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return "empty path component";
	while (i < n) {
		size_t run = 0, sep = i;

		while (i < n && is_lower_alnum(c[i]))
			i++, run++;
		if (run == 0) {
			for (size_t k = 0; k < n; k++)
				if (c[k] >= 'A' && c[k] <= 'Z')
					return "repository name must be lowercase";
			return "path components start and end with a lowercase letter or digit";
		}
		if (i == n)
			break;
		sep = i;
		if (c[i] == '.' || c[i] == '_') {
			i++;
			if (c[i - 1] == '_' && i < n && c[i] == '_')
				i++;
		} else if (c[i] == '-') {
			while (i < n && c[i] == '-')
				i++;
		} else if (c[i] >= 'A' && c[i] <= 'Z') {
			return "repository name must be lowercase";
		} else {
			return "invalid character in the repository name";
		}
		if (i == n || (sep == i))
			return "path components start and end with a lowercase letter or digit";
	}
	return NULL;
}

/* host[.host...][:port] or [ipv6][:port] */
static const char *check_domain(const char *d, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return "empty registry name";
	if (d[0] == '[') {
		const char *end = memchr(d, ']', n);

		if (!end || end == d + 1)
			return "invalid IPv6 registry address";
		for (const char *p = d + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return "invalid IPv6 registry address";
		i = end - d + 1;
	} else {
		for (;;) {
			size_t start = i;

			while (i < n && (is_alnum(d[i]) || d[i] == '-'))
				i++;
			if (i == start || d[start] == '-' || d[i - 1] == '-')
				return "invalid registry host name";
			if (i < n && d[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i < n && d[i] == ':') {
		size_t start = ++i;

		while (i < n && d[i] >= '0' && d[i] <= '9')
			i++;
		if (i == start || i - start > 5)
			return "invalid registry port";
	}
	if (i != n)
		return "invalid registry host name";
	return NULL;
}

static const char *check_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0)
		return "empty tag";
	if (n > TAG_MAX_LEN)
		return "tag longer than 128 characters";
	if (!is_alnum(t[0]) && t[0] != '_')
		return "tag must start with a letter, digit or '_'";
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return "tag holds a character other than letters, digits, '_', '.', '-'";
	return NULL;
}

static const char *check_digest(const char *d)
{
	const char *hex = startswith(d, "sha256:");

	if (!hex) {
		if (!strchr(d, ':'))
			return "digest must be 'sha256:' followed by 64 hex characters";
		return "unsupported digest algorithm (only sha256)";
	}
	if (strlen(hex) != 64)
		return "digest must be 'sha256:' followed by 64 hex characters";
	for (size_t i = 0; i < 64; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return "digest must be 'sha256:' followed by 64 lowercase hex characters";
	return NULL;
}

/* The first component is a registry (distribution's splitDockerDomain). */
static bool looks_like_domain(const char *c, size_t n)
{
	if (n == 9 && strncmp(c, "localhost", 9) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (c[i] == '.' || c[i] == ':' || (c[i] >= 'A' && c[i] <= 'Z'))
			return true;
	return false;
}

static int bad(struct hull_error **reterr, const char *s, const char *why)
{
	return hull_error_set(reterr, -EINVAL, "reference '%s': %s", s, why);
}

int hull_image_ref_parse(const char *s, struct hull_image_ref **ret, struct hull_error **reterr)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *r = NULL;
	_cleanup_free_ char *buf = NULL;
	char *at, *slash, *colon, *name, *rest;
	const char *why;

	if (!s || !*s)
		return hull_error_set(reterr, -EINVAL, "reference '': empty image reference");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return bad(reterr, s, "contains a space or a non-ASCII character");
	buf = strdup(s);
	r = calloc(1, sizeof(*r));
	if (!buf || !r)
		return -ENOMEM;

	at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (strchr(at + 1, '@'))
			return bad(reterr, s, "more than one '@'");
		why = check_digest(at + 1);
		if (why)
			return bad(reterr, s, why);
		r->digest = strdup(at + 1);
		if (!r->digest)
			return -ENOMEM;
	}
	slash = strrchr(buf, '/');
	colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		why = check_tag(colon + 1);
		if (why)
			return bad(reterr, s, why);
		r->tag = strdup(colon + 1);
		if (!r->tag)
			return -ENOMEM;
	}
	name = buf;
	if (!*name)
		return bad(reterr, s, "empty repository name");
	if (strlen(name) > NAME_MAX_LEN)
		return bad(reterr, s, "repository name longer than 255 characters");

	slash = strchr(name, '/');
	if (slash && looks_like_domain(name, slash - name)) {
		why = check_domain(name, slash - name);
		if (why)
			return bad(reterr, s, why);
		r->domain = strndup(name, slash - name);
		if (!r->domain)
			return -ENOMEM;
		name = slash + 1;
	} else if (!slash && strchr(name, ':')) {
		/* "host:5000" alone: a registry without a repository */
		return bad(reterr, s, "missing repository name after the registry");
	}
	rest = name;
	for (;;) {
		char *next = strchr(rest, '/');
		size_t n = next ? (size_t)(next - rest) : strlen(rest);

		why = check_component(rest, n);
		if (why)
			return bad(reterr, s, why);
		if (!next)
			break;
		rest = next + 1;
	}

	if (r->domain && streq(r->domain, "index.docker.io")) {
		free(r->domain);
		r->domain = strdup("docker.io");
		if (!r->domain)
			return -ENOMEM;
	}
	if (r->domain && streq(r->domain, "docker.io") && !strchr(name, '/'))
		r->path = hull_strdup_printf("library/%s", name);
	else
		r->path = strdup(name);
	if (!r->path)
		return -ENOMEM;
	if (!r->tag && !r->digest) {
		r->tag = strdup("latest");
		if (!r->tag)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(r);
	return 0;
}

char *hull_image_ref_name(const struct hull_image_ref *r)
{
	if (!r->domain)
		return strdup(r->path);
	return hull_strdup_printf("%s/%s", r->domain, r->path);
}

char *hull_image_ref_string(const struct hull_image_ref *r)
{
	return hull_strdup_printf("%s%s%s%s%s%s%s", r->domain ? r->domain : "",
				  r->domain ? "/" : "", r->path, r->tag ? ":" : "",
				  r->tag ? r->tag : "", r->digest ? "@" : "",
				  r->digest ? r->digest : "");
}

struct hull_image_ref *hull_image_ref_copy(const struct hull_image_ref *r)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if ((r->domain && !(c->domain = strdup(r->domain))) || !(c->path = strdup(r->path)) ||
	    (r->tag && !(c->tag = strdup(r->tag))) ||
	    (r->digest && !(c->digest = strdup(r->digest))))
		return NULL;
	return TAKE_PTR(c);
}
