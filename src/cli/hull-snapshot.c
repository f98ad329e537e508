/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull snapshot [create] NAME [SNAP]
 * hull snapshot list NAME [--format table|json]
 * hull snapshot delete NAME SNAP
 * hull restore NAME SNAP
 * hull copy NAME NEW
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/hull-cli.h"
#include "util/json.h"
#include "util/str.h"

static int no_options(const struct hull_cli_verb *verb, int argc, char **argv,
		      struct hull_error **reterr)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
	int c, r;

	while ((r = hull_cli_getopt(verb, argc, argv, "", opts, &c, reterr)) == 0 && c != -1)
		;
	return r;
}

static int snapshot_list(struct hull_cli *cli, const char *name, bool json,
			 struct hull_error **reterr)
{
	struct hull_snapshot_info *l = NULL;
	size_t n = 0;
	int r = hull_instance_snapshot_list(cli->home, name, &l, &n, reterr);

	if (r < 0)
		return r;
	if (json) {
		_cleanup_json_ struct json_object *a = json_object_new_array();

		for (size_t i = 0; a && i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(l[i].name));
			if (l[i].created)
				json_object_object_add(o, "created",
						       json_object_new_string(l[i].created));
			json_object_array_add(a, o);
		}
		if (a)
			printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	} else {
		printf("%-24s %s\n", "NAME", "CREATED");
		for (size_t i = 0; i < n; i++)
			printf("%-24s %s\n", l[i].name, l[i].created ? l[i].created : "-");
	}
	hull_snapshot_info_list_free(l, n);
	return 0;
}

static int snapshot_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *format = "table", *sub = "create";
	_cleanup_free_ char *made = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_snapshot, argc, argv, "f:", opts, &c, reterr)) ==
		       0 &&
	       c != -1)
		if (c == 'f')
			format = optarg;
	if (r != 0)
		return r < 0 ? r : 0;
	/* subcommands take the first word; `snapshot NAME [SNAP]` creates */
	if (optind < argc && (streq(argv[optind], "list") || streq(argv[optind], "delete") ||
			      streq(argv[optind], "create"))) {
		sub = argv[optind];
		optind++;
	}
	if (!streq(format, "table") && !streq(format, "json"))
		return hull_error_set(reterr, -EINVAL, "--format: expected table or json, got '%s'",
				      format);
	if (streq(sub, "list"))
		r = hull_cli_want_args(&hull_verb_snapshot, argc, argv, 1, 1, "the instance name",
				       reterr);
	else if (streq(sub, "delete"))
		r = hull_cli_want_args(&hull_verb_snapshot, argc, argv, 2, 2,
				       "the instance and snapshot names", reterr);
	else
		r = hull_cli_want_args(&hull_verb_snapshot, argc, argv, 1, 2, "the instance name",
				       reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (streq(sub, "list"))
		return snapshot_list(cli, argv[optind], streq(format, "json"), reterr);
	if (streq(sub, "delete"))
		return hull_instance_snapshot_delete(cli->home, argv[optind], argv[optind + 1],
						     reterr);
	r = hull_instance_snapshot_create(cli->home, argv[optind],
					  optind + 1 < argc ? argv[optind + 1] : NULL, &made,
					  reterr);
	if (r < 0)
		return r;
	printf("%s\n", made);
	return 0;
}

static int restore_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int r = no_options(&hull_verb_restore, argc, argv, reterr);

	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_restore, argc, argv, 2, 2,
			       "the instance and snapshot names", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_instance_restore(cli->home, argv[optind], argv[optind + 1], reterr);
	return r;
}

static int copy_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "instance-only", no_argument, NULL, 'i' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct hull_init_opts o = {};
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_copy, argc, argv, "", opts, &c, reterr)) == 0 &&
	       c != -1)
		if (c == 'i')
			o.instance_only = true;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_copy, argc, argv, 2, 2, "the source and new names",
			       reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	o.subuid_file = getenv("HULL_SUBUID_FILE");
	o.subgid_file = getenv("HULL_SUBGID_FILE");
	return hull_instance_copy(cli->home, argv[optind], argv[optind + 1], &o, reterr);
}

const struct hull_cli_verb hull_verb_snapshot = {
	.name = "snapshot",
	.summary = "snapshot an instance's filesystem; list or delete its snapshots",
	.usage = "[create] NAME [SNAP] | list NAME [--format table|json] | delete NAME SNAP",
	.run = snapshot_run,
};

const struct hull_cli_verb hull_verb_restore = {
	.name = "restore",
	.summary = "put a stopped instance's filesystem back to a snapshot",
	.usage = "NAME SNAP",
	.run = restore_run,
};

const struct hull_cli_verb hull_verb_copy = {
	.name = "copy",
	.summary = "copy an instance (and its snapshots) to a new, stopped one with its own id "
		   "range",
	.usage = "NAME NEW [--instance-only]",
	.run = copy_run,
};
