/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strings and NULL-terminated string vectors (strv).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/macro.h"

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Returns the rest of `s` after `prefix`, or NULL when `s` does not start with it. */
static inline const char *startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

size_t hull_strv_length(char *const *v);
void hull_strv_free(char **v);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, hull_strv_free)
#define _cleanup_strv_free_ _cleanup_(hull_strv_freep)

/* Appends a copy of `s` to *v; returns -ENOMEM on failure (leaving *v intact). */
int hull_strv_push(char ***v, const char *s);
/* Appends `s` itself, taking ownership on success. */
int hull_strv_consume(char ***v, char *s);
/* Returns a deep copy, or NULL on allocation failure (or if v is NULL). */
char **hull_strv_copy(char *const *v);
bool hull_strv_contains(char *const *v, const char *s);
/* "a, b, c": the elements joined by sep; malloc'ed, NULL on allocation failure. */
char *hull_strv_join(char *const *v, const char *sep);

#define hull_strv_foreach(s, v) for (char *const *_it_ = (v), *s; _it_ && (s = *_it_); _it_++)

/* Strict number parsing: whole string, no sign for unsigned, range checked. */
int hull_parse_u64(const char *s, uint64_t *ret);
int hull_parse_i64(const char *s, int64_t *ret);
int hull_parse_u32(const char *s, uint32_t *ret);
int hull_parse_int(const char *s, int *ret);

/* A malloc'ed printf; NULL on failure. */
char *hull_strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* True for "." and "..". */
static inline bool streq_dots(const char *s)
{
	return s[0] == '.' && (s[1] == '\0' || (s[1] == '.' && s[2] == '\0'));
}
