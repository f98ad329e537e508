/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>

#include "cli/cli.h"
#include "util/str.h"

static int kill_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool all = false;
	int sig = SIGTERM, c, r;

	while ((r = cli_getopt(&cli_verb_kill, argc, argv, "a", opts, &c, reterr)) == 0 && c != -1)
		all = true;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_kill, argc, argv, 1, 2, reterr);
	if (r < 0)
		return r;
	/* signal 0 only checks that the process exists, as kill(2) and runc do */
	if (argc - optind == 2 && streq(argv[optind + 1], "0"))
		sig = 0;
	else if (argc - optind == 2 && cli_parse_signal(argv[optind + 1], &sig) < 0)
		return hull_error_set(reterr, -EINVAL, "kill: unknown signal '%s'",
				      argv[optind + 1]);
	if (hull_vm_bundle_exists(cli->rt.root, argv[optind]))
		return hull_vm_bundle_kill(cli->rt.root, argv[optind], sig, reterr);
	return hull_container_kill(&cli->rt, argv[optind], sig, all, reterr);
}

const struct cli_verb cli_verb_kill = {
	.name = "kill",
	.summary = "send a signal (default TERM) to the container's init",
	.usage = "[options] <container-id> [signal]\n\n"
		 "  -a, --all    signal every process in the container's cgroup\n\n"
		 "signal: a name (TERM, SIGTERM) or a number (15); 0 only checks that the\n"
		 "process exists",
	.run = kill_run,
};
