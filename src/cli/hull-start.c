/* SPDX-License-Identifier: Apache-2.0 */
/* hull start NAME... | hull start --all [--autostart] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "util/str.h"

/*
 * Every instance that is not running (--autostart: those with
 * boot.autostart=true, highest boot.autostart.priority first), waiting each
 * one's boot.autostart.delay after starting it.  One failure does not stop
 * the others; each is reported on its own line.
 */
static int start_all(struct hull_cli *cli, bool autostart, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ unsigned *delays = NULL;
	size_t failed = 0, n;
	int r = hull_instance_autostart_order(cli->home, autostart, &names, &delays, reterr);

	if (r < 0)
		return r;
	n = hull_strv_length(names);
	for (size_t i = 0; i < n; i++) {
		_cleanup_(hull_instance_info_freep) struct hull_instance_info *info = NULL;
		_cleanup_error_ struct hull_error *err = NULL;

		if (hull_instance_get(cli->home, names[i], &info, NULL) >= 0 &&
		    info->status == HULL_INSTANCE_RUNNING)
			continue;
		r = hull_instance_start(cli->home, names[i], &err);
		if (r < 0) {
			fprintf(stderr, "hull: %s\n", err && err->msg ? err->msg : "start failed");
			failed++;
			continue;
		}
		printf("started %s\n", names[i]);
		fflush(stdout);
		if (delays[i] && i + 1 < n)
			sleep(delays[i]);
	}
	if (failed)
		return hull_error_set(reterr, -EIO, "start --all: %zu of %zu instances failed",
				      failed, n);
	return 0;
}

static int start_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
					      { "autostart", no_argument, NULL, 'A' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	bool all = false, autostart = false;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_start, argc, argv, "", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'A')
			autostart = true;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	if (autostart && !all)
		return hull_error_set(reterr, -EINVAL, "start: --autostart goes with --all");
	if (all) {
		r = hull_cli_want_args(&hull_verb_start, argc, argv, 0, 0, "", reterr);
		if (r >= 0)
			r = hull_cli_home(cli, reterr);
		return r < 0 ? r : start_all(cli, autostart, reterr);
	}
	r = hull_cli_want_args(&hull_verb_start, argc, argv, 1, -1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind; r >= 0 && i < argc; i++)
		r = hull_instance_start(cli->home, argv[i], reterr);
	return r < 0 ? r : 0;
}

const struct hull_cli_verb hull_verb_start = {
	.name = "start",
	.summary = "start instances (--all: every stopped one; --autostart: boot.autostart=true)",
	.usage = "NAME... | --all [--autostart]",
	.run = start_run,
};
