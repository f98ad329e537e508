/* SPDX-License-Identifier: Apache-2.0 */
/* hull stop [--timeout N] [--force] NAME... */
#include "cli/hull-cli.h"

int hull_cli_stop_options(struct hull_cli *cli, const struct hull_cli_verb *verb, int argc,
			  char **argv, unsigned *ret_timeout, bool *ret_force,
			  struct hull_error **reterr)
{
	static const struct option opts[] = { { "timeout", required_argument, NULL, 't' },
					      { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	unsigned timeout = 30;
	bool force = false;
	int c, r;

	while ((r = hull_cli_getopt(verb, argc, argv, "t:f", opts, &c, reterr)) == 0 && c != -1) {
		if (c == 't')
			r = hull_cli_parse_seconds("--timeout", optarg, &timeout, reterr);
		else if (c == 'f')
			force = true;
		if (r < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 1;
	r = hull_cli_want_args(verb, argc, argv, 1, -1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	*ret_timeout = timeout;
	*ret_force = force;
	return 0;
}

static int stop_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	unsigned timeout;
	bool force;
	int r;

	r = hull_cli_stop_options(cli, &hull_verb_stop, argc, argv, &timeout, &force, reterr);
	if (r != 0)
		return r < 0 ? r : 0;
	for (int i = optind; r >= 0 && i < argc; i++)
		r = hull_instance_stop(cli->home, argv[i], timeout, force, reterr);
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_stop = {
	.name = "stop",
	.summary = "stop instances: SIGRTMIN+3 to init, then SIGKILL after --timeout (30 s)",
	.usage = "[--timeout SECONDS] [--force] NAME...",
	.run = stop_run,
};
