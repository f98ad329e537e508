/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/str.h"

void cli_print_usage(const struct cli_verb *verb)
{
	printf("usage: hull-runtime %s %s\n\n%s\n", verb->name, verb->usage, verb->summary);
}

int cli_getopt(const struct cli_verb *verb, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int *ret_opt, struct hull_error **reterr)
{
	static const struct option help_only[] = { { "help", no_argument, NULL, 'h' }, {} };
	char opts[64];
	int c;

	snprintf(opts, sizeof(opts), "+:h%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts ? longopts : help_only, NULL);
	if (c == 'h') {
		cli_print_usage(verb);
		return 1;
	}
	if (c == '?') {
		if (optopt)
			return hull_error_set(reterr, -EINVAL, "%s: unknown option '-%c'",
					      verb->name, optopt);
		return hull_error_set(reterr, -EINVAL, "%s: unknown option '%s'", verb->name,
				      argv[optind - 1]);
	}
	if (c == ':')
		return hull_error_set(reterr, -EINVAL, "%s: option '%s' needs a value", verb->name,
				      argv[optind - 1]);
	*ret_opt = c;
	return 0;
}

int cli_want_args(const struct cli_verb *verb, int argc, char **argv, int min, int max,
		  struct hull_error **reterr)
{
	int n = argc - optind;

	if (n < min)
		return hull_error_set(reterr, -EINVAL, "%s: %s", verb->name,
				      min == 1 ? "missing container id" : "missing arguments");
	if (max >= 0 && n > max)
		return hull_error_set(reterr, -EINVAL, "%s: unexpected argument '%s'", verb->name,
				      argv[optind + max]);
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },	 { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
	{ "FPE", SIGFPE },	 { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	 { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
	{ "XCPU", SIGXCPU },	 { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },	 { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

int cli_parse_signal(const char *s, int *ret)
{
	const char *name = s;
	int n;

	if (hull_parse_int(s, &n) >= 0) {
		if (n <= 0 || n >= NSIG)
			return -EINVAL;
		*ret = n;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < ELEMENTSOF(signals); i++)
		if (strcasecmp(name, signals[i].name) == 0) {
			*ret = signals[i].sig;
			return 0;
		}
	if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
		bool max = toupper((unsigned char)name[2]) == 'M' &&
			   toupper((unsigned char)name[3]) == 'A';
		int off = 0;

		if (name[5] && (hull_parse_int(name + 5, &off) < 0))
			return -EINVAL;
		n = max ? SIGRTMAX + off : SIGRTMIN + off;
		if (n < SIGRTMIN || n > SIGRTMAX)
			return -EINVAL;
		*ret = n;
		return 0;
	}
	return -EINVAL;
}

void cli_print_json(struct json_object *o, bool pretty)
{
	puts(json_object_to_json_string_ext(
		o, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				    JSON_C_TO_STRING_NOSLASHESCAPE
			  : JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

char *cli_abspath(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (streq(path, "."))
		return strdup(cwd);
	return hull_strdup_printf("%s/%s", cwd, path);
}

int cli_parse_bytes(const char *s, int64_t *ret)
{
	char *end = NULL;
	double v;
	int64_t mult = 1;

	if (streq(s, "-1")) {
		*ret = -1;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'b':
		end++;
		break;
	case 'k':
		mult = 1LL << 10;
		end++;
		break;
	case 'm':
		mult = 1LL << 20;
		end++;
		break;
	case 'g':
		mult = 1LL << 30;
		end++;
		break;
	case 't':
		mult = 1LL << 40;
		end++;
		break;
	case 'p':
		mult = 1LL << 50;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (mult > 1 && (*end == 'b' || *end == 'B'))
		end++;
	else if (mult > 1 && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
		end += 2;
	if (*end)
		return -EINVAL;
	if (v * (double)mult > 9.2e18)
		return -ERANGE;
	*ret = (int64_t)(v * (double)mult);
	return 0;
}

int cli_parse_duration(const char *s, int64_t *ret_ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 },   { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
		{ "ms", 1e6 }, { "s", 1e9 },  { "m", 60e9 },	    { "h", 3600e9 },
	};
	const char *p = s;
	double total = 0;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (streq(p, "0")) {
		*ret_ns = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		const char *start = p;
		double v = 0, frac = 0, scale = 1;
		size_t best = 0, ulen = 0;
		bool digits = false;

		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p++ - '0');
			digits = true;
		}
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				frac = frac * 10 + (*p++ - '0');
				scale *= 10;
				digits = true;
			}
		}
		if (!digits || p == start)
			return -EINVAL;
		for (size_t i = 0; i < ELEMENTSOF(units); i++) {
			size_t n = strlen(units[i].unit);

			/* longest match: "ms" before "m" */
			if (strncmp(p, units[i].unit, n) == 0 && n > ulen) {
				best = i;
				ulen = n;
			}
		}
		if (ulen == 0)
			return -EINVAL;
		p += ulen;
		total += (v + frac / scale) * units[best].ns;
		if (total > 9.2e18)
			return -ERANGE;
	}
	*ret_ns = (int64_t)(neg ? -total : total);
	return 0;
}
