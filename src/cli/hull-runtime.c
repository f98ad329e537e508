/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-runtime: a runc-compatible OCI runtime.  Global options, then one verb;
 * each verb lives in its own cmd-<verb>.c.  Errors are printed once, here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/log.h"
#include "util/str.h"

static const struct cli_verb *const verbs[] = {
	&cli_verb_create, &cli_verb_start,  &cli_verb_run,  &cli_verb_state,	&cli_verb_kill,
	&cli_verb_delete, &cli_verb_list,   &cli_verb_ps,   &cli_verb_exec,	&cli_verb_pause,
	&cli_verb_resume, &cli_verb_update, &cli_verb_spec, &cli_verb_features, &cli_verb_events,
};

static void print_help(void)
{
	printf("usage: hull-runtime [global options] <command> [options] [arguments]\n\n"
	       "hull-runtime runs OCI bundles (runtime-spec %s); it is command-line\n"
	       "compatible with runc.\n\ncommands:\n",
	       HULL_OCI_VERSION);
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-10s %s\n", verbs[i]->name, verbs[i]->summary);
	printf("\nglobal options:\n"
	       "  --root DIR             state directory (default %s)\n"
	       "  --log FILE             write log lines to FILE instead of stderr\n"
	       "  --log-format FORMAT    text or json (default text)\n"
	       "  --debug                log debug messages\n"
	       "  --systemd-cgroup       let systemd manage cgroups (needs systemd running)\n"
	       "  -v, --version          print the version\n"
	       "  -h, --help             print this help\n"
	       "\n'hull-runtime COMMAND --help' describes a command.\n",
	       HULL_DEFAULT_ROOT);
}

static void print_version(void)
{
	const struct scmp_version *v = seccomp_version();

	printf("hull-runtime version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", HULL_VERSION,
	       HULL_OCI_VERSION, v->major, v->minor, v->micro);
}

/*
 * Without host root: either an unprivileged uid, or uid 0 of a user namespace
 * someone else made (rootless podman runs its runtime so), told apart from a
 * real root in a container by $USER, as runc does.
 */
static bool running_rootless(void)
{
	_cleanup_free_ char *map = NULL;
	const char *user;
	unsigned long inside, outside, count;

	if (geteuid() != 0)
		return true;
	if (hull_read_file_at(AT_FDCWD, "/proc/self/uid_map", &map, NULL) < 0)
		return false;
	if (sscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
	    outside == 0 && count == 4294967295UL)
		return false; /* the initial user namespace */
	user = getenv("USER");
	return !user || !streq(user, "root");
}

int main(int argc, char **argv)
{
	enum {
		OPT_ROOT = 256,
		OPT_LOG,
		OPT_LOG_FORMAT,
		OPT_DEBUG,
		OPT_SYSTEMD,
		OPT_ROOTLESS,
		OPT_CRIU
	};
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD },
		{ "rootless", required_argument, NULL, OPT_ROOTLESS },
		{ "criu", required_argument, NULL, OPT_CRIU },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_error_ struct hull_error *err = NULL;
	struct cli cli = { .rt = { .root = HULL_DEFAULT_ROOT }, .prog = "hull-runtime" };
	enum hull_log_format format = HULL_LOG_TEXT;
	enum hull_log_level level = HULL_LOG_WARN;
	const char *log_path = NULL, *verb_name;
	int log_fd = STDERR_FILENO, c, r = 0;
	char rootless_root[4096];
	bool root_given = false;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			cli.rt.root = optarg;
			root_given = true;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (hull_log_format_from_string(optarg, &format) < 0)
				r = hull_error_set(
					&err, -EINVAL,
					"--log-format: unknown format '%s' (text or json)", optarg);
			break;
		case OPT_DEBUG:
			level = HULL_LOG_DEBUG;
			break;
		case OPT_SYSTEMD:
			cli.rt.systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
		case OPT_CRIU:
			break; /* accepted for runc compatibility: hull detects rootless itself */
		case 'v':
			print_version();
			return 0;
		case 'h':
			print_help();
			return 0;
		case ':':
			r = hull_error_set(&err, -EINVAL, "option '%s' needs a value",
					   argv[optind - 1]);
			break;
		default:
			r = hull_error_set(&err, -EINVAL, "unknown global option '%s'",
					   argv[optind - 1]);
			break;
		}
		if (r < 0)
			goto fail;
	}
	if (log_path && *log_path) {
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			log_fd = STDERR_FILENO;
			r = hull_error_errno(&err, -errno, "open log '%s'", log_path);
			goto fail;
		}
	}
	hull_log_setup(log_fd, format, level);
	cli.rt.rootless = running_rootless();
	if (cli.rt.rootless && !root_given) {
		/* as runc: an unprivileged user keeps state in its own runtime dir */
		const char *xdg = getenv("XDG_RUNTIME_DIR");

		if (xdg && *xdg &&
		    snprintf(rootless_root, sizeof(rootless_root), "%s/hull", xdg) <
			    (int)sizeof(rootless_root))
			cli.rt.root = rootless_root;
	}

	if (optind >= argc) {
		print_help();
		return 1;
	}
	verb_name = argv[optind];
	if (streq(verb_name, "help")) {
		print_help();
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		if (!streq(verbs[i]->name, verb_name))
			continue;
		argc -= optind;
		argv += optind;
		optind = 0; /* getopt restarts for the verb's own options */
		r = verbs[i]->run(&cli, argc, argv, &err);
		if (r < 0)
			goto fail;
		return r;
	}
	r = hull_error_set(&err, -EINVAL, "unknown command '%s' (see 'hull-runtime --help')",
			   verb_name);
fail:
	if (log_fd != STDERR_FILENO)
		hull_err("%s", err && err->msg ? err->msg : strerror(-r));
	fprintf(stderr, "hull-runtime: %s\n", err && err->msg ? err->msg : strerror(-r));
	return 1;
}
