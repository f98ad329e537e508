/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error object: a message that gathers context as it climbs.
 *
 * A fallible function returns `-errno`; at module boundaries it also fills an
 * optional `struct hull_error **reterr`.  Each caller may prefix context with
 * hull_error_wrap(), so the top prints one line such as
 *   create 'web': mount '/proc' on '/proc': Operation not permitted
 * Library code never prints; the CLI prints the error once.
 */
#pragma once

#include "util/macro.h"

struct hull_error {
	int code;  /* negative errno */
	char *msg; /* complete message, context first */
};

/*
 * Sets *reterr to a new error whose message is the formatted text; when
 * `code` names an errno the strerror text is appended (": No such file ...").
 * Returns `code` (negative) so callers can `return hull_error_errno(...)`.
 * reterr may be NULL; an existing error in *reterr is replaced.
 */
int hull_error_errno(struct hull_error **reterr, int code, const char *fmt, ...) _printf_(3, 4);

/* Like hull_error_errno() but without the strerror suffix: for bad input. */
int hull_error_set(struct hull_error **reterr, int code, const char *fmt, ...) _printf_(3, 4);

/*
 * Prefixes "<text>: " to the message in *reterr (creating one from `code`
 * if there is none).  Returns `code`.
 */
int hull_error_wrap(struct hull_error **reterr, int code, const char *fmt, ...) _printf_(3, 4);

void hull_error_free(struct hull_error *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_error *, hull_error_free)
#define _cleanup_error_ _cleanup_(hull_error_freep)
