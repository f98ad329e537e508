/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 backend: writing linux.resources to the controllers'
 * files (memory, cpu and cpuset, blkio, devices, hugetlb, net_cls, net_prio,
 * and the unified map on a hybrid host's cgroup2), in the orders the kernel
 * accepts.
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

/* Does `res` ask for anything that v1 controller `c` implements? */
bool hull_cgroup_v1_wanted(const char *c, const struct hull_oci_resources *res)
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

int hull_cgroup_v1_set(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr)
{
	int r = 0;

	if (!res)
		return 0;
	if (hull_cgroup_v1_wanted("memory", res)) {
		_cleanup_close_ int dfd = open_for(cg, "memory", "memory", reterr);

		if (dfd < 0 || (r = set_memory(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (hull_cgroup_v1_wanted("cpu", res)) {
		_cleanup_close_ int dfd = open_for(cg, "cpu", "cpu", reterr);

		if (dfd < 0 || (r = set_cpu(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (hull_cgroup_v1_wanted("cpuset", res)) {
		_cleanup_close_ int dfd = open_for(cg, "cpuset", "cpu", reterr);

		if (dfd < 0 || (r = set_cpuset(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (hull_cgroup_v1_wanted("pids", res)) {
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
	if (hull_cgroup_v1_wanted("blkio", res)) {
		_cleanup_close_ int dfd = open_for(cg, "blkio", "blockIO", reterr);

		if (dfd < 0 || (r = set_blkio(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if (hull_cgroup_v1_wanted("devices", res)) {
		_cleanup_close_ int dfd = open_for(cg, "devices", "devices", reterr);

		if (dfd < 0 || (r = set_devices(dfd, res, reterr)) < 0)
			return dfd < 0 ? dfd : r;
	}
	if ((r = set_hugetlb(cg, res, reterr)) < 0 || (r = set_net(cg, res, reterr)) < 0)
		return r;
	return set_unified(cg, res, reterr);
}
