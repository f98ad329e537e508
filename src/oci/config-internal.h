/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/oci/: the pieces the config parser files share.
 *
 * Ownership rule of the parser: every field parser stores what it allocates
 * into the struct being filled *before* it parses further, so when anything
 * fails part way the object's free function finds (and frees) all of it.
 */
#pragma once

#include <stddef.h>

#include "oci/config.h"
#include "util/json.h"

/* The struct that contains `ptr` as its `member`. */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Fills one array element in place (the element starts zeroed). */
typedef int (*hull_oci_elem_parse_fn)(const char *path, struct json_object *v, void *elem,
				      struct hull_error **reterr);
/* Frees what one element owns (not the element itself); must accept a zeroed element. */
typedef void (*hull_oci_elem_done_fn)(void *elem);

/*
 * Parses the JSON array `v` into a new array of `size`-byte elements, each
 * filled by `parse`.  The array is stored into *array and *n before any
 * element is parsed (after releasing an old one with `done`), so a failure
 * leaves the partial result reachable for the owner's free function.
 */
int hull_oci_parse_array(const char *path, struct json_object *v, size_t size,
			 hull_oci_elem_parse_fn parse, hull_oci_elem_done_fn done, void **array,
			 size_t *n, struct hull_error **reterr);
/* Calls `done` on each of n elements and frees the array; accepts NULL. */
void hull_oci_free_array(void *array, size_t n, size_t size, hull_oci_elem_done_fn done);

/*
 * Declares a field parser `fn` for the (pointer, count) pair `member`/`n_member`
 * of `stype`, whose elements are `etype` filled by `eparse`/freed by `edone`.
 */
#define HULL_OCI_DEFINE_ARRAY_FIELD(fn, stype, member, n_member, etype, eparse, edone)    \
	static int fn(const char *path, struct json_object *v, void *field,               \
		      struct hull_error **reterr)                                         \
	{                                                                                 \
		stype *s_ = container_of(field, stype, member);                           \
		return hull_oci_parse_array(path, v, sizeof(etype), eparse, edone,        \
					    (void **)&s_->member, &s_->n_member, reterr); \
	}

/* Field parsers for struct hull_oi64 / struct hull_ou64 (any value of the type). */
int hull_oci_parse_oi64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr);
int hull_oci_parse_ou64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr);
/* char *, which must start with '/'. */
/* A device major / minor number (int64_t field): 0 up to what a dev_t holds. */
int hull_oci_parse_dev_major(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr);
int hull_oci_parse_dev_minor(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr);
int hull_oci_parse_abs_path(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr);

/* One uid/gid mapping (struct hull_oci_idmap), ranges checked against 32 bits. */
int hull_oci_parse_idmap(const char *path, struct json_object *v, void *elem,
			 struct hull_error **reterr);
/* Checks the number of mappings against the kernel's limit. */
/* An array of id mappings, checked as a whole (hull_oci_check_idmaps). */
int hull_oci_parse_idmaps(const char *path, struct json_object *v, struct hull_oci_idmap **maps,
			  size_t *n, struct hull_error **reterr);
int hull_oci_check_idmaps(const char *path, size_t n, struct hull_error **reterr);

/* Field parsers for the sub-objects that live in their own files. */
int hull_oci_parse_process_field(const char *path, struct json_object *v, void *field,
				 struct hull_error **reterr); /* struct hull_oci_process ** */
int hull_oci_parse_linux_field(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr); /* struct hull_oci_linux ** */
int hull_oci_parse_resources_field(const char *path, struct json_object *v, void *field,
				   struct hull_error **reterr); /* struct hull_oci_resources ** */
void hull_oci_linux_free(struct hull_oci_linux *l);

/*
 * The public parse entry points report bad input as -EINVAL whatever the
 * inner check returned (-ERANGE, -EFBIG), keeping -ENOMEM; the error object
 * gets the same code.
 */
int hull_oci_input_error(int r, struct hull_error **reterr);
