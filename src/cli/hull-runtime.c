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
#include "runtime/cloned-binary.h"
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

/* The verbs that put a process into a container's namespaces (see runtime/cloned-binary.h). */
static bool verb_enters_container(const char *name)
{
	return streq(name, "create") || streq(name, "run") || streq(name, "exec");
}

struct global_opts {
	const char *log_path;
	enum hull_log_format format;
	enum hull_log_level level;
	bool root_given;
};

/*
 * Parses the options before the verb into `cli` and `g`.  Returns 1 when
 * --help or --version was answered (exit 0), 0 to go on, -errno on error.
 */
static int parse_global_options(struct cli *cli, struct global_opts *g, int argc, char **argv,
				struct hull_error **reterr)
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
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			cli->rt.root = optarg;
			g->root_given = true;
			break;
		case OPT_LOG:
			g->log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (hull_log_format_from_string(optarg, &g->format) < 0)
				return hull_error_set(
					reterr, -EINVAL,
					"--log-format: unknown format '%s' (text or json)", optarg);
			break;
		case OPT_DEBUG:
			g->level = HULL_LOG_DEBUG;
			break;
		case OPT_SYSTEMD:
			cli->rt.systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
		case OPT_CRIU:
			break; /* accepted for runc compatibility: hull detects rootless itself */
		case 'v':
			print_version();
			return 1;
		case 'h':
			print_help();
			return 1;
		case ':':
			return hull_error_set(reterr, -EINVAL, "option '%s' needs a value",
					      argv[optind - 1]);
		default:
			return hull_error_set(reterr, -EINVAL, "unknown global option '%s'",
					      argv[optind - 1]);
		}
	}
	return 0;
}

/* Opens --log FILE (appending, as runc) and routes log lines there; returns the fd. */
static int setup_log(const struct global_opts *g, struct hull_error **reterr)
{
	int fd = STDERR_FILENO;

	if (g->log_path && *g->log_path) {
		fd = open(g->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return hull_error_errno(reterr, -errno, "--log: open '%s'", g->log_path);
	}
	hull_log_setup(fd, g->format, g->level);
	return fd;
}

/* As runc: an unprivileged user without --root keeps state in its own runtime dir. */
static void pick_root(struct cli *cli, bool root_given, char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	cli->rt.rootless = running_rootless();
	if (!cli->rt.rootless || root_given || !xdg || !*xdg)
		return;
	if (snprintf(buf, size, "%s/hull", xdg) < (int)size)
		cli->rt.root = buf;
}

/* Runs the verb argv[0]; its return value (>= 0 an exit status) or -errno. */
static int dispatch(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		if (!streq(verbs[i]->name, argv[0]))
			continue;
		optind = 0; /* getopt restarts for the verb's own options */
		return verbs[i]->run(cli, argc, argv, reterr);
	}
	return hull_error_set(reterr, -EINVAL, "unknown command '%s' (see 'hull-runtime --help')",
			      argv[0]);
}

/* The one place an error is printed: stderr, and the --log file in runc's format. */
static void report_error(const struct hull_error *err, int r, int log_fd)
{
	const char *msg = err && err->msg ? err->msg : strerror(-r);

	if (log_fd != STDERR_FILENO)
		hull_err("%s", msg);
	fprintf(stderr, "hull-runtime: %s\n", msg);
}

int main(int argc, char **argv)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct cli cli = {
		.rt = { .root = HULL_DEFAULT_ROOT },
		.prog = "hull-runtime",
		.fail_status = 1,
	};
	struct global_opts g = { .format = HULL_LOG_TEXT, .level = HULL_LOG_WARN };
	char rootless_root[4096];
	int log_fd = STDERR_FILENO, r;
	const char *base = strrchr(argv[0], '/');

	/* hull-runtime-vm: the same binary, every bundle in a micro-VM */
	cli.vm = streq(base ? base + 1 : argv[0], "hull-runtime-vm");
	if (cli.vm)
		cli.prog = "hull-runtime-vm";

	r = parse_global_options(&cli, &g, argc, argv, &err);
	if (r > 0)
		return 0;
	/* first, before any fd is opened: re-execs the binary from a sealed copy */
	if (r >= 0 && optind < argc && verb_enters_container(argv[optind]))
		r = hull_cloned_binary_ensure(argv, &err);
	if (r >= 0)
		r = log_fd = setup_log(&g, &err);
	if (r < 0) {
		report_error(err, r, STDERR_FILENO);
		return 1;
	}
	pick_root(&cli, g.root_given, rootless_root, sizeof(rootless_root));
	if (optind >= argc) {
		print_help();
		return 1;
	}
	if (streq(argv[optind], "help")) {
		print_help();
		return 0;
	}
	r = dispatch(&cli, argc - optind, argv + optind, &err);
	if (r >= 0)
		return r;
	report_error(err, r, log_fd);
	return cli.fail_status;
}
