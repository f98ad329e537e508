/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull network create|list|show|get|set|unset|rename|delete
 */
#include <stdio.h>
#include <string.h>

#include "cli/hull-cli.h"
#include "net/network.h"
#include "util/json.h"
#include "util/str.h"

static const struct hull_cli_verb v_create = {
	.name = "network create",
	.summary = "create a managed network (bridge, DHCP/DNS, NAT) and bring it up",
	.usage = "NAME [--ipv4 ADDR/NN|auto|none] [--ipv6 ADDR/NN|auto|none] [--nat=true|false] "
		 "[--dns-domain D] [KEY=VALUE...]",
};

static int network_create(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	enum { OPT_IPV4 = 256, OPT_IPV6, OPT_NAT, OPT_DOMAIN };
	static const struct option opts[] = {
		{ "ipv4", required_argument, NULL, OPT_IPV4 },
		{ "ipv6", required_argument, NULL, OPT_IPV6 },
		{ "nat", required_argument, NULL, OPT_NAT },
		{ "dns-domain", required_argument, NULL, OPT_DOMAIN },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(hull_strv_freep) char **settings = NULL;
	const char *key;
	int c, r;

	while ((r = hull_cli_getopt(&v_create, argc, argv, "", opts, &c, reterr)) == 0 && c != -1) {
		key = c == OPT_IPV4   ? "ipv4.address"
		      : c == OPT_IPV6 ? "ipv6.address"
		      : c == OPT_NAT  ? "ipv4.nat"
				      : "dns.domain";
		r = hull_strv_consume(&settings, hull_strdup_printf("%s=%s", key, optarg));
		if (r >= 0 && c == OPT_NAT)
			r = hull_strv_consume(&settings, hull_strdup_printf("ipv6.nat=%s", optarg));
		if (r < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_create, argc, argv, 1, -1, "the network's name", reterr);
	for (int i = optind + 1; r >= 0 && i < argc; i++)
		r = hull_strv_push(&settings, argv[i]);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	r = hull_network_create(cli->home->fd, argv[optind], settings, reterr);
	if (r >= 0)
		printf("network '%s' created\n", argv[optind]);
	return r;
}

static int load_all(struct hull_cli *cli, struct hull_network ***ret, size_t *ret_n,
		    struct hull_error **reterr)
{
	_cleanup_(hull_strv_freep) char **names = NULL;
	struct hull_network **l;
	size_t n;
	int r;

	r = hull_network_names(cli->home->fd, &names, reterr);
	if (r < 0)
		return r;
	n = names ? hull_strv_length(names) : 0;
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = hull_network_load(cli->home->fd, names[i], &l[i], reterr);
		if (r < 0) {
			for (size_t j = 0; j < i; j++)
				hull_network_free(l[j]);
			free(l);
			return r;
		}
	}
	*ret = l;
	*ret_n = n;
	return 0;
}

static const struct hull_cli_verb v_list = {
	.name = "network list",
	.summary = "list managed networks",
	.usage = "[--format table|json|csv|yaml]",
};

static char *addr_text(const struct hull_network *n, bool six)
{
	char buf[INET6_ADDRSTRLEN];

	if (six ? !n->has6 : !n->has4)
		return strdup("none");
	return hull_strdup_printf("%s/%u",
				  hull_ip_format(six ? &n->addr6 : &n->addr4, buf, sizeof(buf)),
				  six ? n->prefix6 : n->prefix4);
}

static int network_list(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *format = "table";
	struct hull_network **l = NULL;
	size_t n = 0;
	int c, r;

	while ((r = hull_cli_getopt(&v_list, argc, argv, "f:", opts, &c, reterr)) == 0 && c != -1)
		format = optarg;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_list_format_check(format, reterr);
	if (r < 0)
		return r;
	r = hull_cli_want_args(&v_list, argc, argv, 0, 0, "", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = load_all(cli, &l, &n, reterr);
	if (r < 0)
		return r;
	if (streq(format, "json")) {
		_cleanup_json_ struct json_object *a = json_object_new_array();

		for (size_t i = 0; a && i < n; i++) {
			_cleanup_free_ char *text = hull_network_to_json(l[i]);
			struct json_object *o = NULL;

			if (text && hull_json_parse(text, strlen(text), "network", &o, NULL) >= 0) {
				json_object_object_add(
					o, "state",
					json_object_new_string(
						hull_network_is_up(cli->home->fd, l[i]) ? "up"
											: "down"));
				json_object_array_add(a, o);
			}
		}
		if (a)
			printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	} else if (streq(format, "table")) {
		printf("%-16s %-20s %-26s %-5s %s\n", "NAME", "IPV4", "IPV6", "NAT", "STATE");
	}
	for (size_t i = 0; !streq(format, "json") && i < n; i++) {
		_cleanup_free_ char *a4 = addr_text(l[i], false), *a6 = addr_text(l[i], true);
		const char *state = hull_network_is_up(cli->home->fd, l[i]) ? "up" : "down";

		if (streq(format, "table"))
			printf("%-16s %-20s %-26s %-5s %s\n", l[i]->name, a4, a6,
			       l[i]->nat4 ? "yes" : "no", state);
		else if (streq(format, "csv"))
			printf("%s,%s,%s,%s,%s\n", l[i]->name, a4, a6,
			       l[i]->nat4 ? "true" : "false", state);
		else
			printf("- name: %s\n  ipv4: %s\n  ipv6: %s\n  nat: %s\n  state: %s\n",
			       l[i]->name, a4, a6, l[i]->nat4 ? "true" : "false", state);
	}
	for (size_t i = 0; i < n; i++)
		hull_network_free(l[i]);
	free(l);
	return 0;
}

static const struct hull_cli_verb v_show = {
	.name = "network show",
	.summary = "show a network's settings as JSON",
	.usage = "NAME",
};

static int network_show(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_free_ char *text = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&v_show, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_show, argc, argv, 1, 1, "the network's name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_network_load(cli->home->fd, argv[optind], &n, reterr);
	if (r < 0)
		return r;
	text = hull_network_to_json(n);
	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	return 0;
}

static const struct hull_cli_verb v_get = {
	.name = "network get",
	.summary = "print one setting of a network",
	.usage = "NAME KEY",
};

static int network_get(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_free_ char *value = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&v_get, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_get, argc, argv, 2, 2, "the network and the key", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_network_load(cli->home->fd, argv[optind], &n, reterr);
	if (r >= 0)
		r = hull_network_get(n, argv[optind + 1], &value, reterr);
	if (r < 0)
		return r;
	printf("%s\n", value);
	return 0;
}

static const struct hull_cli_verb v_set = {
	.name = "network set",
	.summary = "change a network's setting (re-applied at once if it is up)",
	.usage = "NAME KEY VALUE | NAME KEY=VALUE",
};

static const struct hull_cli_verb v_unset = {
	.name = "network unset",
	.summary = "put a network's setting back to its default",
	.usage = "NAME KEY",
};

static int network_set_common(struct hull_cli *cli, const struct hull_cli_verb *v, bool unset,
			      int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_free_ char *key = NULL;
	const char *value;
	int c, r;

	while ((r = hull_cli_getopt(v, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(v, argc, argv, 2, unset ? 2 : 3, "the network and the key", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (unset) {
		key = strdup(argv[optind + 1]);
		value = "";
	} else if (argc - optind == 3) {
		key = strdup(argv[optind + 1]);
		value = argv[optind + 2];
	} else {
		const char *eq = strchr(argv[optind + 1], '=');

		if (!eq)
			return hull_error_set(reterr, -EINVAL,
					      "%s: expected KEY VALUE or KEY=VALUE", v->name);
		key = strndup(argv[optind + 1], (size_t)(eq - argv[optind + 1]));
		value = eq + 1;
	}
	if (!key)
		return -ENOMEM;
	return hull_network_set(cli->home->fd, argv[optind], key, value, reterr);
}

static int network_set(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	return network_set_common(cli, &v_set, false, argc, argv, reterr);
}

static int network_unset(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	return network_set_common(cli, &v_unset, true, argc, argv, reterr);
}

static const struct hull_cli_verb v_rename = {
	.name = "network rename",
	.summary = "rename a network",
	.usage = "NAME NEW-NAME",
};

static int network_rename(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int c, r;

	while ((r = hull_cli_getopt(&v_rename, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_rename, argc, argv, 2, 2, "the old and new names", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	return hull_network_rename(cli->home->fd, argv[optind], argv[optind + 1], reterr);
}

static const struct hull_cli_verb v_delete = {
	.name = "network delete",
	.summary = "delete a network (its bridge, dnsmasq and firewall rules)",
	.usage = "NAME...",
};

static int network_delete(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int c, r;

	while ((r = hull_cli_getopt(&v_delete, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_delete, argc, argv, 1, -1, "the network's name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind; r >= 0 && i < argc; i++) {
		_cleanup_free_ char *user = NULL;

		r = hull_instance_network_user(cli->home, argv[i], &user);
		if (r > 0)
			return hull_error_set(reterr, -EBUSY,
					      "network '%s' is in use by instance '%s'", argv[i],
					      user);
		if (r >= 0)
			r = hull_network_delete(cli->home->fd, argv[i], reterr);
	}
	return r;
}

static const struct hull_cli_verb v_attach = {
	.name = "network attach",
	.summary = "give a stopped instance a nic on the network",
	.usage = "NETWORK INSTANCE [DEVICE [INTERFACE]]",
};

static int network_attach(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_free_ char *net = NULL, *ifname = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&v_attach, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_attach, argc, argv, 2, 4, "the network and the instance", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	net = hull_strdup_printf("network=%s", argv[optind]);
	ifname = hull_strdup_printf("name=%s", argc - optind == 4   ? argv[optind + 3]
					       : argc - optind == 3 ? argv[optind + 2]
								    : "eth0");
	if (!net || !ifname)
		return -ENOMEM;
	{
		char *settings[] = { net, ifname, NULL };

		return hull_instance_device_add(cli->home, argv[optind + 1],
						argc - optind >= 3 ? argv[optind + 2] : "eth0",
						"nic", settings, reterr);
	}
}

static const struct hull_cli_verb v_detach = {
	.name = "network detach",
	.summary = "take a stopped instance's nic off the network",
	.usage = "NETWORK INSTANCE [DEVICE]",
};

static int network_detach(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_instance_info_freep) struct hull_instance_info *info = NULL;
	const char *dev = "eth0", *on;
	int c, r;

	while ((r = hull_cli_getopt(&v_detach, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_detach, argc, argv, 2, 3, "the network and the instance", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_instance_get(cli->home, argv[optind + 1], &info, reterr);
	if (r < 0)
		return r;
	if (argc - optind == 3)
		dev = argv[optind + 2];
	on = hull_instance_device_get(info->config, dev, "network");
	if (!on || !streq(on, argv[optind]))
		return hull_error_set(reterr, -ENOENT,
				      "instance '%s' has no device '%s' on network '%s'",
				      argv[optind + 1], dev, argv[optind]);
	return hull_instance_device_remove(cli->home, argv[optind + 1], dev, reterr);
}

static const struct hull_cli_verb v_forward = {
	.name = "network forward",
	.summary = "send a port of a host address on to an address on the network (DNAT)",
	.usage = "add NETWORK LISTEN_IPV4:PORT TARGET_IPV4:PORT [--protocol tcp|udp] |\n"
		 "       remove NETWORK LISTEN_IPV4:PORT [--protocol tcp|udp] | list NETWORK",
};

static int network_forward(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "protocol", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_strv_free_ char **lines = NULL;
	const char *proto = "tcp", *sub;
	int c, r, n;

	while ((r = hull_cli_getopt(&v_forward, argc, argv, "p:", opts, &c, reterr)) == 0 &&
	       c != -1)
		proto = optarg;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v_forward, argc, argv, 2, 4, "add|remove|list and the network",
			       reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	sub = argv[optind];
	n = argc - optind;
	if (streq(sub, "add") && n == 4)
		return hull_network_forward_add(cli->home->fd, argv[optind + 1], proto,
						argv[optind + 2], argv[optind + 3], reterr);
	if (streq(sub, "remove") && n == 3)
		return hull_network_forward_remove(cli->home->fd, argv[optind + 1], proto,
						   argv[optind + 2], reterr);
	if (streq(sub, "list") && n == 2) {
		r = hull_network_forward_list(cli->home->fd, argv[optind + 1], &lines, reterr);
		hull_strv_foreach (l, r >= 0 ? lines : NULL)
			printf("%s\n", l);
		return r;
	}
	return hull_error_set(reterr, -EINVAL, "network forward: expected %s",
			      "add NETWORK LISTEN TARGET, remove NETWORK LISTEN or list NETWORK");
}

static const struct {
	const char *name;
	int (*run)(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr);
} subs[] = {
	{ "create", network_create }, { "list", network_list },	      { "show", network_show },
	{ "get", network_get },	      { "set", network_set },	      { "unset", network_unset },
	{ "rename", network_rename }, { "delete", network_delete },   { "attach", network_attach },
	{ "detach", network_detach }, { "forward", network_forward },
};

static int network_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		printf("usage: hull network %s\n", hull_verb_network.usage);
		return argc < 2 ? hull_error_set(reterr, -EINVAL, "network: missing subcommand")
				: 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(subs); i++)
		if (streq(argv[1], subs[i].name)) {
			optind = 0;
			return subs[i].run(cli, argc - 1, argv + 1, reterr);
		}
	return hull_error_set(reterr, -EINVAL,
			      "network: unknown subcommand '%s' (create, list, show, get, set, "
			      "unset, rename, delete, attach, detach, forward)",
			      argv[1]);
}

const struct hull_cli_verb hull_verb_network = {
	.name = "network",
	.summary = "manage networks: create, list, show, get, set, unset, rename, delete, attach, "
		   "forward",
	.usage = "create|list|show|get|set|unset|rename|delete|attach|detach|forward ...",
	.run = network_run,
};
