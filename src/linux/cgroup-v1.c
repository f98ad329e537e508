/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 backend, legacy and hybrid: one directory per mounted
 * hierarchy (co-mounted ones like "cpu,cpuacct" count once, name=systemd
 * too), plus the cgroup2 hierarchy of a hybrid host (as runc does), where
 * hugetlb may live and the unified map can be written.
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

static const struct hull_cgroup_hierarchy *hier(const struct hull_cgroup *cg, size_t i)
{
	return &cg->layout->hierarchies[i];
}

static bool has_controller(const struct hull_cgroup_hierarchy *h, const char *c)
{
	return !h->unified && hull_strv_contains(h->controllers, c);
}

/* Moves a local error into *reterr. */
static int propagate(struct hull_error **reterr, struct hull_error **e, int r)
{
	if (reterr && *e) {
		hull_error_free(*reterr);
		*reterr = TAKE_PTR(*e);
	}
	return r;
}

/* Does `res` ask for anything that v1 controller `c` implements? */
static bool controller_wanted(const char *c, const struct hull_oci_resources *res)
{
	if (!res)
		return false;
	if (streq(c, "memory"))
		return res->memory.limit.set || res->memory.reservation.set ||
		       res->memory.swap.set || res->memory.kernel.set ||
		       res->memory.kernel_tcp.set || res->memory.swappiness.set ||
		       res->memory.disable_oom_killer_set || res->memory.use_hierarchy_set;
	if (streq(c, "cpu"))
		return (res->cpu.shares.set && res->cpu.shares.v) ||
		       (res->cpu.quota.set && res->cpu.quota.v) ||
		       (res->cpu.period.set && res->cpu.period.v) ||
		       (res->cpu.burst.set && res->cpu.burst.v) ||
		       (res->cpu.realtime_runtime.set && res->cpu.realtime_runtime.v) ||
		       (res->cpu.realtime_period.set && res->cpu.realtime_period.v) ||
		       (res->cpu.idle.set && res->cpu.idle.v);
	if (streq(c, "cpuset"))
		return (res->cpu.cpus && *res->cpu.cpus) || (res->cpu.mems && *res->cpu.mems);
	if (streq(c, "pids"))
		return res->pids.limit.set;
	if (streq(c, "blkio"))
		return (res->block_io.weight.set && res->block_io.weight.v) ||
		       (res->block_io.leaf_weight.set && res->block_io.leaf_weight.v) ||
		       res->block_io.n_weight_device || res->block_io.n_throttle[0] ||
		       res->block_io.n_throttle[1] || res->block_io.n_throttle[2] ||
		       res->block_io.n_throttle[3];
	if (streq(c, "devices"))
		return res->n_devices > 0;
	if (streq(c, "hugetlb"))
		return res->n_hugepage_limits > 0;
	if (streq(c, "net_cls"))
		return res->network.class_id.set;
	if (streq(c, "net_prio"))
		return res->network.priorities && res->network.priorities[0];
	return false;
}

/* Does `res` need hierarchy i? (rootless may skip a hierarchy only when not) */
static bool hierarchy_wanted(const struct hull_cgroup *cg, size_t i,
			     const struct hull_oci_resources *res)
{
	const struct hull_cgroup_hierarchy *h = hier(cg, i);

	if (!res)
		return false;
	if (h->unified)
		return (res->unified && res->unified[0]) ||
		       (res->n_hugepage_limits > 0 &&
			hull_cgroup_layout_find(cg->layout, "hugetlb") < 0);
	hull_strv_foreach (c, h->controllers)
		if (controller_wanted(c, res))
			return true;
	return false;
}

/*
 * Opens the directory of the hierarchy carrying `c` for writing limits;
 * a missing or skipped hierarchy is an error naming `field`.
 */
static int open_for(const struct hull_cgroup *cg, const char *c, const char *field,
		    struct hull_error **reterr)
{
	int i = hull_cgroup_layout_find(cg->layout, c), fd;

	if (i < 0)
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "linux.resources.%s: no '%s' cgroup hierarchy is mounted",
				      field, c);
	if (cg->skipped[i])
		return hull_error_set(reterr, -EACCES,
				      "linux.resources.%s: the '%s' cgroup could not be created",
				      field, c);
	fd = hull_cgroup_open_dir(cg->dirs[i]);
	if (fd < 0)
		return hull_error_errno(reterr, fd, "open cgroup '%s'", cg->dirs[i]);
	return fd;
}

/* ---- memory ----------------------------------------------------------- */

static int write_i64(int dfd, const char *file, int64_t v, struct hull_error **reterr)
{
	return hull_cgroup_writef(dfd, file, reterr, "%" PRId64, v);
}

static int set_memory(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	int64_t limit = res->memory.limit.set ? res->memory.limit.v : 0;
	int64_t swap = res->memory.swap.set ? res->memory.swap.v : 0;
	bool memsw = hull_cgroup_file_exists(dfd, "memory.memsw.limit_in_bytes");
	bool swap_first = false;
	int r = 0;

	if (swap != 0 && !memsw) {
		if (swap != -1)
			return hull_error_set(reterr, -EOPNOTSUPP,
					      "linux.resources.memory.swap: swap accounting is not "
					      "enabled (no 'memory.memsw.limit_in_bytes')");
		swap = 0;
	}
	/* unlimited memory with no word on swap: unlimit both (runc) */
	if (limit == -1 && swap == 0 && memsw)
		swap = -1;
	/*
	 * The kernel keeps memory.limit <= memsw.limit at every step, so the
	 * order depends on where the values go: swap first when it grows past
	 * the current memory limit.
	 */
	if (limit != 0 && swap != 0) {
		uint64_t cur = 0;

		r = hull_cgroup_read_u64(dfd, "memory.limit_in_bytes", &cur);
		if (r < 0)
			return hull_error_errno(reterr, r, "read 'memory.limit_in_bytes'");
		swap_first = swap == -1 || cur < (uint64_t)swap;
	}
	if (swap_first && (r = write_i64(dfd, "memory.memsw.limit_in_bytes", swap, reterr)) < 0)
		return r;
	if (limit != 0 && (r = write_i64(dfd, "memory.limit_in_bytes", limit, reterr)) < 0)
		return r;
	if (!swap_first && swap != 0 &&
	    (r = write_i64(dfd, "memory.memsw.limit_in_bytes", swap, reterr)) < 0)
		return r;

	if (res->memory.reservation.set && res->memory.reservation.v != 0 &&
	    (r = write_i64(dfd, "memory.soft_limit_in_bytes", res->memory.reservation.v, reterr)) <
		    0)
		return r;
	/* kernel memory limits are gone from 6.x kernels: ignored where the files are missing */
	if (res->memory.kernel.set && res->memory.kernel.v != 0) {
		if (hull_cgroup_file_exists(dfd, "memory.kmem.limit_in_bytes")) {
			r = write_i64(dfd, "memory.kmem.limit_in_bytes", res->memory.kernel.v,
				      reterr);
			if (r < 0)
				return r;
		} else {
			hull_debug(
				"cgroup: memory.kernel ignored (no 'memory.kmem.limit_in_bytes')");
		}
	}
	if (res->memory.kernel_tcp.set && res->memory.kernel_tcp.v != 0) {
		if (hull_cgroup_file_exists(dfd, "memory.kmem.tcp.limit_in_bytes")) {
			r = write_i64(dfd, "memory.kmem.tcp.limit_in_bytes",
				      res->memory.kernel_tcp.v, reterr);
			if (r < 0)
				return r;
		} else {
			hull_debug("cgroup: memory.kernelTCP ignored (no "
				   "'memory.kmem.tcp.limit_in_bytes')");
		}
	}
	if (res->memory.swappiness.set &&
	    (r = hull_cgroup_writef(dfd, "memory.swappiness", reterr, "%" PRIu64,
				    res->memory.swappiness.v)) < 0)
		return r;
	if (res->memory.disable_oom_killer_set &&
	    (r = hull_cgroup_write(dfd, "memory.oom_control",
				   res->memory.disable_oom_killer ? "1" : "0", reterr)) < 0)
		return r;
	if (res->memory.use_hierarchy_set) {
		uint64_t cur = 0;

		/* recent kernels are always hierarchical and refuse 0: write only a change */
		if (hull_cgroup_read_u64(dfd, "memory.use_hierarchy", &cur) < 0 ||
		    cur != (uint64_t)res->memory.use_hierarchy) {
			r = hull_cgroup_write(dfd, "memory.use_hierarchy",
					      res->memory.use_hierarchy ? "1" : "0", reterr);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- cpu and cpuset --------------------------------------------------- */

static int set_cpu(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	bool quota = res->cpu.quota.set && res->cpu.quota.v != 0;
	bool period = res->cpu.period.set && res->cpu.period.v != 0;
	bool period_later = false, burst_later = false;
	char v[32];
	int r = 0;

	if (res->cpu.shares.set && res->cpu.shares.v != 0 &&
	    (r = hull_cgroup_writef(dfd, "cpu.shares", reterr, "%" PRIu64, res->cpu.shares.v)) < 0)
		return r;
	if (res->cpu.burst.set) {
		snprintf(v, sizeof(v), "%" PRIu64, res->cpu.burst.v);
		if (!hull_cgroup_file_exists(dfd, "cpu.cfs_burst_us")) {
			if (res->cpu.burst.v != 0)
				return hull_error_set(reterr, -EOPNOTSUPP,
						      "linux.resources.cpu.burst: not supported by "
						      "the kernel (no 'cpu.cfs_burst_us')");
		} else {
			/* burst <= quota at every step: it may have to wait for the quota */
			r = hull_write_string_at(dfd, "cpu.cfs_burst_us", v);
			if (r == -EINVAL && quota)
				burst_later = true;
			else if (r < 0)
				return hull_error_errno(reterr, r,
							"write 'cpu.cfs_burst_us' = '%s'", v);
		}
	}
	if (period) {
		/*
		 * A shorter period can be refused while the old quota/period
		 * ratio exceeds the parent's: retry after the quota (runc).
		 */
		snprintf(v, sizeof(v), "%" PRIu64, res->cpu.period.v);
		r = hull_write_string_at(dfd, "cpu.cfs_period_us", v);
		if (r == -EINVAL && quota)
			period_later = true;
		else if (r < 0)
			return hull_error_errno(reterr, r, "write 'cpu.cfs_period_us' = '%s'", v);
	}
	if (quota && (r = write_i64(dfd, "cpu.cfs_quota_us", res->cpu.quota.v, reterr)) < 0)
		return r;
	if (period_later && (r = hull_cgroup_writef(dfd, "cpu.cfs_period_us", reterr, "%" PRIu64,
						    res->cpu.period.v)) < 0)
		return r;
	if (burst_later && (r = hull_cgroup_writef(dfd, "cpu.cfs_burst_us", reterr, "%" PRIu64,
						   res->cpu.burst.v)) < 0)
		return r;
	if (res->cpu.realtime_period.set && res->cpu.realtime_period.v != 0 &&
	    (r = hull_cgroup_writef(dfd, "cpu.rt_period_us", reterr, "%" PRIu64,
				    res->cpu.realtime_period.v)) < 0)
		return r;
	if (res->cpu.realtime_runtime.set && res->cpu.realtime_runtime.v != 0 &&
	    (r = write_i64(dfd, "cpu.rt_runtime_us", res->cpu.realtime_runtime.v, reterr)) < 0)
		return r;
	if (res->cpu.idle.set) {
		if (hull_cgroup_file_exists(dfd, "cpu.idle")) {
			r = write_i64(dfd, "cpu.idle", res->cpu.idle.v, reterr);
			if (r < 0)
				return r;
		} else if (res->cpu.idle.v != 0) {
			return hull_error_set(
				reterr, -EOPNOTSUPP,
				"linux.resources.cpu.idle: not supported by the kernel "
				"(no 'cpu.idle')");
		}
	}
	return 0;
}

static int set_cpuset(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	int r = 0;

	if (res->cpu.cpus && *res->cpu.cpus &&
	    (r = hull_cgroup_write(dfd, "cpuset.cpus", res->cpu.cpus, reterr)) < 0)
		return r;
	if (res->cpu.mems && *res->cpu.mems &&
	    (r = hull_cgroup_write(dfd, "cpuset.mems", res->cpu.mems, reterr)) < 0)
		return r;
	return 0;
}

/* ---- blkio ------------------------------------------------------------ */

static int set_blkio(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	static const char *const throttle_files[] = {
		"blkio.throttle.read_bps_device",
		"blkio.throttle.write_bps_device",
		"blkio.throttle.read_iops_device",
		"blkio.throttle.write_iops_device",
	};
	const char *weight = NULL, *weight_device = NULL;
	int r = 0;

	/* CFQ's files where they exist, else BFQ's (blk-mq kernels), as runc does */
	if (hull_cgroup_file_exists(dfd, "blkio.weight")) {
		weight = "blkio.weight";
		weight_device = "blkio.weight_device";
	} else if (hull_cgroup_file_exists(dfd, "blkio.bfq.weight")) {
		weight = "blkio.bfq.weight";
		weight_device = "blkio.bfq.weight_device";
	}

	if (res->block_io.weight.set && res->block_io.weight.v != 0) {
		if (!weight)
			return hull_error_set(
				reterr, -EOPNOTSUPP,
				"linux.resources.blockIO.weight: not supported by the "
				"kernel (no 'blkio.weight' or 'blkio.bfq.weight')");
		r = hull_cgroup_writef(dfd, weight, reterr, "%" PRIu64, res->block_io.weight.v);
		if (r < 0)
			return r;
	}
	if (res->block_io.leaf_weight.set && res->block_io.leaf_weight.v != 0) {
		if (!hull_cgroup_file_exists(dfd, "blkio.leaf_weight"))
			return hull_error_set(
				reterr, -EOPNOTSUPP,
				"linux.resources.blockIO.leafWeight: not supported by "
				"the kernel (no 'blkio.leaf_weight')");
		r = hull_cgroup_writef(dfd, "blkio.leaf_weight", reterr, "%" PRIu64,
				       res->block_io.leaf_weight.v);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < res->block_io.n_weight_device; i++) {
		const struct hull_oci_weight_device *d = &res->block_io.weight_device[i];

		if (d->weight.set && d->weight.v != 0) {
			if (!weight_device)
				return hull_error_set(reterr, -EOPNOTSUPP,
						      "linux.resources.blockIO.weightDevice[%zu]: "
						      "not supported by the kernel",
						      i);
			r = hull_cgroup_writef(dfd, weight_device, reterr,
					       "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
					       d->minor, d->weight.v);
			if (r < 0)
				return r;
		}
		if (d->leaf_weight.set && d->leaf_weight.v != 0) {
			if (!hull_cgroup_file_exists(dfd, "blkio.leaf_weight_device"))
				return hull_error_set(reterr, -EOPNOTSUPP,
						      "linux.resources.blockIO.weightDevice[%zu]."
						      "leafWeight: not supported by the kernel",
						      i);
			r = hull_cgroup_writef(dfd, "blkio.leaf_weight_device", reterr,
					       "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
					       d->minor, d->leaf_weight.v);
			if (r < 0)
				return r;
		}
	}
	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < res->block_io.n_throttle[k]; i++) {
			const struct hull_oci_throttle_device *d = &res->block_io.throttle[k][i];

			r = hull_cgroup_writef(dfd, throttle_files[k], reterr,
					       "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
					       d->minor, d->rate);
			if (r < 0)
				return r;
		}
	return 0;
}

/* ---- devices ---------------------------------------------------------- */

static void device_rule_string(const struct hull_oci_device_rule *d, char *buf, size_t size)
{
	char major[24], minor[24];

	if (d->type == 'a') {
		/* "a" is the whole behaviour switch; v1 ignores numbers and access here */
		snprintf(buf, size, "a");
		return;
	}
	if (d->major < 0)
		snprintf(major, sizeof(major), "*");
	else
		snprintf(major, sizeof(major), "%" PRId64, d->major);
	if (d->minor < 0)
		snprintf(minor, sizeof(minor), "*");
	else
		snprintf(minor, sizeof(minor), "%" PRId64, d->minor);
	snprintf(buf, size, "%c %s:%s %s", d->type, major, minor, *d->access ? d->access : "rwm");
}

static int set_devices(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	_cleanup_free_ char *list = NULL;
	bool clean;
	int r = 0;

	if (res->n_devices == 0)
		return 0;
	/*
	 * Start from deny-all.  Writing "a" to devices.deny does that but is
	 * refused once the cgroup has children; a cgroup already in
	 * deny-all mode (no "a *:* rwm" line) is reset by denying each of
	 * its exceptions instead.
	 */
	r = hull_cgroup_read(dfd, "devices.list", &list);
	if (r < 0)
		return hull_error_errno(reterr, r, "read 'devices.list'");
	if (strstr(list, "a *:* rwm")) {
		r = hull_cgroup_write(dfd, "devices.deny", "a", reterr);
		if (r < 0)
			return r;
	} else {
		char *save = NULL;

		for (char *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			r = hull_cgroup_write(dfd, "devices.deny", l, reterr);
			if (r < 0)
				return r;
		}
	}
	clean = true;
	for (size_t i = 0; i < res->n_devices; i++) {
		const struct hull_oci_device_rule *d = &res->devices[i];
		char rule[80];

		/* the usual leading "deny all" is already the state: skip the "a" write */
		if (clean && !d->allow && d->type == 'a')
			continue;
		device_rule_string(d, rule, sizeof(rule));
		r = hull_cgroup_write(dfd, d->allow ? "devices.allow" : "devices.deny", rule,
				      reterr);
		if (r < 0)
			return r;
		if (d->allow)
			clean = false;
	}
	return 0;
}

/* ---- hugetlb, net_cls, net_prio, unified ------------------------------ */

static int set_hugetlb(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int i, u;

	if (res->n_hugepage_limits == 0)
		return 0;
	i = hull_cgroup_layout_find(cg->layout, "hugetlb");
	if (i >= 0) {
		dfd = open_for(cg, "hugetlb", "hugepageLimits", reterr);
		if (dfd < 0)
			return dfd;
		for (size_t k = 0; k < res->n_hugepage_limits; k++) {
			const struct hull_oci_hugepage_limit *l = &res->hugepage_limits[k];
			char file[128];
			int r;

			snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", l->page_size);
			if (!hull_cgroup_file_exists(dfd, file))
				return hull_error_set(
					reterr, -EINVAL,
					"linux.resources.hugepageLimits[%zu].pageSize: "
					"unsupported page size '%s' (no '%s')",
					k, l->page_size, file);
			r = hull_cgroup_writef(dfd, file, reterr, "%" PRIu64, l->limit);
			if (r < 0)
				return r;
		}
		return 0;
	}
	/* hybrid hosts may bind hugetlb to the unified hierarchy instead */
	u = hull_cgroup_layout_unified(cg->layout);
	if (u >= 0 && !cg->skipped[u]) {
		dfd = hull_cgroup_open_dir(cg->dirs[u]);
		if (dfd < 0)
			return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
		if (hull_cgroup_file_exists(dfd, "cgroup.controllers")) {
			_cleanup_free_ char *ctrls = NULL;

			if (hull_cgroup_read(dfd, "cgroup.controllers", &ctrls) >= 0 &&
			    strstr(ctrls, "hugetlb"))
				return hull_cgroup_v2_set_hugetlb(dfd, res, reterr);
		}
	}
	return hull_error_set(reterr, -EOPNOTSUPP,
			      "linux.resources.hugepageLimits: no hugetlb cgroup controller is "
			      "available");
}

static int set_net(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		   struct hull_error **reterr)
{
	int r = 0;

	if (res->network.class_id.set) {
		_cleanup_close_ int dfd = open_for(cg, "net_cls", "network.classID", reterr);

		if (dfd < 0)
			return dfd;
		r = hull_cgroup_writef(dfd, "net_cls.classid", reterr, "%" PRIu64,
				       res->network.class_id.v);
		if (r < 0)
			return r;
	}
	if (res->network.priorities && res->network.priorities[0]) {
		_cleanup_close_ int dfd = open_for(cg, "net_prio", "network.priorities", reterr);

		if (dfd < 0)
			return dfd;
		for (char **p = res->network.priorities; p[0] && p[1]; p += 2) {
			r = hull_cgroup_writef(dfd, "net_prio.ifpriomap", reterr, "%s %s", p[0],
					       p[1]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int set_unified(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout);

	if (!res->unified || !res->unified[0])
		return 0;
	if (u >= 0 && !cg->skipped[u])
		dfd = hull_cgroup_open_dir(cg->dirs[u]);
	/* on a hybrid host, keys the unified hierarchy really has are fine */
	for (char **p = res->unified; p[0] && p[1]; p += 2)
		if (dfd < 0 || !hull_cgroup_unified_key_ok(p[0]) ||
		    !hull_cgroup_file_exists(dfd, p[0]))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.unified: requires cgroup v2");
	return hull_cgroup_v2_set_unified(dfd, res, reterr);
}

static int v1_set(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		  struct hull_error **reterr)
{
	int r = 0;

	if (!res)
		return 0;
	if (controller_wanted("memory", res)) {
		_cleanup_close_ int dfd = open_for(cg, "memory", "memory", reterr);

		if (dfd < 0 || (r = set_memory(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (controller_wanted("cpu", res)) {
		_cleanup_close_ int dfd = open_for(cg, "cpu", "cpu", reterr);

		if (dfd < 0 || (r = set_cpu(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (controller_wanted("cpuset", res)) {
		_cleanup_close_ int dfd = open_for(cg, "cpuset", "cpu", reterr);

		if (dfd < 0 || (r = set_cpuset(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (controller_wanted("pids", res)) {
		_cleanup_close_ int dfd = open_for(cg, "pids", "pids", reterr);

		if (dfd < 0)
			return dfd;
		if (res->pids.limit.v <= 0)
			r = hull_cgroup_write(dfd, "pids.max", "max", reterr);
		else
			r = write_i64(dfd, "pids.max", res->pids.limit.v, reterr);
		if (r < 0)
			return r;
	}
	if (controller_wanted("blkio", res)) {
		_cleanup_close_ int dfd = open_for(cg, "blkio", "blockIO", reterr);

		if (dfd < 0 || (r = set_blkio(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (controller_wanted("devices", res)) {
		_cleanup_close_ int dfd = open_for(cg, "devices", "devices", reterr);

		if (dfd < 0 || (r = set_devices(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if ((r = set_hugetlb(cg, res, reterr)) < 0 || (r = set_net(cg, res, reterr)) < 0)
		return r;
	return set_unified(cg, res, reterr);
}

/* ---- create ----------------------------------------------------------- */

static int v1_check_join(const struct hull_cgroup *cg, struct hull_error **reterr);

static int v1_create(struct hull_cgroup *cg, const struct hull_oci_resources *res,
		     enum hull_cgroup_create_flags flags, struct hull_error **reterr)
{
	_cleanup_error_ struct hull_error *e = NULL;
	_cleanup_free_ size_t *first = NULL;
	_cleanup_strv_free_ char **unified_needed = NULL, **skipped = NULL;
	size_t n = cg->layout->n_hierarchies;
	int r = 0;

	first = malloc(n * sizeof(size_t) + 1);
	if (!first)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		first[i] = (size_t)-1;
	if (res && res->n_hugepage_limits > 0 &&
	    hull_cgroup_layout_find(cg->layout, "hugetlb") < 0 &&
	    (r = hull_strv_push(&unified_needed, "hugetlb")) < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		const struct hull_cgroup_hierarchy *h = hier(cg, i);

		if (h->unified)
			r = hull_cgroup_v2_mkdir(h->mount_point, cg->path, unified_needed,
						 &first[i], &e);
		else
			r = hull_cgroup_mkdir_levels(h->mount_point, cg->path,
						     has_controller(h, "cpuset"), &first[i], &e);
		if (r >= 0) {
			cg->skipped[i] = false;
			continue;
		}
		/* the unified hierarchy of a hybrid host is a bonus unless limits need it */
		if (h->unified && !hierarchy_wanted(cg, i, res)) {
			hull_debug("cgroup: %s: continuing without the unified hierarchy",
				   e ? e->msg : cg->path);
			hull_error_free(TAKE_PTR(e));
			cg->skipped[i] = true;
			continue;
		}
		if ((flags & HULL_CGROUP_ROOTLESS) &&
		    (r == -EACCES || r == -EPERM || r == -EROFS) && !hierarchy_wanted(cg, i, res)) {
			hull_debug("cgroup: %s: continuing without the '%s' cgroup",
				   e ? e->msg : cg->path, h->name);
			hull_error_free(TAKE_PTR(e));
			if (hull_strv_push(&skipped, h->name) < 0)
				return -ENOMEM;
			cg->skipped[i] = true;
			continue;
		}
		goto fail;
	}
	if (skipped) {
		_cleanup_free_ char *list = hull_strv_join(skipped, ", ");

		/* one line for all: the usual rootless case is "none of them" */
		hull_warn("cgroups not delegated to uid %u: running without the %s cgroup%s",
			  (unsigned)geteuid(), list ? list : "", skipped[1] ? "s" : "");
	}
	r = v1_check_join(cg, &e);
	if (r >= 0)
		r = v1_set(cg, res, &e);
	if (r >= 0)
		return 0;
fail:
	for (size_t i = 0; i < n; i++)
		hull_cgroup_rmdir_levels(hier(cg, i)->mount_point, cg->path, first[i]);
	return propagate(reterr, &e, r);
}

/* ---- processes -------------------------------------------------------- */

static int v1_enter(const struct hull_cgroup *cg, pid_t pid, struct hull_error **reterr)
{
	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		_cleanup_close_ int dfd = -EBADF;
		int r;

		if (cg->skipped[i])
			continue;
		dfd = hull_cgroup_open_dir(cg->dirs[i]);
		if (dfd < 0)
			return hull_error_errno(reterr, dfd, "enter cgroup '%s'", cg->dirs[i]);
		r = hull_cgroup_writef(dfd, "cgroup.procs", reterr, "%d", (int)pid);
		if (r < 0)
			return hull_error_wrap(reterr, r, "enter cgroup '%s'", cg->dirs[i]);
	}
	return 0;
}

static int v1_open_fd(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	return hull_error_set(reterr, -EOPNOTSUPP,
			      "open cgroup '%s': a cgroup fd for clone3() needs cgroup v2",
			      cg->path);
}

/* The freezer to use: v1's, else cgroup.freeze of a hybrid unified hierarchy. */
static int freezer_dir(const struct hull_cgroup *cg, bool *ret_v2)
{
	int i = hull_cgroup_layout_find(cg->layout, "freezer"), fd;

	if (i >= 0 && !cg->skipped[i]) {
		*ret_v2 = false;
		return hull_cgroup_open_dir(cg->dirs[i]);
	}
	i = hull_cgroup_layout_unified(cg->layout);
	if (i < 0 || cg->skipped[i])
		return -EOPNOTSUPP;
	fd = hull_cgroup_open_dir(cg->dirs[i]);
	if (fd < 0)
		return fd;
	if (!hull_cgroup_file_exists(fd, "cgroup.freeze")) {
		close(fd);
		return -EOPNOTSUPP;
	}
	*ret_v2 = true;
	return fd;
}

static int freezer_state(int dfd, char **ret)
{
	return hull_cgroup_read(dfd, "freezer.state", ret);
}

static int v1_freeze_dir(int dfd, bool frozen, struct hull_error **reterr)
{
	int r = 0;

	if (!frozen) {
		r = hull_cgroup_write(dfd, "freezer.state", "THAWED", reterr);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < 1000; i++) {
			_cleanup_free_ char *s = NULL;

			r = freezer_state(dfd, &s);
			if (r < 0)
				return hull_error_errno(reterr, r, "read 'freezer.state'");
			if (streq(s, "THAWED"))
				return 0;
			hull_cgroup_sleep_ms(1);
		}
		return hull_error_set(reterr, -ETIMEDOUT, "thaw: 'freezer.state' stays '%s'",
				      "FREEZING");
	}

	/*
	 * v1 can get stuck in FREEZING while tasks keep forking: write FROZEN
	 * again and again, thawing now and then so stragglers settle, as runc
	 * does (bounded: about 10 s in the worst case).
	 */
	for (unsigned i = 0; i < 1000; i++) {
		_cleanup_free_ char *s = NULL;

		if (i % 50 == 49) {
			(void)hull_write_string_at(dfd, "freezer.state", "THAWED");
			hull_cgroup_sleep_ms(10);
		}
		r = hull_cgroup_write(dfd, "freezer.state", "FROZEN", reterr);
		if (r < 0)
			goto undo;
		if (i % 25 == 24)
			hull_cgroup_sleep_ms(1);
		if (i % 200 == 199)
			hull_cgroup_sleep_ms(100u << (i / 200));
		r = freezer_state(dfd, &s);
		if (r < 0) {
			r = hull_error_errno(reterr, r, "read 'freezer.state'");
			goto undo;
		}
		if (streq(s, "FROZEN"))
			return 0;
		if (!streq(s, "FREEZING")) {
			r = hull_error_set(reterr, -EIO, "freeze: unexpected 'freezer.state' '%s'",
					   s);
			goto undo;
		}
	}
	r = hull_error_set(reterr, -EBUSY, "freeze: 'freezer.state' stays 'FREEZING'");
undo:
	/* never leave a half-frozen cgroup behind */
	(void)hull_write_string_at(dfd, "freezer.state", "THAWED");
	return r;
}

static int v1_is_frozen_dir(int dfd, bool *ret)
{
	for (unsigned i = 0; i < 1000; i++) {
		_cleanup_free_ char *s = NULL, *self = NULL;
		int r;

		r = freezer_state(dfd, &s);
		if (r < 0)
			return r;
		if (streq(s, "THAWED")) {
			*ret = false;
			return 0;
		}
		if (streq(s, "FROZEN")) {
			/* frozen through an ancestor is not "paused" for us */
			if (hull_cgroup_read(dfd, "freezer.self_freezing", &self) >= 0)
				*ret = streq(self, "1");
			else
				*ret = true;
			return 0;
		}
		hull_cgroup_sleep_ms(1); /* FREEZING: wait for a stable state */
	}
	return -EBUSY;
}

static int v1_freeze(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	bool v2 = false;
	int r = 0;

	dfd = freezer_dir(cg, &v2);
	if (dfd == -EOPNOTSUPP)
		return hull_error_set(reterr, dfd,
				      "%s cgroup '%s': no freezer cgroup hierarchy is mounted",
				      frozen ? "freeze" : "thaw", cg->path);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open the freezer cgroup of '%s'", cg->path);
	r = v2 ? hull_cgroup_v2_freeze_dir(dfd, frozen, reterr)
	       : v1_freeze_dir(dfd, frozen, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "cgroup '%s'", cg->path);
	return 0;
}

/*
 * Frozen in any way (itself, or through an ancestor: a cgroup made under a
 * frozen parent starts FROZEN, and so would the container)?
 */
static int v1_check_join(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *s = NULL;
	bool v2 = false, frozen = false;
	uint64_t v = 0;
	int r;

	dfd = freezer_dir(cg, &v2);
	if (dfd == -EOPNOTSUPP)
		return hull_cgroup_check_join(cg, false, reterr);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open the freezer cgroup of '%s'", cg->path);
	if (v2) {
		r = hull_cgroup_read_keyed(dfd, "cgroup.events", "frozen", &v);
		frozen = r >= 0 && v == 1;
		if (hull_cgroup_read_u64(dfd, "cgroup.freeze", &v) >= 0 && v == 1)
			frozen = true;
	} else {
		r = freezer_state(dfd, &s);
		if (r < 0)
			return hull_error_errno(reterr, r, "read 'freezer.state' of '%s'",
						cg->path);
		frozen = !streq(s, "THAWED");
	}
	return hull_cgroup_check_join(cg, frozen, reterr);
}

static int v1_is_frozen(const struct hull_cgroup *cg, bool *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	bool v2 = false;

	dfd = freezer_dir(cg, &v2);
	if (dfd == -EOPNOTSUPP || dfd == -ENOENT) {
		*ret = false;
		return 0;
	}
	if (dfd < 0)
		return dfd;
	return v2 ? hull_cgroup_v2_is_frozen_dir(dfd, ret) : v1_is_frozen_dir(dfd, ret);
}

/* The union of the processes over every hierarchy. */
static int all_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n,
		    struct hull_error **reterr)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		int r;

		if (cg->skipped[i])
			continue;
		r = hull_cgroup_collect_pids(cg->dirs[i], &pids, &n);
		if (r < 0)
			return hull_error_errno(reterr, r, "list the processes of cgroup '%s'",
						cg->dirs[i]);
	}
	*ret = TAKE_PTR(pids);
	*ret_n = n;
	return 0;
}

static int v1_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n,
		   struct hull_error **reterr)
{
	return all_pids(cg, ret, ret_n, reterr);
}

static int v1_kill(const struct hull_cgroup *cg, int sig, const struct stat *pidns,
		   struct hull_error **reterr)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_close_ int fdir = -EBADF;
	bool v2 = false, was_frozen = false, froze = false;
	size_t n = 0;
	int r = 0;

	/*
	 * runc's signalAllProcesses: freeze, so that nothing forks between
	 * listing and signalling, signal, thaw (a paused container stays
	 * paused unless it is being killed).  Signal 0 only probes: nothing
	 * to stop for it.
	 */
	fdir = sig != 0 ? freezer_dir(cg, &v2) : -EBADF;
	if (fdir >= 0) {
		(void)(v2 ? hull_cgroup_v2_is_frozen_dir(fdir, &was_frozen)
			  : v1_is_frozen_dir(fdir, &was_frozen));
		froze = (v2 ? hull_cgroup_v2_freeze_dir(fdir, true, NULL)
			    : v1_freeze_dir(fdir, true, NULL)) >= 0;
	}
	r = all_pids(cg, &pids, &n, reterr);
	if (r >= 0)
		hull_cgroup_signal_pids(pids, n, sig, pidns);
	if (froze && (sig == SIGKILL || !was_frozen))
		(void)(v2 ? hull_cgroup_v2_freeze_dir(fdir, false, NULL)
			  : v1_freeze_dir(fdir, false, NULL));
	return r;
}

static int v1_destroy(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	int ret = 0;

	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		int r;

		if (cg->skipped[i])
			continue;
		r = hull_cgroup_rmdir_tree(cg->dirs[i]);
		if (r < 0 && ret == 0)
			ret = hull_error_errno(reterr, r, "remove cgroup '%s'", cg->dirs[i]);
		else if (r >= 0)
			hull_cgroup_rmdir_parents(hier(cg, i)->mount_point, cg->path);
	}
	return ret;
}

/* ---- statistics ------------------------------------------------------- */

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

static int v1_stats(const struct hull_cgroup *cg, struct json_object **ret,
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

/* ---- the container's view --------------------------------------------- */

/*
 * In a cgroup namespace each hierarchy is mounted afresh (its root is then
 * the namespace's root), with runc's source names: "systemd" for the
 * named hierarchy, "cgroup" for the others.
 */
static int mount_fresh(const struct hull_cgroup_hierarchy *h, int dirfd, const char *name,
		       uint64_t attr, struct hull_error **reterr)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF;
	const char *source = "cgroup";

	fs = fsopen(h->unified ? "cgroup2" : "cgroup", FSOPEN_CLOEXEC);
	if (fs < 0)
		return hull_error_errno(reterr, -errno, "mount cgroup '%s': fsopen", name);
	hull_strv_foreach (c, h->controllers) {
		const char *n = startswith(c, "name=");
		int k;

		if (n) {
			if (streq(n, "systemd"))
				source = "systemd";
			k = fsconfig(fs, FSCONFIG_SET_STRING, "name", n, 0);
		} else {
			k = fsconfig(fs, FSCONFIG_SET_FLAG, c, NULL, 0);
		}
		if (k < 0)
			return hull_error_errno(reterr, -errno, "mount cgroup '%s': option '%s'",
						name, c);
	}
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hull_error_errno(reterr, -errno, "mount cgroup '%s'", name);
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)attr);
	if (mnt < 0)
		return hull_error_errno(reterr, -errno, "mount cgroup '%s': fsmount", name);
	if (move_mount(mnt, "", dirfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hull_error_errno(reterr, -errno, "mount cgroup '%s' in the container", name);
	return 0;
}

static int v1_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
		    bool cgroupns, struct hull_error **reterr)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF;
	uint64_t attr = hull_cgroup_mount_attr(mount_flags);
	int r = 0;

	/* a tmpfs holding one directory per hierarchy, built writable, then sealed */
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return hull_error_errno(reterr, -errno, "mount 'tmpfs' for cgroups: fsopen");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hull_error_errno(reterr, -errno, "mount 'tmpfs' for cgroups");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)(attr & ~(uint64_t)MOUNT_ATTR_RDONLY));
	if (mnt < 0)
		return hull_error_errno(reterr, -errno, "mount 'tmpfs' for cgroups: fsmount");
	if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return hull_error_errno(reterr, -errno,
					"mount 'tmpfs' for cgroups in the container");

	/*
	 * Each hierarchy under its host name ("cpu,cpuacct", "systemd"),
	 * holding a bind of the container's own cgroup, as runc does; with a
	 * cgroup namespace the bind shows the same directory the namespace
	 * has as its root.
	 */
	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		const struct hull_cgroup_hierarchy *h = hier(cg, i);

		if (cg->skipped[i])
			continue;
		if (mkdirat(mnt, h->name, 0755) < 0 && errno != EEXIST)
			return hull_error_errno(reterr, -errno, "create cgroup mount point '%s'",
						h->name);
		if (cgroupns)
			r = mount_fresh(h, mnt, h->name, attr, reterr);
		else
			r = hull_cgroup_bind(cg->dirs[i], mnt, h->name, attr, reterr);
		if (r < 0)
			return r;
		/* co-mounted controllers: "cpu" -> "cpu,cpuacct" */
		if (hull_strv_length(h->controllers) < 2)
			continue;
		hull_strv_foreach (c, h->controllers) {
			const char *link = startswith(c, "name=") ?: c;

			if (streq(link, h->name))
				continue;
			if (symlinkat(h->name, mnt, link) < 0 && errno != EEXIST)
				return hull_error_errno(reterr, -errno,
							"create cgroup symlink '%s' -> '%s'", link,
							h->name);
		}
	}
	if (attr & MOUNT_ATTR_RDONLY) {
		struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY };

		if (mount_setattr(mnt, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0)
			return hull_error_errno(reterr, -errno,
						"remount the cgroup tmpfs read-only");
	}
	return 0;
}

const struct hull_cgroup_ops hull_cgroup_v1_ops = {
	.create = v1_create,
	.set = v1_set,
	.enter = v1_enter,
	.open_fd = v1_open_fd,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.pids = v1_pids,
	.kill = v1_kill,
	.destroy = v1_destroy,
	.stats = v1_stats,
	.mount = v1_mount,
};
