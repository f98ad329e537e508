/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: building runc's `events --stats` JSON (shared by both backends'
 * statistics).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

void hull_cgroup_json_u64(struct json_object *o, const char *key, uint64_t v, bool omitempty)
{
	if (omitempty && v == 0)
		return;
	json_object_object_add(o, key, json_object_new_uint64(v));
}

struct json_object *hull_cgroup_json_child(struct json_object *o, const char *key)
{
	struct json_object *c = NULL;

	if (json_object_object_get_ex(o, key, &c))
		return c;
	c = json_object_new_object();
	if (c && json_object_object_add(o, key, c) < 0) {
		json_object_put(c);
		return NULL;
	}
	return c;
}

int hull_cgroup_json_keyed(int dfd, const char *file, struct json_object *o)
{
	_cleanup_free_ char *s = NULL;
	char *save = NULL;
	int r;

	r = hull_cgroup_read(dfd, file, &s);
	if (r < 0)
		return r;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		uint64_t v;

		if (!sp)
			continue;
		*sp = '\0';
		if (hull_parse_u64(sp + 1, &v) < 0)
			continue;
		json_object_object_add(o, line, json_object_new_uint64(v));
	}
	return 0;
}

void hull_cgroup_json_mem_entry(struct json_object *memory, const char *key, uint64_t limit,
				uint64_t usage, uint64_t max, uint64_t failcnt)
{
	struct json_object *e = hull_cgroup_json_child(memory, key);

	if (!e)
		return;
	hull_cgroup_json_u64(e, "limit", limit, false);
	hull_cgroup_json_u64(e, "usage", usage, true);
	hull_cgroup_json_u64(e, "max", max, true);
	hull_cgroup_json_u64(e, "failcnt", failcnt, false);
}

struct json_object *hull_cgroup_json_cpu_list(const char *s)
{
	_cleanup_json_ struct json_object *a = json_object_new_array();
	size_t count = 0;

	for (const char *p = s; a && *p;) {
		unsigned long lo, hi;
		char *end = NULL;

		p += strspn(p, " ,\n");
		if (!*p)
			break;
		errno = 0;
		lo = strtoul(p, &end, 10);
		if (errno || end == p)
			return NULL;
		hi = lo;
		p = end;
		if (*p == '-') {
			hi = strtoul(p + 1, &end, 10);
			if (errno || end == p + 1 || hi < lo)
				return NULL;
			p = end;
		}
		for (unsigned long i = lo; i <= hi; i++) {
			/* cpuset ids are u16 in runc's stats; a range beyond that is garbage */
			if (i > UINT16_MAX || ++count > 65536)
				return NULL;
			json_object_array_add(a, json_object_new_uint64(i));
		}
	}
	return TAKE_PTR(a);
}
