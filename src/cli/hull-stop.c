/* SPDX-License-Identifier: Apache-2.0 */
/* hull stop [--timeout N] [--force] NAME... */
#include "cli/hull-cli.h"
#include "instance/app.h"

int hull_cli_stop_options(struct hull_cli *cli, const struct hull_cli_verb *verb, int argc,
			  char **argv, unsigned *ret_timeout, bool *ret_force, bool *ret_all,
			  struct hull_error **reterr)
{
	static const struct option opts[] = { { "timeout", required_argument, NULL, 't' },
					      { "force", no_argument, NULL, 'f' },
					      { "all", no_argument, NULL, 'a' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	unsigned timeout = 30;
	bool force = false, all = false;
	int c, r;

	while ((r = hull_cli_getopt(verb, argc, argv, "t:f", opts, &c, reterr)) == 0 && c != -1) {
		if (c == 't')
			r = hull_cli_parse_seconds("--timeout", optarg, &timeout, reterr);
		else if (c == 'f')
			force = true;
		else if (c == 'a' && !ret_all)
			return hull_error_set(reterr, -EINVAL, "%s: unknown option '--all'",
					      verb->name);
		else if (c == 'a')
			all = true;
		if (r < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 1;
	r = hull_cli_want_args(verb, argc, argv, all ? 0 : 1, all ? 0 : -1, "the instance name",
			       reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	*ret_timeout = timeout;
	*ret_force = force;
	if (ret_all)
		*ret_all = all;
	return 0;
}

static int stop_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	unsigned timeout;
	bool force, all;
	int r;

	r = hull_cli_stop_options(cli, &hull_verb_stop, argc, argv, &timeout, &force, &all, reterr);
	if (r != 0)
		return r < 0 ? r : 0;
	if (all) {
		struct hull_instance_info **l = NULL;
		size_t n = 0;

		r = hull_instance_list(cli->home, &l, &n, reterr);
		for (size_t i = 0; r >= 0 && i < n; i++)
			if (l[i]->status != HULL_INSTANCE_STOPPED)
				r = hull_instance_stop(cli->home, l[i]->config->name, timeout,
						       force, reterr);
		hull_instance_info_list_free(l, n);
		return r < 0 ? r : 0;
	}
	for (int i = optind; r >= 0 && i < argc; i++)
		r = hull_app_exists(cli->home, argv[i])
			    ? hull_app_stop(cli->home, argv[i], timeout, force, reterr)
			    : hull_instance_stop(cli->home, argv[i], timeout, force, reterr);
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_stop = {
	.name = "stop",
	.summary = "stop instances: SIGRTMIN+3 to init, then SIGKILL after --timeout (30 s)",
	.usage = "[--timeout SECONDS] [--force] NAME... | --all",
	.run = stop_run,
};
