/* SPDX-License-Identifier: Apache-2.0 */
/* hull restart [--timeout N] [--force] NAME... */
#include "cli/hull-cli.h"

static int restart_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "timeout", required_argument, NULL, 't' },
					      { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	unsigned timeout = 30;
	bool force = false;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_restart, argc, argv, "t:f", opts, &c, reterr)) ==
		       0 &&
	       c != -1) {
		if (c == 't')
			r = hull_cli_parse_seconds("--timeout", optarg, &timeout, reterr);
		else if (c == 'f')
			force = true;
		if (r < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_restart, argc, argv, 1, -1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind; r >= 0 && i < argc; i++) {
		r = hull_instance_stop(cli->home, argv[i], timeout, force, reterr);
		if (r >= 0)
			r = hull_instance_start(cli->home, argv[i], reterr);
	}
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_restart = {
	.name = "restart",
	.summary = "stop and start running instances",
	.usage = "[--timeout SECONDS] [--force] NAME...",
	.run = restart_run,
};
