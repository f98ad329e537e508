/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 backend: writing linux.resources to the unified
 * hierarchy's files (memory, cpu and cpuset, io, pids, hugetlb, devices as an
 * eBPF program, and the unified map last), as runc translates them.  The
 * hugetlb and unified writers also serve a hybrid host's cgroup2.
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

static int set_memory(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	_cleanup_free_ char *swap = NULL;
	int r = 0;

	r = hull_cgroup_swap_to_v2(res, &swap, reterr);
	if (r < 0)
		return r;
	if (swap) {
		if (!hull_cgroup_file_exists(dfd, "memory.swap.max")) {
			/* unlimited swap on a kernel without swap accounting is what we have */
			if (streq(swap, "max"))
				goto limit;
			return hull_error_set(reterr, -EOPNOTSUPP,
					      "linux.resources.memory.swap: swap accounting is not "
					      "enabled (no 'memory.swap.max')");
		}
		r = hull_cgroup_write(dfd, "memory.swap.max", swap, reterr);
		if (r < 0)
			return r;
	}
limit:
	if (res->memory.limit.set && res->memory.limit.v != 0) {
		if (res->memory.limit.v == -1)
			r = hull_cgroup_write(dfd, "memory.max", "max", reterr);
		else
			r = hull_cgroup_writef(dfd, "memory.max", reterr, "%" PRId64,
					       res->memory.limit.v);
		if (r < 0)
			return r;
	}
	if (res->memory.reservation.set && res->memory.reservation.v != 0) {
		if (res->memory.reservation.v == -1)
			r = hull_cgroup_write(dfd, "memory.low", "max", reterr);
		else
			r = hull_cgroup_writef(dfd, "memory.low", reterr, "%" PRId64,
					       res->memory.reservation.v);
		if (r < 0)
			return r;
	}
	/* like runc: kernel memory, swappiness, OOM killer and hierarchy are v1 only */
	if (res->memory.kernel.set || res->memory.kernel_tcp.set || res->memory.swappiness.set ||
	    res->memory.disable_oom_killer_set || res->memory.use_hierarchy_set)
		hull_debug("cgroup: v1-only memory settings ignored on cgroup v2");
	return 0;
}

static int set_cpu(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	bool quota = res->cpu.quota.set && res->cpu.quota.v != 0;
	bool period = res->cpu.period.set && res->cpu.period.v != 0;
	bool burst_later = false;
	int r = 0;

	if (res->cpu.shares.set && res->cpu.shares.v != 0) {
		r = hull_cgroup_writef(dfd, "cpu.weight", reterr, "%" PRIu64,
				       hull_cgroup_shares_to_weight(res->cpu.shares.v));
		if (r < 0)
			return r;
	}
	if (res->cpu.burst.set) {
		_cleanup_free_ char *v = hull_strdup_printf("%" PRIu64, res->cpu.burst.v);

		if (!v)
			return -ENOMEM;
		if (!hull_cgroup_file_exists(dfd, "cpu.max.burst")) {
			if (res->cpu.burst.v != 0)
				return hull_error_set(reterr, -EOPNOTSUPP,
						      "linux.resources.cpu.burst: not supported by "
						      "the kernel (no 'cpu.max.burst')");
		} else {
			/* the burst may not exceed the quota: which goes first depends on both */
			r = hull_write_string_at(dfd, "cpu.max.burst", v);
			if (r == -EINVAL && (quota || period))
				burst_later = true;
			else if (r < 0)
				return hull_error_errno(reterr, r, "write 'cpu.max.burst' = '%s'",
							v);
		}
	}
	if (quota || period) {
		_cleanup_free_ char *cur = NULL, *q = NULL, *v = NULL;

		if (quota) {
			q = res->cpu.quota.v < 0 ? strdup("max")
						 : hull_strdup_printf("%" PRId64, res->cpu.quota.v);
		} else {
			/* only the period changes: keep the quota there is */
			r = hull_cgroup_read(dfd, "cpu.max", &cur);
			if (r < 0)
				return hull_error_errno(reterr, r, "read 'cpu.max'");
			q = strndup(cur, strcspn(cur, " "));
		}
		if (!q)
			return -ENOMEM;
		v = period ? hull_strdup_printf("%s %" PRIu64, q, res->cpu.period.v) : strdup(q);
		if (!v)
			return -ENOMEM;
		r = hull_cgroup_write(dfd, "cpu.max", v, reterr);
		if (r < 0)
			return r;
	}
	if (burst_later) {
		r = hull_cgroup_writef(dfd, "cpu.max.burst", reterr, "%" PRIu64, res->cpu.burst.v);
		if (r < 0)
			return r;
	}
	if (res->cpu.idle.set) {
		if (hull_cgroup_file_exists(dfd, "cpu.idle"))
			r = hull_cgroup_writef(dfd, "cpu.idle", reterr, "%" PRId64,
					       res->cpu.idle.v);
		else if (res->cpu.idle.v != 0)
			r = hull_error_set(reterr, -EOPNOTSUPP,
					   "linux.resources.cpu.idle: not supported by the kernel "
					   "(no 'cpu.idle')");
		if (r < 0)
			return r;
	}
	if (res->cpu.cpus && *res->cpu.cpus) {
		r = hull_cgroup_write(dfd, "cpuset.cpus", res->cpu.cpus, reterr);
		if (r < 0)
			return r;
	}
	if (res->cpu.mems && *res->cpu.mems) {
		r = hull_cgroup_write(dfd, "cpuset.mems", res->cpu.mems, reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_io(int dfd, const struct hull_oci_resources *res, struct hull_error **reterr)
{
	static const char *const keys[] = { "rbps", "wbps", "riops", "wiops" };
	bool bfq = hull_cgroup_file_exists(dfd, "io.bfq.weight");
	int r = 0;

	/* io.bfq.weight takes blkio's [1, 1000] as is; io.weight wants [1, 10000] */
	if (res->block_io.weight.set && res->block_io.weight.v != 0) {
		if (bfq)
			r = hull_cgroup_writef(dfd, "io.bfq.weight", reterr, "%" PRIu64,
					       res->block_io.weight.v);
		else
			r = hull_cgroup_writef(
				dfd, "io.weight", reterr, "%" PRIu64,
				hull_cgroup_blkio_to_io_weight(res->block_io.weight.v));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < res->block_io.n_weight_device; i++) {
		const struct hull_oci_weight_device *d = &res->block_io.weight_device[i];

		if (!d->weight.set || d->weight.v == 0)
			continue;
		if (bfq)
			r = hull_cgroup_writef(dfd, "io.bfq.weight", reterr,
					       "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
					       d->minor, d->weight.v);
		else
			r = hull_cgroup_writef(
				dfd, "io.weight", reterr, "%" PRId64 ":%" PRId64 " %" PRIu64,
				d->major, d->minor, hull_cgroup_blkio_to_io_weight(d->weight.v));
		if (r < 0)
			return r;
	}
	if (res->block_io.leaf_weight.set)
		hull_debug("cgroup: blockIO.leafWeight ignored on cgroup v2");
	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < res->block_io.n_throttle[k]; i++) {
			const struct hull_oci_throttle_device *d = &res->block_io.throttle[k][i];

			/* 0 removes the limit, as on v1 */
			if (d->rate == 0)
				r = hull_cgroup_writef(dfd, "io.max", reterr,
						       "%" PRId64 ":%" PRId64 " %s=max", d->major,
						       d->minor, keys[k]);
			else
				r = hull_cgroup_writef(dfd, "io.max", reterr,
						       "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
						       d->major, d->minor, keys[k], d->rate);
			if (r < 0)
				return r;
		}
	return 0;
}

int hull_cgroup_v2_set_hugetlb(int dfd, const struct hull_oci_resources *res,
			       struct hull_error **reterr)
{
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct hull_oci_hugepage_limit *l = &res->hugepage_limits[i];
		char file[128], rsvd[128];
		int r;

		snprintf(file, sizeof(file), "hugetlb.%s.max", l->page_size);
		snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.max", l->page_size);
		if (!hull_cgroup_file_exists(dfd, file))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.hugepageLimits[%zu].pageSize: "
					      "unsupported page size '%s' (no '%s')",
					      i, l->page_size, file);
		r = hull_cgroup_writef(dfd, file, reterr, "%" PRIu64, l->limit);
		if (r < 0)
			return r;
		/* reservations count too where the kernel tracks them (as runc does) */
		if (hull_cgroup_file_exists(dfd, rsvd)) {
			r = hull_cgroup_writef(dfd, rsvd, reterr, "%" PRIu64, l->limit);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int hull_cgroup_v2_set_unified(int dfd, const struct hull_oci_resources *res,
			       struct hull_error **reterr)
{
	for (char **p = res->unified; p && p[0] && p[1]; p += 2) {
		int r;

		if (!hull_cgroup_unified_key_ok(p[0]))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.unified: invalid key '%s'", p[0]);
		if (!hull_cgroup_file_exists(dfd, p[0]))
			return hull_error_set(
				reterr, -EINVAL,
				"linux.resources.unified: no cgroup file '%s' (is its "
				"controller available?)",
				p[0]);
		r = hull_cgroup_write(dfd, p[0], p[1], reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * A limit on a controller the cgroup does not have (a v2 host whose pids or
 * memory controller is bound elsewhere or disabled) is refused naming the
 * controller, not as a failed write of a file that is not there.
 */
static int need_controller(int dfd, const char *dir, bool wanted, const char *controller,
			   const char *file, struct hull_error **reterr)
{
	if (!wanted || hull_cgroup_file_exists(dfd, file))
		return 0;
	return hull_error_set(reterr, -EOPNOTSUPP,
			      "cgroup controller '%s' not available in '%s' (cgroup v2: no '%s')",
			      controller, dir, file);
}

int hull_cgroup_v2_set(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout), r;

	if (!res)
		return 0;
	if (u < 0 || cg->skipped[u]) {
		if (!hull_cgroup_v2_wants_anything(res))
			return 0;
		return hull_error_set(reterr, -ENOENT,
				      "set limits of cgroup '%s': the cgroup was not created",
				      cg->path);
	}
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
	if ((r = need_controller(
		     dfd, cg->dirs[u],
		     (res->memory.limit.set && res->memory.limit.v != 0) ||
			     (res->memory.reservation.set && res->memory.reservation.v != 0),
		     "memory", "memory.max", reterr)) < 0 ||
	    (r = need_controller(dfd, cg->dirs[u],
				 (res->cpu.quota.set && res->cpu.quota.v != 0) ||
					 (res->cpu.period.set && res->cpu.period.v != 0),
				 "cpu", "cpu.max", reterr)) < 0 ||
	    (r = need_controller(dfd, cg->dirs[u], res->pids.limit.set, "pids", "pids.max",
				 reterr)) < 0)
		return r;
	if ((r = set_memory(dfd, res, reterr)) < 0 || (r = set_cpu(dfd, res, reterr)) < 0)
		return r;
	if (res->pids.limit.set) {
		if (res->pids.limit.v <= 0)
			r = hull_cgroup_write(dfd, "pids.max", "max", reterr);
		else
			r = hull_cgroup_writef(dfd, "pids.max", reterr, "%" PRId64,
					       res->pids.limit.v);
		if (r < 0)
			return r;
	}
	if ((r = set_io(dfd, res, reterr)) < 0 ||
	    (r = hull_cgroup_v2_set_hugetlb(dfd, res, reterr)) < 0)
		return r;
	if (res->network.class_id.set || res->network.priorities)
		hull_debug("cgroup: network classID/priorities ignored on cgroup v2");
	if (res->n_devices > 0) {
		r = hull_cgroup_devices_bpf_apply(dfd, res->devices, res->n_devices, reterr);
		if (r < 0)
			return r;
	}
	/* last, so that it overrides what the fields above wrote (runc's order) */
	return hull_cgroup_v2_set_unified(dfd, res, reterr);
}
