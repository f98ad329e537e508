/* SPDX-License-Identifier: Apache-2.0 */
#include "util/json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free)

int hull_json_parse(const char *text, size_t len, const char *what, struct json_object **ret,
		    struct hull_error **reterr)
{
	_cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end, line = 1, col = 1;

	if (len > INT_MAX)
		return hull_error_set(reterr, -EFBIG, "%s: too large", what);
	tok = json_tokener_new();
	if (!tok)
		return hull_error_errno(reterr, -ENOMEM, "%s", what);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj && jerr == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		/* only whitespace may follow the value */
		while (end < len && strchr(" \t\r\n", text[end]))
			end++;
		if (end == len) {
			*ret = obj;
			return 0;
		}
		json_object_put(obj);
		jerr = json_tokener_error_parse_unexpected;
	} else {
		json_object_put(obj);
		end = json_tokener_get_parse_end(tok);
		if (jerr == json_tokener_continue) {
			jerr = json_tokener_error_parse_eof;
			end = len;
		}
	}
	if (end > len)
		end = len;
	for (size_t i = 0; i < end; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (len == 0)
		return hull_error_set(reterr, -EINVAL, "%s: empty document", what);
	return hull_error_set(reterr, -EINVAL, "%s: line %zu column %zu: %s", what, line, col,
			      json_tokener_error_desc(jerr));
}

void hull_json_escape(const char *s, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; *s && o + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
		case '\\':
			out[o++] = '\\';
			out[o++] = (char)c;
			break;
		case '\n':
			out[o++] = '\\';
			out[o++] = 'n';
			break;
		case '\t':
			out[o++] = '\\';
			out[o++] = 't';
			break;
		default:
			if (c < 0x20)
				o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
			else
				out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

char *hull_json_path_member(const char *path, const char *name)
{
	if (!path || !*path)
		return strdup(name);
	return hull_strdup_printf("%s.%s", path, name);
}

char *hull_json_path_index(const char *path, size_t i)
{
	return hull_strdup_printf("%s[%zu]", path ? path : "", i);
}

int hull_json_type_error(const char *path, const char *what, struct hull_error **reterr)
{
	return hull_error_set(reterr, -EINVAL, "%s: expected %s", path, what);
}

int hull_json_dispatch(const char *path, struct json_object *obj,
		       const struct hull_json_field *table, void *base,
		       enum hull_json_dispatch_flags flags, struct hull_error **reterr)
{
	if (!json_object_is_type(obj, json_type_object))
		return hull_json_type_error(*path ? path : "document", "an object", reterr);

	json_object_object_foreach(obj, key, val)
	{
		const struct hull_json_field *f;
		_cleanup_free_ char *sub = NULL;
		int r;

		for (f = table; f->name; f++)
			if (streq(f->name, key))
				break;
		sub = hull_json_path_member(path, key);
		if (!sub)
			return hull_error_errno(reterr, -ENOMEM, "parse");
		if (!f->name) {
			if (flags & HULL_JSON_ALLOW_UNKNOWN)
				continue;
			return hull_error_set(reterr, -EINVAL, "%s: unknown field", sub);
		}
		if (!val)
			continue;
		r = f->parse(sub, val, (char *)base + f->offset, reterr);
		if (r < 0)
			return r;
	}
	for (const struct hull_json_field *f = table; f->name; f++) {
		struct json_object *v = NULL;

		if (f->required && (!json_object_object_get_ex(obj, f->name, &v) || !v)) {
			_cleanup_free_ char *sub = hull_json_path_member(path, f->name);

			return hull_error_set(reterr, -EINVAL, "%s: required field missing",
					      sub ? sub : f->name);
		}
	}
	return 0;
}

/* A JSON string may hold "\u0000"; a C string would silently end there. */
static bool has_nul(struct json_object *v)
{
	return strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
}

static int nul_error(const char *path, struct hull_error **reterr)
{
	return hull_error_set(reterr, -EINVAL, "%s: must not contain a NUL character", path);
}

int hull_json_parse_string(const char *path, struct json_object *v, void *field,
			   struct hull_error **reterr)
{
	char **p = field;
	char *s;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (has_nul(v))
		return nul_error(path, reterr);
	s = strdup(json_object_get_string(v));
	if (!s)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	free(*p);
	*p = s;
	return 0;
}

int hull_json_parse_bool(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_boolean))
		return hull_json_type_error(path, "a boolean", reterr);
	*(bool *)field = json_object_get_boolean(v);
	return 0;
}

int hull_json_get_i64(const char *path, struct json_object *v, int64_t *ret,
		      struct hull_error **reterr)
{
	if (json_object_is_type(v, json_type_int)) {
		/* json-c keeps values above INT64_MAX as uint64 */
		if (json_object_get_uint64(v) > (uint64_t)INT64_MAX &&
		    json_object_get_int64(v) == INT64_MAX)
			return hull_error_set(reterr, -ERANGE, "%s: number out of range", path);
		*ret = json_object_get_int64(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if (d < -9.2e18 || d > 9.2e18 || (double)(int64_t)d != d)
			return hull_json_type_error(path, "an integer", reterr);
		*ret = (int64_t)d;
		return 0;
	}
	return hull_json_type_error(path, "a number", reterr);
}

int hull_json_get_u64(const char *path, struct json_object *v, uint64_t *ret,
		      struct hull_error **reterr)
{
	if (json_object_is_type(v, json_type_int)) {
		if (json_object_get_int64(v) < 0)
			return hull_error_set(reterr, -ERANGE, "%s: expected a non-negative number",
					      path);
		*ret = json_object_get_uint64(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if (d < 0 || d > 1.8e19 || (double)(uint64_t)d != d)
			return hull_json_type_error(path, "a non-negative integer", reterr);
		*ret = (uint64_t)d;
		return 0;
	}
	return hull_json_type_error(path, "a number", reterr);
}

int hull_json_parse_i64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	return hull_json_get_i64(path, v, field, reterr);
}

int hull_json_parse_u64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	return hull_json_get_u64(path, v, field, reterr);
}

int hull_json_parse_int(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	int64_t x;
	int r = hull_json_get_i64(path, v, &x, reterr);

	if (r < 0)
		return r;
	if (x < INT_MIN || x > INT_MAX)
		return hull_error_set(reterr, -ERANGE, "%s: number out of range", path);
	*(int *)field = (int)x;
	return 0;
}

int hull_json_parse_u32(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	uint64_t x;
	int r = hull_json_get_u64(path, v, &x, reterr);

	if (r < 0)
		return r;
	if (x > UINT32_MAX)
		return hull_error_set(reterr, -ERANGE, "%s: number out of range", path);
	*(uint32_t *)field = (uint32_t)x;
	return 0;
}

int hull_json_parse_strv(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	_cleanup_strv_free_ char **out = NULL;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return hull_json_type_error(path, "an array of strings", reterr);
	n = json_object_array_length(v);
	out = calloc(n + 1, sizeof(char *));
	if (!out)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string)) {
			_cleanup_free_ char *sub = hull_json_path_index(path, i);

			return hull_json_type_error(sub ? sub : path, "a string", reterr);
		}
		if (has_nul(e)) {
			_cleanup_free_ char *sub = hull_json_path_index(path, i);

			return nul_error(sub ? sub : path, reterr);
		}
		out[i] = strdup(json_object_get_string(e));
		if (!out[i])
			return hull_error_errno(reterr, -ENOMEM, "%s", path);
	}
	hull_strv_free(*(char ***)field);
	*(char ***)field = TAKE_PTR(out);
	return 0;
}

int hull_json_parse_string_map(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	_cleanup_strv_free_ char **out = NULL;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object of strings", reterr);
	out = calloc(1, sizeof(char *));
	if (!out)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	json_object_object_foreach(v, key, val)
	{
		if (!json_object_is_type(val, json_type_string)) {
			_cleanup_free_ char *sub = hull_json_path_member(path, key);

			return hull_json_type_error(sub ? sub : path, "a string", reterr);
		}
		if (has_nul(val) || strlen(key) == 0) {
			_cleanup_free_ char *sub = hull_json_path_member(path, key);

			if (strlen(key) == 0)
				return hull_error_set(reterr, -EINVAL, "%s: keys must not be empty",
						      path);
			return nul_error(sub ? sub : path, reterr);
		}
		if (hull_strv_push(&out, key) < 0 ||
		    hull_strv_push(&out, json_object_get_string(val)) < 0)
			return hull_error_errno(reterr, -ENOMEM, "%s", path);
	}
	hull_strv_free(*(char ***)field);
	*(char ***)field = TAKE_PTR(out);
	return 0;
}
