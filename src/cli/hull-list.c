/* SPDX-License-Identifier: Apache-2.0 */
/* hull list [--format table|json|csv|yaml], hull info NAME */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/hull-cli.h"
#include "instance/app.h"
#include "util/json.h"
#include "util/str.h"

static struct json_object *info_json(const struct hull_instance_info *i)
{
	struct json_object *o = json_object_new_object(), *cfg = json_object_new_object(),
			   *idmap = json_object_new_object();
	const struct hull_instance_config *c = i->config;

	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "status",
			       json_object_new_string(hull_instance_status_name(i->status)));
	json_object_object_add(o, "type", json_object_new_string("container"));
	json_object_object_add(o, "image", json_object_new_string(c->image));
	json_object_object_add(o, "image_ref",
			       json_object_new_string(c->image_ref ? c->image_ref : ""));
	{
		struct json_object *a = json_object_new_array();

		hull_strv_foreach (addr, i->ipv4)
			json_object_array_add(a, json_object_new_string(addr));
		json_object_object_add(o, "ipv4", a);
	}
	json_object_object_add(o, "pid", json_object_new_int(i->init_pid));
	json_object_object_add(o, "monitor_pid", json_object_new_int(i->monitor_pid));
	json_object_object_add(o, "created", json_object_new_string(c->created ? c->created : ""));
	if (i->started && i->status == HULL_INSTANCE_RUNNING)
		json_object_object_add(o, "started", json_object_new_string(i->started));
	json_object_object_add(o, "last_exit", json_object_new_int(i->last_exit));
	json_object_object_add(o, "snapshots", json_object_new_int64((int64_t)i->snapshots));
	if (i->error)
		json_object_object_add(o, "error", json_object_new_string(i->error));
	json_object_object_add(idmap, "uid", json_object_new_int64(c->uid_base));
	json_object_object_add(idmap, "gid", json_object_new_int64(c->gid_base));
	json_object_object_add(idmap, "count", json_object_new_int64(c->id_count));
	json_object_object_add(o, "idmap", idmap);
	for (size_t k = 0; c->config && c->config[k]; k += 2)
		json_object_object_add(cfg, c->config[k], json_object_new_string(c->config[k + 1]));
	json_object_object_add(o, "config", cfg);
	{
		struct json_object *a = json_object_new_array();
		char *const def[] = { (char *)"default", NULL };

		hull_strv_foreach (p, c->profiles ? c->profiles : def)
			json_object_array_add(a, json_object_new_string(p));
		json_object_object_add(o, "profiles", a);
	}
	return o;
}

/* An app container of `hull run` (type "app"). */
static struct json_object *app_json(const struct hull_app_info *a)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "status", json_object_new_string(a->status ? a->status : ""));
	json_object_object_add(o, "type", json_object_new_string("app"));
	json_object_object_add(o, "image", json_object_new_string(a->image ? a->image : ""));
	json_object_object_add(o, "image_ref",
			       json_object_new_string(a->image_ref ? a->image_ref : ""));
	json_object_object_add(o, "pid", json_object_new_int(a->pid));
	json_object_object_add(o, "created", json_object_new_string(a->created ? a->created : ""));
	return o;
}

/* YAML double-quoted scalar (JSON string escaping is valid YAML). */
static void yaml_str(const char *s)
{
	_cleanup_json_ struct json_object *j = json_object_new_string(s ? s : "");

	fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
}

/* CSV field: quoted when it holds a comma, a quote or a newline. */
static void csv_str(const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int list_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct hull_instance_info **l = NULL;
	struct hull_app_info **apps = NULL;
	const char *format = "table";
	size_t n = 0, n_apps = 0;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_list, argc, argv, "f:", opts, &c, reterr)) == 0 &&
	       c != -1)
		if (c == 'f')
			format = optarg;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_list_format_check(format, reterr);
	if (r < 0)
		return r;
	r = hull_cli_want_args(&hull_verb_list, argc, argv, 0, 0, "", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_instance_list(cli->home, &l, &n, reterr);
	if (r >= 0)
		r = hull_app_list(cli->home, &apps, &n_apps, reterr);
	if (r < 0) {
		hull_instance_info_list_free(l, n);
		return r;
	}

	if (streq(format, "json")) {
		_cleanup_json_ struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, info_json(l[i]));
		for (size_t i = 0; i < n_apps; i++)
			json_object_array_add(a, app_json(apps[i]));
		printf("%s\n",
		       json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (streq(format, "csv")) {
		printf("name,status,ipv4,type,image,pid,snapshots\n");
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *ips = hull_strv_join(l[i]->ipv4, " ");

			csv_str(l[i]->config->name);
			printf(",%s,", hull_instance_status_name(l[i]->status));
			csv_str(ips ? ips : "");
			printf(",container,");
			csv_str(l[i]->config->image_ref ? l[i]->config->image_ref : "");
			printf(",%d,%zu\n", (int)l[i]->init_pid, l[i]->snapshots);
		}
	} else if (streq(format, "yaml")) {
		if (n == 0)
			printf("[]\n");
		for (size_t i = 0; i < n; i++) {
			printf("- name: ");
			yaml_str(l[i]->config->name);
			printf("\n  status: %s\n  ipv4: [",
			       hull_instance_status_name(l[i]->status));
			for (size_t k = 0; l[i]->ipv4 && l[i]->ipv4[k]; k++) {
				printf("%s", k ? ", " : "");
				yaml_str(l[i]->ipv4[k]);
			}
			printf("]\n  type: container\n  image: ");
			yaml_str(l[i]->config->image_ref);
			printf("\n  pid: %d\n  snapshots: %zu\n", (int)l[i]->init_pid,
			       l[i]->snapshots);
			if (l[i]->error) {
				printf("  error: ");
				yaml_str(l[i]->error);
				printf("\n");
			}
		}
	} else {
		printf("%-20s %-8s %-16s %-10s %-20s %-8s %s\n", "NAME", "STATE", "IPV4", "TYPE",
		       "IMAGE", "PID", "SNAPSHOTS");
		for (size_t i = 0; i < n; i++) {
			/* the table shows the first address; json/csv/yaml all of them */
			const char *ip = l[i]->ipv4 && l[i]->ipv4[0] ? l[i]->ipv4[0] : "-";
			size_t iplen = strcspn(ip, " ");

			printf("%-20s %-8s %-16.*s %-10s %-20.20s %-8d %zu\n", l[i]->config->name,
			       hull_instance_status_name(l[i]->status), (int)iplen, ip, "container",
			       l[i]->config->image_ref ? l[i]->config->image_ref : "-",
			       (int)l[i]->init_pid, l[i]->snapshots);
		}
		for (size_t i = 0; i < n_apps; i++)
			printf("%-20s %-8s %-16s %-10s %-20.20s %-8d %d\n", apps[i]->name,
			       apps[i]->status ? apps[i]->status : "-", "-", "app",
			       apps[i]->image_ref ? apps[i]->image_ref : "-", apps[i]->pid, 0);
	}
	hull_instance_info_list_free(l, n);
	hull_app_info_list_free(apps, n_apps);
	return 0;
}

static int info_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_instance_info_freep) struct hull_instance_info *i = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_info, argc, argv, "", NULL, &c, reterr)) == 0 &&
	       c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_info, argc, argv, 1, 1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_instance_get(cli->home, argv[optind], &i, reterr);
	if (r < 0)
		return r;
	o = info_json(i);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

const struct hull_cli_verb hull_verb_list = {
	.name = "list",
	.summary = "list instances",
	.usage = "[--format table|json|csv|yaml]",
	.run = list_run,
};

const struct hull_cli_verb hull_verb_info = {
	.name = "info",
	.summary = "show one instance as JSON",
	.usage = "NAME",
	.run = info_run,
};
