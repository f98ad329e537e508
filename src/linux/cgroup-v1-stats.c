/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 backend's statistics in runc's `events --stats` shape
 * (cpu, cpuset, memory, pids, blkio, hugetlb).
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

static int open_stat(const struct hull_cgroup *cg, const char *c)
{
	int i = hull_cgroup_layout_find(cg->layout, c);

	if (i < 0 || cg->skipped[i])
		return -ENOENT;
	return hull_cgroup_open_dir(cg->dirs[i]);
}

static struct json_object *u64_array(const char *s)
{
	struct json_object *a = json_object_new_array();

	for (const char *p = s; a && *p;) {
		char *end = NULL;
		unsigned long long v;

		p += strspn(p, " \n");
		if (!*p)
			break;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || end == p)
			break;
		json_object_array_add(a, json_object_new_uint64(v));
		p = end;
	}
	return a;
}

static void stats_cpu(const struct hull_cgroup *cg, struct json_object *data)
{
	struct json_object *cpu = hull_cgroup_json_child(data, "cpu"), *usage, *thr;
	_cleanup_close_ int acct = open_stat(cg, "cpuacct"), cfd = open_stat(cg, "cpu");
	uint64_t total = 0, user = 0, sys = 0, v = 0;
	long tck = sysconf(_SC_CLK_TCK);

	usage = cpu ? hull_cgroup_json_child(cpu, "usage") : NULL;
	thr = cpu ? hull_cgroup_json_child(cpu, "throttling") : NULL;
	if (!usage || !thr)
		return;
	if (acct >= 0) {
		_cleanup_free_ char *percpu = NULL, *all = NULL;

		(void)hull_cgroup_read_u64(acct, "cpuacct.usage", &total);
		/* cpuacct.stat counts USER_HZ ticks (runc converts the same way) */
		if (tck > 0) {
			if (hull_cgroup_read_keyed(acct, "cpuacct.stat", "user", &v) >= 0)
				user = v * (1000000000ULL / (uint64_t)tck);
			if (hull_cgroup_read_keyed(acct, "cpuacct.stat", "system", &v) >= 0)
				sys = v * (1000000000ULL / (uint64_t)tck);
		}
		hull_cgroup_json_u64(usage, "total", total, true);
		if (hull_cgroup_read(acct, "cpuacct.usage_percpu", &percpu) >= 0 && *percpu)
			json_object_object_add(usage, "percpu", u64_array(percpu));
		/* "cpu user system" then one line per cpu */
		if (hull_cgroup_read(acct, "cpuacct.usage_all", &all) >= 0) {
			struct json_object *pk = json_object_new_array(),
					   *pu = json_object_new_array();
			char *save = NULL;
			bool header = true;

			for (char *l = strtok_r(all, "\n", &save); l && pk && pu;
			     l = strtok_r(NULL, "\n", &save)) {
				unsigned long long c, u, s;

				if (header) {
					header = false;
					continue;
				}
				if (sscanf(l, "%llu %llu %llu", &c, &u, &s) != 3)
					continue;
				json_object_array_add(pk, json_object_new_uint64(s));
				json_object_array_add(pu, json_object_new_uint64(u));
			}
			if (pk && json_object_array_length(pk) > 0)
				json_object_object_add(usage, "percpu_kernel", json_object_get(pk));
			if (pu && json_object_array_length(pu) > 0)
				json_object_object_add(usage, "percpu_user", json_object_get(pu));
			json_object_put(pk);
			json_object_put(pu);
		}
	}
	hull_cgroup_json_u64(usage, "kernel", sys, false);
	hull_cgroup_json_u64(usage, "user", user, false);
	if (cfd >= 0) {
		if (hull_cgroup_read_keyed(cfd, "cpu.stat", "nr_periods", &v) >= 0)
			hull_cgroup_json_u64(thr, "periods", v, true);
		if (hull_cgroup_read_keyed(cfd, "cpu.stat", "nr_throttled", &v) >= 0)
			hull_cgroup_json_u64(thr, "throttledPeriods", v, true);
		if (hull_cgroup_read_keyed(cfd, "cpu.stat", "throttled_time", &v) >= 0)
			hull_cgroup_json_u64(thr, "throttledTime", v, true);
	}
}

static void stats_cpuset(const struct hull_cgroup *cg, struct json_object *data)
{
	static const char *const flags[] = {
		"cpu_exclusive",      "mem_hardwall",	    "mem_exclusive",   "memory_migrate",
		"memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance",
	};
	_cleanup_close_ int dfd = open_stat(cg, "cpuset");
	struct json_object *cs;
	char f[64];

	if (dfd < 0 || !(cs = hull_cgroup_json_child(data, "cpuset")))
		return;
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *s = NULL;
		struct json_object *list;

		if (hull_cgroup_read(dfd, i == 0 ? "cpuset.cpus" : "cpuset.mems", &s) < 0)
			continue;
		list = hull_cgroup_json_cpu_list(s);
		if (list && json_object_array_length(list) > 0)
			json_object_object_add(cs, i == 0 ? "cpus" : "mems", list);
		else
			json_object_put(list);
	}
	for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
		uint64_t v = 0;

		snprintf(f, sizeof(f), "cpuset.%s", flags[i]);
		(void)hull_cgroup_read_u64(dfd, f, &v);
		hull_cgroup_json_u64(cs, flags[i], v, false);
	}
	{
		_cleanup_free_ char *s = NULL;
		int64_t level = 0;

		if (hull_cgroup_read(dfd, "cpuset.sched_relax_domain_level", &s) >= 0)
			(void)hull_parse_i64(s, &level);
		json_object_object_add(cs, "sched_relax_domain_level",
				       json_object_new_int64(level));
	}
}

static void mem_entry(int dfd, struct json_object *mem, const char *key, const char *prefix)
{
	uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
	char f[96];

	if (dfd >= 0) {
		snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
		if (hull_cgroup_read_u64(dfd, f, &usage) >= 0) {
			snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
			(void)hull_cgroup_read_u64(dfd, f, &limit);
			snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
			(void)hull_cgroup_read_u64(dfd, f, &max);
			snprintf(f, sizeof(f), "%s.failcnt", prefix);
			(void)hull_cgroup_read_u64(dfd, f, &failcnt);
		}
	}
	hull_cgroup_json_mem_entry(mem, key, limit, usage, max, failcnt);
}

static void stats_memory(const struct hull_cgroup *cg, struct json_object *data)
{
	struct json_object *mem = hull_cgroup_json_child(data, "memory"), *raw, *cache;
	_cleanup_close_ int dfd = open_stat(cg, "memory");

	if (!mem)
		return;
	if (dfd >= 0 && (raw = hull_cgroup_json_child(mem, "raw"))) {
		(void)hull_cgroup_json_keyed(dfd, "memory.stat", raw);
		if (json_object_object_get_ex(raw, "cache", &cache))
			hull_cgroup_json_u64(mem, "cache", json_object_get_uint64(cache), true);
		if (json_object_object_length(raw) == 0)
			json_object_object_del(mem, "raw");
	}
	mem_entry(dfd, mem, "usage", "memory");
	mem_entry(dfd, mem, "swap", "memory.memsw");
	mem_entry(dfd, mem, "kernel", "memory.kmem");
	mem_entry(dfd, mem, "kernelTCP", "memory.kmem.tcp");
}

static void stats_pids(const struct hull_cgroup *cg, struct json_object *data)
{
	struct json_object *p = hull_cgroup_json_child(data, "pids");
	_cleanup_close_ int dfd = open_stat(cg, "pids");
	uint64_t cur = 0, max = 0;

	if (!p || dfd < 0)
		return;
	(void)hull_cgroup_read_u64(dfd, "pids.current", &cur);
	if (hull_cgroup_read_u64(dfd, "pids.max", &max) >= 0 && max == UINT64_MAX)
		max = 0; /* runc's "no limit" */
	hull_cgroup_json_u64(p, "current", cur, true);
	hull_cgroup_json_u64(p, "limit", max, true);
}

/* "8:0 Read 1234" lines of a blkio stat file into blkio[table]. */
static int blkio_table(int dfd, const char *file, struct json_object *blkio, const char *table)
{
	_cleanup_free_ char *s = NULL;
	struct json_object *arr;
	char *save = NULL;
	int r = 0;

	r = hull_cgroup_read(dfd, file, &s);
	if (r < 0)
		return r;
	arr = json_object_new_array();
	if (!arr)
		return -ENOMEM;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long major, minor, value;
		char op[32];
		struct json_object *e;

		if (sscanf(l, "%llu:%llu %31s %llu", &major, &minor, op, &value) != 4)
			continue; /* "Total 123" */
		e = json_object_new_object();
		if (!e)
			continue;
		hull_cgroup_json_u64(e, "major", major, true);
		hull_cgroup_json_u64(e, "minor", minor, true);
		json_object_object_add(e, "op", json_object_new_string(op));
		hull_cgroup_json_u64(e, "value", value, true);
		json_object_array_add(arr, e);
	}
	if (json_object_array_length(arr) > 0)
		json_object_object_add(blkio, table, arr);
	else
		json_object_put(arr);
	return 0;
}

static void stats_blkio(const struct hull_cgroup *cg, struct json_object *data)
{
	static const struct {
		const char *file, *table;
	} groups[][8] = {
		/* BFQ (blk-mq kernels) */
		{ { "blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive" },
		  { "blkio.bfq.io_serviced_recursive", "ioServicedRecursive" } },
		/* CFQ */
		{ { "blkio.io_service_bytes_recursive", "ioServiceBytesRecursive" },
		  { "blkio.io_serviced_recursive", "ioServicedRecursive" },
		  { "blkio.io_queued_recursive", "ioQueueRecursive" },
		  { "blkio.io_service_time_recursive", "ioServiceTimeRecursive" },
		  { "blkio.io_wait_time_recursive", "ioWaitTimeRecursive" },
		  { "blkio.io_merged_recursive", "ioMergedRecursive" },
		  { "blkio.time_recursive", "ioTimeRecursive" },
		  { "blkio.sectors_recursive", "sectorsRecursive" } },
		/* the throttling layer counts on every kernel */
		{ { "blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive" },
		  { "blkio.throttle.io_serviced_recursive", "ioServicedRecursive" } },
		{ { "blkio.throttle.io_service_bytes", "ioServiceBytesRecursive" },
		  { "blkio.throttle.io_serviced", "ioServicedRecursive" } },
	};
	struct json_object *blkio = hull_cgroup_json_child(data, "blkio");
	_cleanup_close_ int dfd = open_stat(cg, "blkio");

	if (!blkio || dfd < 0)
		return;
	/* the first group the kernel has, as runc picks it */
	for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
		if (!hull_cgroup_file_exists(dfd, groups[g][0].file))
			continue;
		for (size_t k = 0; k < ELEMENTSOF(groups[g]) && groups[g][k].file; k++)
			(void)blkio_table(dfd, groups[g][k].file, blkio, groups[g][k].table);
		break;
	}
}

static void stats_hugetlb(const struct hull_cgroup *cg, struct json_object *data)
{
	_cleanup_close_ int dfd = open_stat(cg, "hugetlb");
	struct json_object *h = hull_cgroup_json_child(data, "hugetlb");
	struct dirent *de;
	DIR *d;
	int u;

	if (!h)
		return;
	if (dfd < 0) {
		u = hull_cgroup_layout_unified(cg->layout);
		if (u >= 0 && !cg->skipped[u]) {
			_cleanup_close_ int ufd = hull_cgroup_open_dir(cg->dirs[u]);

			if (ufd >= 0)
				(void)hull_cgroup_v2_hugetlb_stats(ufd, data);
		}
		return;
	}
	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *size = startswith(de->d_name, "hugetlb.");
		char name[64], f[256];
		uint64_t usage = 0, max = 0, failcnt = 0;
		struct json_object *e;
		size_t n;

		if (!size)
			continue;
		n = strcspn(size, ".");
		if (n == 0 || n >= sizeof(name) || !streq(size + n, ".usage_in_bytes"))
			continue;
		memcpy(name, size, n);
		name[n] = '\0';
		snprintf(f, sizeof(f), "hugetlb.%s.usage_in_bytes", name);
		(void)hull_cgroup_read_u64(dirfd(d), f, &usage);
		snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", name);
		(void)hull_cgroup_read_u64(dirfd(d), f, &max);
		snprintf(f, sizeof(f), "hugetlb.%s.failcnt", name);
		(void)hull_cgroup_read_u64(dirfd(d), f, &failcnt);
		e = hull_cgroup_json_child(h, name);
		if (!e)
			continue;
		hull_cgroup_json_u64(e, "usage", usage, true);
		hull_cgroup_json_u64(e, "max", max, true);
		hull_cgroup_json_u64(e, "failcnt", failcnt, false);
	}
	closedir(d);
}

int hull_cgroup_v1_stats(const struct hull_cgroup *cg, struct json_object **ret,
			 struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *data = NULL;
	bool any = false;

	for (size_t i = 0; i < cg->layout->n_hierarchies; i++)
		if (!cg->skipped[i] && access(cg->dirs[i], F_OK) == 0)
			any = true;
	if (!any)
		return hull_error_set(reterr, -ENOENT, "statistics of cgroup '%s': no such cgroup",
				      cg->path);
	data = json_object_new_object();
	if (!data)
		return -ENOMEM;
	stats_cpu(cg, data);
	stats_cpuset(cg, data);
	stats_memory(cg, data);
	stats_pids(cg, data);
	stats_blkio(cg, data);
	stats_hugetlb(cg, data);
	*ret = TAKE_PTR(data);
	return 0;
}
