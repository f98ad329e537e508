/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"
#include "util/str.h"

/* runc prints with Go's tabwriter(minwidth 12, padding 3): each column as wide as it needs. */
static void print_table(struct hull_state **l, size_t n)
{
	static const char *const head[] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
	size_t w[6];
	char pid[32];

	for (size_t c = 0; c < 6; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const char *cells[6] = { l[i]->id,
					 pid,
					 hull_status_name(l[i]->status),
					 l[i]->bundle ? l[i]->bundle : "",
					 l[i]->created ? l[i]->created : "",
					 l[i]->owner && *l[i]->owner ? l[i]->owner : "root" };

		snprintf(pid, sizeof(pid), "%d",
			 l[i]->status == HULL_STATUS_STOPPED ? 0 : (int)l[i]->pid);
		for (size_t c = 0; c < 6; c++)
			if (strlen(cells[c]) > w[c])
				w[c] = strlen(cells[c]);
	}
	for (size_t c = 0; c < 6; c++)
		w[c] = w[c] + 3 < 12 ? 12 : w[c] + 3;
	printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], head[0], (int)w[1], head[1], (int)w[2],
	       head[2], (int)w[3], head[3], (int)w[4], head[4], head[5]);
	for (size_t i = 0; i < n; i++) {
		snprintf(pid, sizeof(pid), "%d",
			 l[i]->status == HULL_STATUS_STOPPED ? 0 : (int)l[i]->pid);
		printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], l[i]->id, (int)w[1], pid, (int)w[2],
		       hull_status_name(l[i]->status), (int)w[3], l[i]->bundle ? l[i]->bundle : "",
		       (int)w[4], l[i]->created ? l[i]->created : "",
		       l[i]->owner && *l[i]->owner ? l[i]->owner : "root");
	}
}

static int list_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct hull_state **l = NULL;
	const char *format = "table";
	bool quiet = false;
	size_t n = 0;
	int c, r;

	while ((r = cli_getopt(&cli_verb_list, argc, argv, "f:q", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 'f')
			format = optarg;
		else
			quiet = true;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_list, argc, argv, 0, 0, reterr);
	if (r < 0)
		return r;
	if (!streq(format, "table") && !streq(format, "json"))
		return hull_error_set(reterr, -EINVAL, "list: unknown format '%s' (table or json)",
				      format);
	r = hull_container_list(&cli->rt, &l, &n, reterr);
	if (r < 0)
		return r;
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			puts(l[i]->id);
	} else if (streq(format, "json")) {
		_cleanup_json_ struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, hull_state_to_json(l[i]));
		if (n == 0)
			puts("null"); /* what runc prints for no containers */
		else
			cli_print_json(a, false);
	} else {
		print_table(l, n);
	}
	hull_state_list_free(l, n);
	return 0;
}

const struct cli_verb cli_verb_list = {
	.name = "list",
	.summary = "list the containers under the state root",
	.usage = "[options]\n\n"
		 "  -f, --format FORMAT   table or json (default table)\n"
		 "  -q, --quiet           print the ids only",
	.run = list_run,
};
