/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 backend's statistics in runc's `events --stats` shape, from
 * cpu.stat, memory.*, pids.*, io.stat and hugetlb.* (the latter also for a
 * hybrid host's cgroup2).
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

static bool stat_key(const char *s, const char *key, uint64_t *ret)
{
	size_t n = strlen(key);

	return strncmp(s, key, n) == 0 && s[n] == ' ' && hull_parse_u64(s + n + 1, ret) >= 0;
}

static void stats_cpu(int dfd, struct json_object *data)
{
	_cleanup_free_ char *s = NULL;
	struct json_object *cpu, *usage, *thr;
	uint64_t total = 0, user = 0, sys = 0, periods = 0, throttled = 0, ttime = 0;
	char *save = NULL;

	if (hull_cgroup_read(dfd, "cpu.stat", &s) >= 0)
		for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			uint64_t v;

			if (stat_key(l, "usage_usec", &v))
				total = v * 1000;
			else if (stat_key(l, "user_usec", &v))
				user = v * 1000;
			else if (stat_key(l, "system_usec", &v))
				sys = v * 1000;
			else if (stat_key(l, "nr_periods", &v))
				periods = v;
			else if (stat_key(l, "nr_throttled", &v))
				throttled = v;
			else if (stat_key(l, "throttled_usec", &v))
				ttime = v * 1000;
		}
	cpu = hull_cgroup_json_child(data, "cpu");
	usage = cpu ? hull_cgroup_json_child(cpu, "usage") : NULL;
	thr = cpu ? hull_cgroup_json_child(cpu, "throttling") : NULL;
	if (!usage || !thr)
		return;
	hull_cgroup_json_u64(usage, "total", total, true);
	hull_cgroup_json_u64(usage, "kernel", sys, false);
	hull_cgroup_json_u64(usage, "user", user, false);
	hull_cgroup_json_u64(thr, "periods", periods, true);
	hull_cgroup_json_u64(thr, "throttledPeriods", throttled, true);
	hull_cgroup_json_u64(thr, "throttledTime", ttime, true);
}

static void stats_cpuset(int dfd, struct json_object *data)
{
	static const char *const flags[] = {
		"cpu_exclusive",      "mem_hardwall",	    "mem_exclusive",   "memory_migrate",
		"memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance",
	};
	struct json_object *cs;

	if (!hull_cgroup_file_exists(dfd, "cpuset.cpus.effective") ||
	    !(cs = hull_cgroup_json_child(data, "cpuset")))
		return;
	/* v2 has the effective sets; the v1 flags do not exist and read as 0 (runc) */
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *s = NULL;
		struct json_object *list;

		if (hull_cgroup_read(dfd,
				     i == 0 ? "cpuset.cpus.effective" : "cpuset.mems.effective",
				     &s) < 0)
			continue;
		list = hull_cgroup_json_cpu_list(s);
		if (list && json_object_array_length(list) > 0)
			json_object_object_add(cs, i == 0 ? "cpus" : "mems", list);
		else
			json_object_put(list);
	}
	for (size_t i = 0; i < ELEMENTSOF(flags); i++)
		hull_cgroup_json_u64(cs, flags[i], 0, false);
	json_object_object_add(cs, "sched_relax_domain_level", json_object_new_int64(0));
}

static void stats_memory(int dfd, struct json_object *data)
{
	struct json_object *mem = hull_cgroup_json_child(data, "memory"), *raw, *cache;
	uint64_t usage = 0, limit = 0, peak = 0, failcnt = 0;
	uint64_t swap = 0, swap_limit = 0, swap_fail = 0;

	if (!mem)
		return;
	raw = hull_cgroup_json_child(mem, "raw");
	if (raw) {
		(void)hull_cgroup_json_keyed(dfd, "memory.stat", raw);
		if (json_object_object_get_ex(raw, "file", &cache))
			hull_cgroup_json_u64(mem, "cache", json_object_get_uint64(cache), true);
		if (json_object_object_length(raw) == 0)
			json_object_object_del(mem, "raw");
	}
	(void)hull_cgroup_read_u64(dfd, "memory.current", &usage);
	(void)hull_cgroup_read_u64(dfd, "memory.max", &limit);
	(void)hull_cgroup_read_u64(dfd, "memory.peak", &peak);
	(void)hull_cgroup_read_keyed(dfd, "memory.events", "max", &failcnt);
	hull_cgroup_json_mem_entry(mem, "usage", limit, usage, peak, failcnt);
	/* v1 reports swap as memory+swap: do the same, as runc does */
	if (hull_cgroup_read_u64(dfd, "memory.swap.current", &swap) >= 0) {
		(void)hull_cgroup_read_u64(dfd, "memory.swap.max", &swap_limit);
		(void)hull_cgroup_read_keyed(dfd, "memory.swap.events", "max", &swap_fail);
		swap += usage;
		if (swap_limit != UINT64_MAX)
			swap_limit = limit == UINT64_MAX ? UINT64_MAX : swap_limit + limit;
		hull_cgroup_json_mem_entry(mem, "swap", swap_limit, swap, 0, swap_fail);
	} else {
		hull_cgroup_json_mem_entry(mem, "swap", 0, 0, 0, 0);
	}
	hull_cgroup_json_mem_entry(mem, "kernel", 0, 0, 0, 0);
	hull_cgroup_json_mem_entry(mem, "kernelTCP", 0, 0, 0, 0);
}

static void stats_pids(int dfd, struct json_object *data)
{
	struct json_object *p = hull_cgroup_json_child(data, "pids");
	uint64_t cur = 0, max = 0;

	if (!p)
		return;
	(void)hull_cgroup_read_u64(dfd, "pids.current", &cur);
	/* "max" reads as 0, runc's "no limit" */
	if (hull_cgroup_read_u64(dfd, "pids.max", &max) >= 0 && max == UINT64_MAX)
		max = 0;
	hull_cgroup_json_u64(p, "current", cur, true);
	hull_cgroup_json_u64(p, "limit", max, true);
}

static void blkio_entry(struct json_object *blkio, const char *table, uint64_t major,
			uint64_t minor, const char *op, uint64_t value)
{
	struct json_object *arr = NULL, *e;

	if (!json_object_object_get_ex(blkio, table, &arr)) {
		arr = json_object_new_array();
		if (!arr || json_object_object_add(blkio, table, arr) < 0) {
			json_object_put(arr);
			return;
		}
	}
	e = json_object_new_object();
	if (!e)
		return;
	hull_cgroup_json_u64(e, "major", major, true);
	hull_cgroup_json_u64(e, "minor", minor, true);
	if (op && *op)
		json_object_object_add(e, "op", json_object_new_string(op));
	hull_cgroup_json_u64(e, "value", value, true);
	json_object_array_add(arr, e);
}

static void stats_io(int dfd, struct json_object *data)
{
	static const struct {
		const char *key, *table, *op;
	} map[] = {
		{ "rbytes", "ioServiceBytesRecursive", "Read" },
		{ "wbytes", "ioServiceBytesRecursive", "Write" },
		{ "rios", "ioServicedRecursive", "Read" },
		{ "wios", "ioServicedRecursive", "Write" },
	};
	struct json_object *blkio = hull_cgroup_json_child(data, "blkio");
	_cleanup_free_ char *s = NULL;
	char *save = NULL;

	if (!blkio || hull_cgroup_read(dfd, "io.stat", &s) < 0)
		return;
	/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" */
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long major, minor;
		char *p;
		int off = 0;

		if (sscanf(l, "%llu:%llu%n", &major, &minor, &off) != 2)
			continue;
		for (p = l + off; *p;) {
			size_t n;

			p += strspn(p, " ");
			n = strcspn(p, " ");
			for (size_t k = 0; k < ELEMENTSOF(map); k++) {
				size_t kl = strlen(map[k].key);
				uint64_t v;
				char num[32];

				if (n > kl + 1 && n - kl - 1 < sizeof(num) &&
				    strncmp(p, map[k].key, kl) == 0 && p[kl] == '=') {
					memcpy(num, p + kl + 1, n - kl - 1);
					num[n - kl - 1] = '\0';
					if (hull_parse_u64(num, &v) >= 0)
						blkio_entry(blkio, map[k].table, major, minor,
							    map[k].op, v);
				}
			}
			p += n;
		}
	}
}

int hull_cgroup_v2_hugetlb_stats(int dfd, struct json_object *data)
{
	struct json_object *h = hull_cgroup_json_child(data, "hugetlb");
	_cleanup_close_ int dup_fd = -EBADF;
	struct dirent *de;
	DIR *d;

	if (!h)
		return -ENOMEM;
	dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return -errno;
	d = fdopendir(TAKE_FD(dup_fd));
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *size = startswith(de->d_name, "hugetlb.");
		struct json_object *e;
		char file[256], events[256], name[64];
		uint64_t usage = 0, failcnt = 0;
		size_t n;

		if (!size)
			continue;
		n = strcspn(size, ".");
		if (!streq(size + n, ".current") || n == 0 || n >= sizeof(name))
			continue;
		memcpy(name, size, n);
		name[n] = '\0';
		snprintf(file, sizeof(file), "hugetlb.%s.current", name);
		snprintf(events, sizeof(events), "hugetlb.%s.events", name);
		(void)hull_cgroup_read_u64(dfd, file, &usage);
		(void)hull_cgroup_read_keyed(dfd, events, "max", &failcnt);
		e = hull_cgroup_json_child(h, name);
		if (!e)
			continue;
		hull_cgroup_json_u64(e, "usage", usage, true);
		hull_cgroup_json_u64(e, "failcnt", failcnt, false);
	}
	closedir(d);
	return 0;
}

int hull_cgroup_v2_stats(const struct hull_cgroup *cg, struct json_object **ret,
			 struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *data = NULL;
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout);

	if (u < 0 || cg->skipped[u])
		return hull_error_set(reterr, -ENOENT, "statistics of cgroup '%s': no cgroup",
				      cg->path);
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
	data = json_object_new_object();
	if (!data)
		return -ENOMEM;
	stats_cpu(dfd, data);
	stats_cpuset(dfd, data);
	stats_memory(dfd, data);
	stats_pids(dfd, data);
	stats_io(dfd, data);
	(void)hull_cgroup_json_child(data, "blkio");
	(void)hull_cgroup_v2_hugetlb_stats(dfd, data);
	*ret = TAKE_PTR(data);
	return 0;
}
