/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging.  The front end chooses the sink (stderr or a --log file) and the
 * format (runc's "text" or "json": {"level":..,"msg":..,"time":..}).  On
 * stderr without --log, text lines are "hull-runtime: level: msg".
 * Library code logs at debug level; warnings are reserved for conditions the
 * user asked about but the host cannot provide (e.g. cgroups not delegated).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/macro.h"

enum hull_log_level {
	HULL_LOG_ERROR,
	HULL_LOG_WARN,
	HULL_LOG_INFO,
	HULL_LOG_DEBUG,
};

enum hull_log_format {
	HULL_LOG_TEXT,
	HULL_LOG_JSON,
};

/* Sends log lines to `fd` (not owned) in `format`, dropping those above `max`. */
void hull_log_setup(int fd, enum hull_log_format format, enum hull_log_level max);
/* Parses "text" or "json"; returns -EINVAL on anything else. */
int hull_log_format_from_string(const char *s, enum hull_log_format *ret);
bool hull_log_enabled(enum hull_log_level level);

/*
 * Formats one log line as runc (logrus) writes it to its --log file, ending
 * in '\n' (cut short to fit `size`, still one line); returns its length.
 *   text: time="2026-12-02T08:00:00Z" level=error msg="container does not exist"
 *         (msg quoted Go-style only when it holds more than [A-Za-z0-9-._/@^+])
 *   json: {"level":"error","msg":"container does not exist","time":"2026-12-02T08:00:00Z"}
 * The time is RFC 3339 in local time, to the second, as Go's time.RFC3339.
 */
size_t hull_log_format_line(enum hull_log_format format, enum hull_log_level level, time_t when,
			    const char *msg, char *out, size_t size);

void hull_log(enum hull_log_level level, const char *fmt, ...) _printf_(2, 3);

#define hull_debug(...)                                           \
	do {                                                      \
		if (_unlikely_(hull_log_enabled(HULL_LOG_DEBUG))) \
			hull_log(HULL_LOG_DEBUG, __VA_ARGS__);    \
	} while (0)
#define hull_info(...) hull_log(HULL_LOG_INFO, __VA_ARGS__)
#define hull_warn(...) hull_log(HULL_LOG_WARN, __VA_ARGS__)
#define hull_err(...) hull_log(HULL_LOG_ERROR, __VA_ARGS__)
