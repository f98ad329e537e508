/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/json.h"
#include "util/str.h"

static int events_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool once = false;
	unsigned interval = 5;
	int c, r;

	while ((r = cli_getopt(&cli_verb_events, argc, argv, "", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 's') {
			once = true;
		} else {
			/* accepts Go durations of whole seconds: "5s" or "5" */
			char buf[32];
			size_t n = strlen(optarg);

			snprintf(buf, sizeof(buf), "%s", optarg);
			if (n > 0 && n < sizeof(buf) && buf[n - 1] == 's')
				buf[n - 1] = '\0';
			if (hull_parse_u32(buf, &interval) < 0 || interval == 0)
				return hull_error_set(reterr, -EINVAL, "--interval: invalid '%s'",
						      optarg);
		}
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_events, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_json_ struct json_object *o = NULL;

		r = hull_container_stats(&cli->rt, argv[optind], &o, reterr);
		if (r < 0)
			return r;
		cli_print_json(o, false);
		fflush(stdout);
		if (once)
			return 0;
		sleep(interval);
	}
}

const struct cli_verb cli_verb_events = {
	.name = "events",
	.summary = "print container statistics as JSON",
	.usage = "[options] <container-id>\n\n"
		 "  --stats          print the statistics once and exit\n"
		 "  --interval SECS  time between statistics (default 5s)",
	.run = events_run,
};
