/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

static int start_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int c, r;

	while ((r = cli_getopt(&cli_verb_start, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_start, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	if (hull_vm_bundle_exists(cli->rt.root, argv[optind]))
		return hull_vm_bundle_start(cli->rt.root, argv[optind], reterr);
	return hull_container_start(&cli->rt, argv[optind], reterr);
}

const struct cli_verb cli_verb_start = {
	.name = "start",
	.summary = "start the process of a created container",
	.usage = "<container-id>",
	.run = start_run,
};
