/* SPDX-License-Identifier: Apache-2.0 */
#include "util/str.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

size_t hull_strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void hull_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int hull_strv_consume(char ***v, char *s)
{
	size_t n = hull_strv_length(*v);
	char **nv;

	nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

int hull_strv_push(char ***v, const char *s)
{
	char *c = strdup(s);
	int r;

	if (!c)
		return -ENOMEM;
	r = hull_strv_consume(v, c);
	if (r < 0)
		free(c);
	return r;
}

char **hull_strv_copy(char *const *v)
{
	size_t n = hull_strv_length(v);
	char **c;

	if (!v)
		return NULL;
	c = calloc(n + 1, sizeof(char *));
	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i]) {
			hull_strv_free(c);
			return NULL;
		}
	}
	return c;
}

bool hull_strv_contains(char *const *v, const char *s)
{
	hull_strv_foreach (x, v)
		if (streq(x, s))
			return true;
	return false;
}

char *hull_strv_join(char *const *v, const char *sep)
{
	size_t len = 1, seplen = strlen(sep);
	char *s, *p;

	hull_strv_foreach (x, v)
		len += strlen(x) + seplen;
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; v && v[i]; i++) {
		if (i > 0)
			p = stpcpy(p, sep);
		p = stpcpy(p, v[i]);
	}
	return s;
}

int hull_parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end = NULL;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || !end || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int hull_parse_i64(const char *s, int64_t *ret)
{
	long long v;
	char *end = NULL;

	if (!s || !*s || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || !end || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int hull_parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = hull_parse_u64(s, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int hull_parse_int(const char *s, int *ret)
{
	int64_t v;
	int r = hull_parse_i64(s, &v);

	if (r < 0)
		return r;
	if (v < INT_MIN || v > INT_MAX)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

char *hull_strdup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}
