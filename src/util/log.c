/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/json.h"

static int log_fd = STDERR_FILENO;
static enum hull_log_format log_format = HULL_LOG_TEXT;
static enum hull_log_level log_max = HULL_LOG_WARN;

static const char *const level_names[] = {
	[HULL_LOG_ERROR] = "error",
	[HULL_LOG_WARN] = "warning",
	[HULL_LOG_INFO] = "info",
	[HULL_LOG_DEBUG] = "debug",
};

void hull_log_setup(int fd, enum hull_log_format format, enum hull_log_level max)
{
	log_fd = fd;
	log_format = format;
	log_max = max;
}

int hull_log_format_from_string(const char *s, enum hull_log_format *ret)
{
	if (strcmp(s, "text") == 0)
		*ret = HULL_LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*ret = HULL_LOG_JSON;
	else
		return -EINVAL;
	return 0;
}

bool hull_log_enabled(enum hull_log_level level)
{
	return level <= log_max && log_fd >= 0;
}

/* Go's time.RFC3339 in local time: "2026-12-02T08:00:00Z" or "...+01:00". */
static void format_time(time_t t, char *out, size_t size)
{
	struct tm tm;
	size_t n;
	long off;

	if (!localtime_r(&t, &tm)) {
		snprintf(out, size, "1970-01-01T00:00:00Z");
		return;
	}
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	if (off == 0)
		snprintf(out + n, size - n, "Z");
	else
		snprintf(out + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60,
			 labs(off) % 60);
}

/* logrus's text formatter quotes a value unless it is made only of these. */
static bool needs_quoting(const char *s)
{
	if (!*s)
		return true;
	for (const char *p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._/@^+", c)))
			return true;
	}
	return false;
}

/* Appends `s` as Go's %q would print it (ASCII control bytes escaped). */
static size_t append_quoted(char *out, size_t size, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char esc[8];

#define PUT(str)                                        \
	do {                                            \
		for (const char *q_ = (str); *q_; q_++) \
			if (n + 1 < size)               \
				out[n++] = *q_;         \
	} while (0)
	PUT("\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			PUT("\\\"");
			break;
		case '\\':
			PUT("\\\\");
			break;
		case '\n':
			PUT("\\n");
			break;
		case '\t':
			PUT("\\t");
			break;
		case '\r':
			PUT("\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				esc[0] = '\\';
				esc[1] = 'x';
				esc[2] = hex[*p >> 4];
				esc[3] = hex[*p & 15];
				esc[4] = '\0';
				PUT(esc);
			} else {
				esc[0] = (char)*p;
				esc[1] = '\0';
				PUT(esc);
			}
		}
	}
	PUT("\"");
#undef PUT
	out[n < size ? n : size - 1] = '\0';
	return n;
}

size_t hull_log_format_line(enum hull_log_format format, enum hull_log_level level, time_t when,
			    const char *msg, char *out, size_t size)
{
	char t[64];
	int n;

	if (size == 0)
		return 0;
	format_time(when, t, sizeof(t));
	if (format == HULL_LOG_JSON) {
		_cleanup_free_ char *esc = NULL;
		size_t esc_size = strlen(msg) * 6 + 1;

		esc = malloc(esc_size);
		if (esc)
			hull_json_escape(msg, esc, esc_size);
		n = snprintf(out, size, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			     level_names[level], esc ? esc : "", t);
	} else {
		size_t len;

		n = snprintf(out, size, "time=\"%s\" level=%s msg=", t, level_names[level]);
		if (n < 0 || (size_t)n >= size)
			goto truncated;
		len = (size_t)n;
		if (needs_quoting(msg)) {
			len = append_quoted(out, size, len, msg);
		} else {
			n = snprintf(out + len, size - len, "%s", msg);
			len += n > 0 ? (size_t)n : 0;
		}
		if (len + 1 < size) {
			out[len++] = '\n';
			out[len] = '\0';
		}
		n = (int)len;
	}
	if (n < 0)
		n = 0;
truncated:
	if ((size_t)n >= size - 1 && size >= 2) {
		/* cut short: still one whole line */
		out[size - 2] = '\n';
		out[size - 1] = '\0';
		n = (int)size - 1;
	}
	return (size_t)n;
}

void hull_log(enum hull_log_level level, const char *fmt, ...)
{
	char msg[4096], line[16384];
	va_list ap;
	size_t n;
	int saved = errno;

	if (!hull_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_format == HULL_LOG_TEXT && log_fd == STDERR_FILENO)
		n = (size_t)snprintf(line, sizeof(line), "%s: %s: %s\n",
				     program_invocation_short_name, level_names[level], msg);
	else
		n = hull_log_format_line(log_format, level, time(NULL), msg, line, sizeof(line));
	if (n > sizeof(line) - 1) {
		line[sizeof(line) - 2] = '\n';
		n = sizeof(line) - 1;
	}
	if (n > 0 && write(log_fd, line, n) < 0) {
		/* nowhere left to report a failing log */
	}
	errno = saved;
}
