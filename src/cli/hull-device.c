/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull config device add NAME DEV TYPE [KEY=VALUE...] | remove NAME DEV |
 * list NAME | show NAME
 */
#include <stdio.h>
#include <string.h>

#include "cli/hull-cli.h"
#include "util/str.h"

static const struct hull_cli_verb v_device = {
	.name = "config device",
	.summary = "add, remove or list an instance's devices (docs/devices.md)",
	.usage = "add NAME DEV nic network=NET [name=IF] [hwaddr=MAC] [ipv4.address=IP]\n"
		 "           [security.mac_filtering=true] [security.ipv4_filtering=true]\n"
		 "           [limits.ingress=RATE] [limits.egress=RATE] |\n"
		 "       add NAME DEV nic nictype=macvlan parent=IF [name=IF] [hwaddr=MAC] |\n"
		 "       add NAME DEV nic nictype=physical parent=IF [name=IF] |\n"
		 "       add NAME DEV disk source=HOST_PATH path=PATH [readonly=true] |\n"
		 "       add NAME DEV unix-char|unix-block source=HOST_NODE|major=N minor=N\n"
		 "           [path=PATH] [uid=N] [gid=N] [mode=0660] |\n"
		 "       add NAME DEV gpu [vendorid=XXXX] [productid=XXXX] [pci=ADDR] [uid gid "
		 "mode] |\n"
		 "       add NAME DEV usb vendorid=XXXX [productid=XXXX] [uid gid mode] |\n"
		 "       add NAME DEV proxy listen=tcp:ADDR:PORT connect=tcp:ADDR:PORT |\n"
		 "       remove NAME DEV | list NAME | show NAME",
};

int hull_cli_config_device(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_instance_info_freep) struct hull_instance_info *info = NULL;
	const char *sub;
	int c, r;

	optind = 0;
	while ((r = hull_cli_getopt(&v_device, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_device, argc, argv, 2, -1, "add|remove|list|show and NAME",
			       reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	sub = argv[optind];
	if (streq(sub, "add")) {
		if (argc - optind < 4)
			return hull_error_set(
				reterr, -EINVAL,
				"config device add: expected NAME DEV TYPE [KEY=VALUE...]");
		return hull_instance_device_add(cli->home, argv[optind + 1], argv[optind + 2],
						argv[optind + 3], argv + optind + 4, reterr);
	}
	if (streq(sub, "remove")) {
		if (argc - optind != 3)
			return hull_error_set(reterr, -EINVAL,
					      "config device remove: expected NAME DEV");
		return hull_instance_device_remove(cli->home, argv[optind + 1], argv[optind + 2],
						   reterr);
	}
	if (!streq(sub, "list") && !streq(sub, "show"))
		return hull_error_set(reterr, -EINVAL,
				      "config device: expected add, remove, list or show, got '%s'",
				      sub);
	if (argc - optind != 2)
		return hull_error_set(reterr, -EINVAL, "config device %s: expected NAME", sub);
	r = hull_instance_get(cli->home, argv[optind + 1], &info, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; info->config->devices && info->config->devices[i]; i += 2) {
		const char *key = info->config->devices[i];
		size_t n = strlen(key);

		if (streq(sub, "list")) {
			if (n > 5 && streq(key + n - 5, ".type"))
				printf("%.*s\n", (int)(n - 5), key);
		} else {
			printf("%s: %s\n", key, info->config->devices[i + 1]);
		}
	}
	return 0;
}
