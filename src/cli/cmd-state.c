/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "cli/cli.h"
#include "util/json.h"

static int state_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	int c, r;

	while ((r = cli_getopt(&cli_verb_state, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_state, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	if (hull_vm_bundle_exists(cli->rt.root, argv[optind])) {
		r = hull_vm_bundle_state(cli->rt.root, argv[optind], &o, reterr);
		if (r < 0)
			return r;
		cli_print_json(o, true);
		return 0;
	}
	r = hull_container_state(&cli->rt, argv[optind], &s, reterr);
	if (r < 0)
		return r;
	o = hull_state_to_json(s);
	if (!o)
		return hull_error_errno(reterr, -ENOMEM, "state");
	cli_print_json(o, true);
	return 0;
}

const struct cli_verb cli_verb_state = {
	.name = "state",
	.summary = "print the state of a container as JSON",
	.usage = "<container-id>",
	.run = state_run,
};
