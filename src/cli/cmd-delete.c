/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

static int delete_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool force = false;
	int c, r;

	while ((r = cli_getopt(&cli_verb_delete, argc, argv, "f", opts, &c, reterr)) == 0 &&
	       c != -1)
		force = true;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_delete, argc, argv, 1, -1, reterr);
	if (r < 0)
		return r;
	for (int i = optind; i < argc; i++) {
		if (hull_vm_bundle_exists(cli->rt.root, argv[i]))
			r = hull_vm_bundle_delete(cli->rt.root, argv[i], force, reterr);
		else
			r = hull_container_delete(&cli->rt, argv[i], force, reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

const struct cli_verb cli_verb_delete = {
	.name = "delete",
	.summary = "delete a stopped container (--force: any container) and all it made",
	.usage = "[options] <container-id>...\n\n"
		 "  -f, --force    kill the container first if it still runs",
	.run = delete_run,
};
