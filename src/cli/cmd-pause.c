/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

static int freeze_run(const struct cli_verb *verb, struct cli *cli, int argc, char **argv,
		      struct hull_error **reterr)
{
	int c, r;

	while ((r = cli_getopt(verb, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(verb, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	if (verb == &cli_verb_pause)
		return hull_container_pause(&cli->rt, argv[optind], reterr);
	return hull_container_resume(&cli->rt, argv[optind], reterr);
}

static int pause_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	return freeze_run(&cli_verb_pause, cli, argc, argv, reterr);
}

static int resume_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	return freeze_run(&cli_verb_resume, cli, argc, argv, reterr);
}

const struct cli_verb cli_verb_pause = {
	.name = "pause",
	.summary = "freeze every process of a container",
	.usage = "<container-id>",
	.run = pause_run,
};

const struct cli_verb cli_verb_resume = {
	.name = "resume",
	.summary = "thaw a paused container",
	.usage = "<container-id>",
	.run = resume_run,
};
