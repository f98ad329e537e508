/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/json.h"
#include "util/str.h"

static int print_event(struct json_object *event, void *userdata)
{
	(void)userdata;
	cli_print_json(event, false);
	if (fflush(stdout) == EOF)
		return -errno; /* the reader went away: end the stream */
	return 0;
}

/* --interval as runc takes it: a Go duration, greater than zero. */
static int parse_interval(const char *s, uint64_t *ret_ms, struct hull_error **reterr)
{
	int64_t ns;

	if (cli_parse_duration(s, &ns) < 0)
		return hull_error_set(reterr, -EINVAL,
				      "--interval: invalid duration '%s' (e.g. 100ms, 5s, 1m30s)",
				      s);
	if (ns <= 0)
		return hull_error_set(reterr, -EINVAL,
				      "--interval: must be greater than 0, got '%s'", s);
	*ret_ms = ((uint64_t)ns + 999999) / 1000000; /* under 1ms rounds up to 1ms */
	return 0;
}

static int events_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_json_ struct json_object *o = NULL;
	uint64_t interval_ms = 5000;
	bool once = false;
	int c, r;

	while ((r = cli_getopt(&cli_verb_events, argc, argv, "", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 's')
			once = true;
		else if ((r = parse_interval(optarg, &interval_ms, reterr)) < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_events, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	if (once) {
		r = hull_container_stats(&cli->rt, argv[optind], &o, reterr);
		if (r < 0)
			return r;
		cli_print_json(o, false);
		return 0;
	}
	r = hull_container_events(&cli->rt, argv[optind], interval_ms, print_event, NULL, reterr);
	return r < 0 ? r : 0;
}

const struct cli_verb cli_verb_events = {
	.name = "events",
	.summary = "print container statistics and OOM notifications as JSON lines",
	.usage = "[options] <container-id>\n\n"
		 "  --stats              print the statistics once and exit\n"
		 "  --interval DURATION  time between statistics, a Go duration: 100ms, 5s,\n"
		 "                       1m30s (default 5s)\n\n"
		 "Lines: {\"type\":\"stats\",\"id\":..,\"data\":{..}} and "
		 "{\"type\":\"oom\",\"id\":..}.\n"
		 "Ends (exit 0) when the container is deleted.",
	.run = events_run,
};
