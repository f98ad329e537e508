/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/str.h"

int cli_parse_create(const struct cli_verb *verb, int argc, char **argv, struct hull_create_opts *o,
		     bool *detach, bool *keep, const char **ret_id, struct hull_error **reterr)
{
	enum {
		OPT_CONSOLE = 256,
		OPT_PIDFILE,
		OPT_NOPIVOT,
		OPT_NOKEYRING,
		OPT_PRESERVE,
		OPT_KEEP,
		OPT_NOSUBREAPER
	};
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "pid-file", required_argument, NULL, OPT_PIDFILE },
		{ "no-pivot", no_argument, NULL, OPT_NOPIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NOKEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "detach", no_argument, NULL, 'd' },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "no-subreaper", no_argument, NULL, OPT_NOSUBREAPER },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *bundle = ".";
	int c, r;

	for (;;) {
		r = cli_getopt(verb, argc, argv, detach ? "b:d" : "b:", opts, &c, reterr);
		if (r != 0)
			return r;
		if (c == -1)
			break;
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case OPT_PIDFILE:
			o->pid_file = optarg;
			break;
		case OPT_NOPIVOT:
			o->no_pivot = true;
			break;
		case OPT_NOKEYRING:
			o->no_new_keyring = true;
			break;
		case OPT_PRESERVE:
			if (hull_parse_u32(optarg, &o->preserve_fds) < 0 || o->preserve_fds > 1000)
				return hull_error_set(reterr, -EINVAL,
						      "--preserve-fds: invalid count '%s'", optarg);
			break;
		case 'd':
			if (!detach)
				goto unknown;
			*detach = true;
			break;
		case OPT_KEEP:
			if (!keep)
				goto unknown;
			*keep = true;
			break;
		case OPT_NOSUBREAPER:
			if (!detach)
				goto unknown;
			break;
		default:
		unknown:
			return hull_error_set(reterr, -EINVAL, "%s: unknown option '%s'",
					      verb->name, argv[optind - 1]);
		}
	}
	r = cli_want_args(verb, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	*ret_id = argv[optind];
	o->bundle = cli_abspath(bundle);
	if (!o->bundle)
		return hull_error_errno(reterr, -ENOMEM, "bundle path");
	return 0;
}

static int create_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	struct hull_create_opts o = {};
	const char *id = NULL;
	int r;

	r = cli_parse_create(&cli_verb_create, argc, argv, &o, NULL, NULL, &id, reterr);
	if (r == 0 && (cli->vm || hull_vm_bundle_wanted(o.bundle))) {
		if (o.console_socket || o.preserve_fds)
			r = hull_error_set(reterr, -EOPNOTSUPP, "%s: not supported in a VM yet",
					   o.console_socket ? "--console-socket"
							    : "--preserve-fds");
		else
			r = hull_vm_bundle_create(cli->rt.root, id, o.bundle, o.pid_file, reterr);
	} else if (r == 0)
		r = hull_container_create(&cli->rt, id, &o, reterr);
	free((char *)o.bundle);
	return r < 0 ? r : 0;
}

const struct cli_verb cli_verb_create = {
	.name = "create",
	.summary = "create a container from a bundle; it waits for 'start'",
	.usage = "[options] <container-id>\n\n"
		 "  -b, --bundle DIR         bundle directory (default: the current directory)\n"
		 "  --console-socket PATH    unix socket that receives the pty master\n"
		 "  --pid-file FILE          write the container's pid to FILE\n"
		 "  --no-pivot               move the rootfs and chroot instead of pivot_root\n"
		 "  --no-new-keyring         keep the caller's session keyring\n"
		 "  --preserve-fds N         pass N extra fds (from 3) to the container",
	.run = create_run,
};
