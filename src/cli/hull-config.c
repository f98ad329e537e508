/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull config set NAME KEY VALUE | get NAME KEY | show NAME | unset NAME KEY
 * (set also takes KEY=VALUE)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/hull-cli.h"
#include "util/str.h"

static int config_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "expanded", no_argument, NULL, 'e' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	_cleanup_(hull_instance_info_freep) struct hull_instance_info *info = NULL;
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *shown = NULL;
	bool expanded = false;
	const char *sub;
	int c, r;

	if (argc >= 2 && streq(argv[1], "device"))
		return hull_cli_config_device(cli, argc - 1, argv + 1, reterr);
	while ((r = hull_cli_getopt(&hull_verb_config, argc, argv, "e", opts, &c, reterr)) == 0 &&
	       c != -1)
		if (c == 'e')
			expanded = true;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_config, argc, argv, 2, 4, "set|get|show|unset and NAME",
			       reterr);
	if (r < 0)
		return r;
	sub = argv[optind];
	optind++;
	if (streq(sub, "set")) {
		_cleanup_free_ char *key = NULL;
		const char *value;

		if (argc - optind == 2) {
			char *eq;

			key = strdup(argv[optind + 1]);
			eq = key ? strchr(key, '=') : NULL;
			if (!key)
				return -ENOMEM;
			if (!eq)
				return hull_error_set(
					reterr, -EINVAL,
					"config set: expected KEY VALUE or KEY=VALUE");
			*eq = '\0';
			value = eq + 1;
		} else if (argc - optind == 3) {
			key = strdup(argv[optind + 1]);
			if (!key)
				return -ENOMEM;
			value = argv[optind + 2];
		} else {
			return hull_error_set(reterr, -EINVAL,
					      "config set: expected NAME KEY VALUE");
		}
		r = hull_cli_home(cli, reterr);
		return r < 0 ? r
			     : hull_instance_config_update(cli->home, argv[optind], key, value,
							   reterr);
	}
	if (streq(sub, "unset")) {
		if (argc - optind != 2)
			return hull_error_set(reterr, -EINVAL, "config unset: expected NAME KEY");
		r = hull_cli_home(cli, reterr);
		return r < 0 ? r
			     : hull_instance_config_update(cli->home, argv[optind],
							   argv[optind + 1], NULL, reterr);
	}
	if (!streq(sub, "get") && !streq(sub, "show"))
		return hull_error_set(reterr, -EINVAL,
				      "config: expected set, get, show or unset, got '%s'", sub);
	if (argc - optind != (streq(sub, "get") ? 2 : 1))
		return hull_error_set(reterr, -EINVAL, "config %s: expected NAME%s", sub,
				      streq(sub, "get") ? " KEY" : "");
	r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_instance_get(cli->home, argv[optind], &info, reterr);
	if (r >= 0 && expanded)
		r = hull_instance_config_expand(cli->home, info->config, &shown, reterr);
	if (r < 0)
		return r;
	if (!expanded)
		shown = TAKE_PTR(info->config);
	if (streq(sub, "get")) {
		const char *v = hull_instance_config_get(shown, argv[optind + 1]);

		printf("%s\n", v ? v : "");
		return 0;
	}
	for (size_t i = 0; shown->config && shown->config[i]; i += 2)
		printf("%s: %s\n", shown->config[i], shown->config[i + 1]);
	for (size_t i = 0; shown->devices && shown->devices[i]; i += 2)
		printf("devices.%s: %s\n", shown->devices[i], shown->devices[i + 1]);
	return 0;
}

const struct hull_cli_verb hull_verb_config = {
	.name = "config",
	.summary = "show or change an instance's config keys (limits apply live)",
	.usage = "set NAME KEY VALUE | get [--expanded] NAME KEY | show [--expanded] NAME |\n"
		 "       unset NAME KEY   (--expanded: with the profiles' keys) |\n"
		 "       device add|remove|list|show ...",
	.run = config_run,
};
