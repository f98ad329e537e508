/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: layout detection from /proc/self/mountinfo, path resolution,
 * validation of the OCI resources, helpers shared by the backends, and the
 * public functions, which dispatch to cgroup-v1.c or cgroup-v2.c through an
 * ops table (as LXC's cgroup drivers do).
 */
#include "linux/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

/* Where empty and relative cgroupsPaths go: never below the caller's own cgroup. */
#define HULL_CGROUP_BASE "/hull"

/* ---- layout ----------------------------------------------------------- */

/* v1 controllers the kernel knows; anything else in the super options is an option. */
static const char *const v1_controllers[] = {
	"cpuset",     "cpu",	  "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
	"perf_event", "net_prio", "hugetlb", "pids",  "rdma",	"misc",	   "debug",
};

static bool is_v1_controller(const char *opt)
{
	if (startswith(opt, "name=") && opt[5])
		return true;
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++)
		if (streq(opt, v1_controllers[i]))
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void hierarchy_done(struct hull_cgroup_hierarchy *h)
{
	free(h->mount_point);
	free(h->name);
	hull_strv_free(h->controllers);
	*h = (struct hull_cgroup_hierarchy){ 0 };
}

void hull_cgroup_layout_free(struct hull_cgroup_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_hierarchies; i++)
		hierarchy_done(&l->hierarchies[i]);
	free(l->hierarchies);
	free(l);
}

struct mi_entry {
	char *devno, *root, *mount_point, *fstype, *super;
};

/* Splits one mountinfo line in place; false when it is malformed. */
static bool mi_split(char *line, struct mi_entry *e)
{
	char *fields[16], *save = NULL, *tok;
	size_t n = 0, dash = 0;

	for (tok = strtok_r(line, " ", &save); tok && n < ELEMENTSOF(fields);
	     tok = strtok_r(NULL, " ", &save)) {
		if (dash == 0 && n >= 6 && streq(tok, "-"))
			dash = n;
		fields[n++] = tok;
	}
	if (dash == 0 || n < dash + 4)
		return false;
	e->devno = fields[2];
	e->root = fields[3];
	e->mount_point = fields[4];
	e->fstype = fields[dash + 1];
	e->super = fields[dash + 3];
	return true;
}

static int layout_add(struct hull_cgroup_layout *l, char ***devnos, bool **at_root,
		      const struct mi_entry *e)
{
	_cleanup_free_ char *mp = NULL, *name = NULL;
	_cleanup_strv_free_ char **ctrls = NULL;
	bool unified = streq(e->fstype, "cgroup2");
	bool root = streq(e->root, "/");
	struct hull_cgroup_hierarchy *nh;
	const char *base;
	size_t i;
	int r;

	mp = unescape_octal(e->mount_point);
	if (!mp)
		return -ENOMEM;
	if (!unified) {
		_cleanup_free_ char *super = strdup(e->super);
		char *save = NULL;

		if (!super)
			return -ENOMEM;
		for (char *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save))
			if (is_v1_controller(o) && (r = hull_strv_push(&ctrls, o)) < 0)
				return r;
		if (!ctrls)
			return 0; /* no controller, nothing to manage */
	}

	/* one hierarchy per superblock; a mount of its root beats a bind of a subtree */
	for (i = 0; i < l->n_hierarchies; i++)
		if (streq((*devnos)[i], e->devno))
			break;
	if (i < l->n_hierarchies) {
		if ((*at_root)[i] || !root)
			return 0;
		free(l->hierarchies[i].mount_point);
		l->hierarchies[i].mount_point = TAKE_PTR(mp);
		(*at_root)[i] = true;
		return 0;
	}

	nh = realloc(l->hierarchies, (l->n_hierarchies + 1) * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	l->hierarchies = nh;
	if ((r = hull_strv_push(devnos, e->devno)) < 0)
		return r;
	{
		bool *na = realloc(*at_root, (l->n_hierarchies + 1) * sizeof(bool));

		if (!na)
			return -ENOMEM;
		*at_root = na;
		na[l->n_hierarchies] = root;
	}
	base = strrchr(mp, '/');
	base = base && base[1] ? base + 1 : (unified ? "unified" : ctrls[0]);
	name = strdup(base);
	if (!name)
		return -ENOMEM;
	nh = &l->hierarchies[l->n_hierarchies];
	*nh = (struct hull_cgroup_hierarchy){ .unified = unified };
	nh->name = TAKE_PTR(name);
	nh->mount_point = TAKE_PTR(mp);
	nh->controllers = TAKE_PTR(ctrls);
	l->n_hierarchies++;
	return 0;
}

int hull_cgroup_layout_parse(const char *mountinfo, struct hull_cgroup_layout **ret)
{
	_cleanup_(hull_cgroup_layout_freep) struct hull_cgroup_layout *l = NULL;
	_cleanup_strv_free_ char **devnos = NULL;
	_cleanup_free_ bool *at_root = NULL;
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	bool v1 = false;
	int r, unified;

	l = calloc(1, sizeof(*l));
	text = strdup(mountinfo);
	if (!l || !text)
		return -ENOMEM;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mi_entry e;

		if (!mi_split(line, &e))
			continue;
		if (!streq(e.fstype, "cgroup") && !streq(e.fstype, "cgroup2"))
			continue;
		r = layout_add(l, &devnos, &at_root, &e);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < l->n_hierarchies; i++)
		hull_strv_foreach (c, l->hierarchies[i].controllers)
			if (!startswith(c, "name="))
				v1 = true;
	unified = hull_cgroup_layout_unified(l);
	if (v1) {
		l->mode = HULL_CGROUP_V1;
	} else if (unified >= 0) {
		/* pure v2: a lone name=systemd v1 mount beside it is not ours to manage */
		l->mode = HULL_CGROUP_V2;
		for (size_t i = 0; i < l->n_hierarchies; i++)
			if (i != (size_t)unified)
				hierarchy_done(&l->hierarchies[i]);
		if (unified != 0)
			l->hierarchies[0] = l->hierarchies[unified];
		l->n_hierarchies = 1;
	} else {
		return -ENOENT;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static struct hull_cgroup_layout *cached_layout;

int hull_cgroup_layout_get(const struct hull_cgroup_layout **ret)
{
	struct hull_cgroup_layout *l = __atomic_load_n(&cached_layout, __ATOMIC_ACQUIRE);

	if (!l) {
		_cleanup_(hull_cgroup_layout_freep) struct hull_cgroup_layout *n = NULL;
		_cleanup_free_ char *text = NULL;
		struct hull_cgroup_layout *expected = NULL;
		int r;

		r = hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL);
		if (r < 0)
			return r;
		r = hull_cgroup_layout_parse(text, &n);
		if (r < 0)
			return r;
		/* another thread may have raced us here: keep the first */
		if (__atomic_compare_exchange_n(&cached_layout, &expected, n, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			l = TAKE_PTR(n);
		else
			l = expected;
	}
	*ret = l;
	return 0;
}

int hull_cgroup_layout_find(const struct hull_cgroup_layout *l, const char *controller)
{
	for (size_t i = 0; i < l->n_hierarchies; i++)
		if (!l->hierarchies[i].unified &&
		    hull_strv_contains(l->hierarchies[i].controllers, controller))
			return (int)i;
	return -1;
}

int hull_cgroup_layout_unified(const struct hull_cgroup_layout *l)
{
	for (size_t i = 0; i < l->n_hierarchies; i++)
		if (l->hierarchies[i].unified)
			return (int)i;
	return -1;
}

int hull_cgroup_mode_detect(enum hull_cgroup_mode *ret)
{
	const struct hull_cgroup_layout *l = NULL;
	int r;

	r = hull_cgroup_layout_get(&l);
	if (r < 0)
		return r;
	*ret = l->mode;
	return 0;
}

/* ---- paths ------------------------------------------------------------ */

/* Joins the '/'-separated components of `p` as "/a/b", refusing "." and "..". */
static int normalize(const char *p, char **ret)
{
	_cleanup_free_ char *out = malloc(strlen(p) + 2);
	size_t o = 0;

	if (!out)
		return -ENOMEM;
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

int hull_cgroup_resolve_path(const char *cgroups_path, const char *id, char **ret,
			     struct hull_error **reterr)
{
	_cleanup_free_ char *joined = NULL, *norm = NULL;
	int r;

	if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/') || streq_dots(id))
			return hull_error_set(reterr, -EINVAL,
					      "cgroup of container '%s': invalid container id",
					      id ? id : "");
		joined = hull_strdup_printf(HULL_CGROUP_BASE "/%s", id);
	} else if (cgroups_path[0] != '/') {
		joined = hull_strdup_printf(HULL_CGROUP_BASE "/%s", cgroups_path);
	} else {
		joined = strdup(cgroups_path);
	}
	if (!joined)
		return -ENOMEM;
	r = normalize(joined, &norm);
	if (r == -EINVAL)
		return hull_error_set(reterr, r,
				      "linux.cgroupsPath: '.' and '..' are not allowed in '%s'",
				      cgroups_path);
	if (r < 0)
		return r;
	if (!*norm)
		return hull_error_set(reterr, -EINVAL,
				      "linux.cgroupsPath: the root cgroup cannot be used");
	*ret = TAKE_PTR(norm);
	return 0;
}

int hull_cgroup_sub_parse(char *const *specs, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **map = NULL;
	size_t n = hull_strv_length((char **)specs);
	int r;

	hull_strv_foreach (spec, (char **)specs) {
		_cleanup_free_ char *path = NULL, *ctrls = NULL;
		const char *colon = strchr(spec, ':');
		char *list, *c;

		if (colon && strchr(colon + 1, ':'))
			return hull_error_set(
				reterr, -EINVAL,
				"--cgroup '%s': expected [CONTROLLER[,CONTROLLER...]:]PATH", spec);
		r = normalize(colon ? colon + 1 : spec, &path);
		if (r == -EINVAL)
			return hull_error_set(reterr, r,
					      "--cgroup '%s': '.' and '..' are not allowed: the "
					      "sub-cgroup must lie inside the container's cgroup",
					      spec);
		if (r < 0)
			return r;
		if (!colon) {
			if (n != 1)
				return hull_error_set(
					reterr, -EINVAL,
					"--cgroup '%s': a PATH without CONTROLLER: must "
					"be the only --cgroup",
					spec);
			if ((r = hull_strv_push(&map, "")) < 0 ||
			    (r = hull_strv_push(&map, path)) < 0)
				return r;
			continue;
		}
		ctrls = strndup(spec, (size_t)(colon - spec));
		if (!ctrls)
			return -ENOMEM;
		list = ctrls;
		while ((c = strsep(&list, ","))) {
			if (!*c)
				return hull_error_set(reterr, -EINVAL,
						      "--cgroup '%s': empty controller name", spec);
			for (char **m = map; m && m[0]; m += 2)
				if (streq(m[0], c))
					return hull_error_set(
						reterr, -EINVAL,
						"--cgroup: controller '%s' given twice", c);
			if ((r = hull_strv_push(&map, c)) < 0 ||
			    (r = hull_strv_push(&map, path)) < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(map);
	return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "". */
static int expand_slice(const char *slice, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t len = strlen(slice), stem;
	const char *dash;

	if (streq(slice, "-.slice")) {
		out = strdup("");
		goto done;
	}
	if (len <= 6 || !streq(slice + len - 6, ".slice") || strchr(slice, '/'))
		return -EINVAL;
	stem = len - 6;
	if (slice[0] == '-' || slice[stem - 1] == '-' || strstr(slice, "--"))
		return -EINVAL;
	out = strdup("");
	for (dash = slice; out && (dash = memchr(dash, '-', stem - (size_t)(dash - slice)));
	     dash++) {
		char *n = hull_strdup_printf("%s/%.*s.slice", out, (int)(dash - slice), slice);

		free(out);
		out = n;
	}
	if (out) {
		char *n = hull_strdup_printf("%s/%s", out, slice);

		free(out);
		out = n;
	}
done:
	if (!out)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int hull_cgroup_systemd_path(const char *spec, const char *id, char **ret,
			     struct hull_error **reterr)
{
	_cleanup_free_ char *copy = NULL, *slice_path = NULL, *unit = NULL, *path = NULL;
	const char *slice, *prefix, *name;
	char *c1, *c2;
	int r;

	copy = strdup(spec ? spec : "");
	if (!copy)
		return -ENOMEM;
	c1 = *copy ? strchr(copy, ':') : NULL;
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (*copy && (!c2 || strchr(c2 + 1, ':')))
		return hull_error_set(reterr, -EINVAL,
				      "linux.cgroupsPath: expected 'slice:prefix:name' with the "
				      "systemd cgroup driver, got '%s'",
				      spec);
	if (*copy) {
		*c1 = *c2 = '\0';
		slice = copy;
		prefix = c1 + 1;
		name = c2 + 1;
	} else {
		slice = "";
		prefix = "hull";
		name = "";
	}
	if (!*slice)
		slice = "system.slice";
	if (!*name)
		name = id;
	if (!name || !*name || strchr(name, '/') || strchr(prefix, '/') || streq_dots(name))
		return hull_error_set(reterr, -EINVAL,
				      "linux.cgroupsPath: invalid unit name in '%s'",
				      spec ? spec : "");
	r = expand_slice(slice, &slice_path);
	if (r == -EINVAL)
		return hull_error_set(reterr, r, "linux.cgroupsPath: invalid slice '%s'", slice);
	if (r < 0)
		return r;
	if (strlen(name) > 6 && streq(name + strlen(name) - 6, ".slice"))
		unit = strdup(name);
	else if (*prefix)
		unit = hull_strdup_printf("%s-%s.scope", prefix, name);
	else
		unit = hull_strdup_printf("%s.scope", name);
	if (!unit)
		return -ENOMEM;
	path = hull_strdup_printf("%s/%s", slice_path, unit);
	if (!path)
		return -ENOMEM;
	return hull_cgroup_resolve_path(path, NULL, ret, reterr);
}

/* ---- conversions and validation --------------------------------------- */

uint64_t hull_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t hull_cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + (weight - 10) * 9999 / 990;
}

int hull_cgroup_swap_to_v2(const struct hull_oci_resources *res, char **ret,
			   struct hull_error **reterr)
{
	int64_t limit = res->memory.limit.set ? res->memory.limit.v : 0;
	int64_t swap = res->memory.swap.set ? res->memory.swap.v : 0;
	char *s;

	/* as on v1: an unlimited memory with no word on swap unlimits both */
	if (swap == -1 || (limit == -1 && swap == 0))
		s = strdup("max");
	else if (swap == 0)
		s = NULL;
	else if (limit <= 0)
		return hull_error_set(
			reterr, -EINVAL,
			"linux.resources.memory.swap: a swap limit needs memory.limit");
	else if (swap < limit)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.memory.swap: must be greater than or equal "
				      "to memory.limit");
	else
		s = hull_strdup_printf("%" PRId64, swap - limit);
	if ((swap != 0 || limit == -1) && !s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

bool hull_cgroup_unified_key_ok(const char *key)
{
	return key && *key && !strchr(key, '/') && !strstr(key, "..") && key[0] != '.';
}

static int check_mem(const struct hull_oi64 *v, const char *field, struct hull_error **reterr)
{
	if (v->set && v->v < -1)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.memory.%s: must be -1 (unlimited) or a "
				      "positive number, not %" PRId64,
				      field, v->v);
	return 0;
}

static bool cpu_list_ok(const char *s)
{
	/* "0-3,5": digits, ranges and commas, as cpuset.cpus/mems take them */
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') && *s != ',' && *s != '-' && *s != ' ')
			return false;
	return true;
}

static bool page_size_ok(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0)
		return false;
	return (s[n] == 'K' || s[n] == 'M' || s[n] == 'G') && s[n + 1] == 'B' && !s[n + 2];
}

static int check_weight(uint64_t w, bool set, const char *field, struct hull_error **reterr)
{
	if (set && w != 0 && (w < 10 || w > 1000))
		return hull_error_set(
			reterr, -EINVAL,
			"linux.resources.blockIO.%s: must be between 10 and 1000, not "
			"%" PRIu64,
			field, w);
	return 0;
}

int hull_cgroup_validate(const struct hull_oci_resources *res, enum hull_cgroup_mode mode,
			 bool have_unified, struct hull_error **reterr)
{
	static const char *const throttle_names[] = {
		"throttleReadBpsDevice",
		"throttleWriteBpsDevice",
		"throttleReadIOPSDevice",
		"throttleWriteIOPSDevice",
	};
	int r;

	if (!res)
		return 0;

	if ((r = check_mem(&res->memory.limit, "limit", reterr)) < 0 ||
	    (r = check_mem(&res->memory.reservation, "reservation", reterr)) < 0 ||
	    (r = check_mem(&res->memory.swap, "swap", reterr)) < 0 ||
	    (r = check_mem(&res->memory.kernel, "kernel", reterr)) < 0 ||
	    (r = check_mem(&res->memory.kernel_tcp, "kernelTCP", reterr)) < 0)
		return r;
	if (res->memory.swap.set && res->memory.swap.v > 0 && res->memory.limit.set &&
	    res->memory.limit.v > 0 && res->memory.swap.v < res->memory.limit.v)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.memory.swap: must be greater than or equal "
				      "to memory.limit");
	if (mode == HULL_CGROUP_V2) {
		_cleanup_free_ char *swap = NULL;

		r = hull_cgroup_swap_to_v2(res, &swap, reterr);
		if (r < 0)
			return r;
	}
	if (res->memory.swappiness.set && res->memory.swappiness.v > 100)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.memory.swappiness: must be between 0 and "
				      "100, not %" PRIu64,
				      res->memory.swappiness.v);

	if (res->cpu.shares.set && res->cpu.shares.v != 0 &&
	    (res->cpu.shares.v < 2 || res->cpu.shares.v > 262144))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.shares: must be between 2 and 262144, "
				      "not %" PRIu64,
				      res->cpu.shares.v);
	if (res->cpu.quota.set && res->cpu.quota.v != 0 && res->cpu.quota.v != -1 &&
	    res->cpu.quota.v < 1000)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.quota: must be -1 (unlimited) or at "
				      "least 1000, not %" PRId64,
				      res->cpu.quota.v);
	if (res->cpu.period.set && res->cpu.period.v != 0 &&
	    (res->cpu.period.v < 1000 || res->cpu.period.v > 1000000))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.period: must be between 1000 and "
				      "1000000, not %" PRIu64,
				      res->cpu.period.v);
	if (res->cpu.burst.set && res->cpu.burst.v > 0 && res->cpu.quota.set &&
	    res->cpu.quota.v > 0 && res->cpu.burst.v > (uint64_t)res->cpu.quota.v)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.burst: must not be greater than "
				      "cpu.quota");
	if (res->cpu.realtime_runtime.set && res->cpu.realtime_runtime.v < -1)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.realtimeRuntime: must be -1 or a "
				      "positive number, not %" PRId64,
				      res->cpu.realtime_runtime.v);
	if (mode == HULL_CGROUP_V2 &&
	    ((res->cpu.realtime_runtime.set && res->cpu.realtime_runtime.v != 0) ||
	     (res->cpu.realtime_period.set && res->cpu.realtime_period.v != 0)))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.%s: real-time scheduling limits are "
				      "not supported on cgroup v2",
				      res->cpu.realtime_runtime.set ? "realtimeRuntime"
								    : "realtimePeriod");
	if (res->cpu.idle.set && res->cpu.idle.v != 0 && res->cpu.idle.v != 1)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.idle: must be 0 or 1, not %" PRId64,
				      res->cpu.idle.v);
	if (res->cpu.cpus && !cpu_list_ok(res->cpu.cpus))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.cpus: invalid cpu list '%s'",
				      res->cpu.cpus);
	if (res->cpu.mems && !cpu_list_ok(res->cpu.mems))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.mems: invalid memory node list '%s'",
				      res->cpu.mems);

	if ((r = check_weight(res->block_io.weight.v, res->block_io.weight.set, "weight", reterr)) <
		    0 ||
	    (r = check_weight(res->block_io.leaf_weight.v, res->block_io.leaf_weight.set,
			      "leafWeight", reterr)) < 0)
		return r;
	for (size_t i = 0; i < res->block_io.n_weight_device; i++) {
		const struct hull_oci_weight_device *d = &res->block_io.weight_device[i];
		char field[64];

		if (d->major < 0 || d->minor < 0 || d->major > UINT32_MAX || d->minor > UINT32_MAX)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.blockIO.weightDevice[%zu]: invalid "
					      "device %" PRId64 ":%" PRId64,
					      i, d->major, d->minor);
		snprintf(field, sizeof(field), "weightDevice[%zu].weight", i);
		if ((r = check_weight(d->weight.v, d->weight.set, field, reterr)) < 0)
			return r;
		snprintf(field, sizeof(field), "weightDevice[%zu].leafWeight", i);
		if ((r = check_weight(d->leaf_weight.v, d->leaf_weight.set, field, reterr)) < 0)
			return r;
	}
	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < res->block_io.n_throttle[k]; i++) {
			const struct hull_oci_throttle_device *d = &res->block_io.throttle[k][i];

			if (d->major < 0 || d->minor < 0 || d->major > UINT32_MAX ||
			    d->minor > UINT32_MAX)
				return hull_error_set(reterr, -EINVAL,
						      "linux.resources.blockIO.%s[%zu]: invalid "
						      "device %" PRId64 ":%" PRId64,
						      throttle_names[k], i, d->major, d->minor);
		}

	for (size_t i = 0; i < res->n_hugepage_limits; i++)
		if (!res->hugepage_limits[i].page_size ||
		    !page_size_ok(res->hugepage_limits[i].page_size))
			return hull_error_set(
				reterr, -EINVAL,
				"linux.resources.hugepageLimits[%zu].pageSize: invalid "
				"page size '%s'",
				i,
				res->hugepage_limits[i].page_size
					? res->hugepage_limits[i].page_size
					: "");

	for (size_t i = 0; i < res->n_devices; i++) {
		const struct hull_oci_device_rule *d = &res->devices[i];

		if (d->type != 'a' && d->type != 'b' && d->type != 'c')
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu].type: must be 'a', 'b' "
					      "or 'c'",
					      i);
		if (d->major < -1 || d->minor < -1 || d->major > UINT32_MAX ||
		    d->minor > UINT32_MAX)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu]: invalid device "
					      "%" PRId64 ":%" PRId64,
					      i, d->major, d->minor);
		if (strspn(d->access, "rwm") != strlen(d->access))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu].access: must be a "
					      "combination of 'r', 'w' and 'm'",
					      i);
	}

	if (res->network.class_id.set && res->network.class_id.v > UINT32_MAX)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.network.classID: must fit in 32 bits");
	for (char **p = res->network.priorities; p && p[0] && p[1]; p += 2) {
		uint32_t prio;

		if (!*p[0] || strchr(p[0], ' ') || strchr(p[0], '\n') ||
		    hull_parse_u32(p[1], &prio) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.network.priorities: invalid entry "
					      "'%s' = '%s'",
					      p[0], p[1]);
	}

	for (char **p = res->unified; p && p[0]; p += 2) {
		if (!hull_cgroup_unified_key_ok(p[0]))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.unified: invalid key '%s'", p[0]);
		if (mode == HULL_CGROUP_V1 && !have_unified)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.unified: requires cgroup v2");
	}
	return 0;
}

/* ---- file helpers ----------------------------------------------------- */

int hull_cgroup_write(int dfd, const char *file, const char *value, struct hull_error **reterr)
{
	int r = hull_write_string_at(dfd, file, value);

	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s' = '%s'", file, value);
	hull_debug("cgroup: wrote '%s' = '%s'", file, value);
	return 0;
}

int hull_cgroup_writef(int dfd, const char *file, struct hull_error **reterr, const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return hull_cgroup_write(dfd, file, v, reterr);
}

int hull_cgroup_read(int dfd, const char *file, char **ret)
{
	char *s = NULL;
	size_t len = 0;
	int r;

	r = hull_read_file_at(dfd, file, &s, &len);
	if (r < 0)
		return r;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	*ret = s;
	return 0;
}

int hull_cgroup_read_u64(int dfd, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = hull_cgroup_read(dfd, file, &s);
	if (r < 0)
		return r;
	if (streq(s, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	return hull_parse_u64(s, ret);
}

int hull_cgroup_read_keyed(int dfd, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	size_t klen = strlen(key);
	int r;

	r = hull_cgroup_read(dfd, file, &s);
	if (r < 0)
		return r;
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return hull_parse_u64(line + klen + 1, ret);
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

bool hull_cgroup_file_exists(int dfd, const char *file)
{
	return faccessat(dfd, file, F_OK, 0) == 0;
}

int hull_cgroup_open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Copies parent/file into dir/file when the latter is empty (cpuset.cpus, cpuset.mems). */
static int cpuset_inherit(const char *parent, const char *dir, const char *file,
			  struct hull_error **reterr)
{
	_cleanup_close_ int pfd = -EBADF, dfd = -EBADF;
	_cleanup_free_ char *mine = NULL, *theirs = NULL;
	int r;

	dfd = hull_cgroup_open_dir(dir);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", dir);
	r = hull_cgroup_read(dfd, file, &mine);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s/%s'", dir, file);
	if (*mine)
		return 0;
	pfd = hull_cgroup_open_dir(parent);
	if (pfd < 0)
		return hull_error_errno(reterr, pfd, "open cgroup '%s'", parent);
	r = hull_cgroup_read(pfd, file, &theirs);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s/%s'", parent, file);
	if (!*theirs)
		return 0;
	return hull_cgroup_write(dfd, file, theirs, reterr);
}

static size_t count_levels(const char *path)
{
	size_t n = 0;

	for (const char *p = path; *p; p++)
		if (*p == '/')
			n++;
	return n;
}

static int mkdir_levels_once(const char *mount_point, const char *path, bool cpuset,
			     size_t *ret_first, struct hull_error **reterr)
{
	_cleanup_free_ char *cur = NULL;
	size_t first = (size_t)-1, level = 0, mlen = strlen(mount_point);
	const char *p = path;
	int r;

	cur = malloc(mlen + strlen(path) + 1);
	if (!cur)
		return -ENOMEM;
	memcpy(cur, mount_point, mlen + 1);
	while (*p) {
		size_t n, clen = strlen(cur);

		p++; /* the '/' */
		n = strcspn(p, "/");
		cur[clen] = '/';
		memcpy(cur + clen + 1, p, n);
		cur[clen + 1 + n] = '\0';
		p += n;

		if (mkdir(cur, 0755) == 0) {
			if (first == (size_t)-1)
				first = level;
		} else if (errno != EEXIST) {
			r = hull_error_errno(reterr, -errno, "create cgroup '%s'", cur);
			goto fail;
		}
		if (cpuset) {
			_cleanup_free_ char *parent = strndup(cur, clen);

			if (!parent) {
				r = -ENOMEM;
				goto fail;
			}
			/* a v1 cpuset with empty cpus or mems refuses tasks: inherit them */
			if ((r = cpuset_inherit(parent, cur, "cpuset.cpus", reterr)) < 0 ||
			    (r = cpuset_inherit(parent, cur, "cpuset.mems", reterr)) < 0)
				goto fail;
		}
		level++;
	}
	*ret_first = first;
	return 0;
fail:
	if (first != (size_t)-1)
		hull_cgroup_rmdir_levels(mount_point, path, first);
	return r;
}

int hull_cgroup_mkdir_levels(const char *mount_point, const char *path, bool cpuset,
			     size_t *ret_first, struct hull_error **reterr)
{
	int r;

	/* a concurrent delete may remove an empty shared parent (/hull) under us: retry */
	for (int attempt = 0;; attempt++) {
		r = mkdir_levels_once(mount_point, path, cpuset, ret_first, reterr);
		if (r != -ENOENT || attempt == 5)
			return r;
	}
}

void hull_cgroup_rmdir_parents(const char *mount_point, const char *path)
{
	_cleanup_free_ char *parent = NULL;
	char *slash;

	/* only hull's own subtree: an absolute cgroupsPath's parents belong to someone else */
	if (!startswith(path, "/hull/"))
		return;
	parent = strdup(path);
	if (!parent)
		return;
	slash = strrchr(parent, '/');
	*slash = '\0';
	hull_cgroup_rmdir_levels(mount_point, parent, 0);
}

void hull_cgroup_rmdir_levels(const char *mount_point, const char *path, size_t first)
{
	_cleanup_free_ char *cur = NULL;
	size_t levels = count_levels(path);

	if (first == (size_t)-1)
		return;
	cur = hull_strdup_printf("%s%s", mount_point, path);
	if (!cur)
		return;
	/* leaf first; stop at the first level that is not ours or not empty */
	for (size_t l = levels; l > first; l--) {
		char *slash;

		if (rmdir(cur) < 0 && errno != ENOENT) {
			hull_debug("cgroup: rmdir '%s': %m", cur);
			return;
		}
		slash = strrchr(cur, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int collect_pids_rec(const char *dir, pid_t **pids, size_t *n, unsigned depth)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_close_ int dfd = -EBADF;
	DIR *d;
	struct dirent *de;
	int r;

	if (depth > 256)
		return -ELOOP;
	dfd = hull_cgroup_open_dir(dir);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	r = hull_cgroup_read(dfd, "cgroup.procs", &procs);
	if (r == -ENOENT || r == -ENODEV)
		return 0; /* removed under us */
	if (r < 0)
		return r;
	for (char *line = procs, *save = NULL, *tok = strtok_r(line, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		int pid;

		if (hull_parse_int(tok, &pid) < 0 || pid <= 0)
			continue; /* 0: a process outside our pid namespace */
		if (*n % 64 == 0) {
			pid_t *np = realloc(*pids, (*n + 64) * sizeof(pid_t));

			if (!np)
				return -ENOMEM;
			*pids = np;
		}
		(*pids)[(*n)++] = pid;
	}

	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return -errno;
	r = 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (de->d_type != DT_DIR || streq_dots(de->d_name))
			continue;
		sub = hull_strdup_printf("%s/%s", dir, de->d_name);
		if (!sub) {
			r = -ENOMEM;
			break;
		}
		r = collect_pids_rec(sub, pids, n, depth + 1);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int hull_cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n)
{
	size_t o = 0;
	int r;

	r = collect_pids_rec(dir, pids, n, 0);
	if (r < 0)
		return r;
	if (*n == 0)
		return 0;
	qsort(*pids, *n, sizeof(pid_t), pid_cmp);
	for (size_t i = 0; i < *n; i++)
		if (o == 0 || (*pids)[o - 1] != (*pids)[i])
			(*pids)[o++] = (*pids)[i];
	*n = o;
	return 0;
}

/* Is the pid namespace `fd` (taken over) `ns` or one below it? */
static bool pidns_within(int fd, const struct stat *ns)
{
	_cleanup_close_ int cur = fd;

	/* pid namespaces nest at most 32 deep */
	for (unsigned depth = 0; cur >= 0 && depth <= 32; depth++) {
		struct stat st;
		int parent;

		if (fstat(cur, &st) < 0)
			return false;
		if (st.st_dev == ns->st_dev && st.st_ino == ns->st_ino)
			return true;
		parent = ioctl(cur, NS_GET_PARENT);
		safe_close(cur);
		cur = parent < 0 ? -EBADF : parent;
	}
	return false;
}

/* Signals pid through a pidfd when it is in pid namespace `ns` (or one below it). */
static void signal_in_pidns(pid_t pid, int sig, const struct stat *ns)
{
	_cleanup_close_ int pidfd = -EBADF;
	char path[64];

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (!pidns_within(open(path, O_RDONLY | O_CLOEXEC), ns))
		return;
	/*
	 * If the pidfd's process is alive now, it was alive when its namespace
	 * was read, so the pid named it then; a dead one makes this ESRCH.
	 */
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		hull_debug("cgroup: kill %d: %m", (int)pid);
}

void hull_cgroup_signal_pids(const pid_t *pids, size_t n, int sig, const struct stat *pidns)
{
	for (size_t i = 0; i < n; i++) {
		/* never 0 or negative: kill() would reach a whole process group or everyone */
		if (pids[i] <= 0)
			continue;
		if (pidns)
			signal_in_pidns(pids[i], sig, pidns);
		else if (kill(pids[i], sig) < 0 && errno != ESRCH)
			hull_debug("cgroup: kill %d: %m", (int)pids[i]);
	}
}

int hull_cgroup_check_join(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	/* runc's words: engines and people search for them */
	if (frozen)
		return hull_error_set(
			reterr, -EBUSY,
			"cgroup '%s': container's cgroup unexpectedly frozen (thaw it "
			"or use another cgroup)",
			cg->path);
	if (cg->ops->pids(cg, &pids, &n, NULL) >= 0 && n > 0)
		hull_warn("container's cgroup is not empty: %zu process(es) found in '%s'", n,
			  cg->path);
	return 0;
}

void hull_cgroup_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int rmdir_tree_rec(const char *dir, unsigned depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 256)
		return -ELOOP;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		int k;

		if (de->d_type != DT_DIR || streq_dots(de->d_name))
			continue;
		sub = hull_strdup_printf("%s/%s", dir, de->d_name);
		if (!sub) {
			r = -ENOMEM;
			continue;
		}
		k = rmdir_tree_rec(sub, depth + 1);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	if (r < 0)
		return r;
	/* tasks that were just killed leave the cgroup a moment later: EBUSY for a while */
	for (unsigned i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= 100)
			return -errno;
		hull_cgroup_sleep_ms(10);
	}
}

int hull_cgroup_rmdir_tree(const char *dir)
{
	return rmdir_tree_rec(dir, 0);
}

/* ---- stats and mounts ------------------------------------------------- */

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

uint64_t hull_cgroup_mount_attr(unsigned long mount_flags)
{
	uint64_t a = 0;

	if (mount_flags & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (mount_flags & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (mount_flags & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (mount_flags & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	return a;
}

int hull_cgroup_bind(const char *src, int dirfd, const char *name, uint64_t attr,
		     struct hull_error **reterr)
{
	_cleanup_close_ int tree = -EBADF, target = -EBADF;

	tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return hull_error_errno(reterr, -errno, "bind '%s': open_tree", src);
	if (attr) {
		struct mount_attr ma = { .attr_set = attr };

		if (mount_setattr(tree, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0)
			return hull_error_errno(reterr, -errno, "bind '%s': set mount attributes",
						src);
	}
	if (name) {
		target = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (target < 0)
			return hull_error_errno(reterr, -errno, "bind '%s': open '%s'", src, name);
	}
	if (move_mount(tree, "", name ? target : dirfd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hull_error_errno(reterr, -errno, "bind '%s' into the container", src);
	return 0;
}

/* ---- public functions ------------------------------------------------- */

int hull_cgroup_new_at(const struct hull_cgroup_layout *layout, const char *path,
		       struct hull_cgroup **ret, struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	size_t n = layout->n_hierarchies;

	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->layout = layout;
	cg->ops = layout->mode == HULL_CGROUP_V2 ? &hull_cgroup_v2_ops : &hull_cgroup_v1_ops;
	cg->path = strdup(path);
	cg->dirs = calloc(n + 1, sizeof(char *));
	cg->skipped = calloc(n + 1, sizeof(bool));
	if (!cg->path || !cg->dirs || !cg->skipped)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cg->dirs[i] = hull_strdup_printf("%s%s", layout->hierarchies[i].mount_point, path);
		if (!cg->dirs[i])
			return -ENOMEM;
	}
	*ret = TAKE_PTR(cg);
	return 0;
}

static int get_layout(const struct hull_cgroup_layout **ret, struct hull_error **reterr)
{
	int r = hull_cgroup_layout_get(ret);

	if (r == -ENOENT)
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "detect cgroups: no cgroup filesystem is mounted");
	if (r < 0)
		return hull_error_errno(reterr, r, "read '/proc/self/mountinfo'");
	return 0;
}

int hull_cgroup_new(const char *cgroups_path, const char *id, bool systemd,
		    struct hull_cgroup **ret, struct hull_error **reterr)
{
	const struct hull_cgroup_layout *layout = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (systemd) {
		if (access("/run/systemd/system", F_OK) < 0)
			return hull_error_set(reterr, -EOPNOTSUPP,
					      "systemd cgroup driver: systemd is not running");
		r = hull_cgroup_systemd_path(cgroups_path, id, &path, reterr);
	} else {
		r = hull_cgroup_resolve_path(cgroups_path, id, &path, reterr);
	}
	if (r < 0)
		return r;
	r = get_layout(&layout, reterr);
	if (r < 0)
		return r;
	return hull_cgroup_new_at(layout, path, ret, reterr);
}

int hull_cgroup_from_path(const char *path, struct hull_cgroup **ret, struct hull_error **reterr)
{
	const struct hull_cgroup_layout *layout = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *norm = NULL;
	int r;

	if (!path || path[0] != '/')
		return hull_error_set(reterr, -EINVAL, "cgroup path '%s': must be absolute",
				      path ? path : "");
	r = hull_cgroup_resolve_path(path, NULL, &norm, reterr);
	if (r < 0)
		return r;
	r = get_layout(&layout, reterr);
	if (r < 0)
		return r;
	r = hull_cgroup_new_at(layout, norm, &cg, reterr);
	if (r < 0)
		return r;
	/* hierarchies skipped at creation (rootless) or already removed */
	for (size_t i = 0; i < layout->n_hierarchies; i++)
		if (access(cg->dirs[i], F_OK) < 0 && errno == ENOENT)
			cg->skipped[i] = true;
	*ret = TAKE_PTR(cg);
	return 0;
}

/* Which sub-path of `map` hierarchy h gets; NULL when none. */
static int sub_for(const struct hull_cgroup_hierarchy *h, char **map, const char **ret,
		   struct hull_error **reterr)
{
	const char *found = NULL;

	for (char **m = map; m && m[0]; m += 2) {
		if (*m[0] && (h->unified || !hull_strv_contains(h->controllers, m[0])))
			continue;
		/* co-mounted controllers ("cpu,cpuacct") share one directory */
		if (found && !streq(found, m[1]))
			return hull_error_set(reterr, -EINVAL,
					      "--cgroup: '%s' and '%s' are asked for the same '%s' "
					      "hierarchy",
					      found, m[1], h->name);
		found = m[1];
	}
	*ret = found;
	return 0;
}

int hull_cgroup_sub(const struct hull_cgroup *cg, char *const *specs, struct hull_cgroup **ret,
		    struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *sub = NULL;
	_cleanup_strv_free_ char **map = NULL;
	const struct hull_cgroup_layout *l = cg->layout;
	int r;

	r = hull_cgroup_sub_parse(specs, &map, reterr);
	if (r < 0)
		return r;
	for (char **m = map; m && m[0]; m += 2) {
		if (!*m[0])
			continue;
		if (l->mode == HULL_CGROUP_V2)
			return hull_error_set(
				reterr, -EINVAL,
				"--cgroup '%s:%s': a controller prefix needs cgroup v1; "
				"give the path alone",
				m[0], m[1]);
		if (hull_cgroup_layout_find(l, m[0]) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "--cgroup: no '%s' cgroup hierarchy is mounted",
					      m[0]);
	}
	r = hull_cgroup_new_at(l, cg->path, &sub, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n_hierarchies; i++) {
		const char *p = NULL;
		struct stat st;

		sub->skipped[i] = cg->skipped[i];
		r = sub_for(&l->hierarchies[i], map, &p, reterr);
		if (r < 0)
			return r;
		if (!p || !*p)
			continue;
		if (cg->skipped[i])
			return hull_error_set(reterr, -ENOENT,
					      "--cgroup '%s': the container has no '%s' cgroup", p,
					      l->hierarchies[i].name);
		free(sub->dirs[i]);
		sub->dirs[i] = hull_strdup_printf("%s%s", cg->dirs[i], p);
		if (!sub->dirs[i])
			return -ENOMEM;
		/* as runc: exec joins a sub-cgroup, it does not make one */
		if (stat(sub->dirs[i], &st) < 0)
			return hull_error_errno(reterr, -errno, "--cgroup: sub-cgroup '%s'",
						sub->dirs[i]);
		if (!S_ISDIR(st.st_mode))
			return hull_error_set(reterr, -ENOTDIR,
					      "--cgroup: sub-cgroup '%s' is not a cgroup",
					      sub->dirs[i]);
	}
	if (map && !*map[0] && *map[1]) {
		free(sub->path);
		sub->path = hull_strdup_printf("%s%s", cg->path, map[1]);
		if (!sub->path)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(sub);
	return 0;
}

void hull_cgroup_free(struct hull_cgroup *cg)
{
	if (!cg)
		return;
	free(cg->path);
	if (cg->dirs)
		for (size_t i = 0; i < cg->layout->n_hierarchies; i++)
			free(cg->dirs[i]);
	free(cg->dirs);
	free(cg->skipped);
	free(cg);
}

const char *hull_cgroup_path(const struct hull_cgroup *cg)
{
	return cg->path;
}

int hull_cgroup_create(struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       enum hull_cgroup_create_flags flags, struct hull_error **reterr)
{
	int r;

	r = hull_cgroup_validate(res, cg->layout->mode, hull_cgroup_layout_unified(cg->layout) >= 0,
				 reterr);
	if (r >= 0)
		r = cg->ops->create(cg, res, flags, reterr);
	if (r < 0)
		/* what existed before is not ours: destroy must leave it alone */
		for (size_t i = 0; i < cg->layout->n_hierarchies; i++)
			cg->skipped[i] = true;
	return r;
}

int hull_cgroup_enter(const struct hull_cgroup *cg, pid_t pid, struct hull_error **reterr)
{
	if (pid <= 0)
		return hull_error_set(reterr, -EINVAL, "enter cgroup '%s': invalid pid %d",
				      cg->path, (int)pid);
	return cg->ops->enter(cg, pid, reterr);
}

int hull_cgroup_open_fd(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	return cg->ops->open_fd(cg, reterr);
}

int hull_cgroup_update(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr)
{
	int r;

	if (!res)
		return 0;
	r = hull_cgroup_validate(res, cg->layout->mode, hull_cgroup_layout_unified(cg->layout) >= 0,
				 reterr);
	if (r < 0)
		return r;
	return cg->ops->set(cg, res, reterr);
}

int hull_cgroup_freeze(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr)
{
	return cg->ops->freeze(cg, frozen, reterr);
}

int hull_cgroup_is_frozen(const struct hull_cgroup *cg, bool *ret)
{
	return cg->ops->is_frozen(cg, ret);
}

int hull_cgroup_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n,
		     struct hull_error **reterr)
{
	return cg->ops->pids(cg, ret, ret_n, reterr);
}

int hull_cgroup_kill(const struct hull_cgroup *cg, int sig, int pidns_fd,
		     struct hull_error **reterr)
{
	struct stat ns;

	if (sig < 0 || sig >= NSIG)
		return hull_error_set(reterr, -EINVAL, "kill cgroup '%s': invalid signal %d",
				      cg->path, sig);
	if (pidns_fd < 0)
		return cg->ops->kill(cg, sig, NULL, reterr);
	if (fstat(pidns_fd, &ns) < 0)
		return hull_error_errno(reterr, -errno, "kill cgroup '%s': pid namespace",
					cg->path);
	return cg->ops->kill(cg, sig, &ns, reterr);
}

/*
 * The common case: the container has exited and its cgroup is empty, so one
 * rmdir per hierarchy removes it (the kernel refuses while a task or a child
 * cgroup is left); true when nothing is left.
 */
static bool rmdir_empty(const struct hull_cgroup *cg)
{
	bool left = false;

	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		if (cg->skipped[i])
			continue;
		if (rmdir(cg->dirs[i]) == 0)
			hull_cgroup_rmdir_parents(cg->layout->hierarchies[i].mount_point, cg->path);
		else if (errno != ENOENT)
			left = true;
	}
	return !left;
}

int hull_cgroup_destroy(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	if (rmdir_empty(cg))
		return 0;
	/* processes just killed leave a moment later (bounded: 2 s) */
	for (unsigned i = 0;; i++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		int r;

		r = cg->ops->pids(cg, &pids, &n, reterr);
		if (r < 0)
			return r;
		if (n == 0)
			break;
		if (i == 100)
			return hull_error_set(reterr, -EBUSY,
					      "remove cgroup '%s': %zu process%s still in it",
					      cg->path, n, n == 1 ? " is" : "es are");
		hull_cgroup_sleep_ms(20);
	}
	return cg->ops->destroy(cg, reterr);
}

int hull_cgroup_stats(const struct hull_cgroup *cg, struct json_object **ret,
		      struct hull_error **reterr)
{
	return cg->ops->stats(cg, ret, reterr);
}

int hull_cgroup_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
		      bool cgroupns, struct hull_error **reterr)
{
	return cg->ops->mount(cg, target_fd, mount_flags, cgroupns, reterr);
}
