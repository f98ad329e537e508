/* SPDX-License-Identifier: Apache-2.0 */
/* hull init IMAGE NAME, hull launch IMAGE NAME (init + start) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/hull-cli.h"
#include "util/str.h"

static int init_common(const struct hull_cli_verb *v, bool start, struct hull_cli *cli, int argc,
		       char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "profile", required_argument, NULL, 'p' },
					      { "no-profiles", no_argument, NULL, 'P' },
					      { "network", required_argument, NULL, 'n' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	_cleanup_strv_free_ char **config = NULL, **profiles = NULL;
	bool no_profiles = false;
	const char *network = NULL;
	struct hull_init_opts o = {};
	const char *name;
	int c, r;

	while ((r = hull_cli_getopt(v, argc, argv, "c:p:", opts, &c, reterr)) == 0 && c != -1) {
		if (c == 'c' && hull_strv_push(&config, optarg) < 0)
			return -ENOMEM;
		if (c == 'p' && hull_strv_push(&profiles, optarg) < 0)
			return -ENOMEM;
		if (c == 'P')
			no_profiles = true;
		if (c == 'n')
			network = optarg;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	if (no_profiles && profiles)
		return hull_error_set(reterr, -EINVAL,
				      "%s: --profile and --no-profiles exclude each other",
				      v->name);
	if (no_profiles && !(profiles = calloc(1, sizeof(char *))))
		return -ENOMEM;
	r = hull_cli_want_args(v, argc, argv, 2, 2, "the image and the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	name = argv[optind + 1];
	{
		/* a known distro alias that is not in the store yet is built first */
		_cleanup_(hull_image_freep) struct hull_image *img = NULL;
		struct hull_image_build_opts bo = {};

		if (hull_image_get(cli->home->images, argv[optind], &img, NULL) == -ENOENT &&
		    startswith(argv[optind], "debian/") &&
		    hull_instance_name_check(name, reterr) >= 0) {
			fprintf(stderr, "hull: image '%s' is not in the store: building it\n",
				argv[optind]);
			r = hull_cli_build(cli, argv[optind], &bo, NULL, reterr);
			if (r < 0)
				return r;
		}
	}
	o.config = config;
	o.profiles = profiles;
	o.subuid_file = getenv("HULL_SUBUID_FILE");
	o.subgid_file = getenv("HULL_SUBGID_FILE");
	r = hull_instance_init(cli->home, argv[optind], name, &o, reterr);
	if (r >= 0 && network) {
		/* --network NET: an eth0 on that network, or no instance at all */
		_cleanup_free_ char *setting = hull_strdup_printf("network=%s", network);
		char *settings[] = { setting, NULL };

		r = setting ? hull_instance_device_add(cli->home, name, "eth0", "nic", settings,
						       reterr)
			    : -ENOMEM;
		if (r < 0) {
			_cleanup_error_ struct hull_error *ignored = NULL;

			hull_instance_delete(cli->home, name, true, &ignored);
			return hull_error_wrap(reterr, r, "%s '%s'", v->name, name);
		}
	}
	if (r < 0 || !start)
		return r;
	r = hull_instance_start(cli->home, name, reterr);
	if (r < 0) {
		/* launch is all or nothing: a failed start leaves no instance behind */
		_cleanup_error_ struct hull_error *ignored = NULL;

		hull_instance_delete(cli->home, name, true, &ignored);
		return hull_error_wrap(reterr, r, "launch '%s'", name);
	}
	return 0;
}

static int init_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	return init_common(&hull_verb_init, false, cli, argc, argv, reterr);
}

static int launch_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	return init_common(&hull_verb_launch, true, cli, argc, argv, reterr);
}

const struct hull_cli_verb hull_verb_init = {
	.name = "init",
	.summary = "create an instance of an image without starting it",
	.usage = "IMAGE NAME [-c KEY=VALUE]... [-p PROFILE]... [--no-profiles] [--network NET]",
	.run = init_run,
};

const struct hull_cli_verb hull_verb_launch = {
	.name = "launch",
	.summary = "create and start an instance",
	.usage = "IMAGE NAME [-c KEY=VALUE]... [-p PROFILE]... [--no-profiles] [--network NET]",
	.run = launch_run,
};
