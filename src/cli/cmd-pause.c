/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

static int pause_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int c, r;

	while ((r = cli_getopt(&cli_verb_pause, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_pause, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	return hull_container_pause(&cli->rt, argv[optind], reterr);
}

const struct cli_verb cli_verb_pause = {
	.name = "pause",
	.summary = "freeze every process of a container",
	.usage = "<container-id>",
	.run = pause_run,
};
