/* SPDX-License-Identifier: Apache-2.0 */
/* hull exec NAME [--env K=V] [--cwd DIR] [--user UID[:GID]] -- CMD [ARGS] */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "util/str.h"

static int parse_user(const char *s, struct hull_instance_exec_opts *o, struct hull_error **reterr)
{
	_cleanup_free_ char *copy = strdup(s);
	char *colon = copy ? strchr(copy, ':') : NULL;

	if (!copy)
		return -ENOMEM;
	if (colon)
		*colon = '\0';
	if (hull_parse_u32(copy, &o->uid) < 0 || (colon && hull_parse_u32(colon + 1, &o->gid) < 0))
		return hull_error_set(reterr, -EINVAL, "--user: expected UID[:GID], got '%s'", s);
	if (!colon)
		o->gid = o->uid;
	o->user_set = true;
	return 0;
}

static int exec_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "env", required_argument, NULL, 'e' },
					      { "cwd", required_argument, NULL, 'w' },
					      { "user", required_argument, NULL, 'u' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	_cleanup_strv_free_ char **env = NULL;
	struct hull_instance_exec_opts o = {};
	int c, r, status = 0;
	const char *name;

	while ((r = hull_cli_getopt(&hull_verb_exec, argc, argv, "e:w:u:", opts, &c, reterr)) ==
		       0 &&
	       c != -1) {
		if (c == 'e' && hull_strv_push(&env, optarg) < 0)
			return -ENOMEM;
		if (c == 'w')
			o.cwd = optarg;
		if (c == 'u' && (r = parse_user(optarg, &o, reterr)) < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_exec, argc, argv, 2, -1,
			       "the instance name and a command", reterr);
	if (r < 0)
		return r;
	name = argv[optind++];
	if (optind >= argc)
		return hull_error_set(reterr, -EINVAL, "exec: missing the command (after '--')");
	r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	o.args = argv + optind;
	o.env = env;
	o.terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	fflush(stdout);
	r = hull_instance_exec(cli->home, name, &o, &status, reterr);
	if (r < 0)
		return r;
	return status;
}

const struct hull_cli_verb hull_verb_exec = {
	.name = "exec",
	.summary = "run a command in a running instance (a pty when stdin is a terminal); "
		   "exits with its status",
	.usage = "NAME [--env K=V]... [--cwd DIR] [--user UID[:GID]] -- CMD [ARGS]",
	.run = exec_run,
};
