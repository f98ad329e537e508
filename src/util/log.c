/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

void hull_log(enum hull_log_level level, const char *fmt, ...)
{
	char msg[4096], line[8192], when[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (!hull_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - (size_t)n, ".%09ldZ", ts.tv_nsec);

	if (log_format == HULL_LOG_JSON) {
		char esc[sizeof(msg) * 2];

		hull_json_escape(msg, esc, sizeof(esc));
		n = snprintf(line, sizeof(line),
			     "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			     level_names[level], esc, when);
	} else if (log_fd == STDERR_FILENO) {
		n = snprintf(line, sizeof(line), "%s: %s: %s\n", program_invocation_short_name,
			     level_names[level], msg);
	} else {
		n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", when,
			     level_names[level], msg);
	}
	if (n > (int)sizeof(line))
		n = sizeof(line);
	if (n > 0 && write(log_fd, line, (size_t)n) < 0) {
		/* nowhere left to report a failing log */
	}
}
