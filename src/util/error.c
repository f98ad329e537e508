/* SPDX-License-Identifier: Apache-2.0 */
#include "util/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int set(struct hull_error **reterr, int code, bool with_errno, const char *fmt, va_list ap)
	_printf_(4, 0);

static int set(struct hull_error **reterr, int code, bool with_errno, const char *fmt, va_list ap)
{
	struct hull_error *e;
	char *text = NULL;

	if (code >= 0)
		code = -EIO;
	if (!reterr)
		return code;
	if (vasprintf(&text, fmt, ap) < 0)
		return code;
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(text);
		return code;
	}
	e->code = code;
	if (with_errno) {
		if (asprintf(&e->msg, "%s: %s", text, strerror(-code)) < 0)
			e->msg = NULL;
		free(text);
	} else {
		e->msg = text;
	}
	hull_error_free(*reterr);
	*reterr = e;
	return code;
}

int hull_error_errno(struct hull_error **reterr, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = set(reterr, code, true, fmt, ap);
	va_end(ap);
	return r;
}

int hull_error_set(struct hull_error **reterr, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = set(reterr, code, false, fmt, ap);
	va_end(ap);
	return r;
}

int hull_error_wrap(struct hull_error **reterr, int code, const char *fmt, ...)
{
	char *prefix = NULL, *msg = NULL;
	va_list ap;

	if (code >= 0)
		code = -EIO;
	if (!reterr)
		return code;
	va_start(ap, fmt);
	if (vasprintf(&prefix, fmt, ap) < 0)
		prefix = NULL;
	va_end(ap);
	if (!prefix)
		return code;
	if (!*reterr) {
		hull_error_errno(reterr, code, "%s", prefix);
		free(prefix);
		return code;
	}
	if (asprintf(&msg, "%s: %s", prefix, (*reterr)->msg ? (*reterr)->msg : "") >= 0) {
		free((*reterr)->msg);
		(*reterr)->msg = msg;
	}
	free(prefix);
	return code;
}

void hull_error_free(struct hull_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}
