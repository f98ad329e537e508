/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull: the instance manager for system containers.
 *   hull [--state-dir DIR] COMMAND [ARGS]
 * State lives in DIR, $HULL_DIR or /var/lib/hull.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "runtime/cloned-binary.h"
#include "util/file.h"
#include "util/log.h"
#include "util/str.h"

static const struct hull_cli_verb *const verbs[] = {
	&hull_verb_image,   &hull_verb_init,	&hull_verb_launch, &hull_verb_start,
	&hull_verb_stop,    &hull_verb_restart, &hull_verb_delete, &hull_verb_list,
	&hull_verb_info,    &hull_verb_exec,	&hull_verb_logs,   &hull_verb_snapshot,
	&hull_verb_restore, &hull_verb_copy,	&hull_verb_file,   &hull_verb_config,
	&hull_verb_console, &hull_verb_login,	&hull_verb_logout, &hull_verb_profile,
	&hull_verb_run,	    &hull_verb_network,
};

/* The verbs that put a process into an instance's namespaces. */
static bool verb_enters_instance(const char *verb)
{
	return streq(verb, "launch") || streq(verb, "start") || streq(verb, "restart") ||
	       streq(verb, "exec") || streq(verb, "run");
}

static void print_help(void)
{
	printf("usage: hull [--state-dir DIR] [--debug] COMMAND [ARGS]\n\n"
	       "Manages system containers: whole distributions with their own init,\n"
	       "unprivileged, each in its own subordinate id range.\n\n"
	       "State lives in --state-dir, $HULL_DIR, or %s.\n\ncommands:\n",
	       HULL_DEFAULT_STATE_DIR);
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-8s %s\n", verbs[i]->name, verbs[i]->summary);
	printf("\n'hull COMMAND --help' shows a command's options.\n");
}

int hull_cli_home(struct hull_cli *cli, struct hull_error **reterr)
{
	if (cli->home)
		return 0;
	return hull_home_open(cli->state_dir, &cli->home, reterr);
}

int hull_cli_getopt(const struct hull_cli_verb *verb, int argc, char **argv, const char *shortopts,
		    const struct option *longopts, int *ret_opt, struct hull_error **reterr)
{
	static const struct option help_only[] = { { "help", no_argument, NULL, 'h' }, {} };
	char opts[64];
	int c;

	/* options may follow positional arguments; '--' ends them (exec's command) */
	snprintf(opts, sizeof(opts), ":h%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts ? longopts : help_only, NULL);
	if (c == 'h') {
		printf("usage: hull %s %s\n\n%s\n", verb->name, verb->usage, verb->summary);
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

int hull_cli_getopt_flag(const struct hull_cli_verb *verb, int argc, char **argv, char flag,
			 const char *name, bool *ret_flag, struct hull_error **reterr)
{
	const struct option opts[] = { { name, no_argument, NULL, flag },
				       { "help", no_argument, NULL, 'h' },
				       {} };
	const char shortopts[] = { flag, '\0' };
	int c, r;

	*ret_flag = false;
	while ((r = hull_cli_getopt(verb, argc, argv, shortopts, opts, &c, reterr)) == 0 && c != -1)
		if (c == flag)
			*ret_flag = true;
	return r;
}

int hull_cli_parse_tls_verify(const char *arg, bool *ret_off, struct hull_error **reterr)
{
	if (arg && !streq(arg, "true") && !streq(arg, "false"))
		return hull_error_set(reterr, -EINVAL,
				      "--tls-verify: expected true or false, got '%s'", arg);
	*ret_off = arg && streq(arg, "false");
	return 0;
}

int hull_cli_list_format_check(const char *format, struct hull_error **reterr)
{
	static const char *const formats[] = { "table", "json", "csv", "yaml" };

	for (size_t i = 0; i < ELEMENTSOF(formats); i++)
		if (streq(format, formats[i]))
			return 0;
	return hull_error_set(reterr, -EINVAL,
			      "--format: expected table, json, csv or yaml, got '%s'", format);
}

int hull_cli_want_args(const struct hull_cli_verb *verb, int argc, char **argv, int min, int max,
		       const char *what, struct hull_error **reterr)
{
	int n = argc - optind;

	if (n < min)
		return hull_error_set(reterr, -EINVAL, "%s: missing %s (usage: hull %s %s)",
				      verb->name, what, verb->name, verb->usage);
	if (max >= 0 && n > max)
		return hull_error_set(reterr, -EINVAL, "%s: unexpected argument '%s'", verb->name,
				      argv[optind + max]);
	return 0;
}

int hull_cli_parse_seconds(const char *option, const char *s, unsigned *ret,
			   struct hull_error **reterr)
{
	uint32_t v;

	if (hull_parse_u32(s, &v) < 0 || v > 24 * 3600)
		return hull_error_set(reterr, -EINVAL,
				      "%s: expected a number of seconds (0 to 86400), got '%s'",
				      option, s);
	*ret = v;
	return 0;
}

/* The createRuntime hook that plugs in an instance's nics: see hull_instance_nic_hook(). */
static int nic_hook(void)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *state = NULL;
	size_t len = 0;
	int r;

	r = hull_read_fd(STDIN_FILENO, &state, &len);
	if (r >= 0)
		r = hull_instance_nic_hook(state, len, &err);
	if (r < 0) {
		fprintf(stderr, "hull: nics: %s\n", err && err->msg ? err->msg : strerror(-r));
		return 1;
	}
	return 0;
}

/* The createRuntime hook of instances: see hull_instance_delegate_hook(). */
static int delegate_hook(int argc, char **argv)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *state = NULL;
	uint32_t uid, gid;
	size_t len = 0;
	int r;

	if (argc != 3 || hull_parse_u32(argv[1], &uid) < 0 || hull_parse_u32(argv[2], &gid) < 0) {
		fprintf(stderr, "hull: __delegate-cgroups: expected UID GID\n");
		return 1;
	}
	r = hull_read_fd(STDIN_FILENO, &state, &len);
	if (r >= 0)
		r = hull_instance_delegate_hook(state, len, uid, gid, &err);
	if (r < 0) {
		fprintf(stderr, "hull: delegate cgroups: %s\n",
			err && err->msg ? err->msg : strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_STATE_DIR = 256, OPT_DEBUG };
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_cli cli = {};
	enum hull_log_level level = HULL_LOG_WARN;
	const char *verb_name;
	int c, r = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			cli.state_dir = optarg;
			break;
		case OPT_DEBUG:
			level = HULL_LOG_DEBUG;
			break;
		case 'v':
			printf("hull version %s\n", HULL_VERSION);
			return 0;
		case 'h':
			print_help();
			return 0;
		case ':':
			r = hull_error_set(&err, -EINVAL, "option '%s' needs a value",
					   argv[optind - 1]);
			goto fail;
		default:
			r = hull_error_set(&err, -EINVAL, "unknown global option '%s'",
					   argv[optind - 1]);
			goto fail;
		}
	}
	hull_log_setup(STDERR_FILENO, HULL_LOG_TEXT, level);
	if (optind >= argc) {
		print_help();
		return 1;
	}
	verb_name = argv[optind];
	/*
	 * The verbs that put a process into an instance run from a sealed copy of
	 * the binary (CVE-2019-5736), as hull-runtime's create/run/exec do.
	 */
	if (verb_enters_instance(verb_name)) {
		r = hull_cloned_binary_ensure(argv, &err);
		if (r < 0)
			goto fail;
	}
	if (streq(verb_name, "__nic-hook"))
		return nic_hook();
	if (streq(verb_name, "__delegate-cgroups"))
		return delegate_hook(argc - optind, argv + optind);
	if (streq(verb_name, "help")) {
		print_help();
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		if (!streq(verbs[i]->name, verb_name))
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;
		r = verbs[i]->run(&cli, argc, argv, &err);
		hull_home_free(cli.home);
		if (r < 0)
			goto fail;
		return r;
	}
	r = hull_error_set(&err, -EINVAL, "unknown command '%s' (see 'hull --help')", verb_name);
fail:
	fprintf(stderr, "hull: %s\n", err && err->msg ? err->msg : strerror(-r));
	return 1;
}
