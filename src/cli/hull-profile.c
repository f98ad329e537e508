/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull profile create|list|show|get|set|unset|delete|copy|rename|assign|add|remove
 * (LXD's profile commands; `assign INSTANCE p1,p2`, "" for none)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/hull-cli.h"
#include "util/json.h"
#include "util/str.h"

struct sub {
	const char *name;
	int nargs; /* after the subcommand; -1: 1 or 2 (set) */
	const char *usage;
};

static const struct sub subs[] = {
	{ "create", 1, "create NAME [--description TEXT]" },
	{ "list", 0, "list [--format table|json]" },
	{ "show", 1, "show NAME" },
	{ "get", 2, "get NAME KEY" },
	{ "set", -1, "set NAME KEY VALUE (or KEY=VALUE)" },
	{ "unset", 2, "unset NAME KEY" },
	{ "delete", 1, "delete NAME" },
	{ "copy", 2, "copy NAME NEW" },
	{ "rename", 2, "rename NAME NEW" },
	{ "assign", 2, "assign INSTANCE PROFILE[,PROFILE...]" },
	{ "add", 2, "add INSTANCE PROFILE" },
	{ "remove", 2, "remove INSTANCE PROFILE" },
};

static void yaml_scalar(const char *s)
{
	_cleanup_json_ struct json_object *j = json_object_new_string(s ? s : "");

	fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
}

static int profile_show(struct hull_home *h, const char *name, struct hull_error **reterr)
{
	_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
	_cleanup_strv_free_ char **users = NULL;
	int r = hull_profile_get(h, name, &p, reterr);

	if (r >= 0)
		r = hull_profile_used_by(h, name, &users, reterr);
	if (r < 0)
		return r;
	printf("name: %s\ndescription: ", p->name);
	yaml_scalar(p->description);
	printf("\nconfig:%s\n", p->config[0] ? "" : " {}");
	for (size_t i = 0; p->config[i]; i += 2) {
		printf("  %s: ", p->config[i]);
		yaml_scalar(p->config[i + 1]);
		putchar('\n');
	}
	printf("used_by:%s\n", users[0] ? "" : " []");
	hull_strv_foreach (u, users)
		printf("- %s\n", u);
	return 0;
}

static int profile_list(struct hull_home *h, const char *format, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_json_ struct json_object *a = json_object_new_array();
	bool json = streq(format, "json");
	int r;

	if (!json && !streq(format, "table"))
		return hull_error_set(reterr, -EINVAL,
				      "profile list: --format: expected table or json, got '%s'",
				      format);
	r = hull_profile_list(h, &names, reterr);
	if (r < 0)
		return r;
	if (!json)
		printf("%-24s %-8s %s\n", "NAME", "USED_BY", "DESCRIPTION");
	hull_strv_foreach (n, names) {
		_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
		_cleanup_strv_free_ char **users = NULL;
		struct json_object *o, *cfg, *ua;

		r = hull_profile_get(h, n, &p, reterr);
		if (r >= 0)
			r = hull_profile_used_by(h, n, &users, reterr);
		if (r < 0)
			return r;
		if (!json) {
			printf("%-24s %-8zu %s\n", n, hull_strv_length(users),
			       p->description ? p->description : "");
			continue;
		}
		o = json_object_new_object();
		cfg = json_object_new_object();
		ua = json_object_new_array();
		json_object_object_add(o, "name", json_object_new_string(n));
		json_object_object_add(
			o, "description",
			json_object_new_string(p->description ? p->description : ""));
		for (size_t i = 0; p->config[i]; i += 2)
			json_object_object_add(cfg, p->config[i],
					       json_object_new_string(p->config[i + 1]));
		json_object_object_add(o, "config", cfg);
		for (size_t i = 0; users[i]; i++)
			json_object_array_add(ua, json_object_new_string(users[i]));
		json_object_object_add(o, "used_by", ua);
		json_object_array_add(a, o);
	}
	if (json)
		printf("%s\n",
		       json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* "p1,p2" -> a list; "" -> none. */
static int split_profiles(const char *s, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;

	if (!l || !copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (hull_strv_push(&l, t) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static int profile_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "description", required_argument, NULL, 'd' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *format = "table", *description = NULL, *sub;
	const struct sub *s = NULL;
	char **a;
	int c, r, n;

	while ((r = hull_cli_getopt(&hull_verb_profile, argc, argv, "f:", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'd')
			description = optarg;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_profile, argc, argv, 1, -1, "a subcommand", reterr);
	if (r < 0)
		return r;
	sub = argv[optind];
	for (size_t i = 0; i < ELEMENTSOF(subs); i++)
		if (streq(subs[i].name, sub))
			s = &subs[i];
	if (!s)
		return hull_error_set(
			reterr, -EINVAL,
			"profile: unknown subcommand '%s' (see 'hull profile --help')", sub);
	a = argv + optind + 1;
	n = argc - optind - 1;
	if (s->nargs >= 0 ? n != s->nargs : (n != 2 && n != 3))
		return hull_error_set(reterr, -EINVAL, "profile %s: usage: hull profile %s", sub,
				      s->usage);
	if ((description && !streq(sub, "create")) ||
	    (format != NULL && !streq(format, "table") && !streq(sub, "list")))
		return hull_error_set(reterr, -EINVAL, "profile %s: usage: hull profile %s", sub,
				      s->usage);
	r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (streq(sub, "create"))
		return hull_profile_create(cli->home, a[0], description, reterr);
	if (streq(sub, "list"))
		return profile_list(cli->home, format, reterr);
	if (streq(sub, "show"))
		return profile_show(cli->home, a[0], reterr);
	if (streq(sub, "get")) {
		_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
		struct hull_instance_config view = {};

		r = hull_profile_get(cli->home, a[0], &p, reterr);
		if (r < 0)
			return r;
		view.config = p->config;
		printf("%s\n", hull_instance_config_get(&view, a[1]) ?: "");
		return 0;
	}
	if (streq(sub, "set")) {
		_cleanup_free_ char *key = strdup(a[1]);
		const char *value = n == 3 ? a[2] : NULL;

		if (!key)
			return -ENOMEM;
		if (n == 2) {
			char *eq = strchr(key, '=');

			if (!eq)
				return hull_error_set(
					reterr, -EINVAL,
					"profile set: expected KEY VALUE or KEY=VALUE");
			*eq = '\0';
			value = eq + 1;
		}
		return hull_profile_update(cli->home, a[0], key, value, reterr);
	}
	if (streq(sub, "unset"))
		return hull_profile_update(cli->home, a[0], a[1], NULL, reterr);
	if (streq(sub, "delete"))
		return hull_profile_delete(cli->home, a[0], reterr);
	if (streq(sub, "copy"))
		return hull_profile_copy(cli->home, a[0], a[1], reterr);
	if (streq(sub, "rename"))
		return hull_profile_rename(cli->home, a[0], a[1], reterr);
	if (streq(sub, "add") || streq(sub, "remove")) {
		char *one[] = { a[1], NULL };

		return hull_instance_profiles_change(
			cli->home, a[0],
			streq(sub, "add") ? HULL_PROFILES_ADD : HULL_PROFILES_REMOVE, one, reterr);
	}
	{
		_cleanup_strv_free_ char **l = NULL;

		r = split_profiles(a[1], &l);
		if (r < 0)
			return r;
		return hull_instance_profiles_change(cli->home, a[0], HULL_PROFILES_SET, l, reterr);
	}
}

const struct hull_cli_verb hull_verb_profile = {
	.name = "profile",
	.summary = "manage profiles: named sets of config keys applied to instances",
	.usage = "create NAME [--description TEXT] | list [--format table|json] | show NAME |\n"
		 "       get NAME KEY | set NAME KEY VALUE | unset NAME KEY | delete NAME |\n"
		 "       copy NAME NEW | rename NAME NEW | assign INSTANCE PROFILE[,PROFILE...] |\n"
		 "       add INSTANCE PROFILE | remove INSTANCE PROFILE",
	.run = profile_run,
};
