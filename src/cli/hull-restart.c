/* SPDX-License-Identifier: Apache-2.0 */
/* hull restart [--timeout N] [--force] NAME... */
#include "cli/hull-cli.h"

static int restart_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	unsigned timeout;
	bool force;
	int r;

	r = hull_cli_stop_options(cli, &hull_verb_restart, argc, argv, &timeout, &force, NULL,
				  reterr);
	if (r != 0)
		return r < 0 ? r : 0;
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
