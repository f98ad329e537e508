/* SPDX-License-Identifier: Apache-2.0 */
/* hull start NAME... */
#include "cli/hull-cli.h"

static int start_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_start, argc, argv, "", NULL, &c, reterr)) == 0 &&
	       c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_start, argc, argv, 1, -1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind; r >= 0 && i < argc; i++)
		r = hull_instance_start(cli->home, argv[i], reterr);
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_start = {
	.name = "start",
	.summary = "start instances",
	.usage = "NAME...",
	.run = start_run,
};
