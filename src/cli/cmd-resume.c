/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

static int resume_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int c, r;

	while ((r = cli_getopt(&cli_verb_resume, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_resume, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	return hull_container_resume(&cli->rt, argv[optind], reterr);
}

const struct cli_verb cli_verb_resume = {
	.name = "resume",
	.summary = "thaw a paused container",
	.usage = "<container-id>",
	.run = resume_run,
};
