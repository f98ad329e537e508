/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "cli/cli.h"

static int run_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	struct hull_create_opts o = {};
	bool detach = false, keep = false;
	const char *id = NULL;
	int r, code = 0;

	r = cli_parse_create(&cli_verb_run, argc, argv, &o, &detach, &keep, &id, reterr);
	if (r == 0)
		r = hull_container_run(&cli->rt, id, &o, detach, keep, &code, reterr);
	free((char *)o.bundle);
	return r < 0 ? r : r > 0 ? 0 : code;
}

const struct cli_verb cli_verb_run = {
	.name = "run",
	.summary = "create and start a container; wait for it unless detached",
	.usage = "[options] <container-id>\n\n"
		 "  -b, --bundle DIR         bundle directory (default: the current directory)\n"
		 "  -d, --detach             return once the container runs\n"
		 "  --keep                   do not delete the container after it exits\n"
		 "  --console-socket PATH    unix socket that receives the pty master\n"
		 "  --pid-file FILE          write the container's pid to FILE\n"
		 "  --no-pivot               move the rootfs and chroot instead of pivot_root\n"
		 "  --no-new-keyring         keep the caller's session keyring\n"
		 "  --preserve-fds N         pass N extra fds (from 3) to the container",
	.run = run_run,
};
