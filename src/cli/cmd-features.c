/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"
#include "util/json.h"

static int features_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	int c, r;

	while ((r = cli_getopt(&cli_verb_features, argc, argv, "", NULL, &c, reterr)) == 0 &&
	       c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_features, argc, argv, 0, 0, reterr);
	if (r < 0)
		return r;
	o = hull_runtime_features();
	cli_print_json(o, true);
	(void)cli;
	return 0;
}

const struct cli_verb cli_verb_features = {
	.name = "features",
	.summary = "print what this runtime supports as JSON",
	.usage = "",
	.run = features_run,
};
