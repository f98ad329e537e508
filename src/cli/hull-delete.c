/* SPDX-License-Identifier: Apache-2.0 */
/* hull delete [--force] NAME... */
#include "cli/hull-cli.h"
#include "instance/app.h"

static int delete_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	bool force = false;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_delete, argc, argv, "f", opts, &c, reterr)) == 0 &&
	       c != -1)
		if (c == 'f')
			force = true;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_delete, argc, argv, 1, -1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind; r >= 0 && i < argc; i++)
		/* app containers of `hull run` share the name space of delete */
		r = hull_app_exists(cli->home, argv[i])
			    ? hull_app_remove(cli->home, argv[i], force, 10, reterr)
			    : hull_instance_delete(cli->home, argv[i], force, reterr);
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_delete = {
	.name = "delete",
	.summary = "delete instances or app containers and everything they own (--force: stop "
		   "them first)",
	.usage = "[--force] NAME...",
	.run = delete_run,
};
