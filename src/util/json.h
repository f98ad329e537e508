/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON on top of json-c: parsing with line:column errors, and a table-driven
 * dispatcher that fills a C struct from a JSON object, naming the exact field
 * path ("process.user.uid: expected a number") when a value is wrong.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
#define _cleanup_json_ _cleanup_(json_object_putp)

/*
 * Parses `len` bytes of text.  A syntax error reads
 * "<what>: line L column C: <json-c's reason>" and returns -EINVAL.
 */
int hull_json_parse(const char *text, size_t len, const char *what, struct json_object **ret,
		    struct hull_error **reterr);

/* Writes `s` JSON-escaped (without quotes) into out[size], truncating safely. */
void hull_json_escape(const char *s, char *out, size_t size);

/* A field parser: fills *field from `v`; `path` names the field for errors. */
typedef int (*hull_json_parse_fn)(const char *path, struct json_object *v, void *field,
				  struct hull_error **reterr);

struct hull_json_field {
	const char *name;
	hull_json_parse_fn parse;
	size_t offset; /* offsetof() the member within the struct being filled */
	bool required;
};

enum hull_json_dispatch_flags {
	HULL_JSON_ALLOW_UNKNOWN = 1 << 0, /* ignore keys not in the table (the OCI spec does) */
};

/*
 * Fills `base` from object `obj` through `table` (terminated by a NULL name).
 * `path` is the object's own path ("" for the top) and prefixes member names.
 * Members whose value is JSON null are treated as absent.
 */
int hull_json_dispatch(const char *path, struct json_object *obj,
		       const struct hull_json_field *table, void *base,
		       enum hull_json_dispatch_flags flags, struct hull_error **reterr);

/* Joins "a" + "b" -> "a.b" (or "b" when a is empty), and "a" + i -> "a[i]". */
char *hull_json_path_member(const char *path, const char *name);
char *hull_json_path_index(const char *path, size_t i);

/* Reports "<path>: expected <what>" as -EINVAL. */
int hull_json_type_error(const char *path, const char *what, struct hull_error **reterr);

/* Standard field parsers; `field` points at the member named by the table's offset. */
int hull_json_parse_string(const char *path, struct json_object *v, void *field,
			   struct hull_error **reterr); /* char * (owned) */
int hull_json_parse_bool(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr); /* bool */
int hull_json_parse_int(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr); /* int */
int hull_json_parse_i64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr); /* int64_t */
int hull_json_parse_u64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr); /* uint64_t */
int hull_json_parse_u32(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr); /* uint32_t */
int hull_json_parse_strv(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr); /* char ** (array of strings) */
/* An object of string values as a strv of alternating keys and values. */
int hull_json_parse_string_map(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr);

/* Integer value checks: a JSON number without fraction in range. */
int hull_json_get_i64(const char *path, struct json_object *v, int64_t *ret,
		      struct hull_error **reterr);
int hull_json_get_u64(const char *path, struct json_object *v, uint64_t *ret,
		      struct hull_error **reterr);
