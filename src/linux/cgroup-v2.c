/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 backend: one unified hierarchy.  Also the pieces the v1
 * backend borrows for the unified hierarchy of a hybrid host (hugetlb, the
 * unified map, cgroup.freeze).
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

/* ---- controllers ------------------------------------------------------ */

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		p += strspn(p, " \n");
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
		p += strcspn(p, " \n");
	}
	return false;
}

/*
 * Enables in dir/cgroup.subtree_control every controller dir offers, as
 * runc does, so that limits and statistics work later; only those in
 * `needed` must succeed.
 */
static int enable_controllers(const char *dir, char *const *needed, struct hull_error **reterr)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL, *all = NULL;
	_cleanup_close_ int dfd = -EBADF;
	size_t len = 0;
	int r = 0;

	dfd = hull_cgroup_open_dir(dir);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", dir);
	r = hull_cgroup_read(dfd, "cgroup.controllers", &avail);
	if (r >= 0)
		r = hull_cgroup_read(dfd, "cgroup.subtree_control", &enabled);
	if (r < 0)
		return hull_error_errno(reterr, r, "read the controllers of cgroup '%s'", dir);

	hull_strv_foreach (c, needed)
		if (!word_in(avail, c))
			return hull_error_set(
				reterr, -EOPNOTSUPP,
				"enable cgroup controller '%s' in '%s': not available", c, dir);

	all = malloc(strlen(avail) * 2 + 2);
	if (!all)
		return -ENOMEM;
	for (char *p = avail, *save = NULL, *c = strtok_r(p, " ", &save); c;
	     c = strtok_r(NULL, " ", &save)) {
		if (word_in(enabled, c))
			continue;
		len += (size_t)sprintf(all + len, "%s+%s", len ? " " : "", c);
	}
	if (len == 0)
		return 0;
	if (hull_write_string_at(dfd, "cgroup.subtree_control", all) >= 0)
		return 0;

	/* one at a time: a controller we do not need may refuse (cpu with RT tasks) */
	for (char *p = all, *save = NULL, *c = strtok_r(p, " ", &save); c;
	     c = strtok_r(NULL, " ", &save)) {
		if (hull_strv_contains(needed, c + 1)) {
			r = hull_cgroup_write(dfd, "cgroup.subtree_control", c, reterr);
			if (r < 0)
				return hull_error_wrap(reterr, r,
						       "enable cgroup controllers in '%s'", dir);
		} else if (hull_write_string_at(dfd, "cgroup.subtree_control", c) < 0) {
			hull_debug("cgroup: enabling '%s' in '%s' failed", c, dir);
		}
	}
	return 0;
}

int hull_cgroup_v2_mkdir(const char *mount_point, const char *path, char *const *needed,
			 size_t *ret_first, struct hull_error **reterr)
{
	_cleanup_free_ char *cur = NULL;
	size_t first = (size_t)-1, level = 0, mlen = strlen(mount_point);
	const char *p = path;
	int r = 0;

	cur = malloc(mlen + strlen(path) + 1);
	if (!cur)
		return -ENOMEM;
	memcpy(cur, mount_point, mlen + 1);
	while (*p) {
		size_t n, clen = strlen(cur);

		r = enable_controllers(cur, needed, reterr);
		if (r < 0)
			goto fail;
		p++;
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
		level++;
	}
	*ret_first = first;
	return 0;
fail:
	hull_cgroup_rmdir_levels(mount_point, path, first);
	return r;
}

/* The v2 controllers `res` asks for. */
static int needed_controllers(const struct hull_oci_resources *res, char ***ret)
{
	_cleanup_strv_free_ char **v = NULL;
	int r = 0;

	if (!res)
		goto done;
	if ((res->memory.limit.set && res->memory.limit.v != 0) ||
	    (res->memory.reservation.set && res->memory.reservation.v != 0) ||
	    (res->memory.swap.set && res->memory.swap.v != 0))
		r = hull_strv_push(&v, "memory");
	if (r >= 0 &&
	    ((res->cpu.shares.set && res->cpu.shares.v) ||
	     (res->cpu.quota.set && res->cpu.quota.v) ||
	     (res->cpu.period.set && res->cpu.period.v) ||
	     (res->cpu.burst.set && res->cpu.burst.v) || (res->cpu.idle.set && res->cpu.idle.v)))
		r = hull_strv_push(&v, "cpu");
	if (r >= 0 && ((res->cpu.cpus && *res->cpu.cpus) || (res->cpu.mems && *res->cpu.mems)))
		r = hull_strv_push(&v, "cpuset");
	if (r >= 0 && res->pids.limit.set)
		r = hull_strv_push(&v, "pids");
	if (r >= 0 && ((res->block_io.weight.set && res->block_io.weight.v) ||
		       res->block_io.n_weight_device || res->block_io.n_throttle[0] ||
		       res->block_io.n_throttle[1] || res->block_io.n_throttle[2] ||
		       res->block_io.n_throttle[3]))
		r = hull_strv_push(&v, "io");
	if (r >= 0 && res->n_hugepage_limits)
		r = hull_strv_push(&v, "hugetlb");
	for (char **p = res->unified; r >= 0 && p && p[0]; p += 2) {
		_cleanup_free_ char *c = strndup(p[0], strcspn(p[0], "."));

		if (!c)
			return -ENOMEM;
		/* "cgroup.*" files are core, not a controller */
		if (!streq(c, "cgroup") && !hull_strv_contains(v, c))
			r = hull_strv_push(&v, c);
	}
done:
	if (r < 0)
		return r;
	*ret = TAKE_PTR(v);
	return 0;
}

/* ---- limits ----------------------------------------------------------- */

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

static bool wants_anything(const struct hull_oci_resources *res)
{
	_cleanup_strv_free_ char **needed = NULL;

	if (!res)
		return false;
	if (res->n_devices > 0)
		return true;
	return needed_controllers(res, &needed) < 0 || needed;
}

static int v2_set(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		  struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout), r;

	if (!res)
		return 0;
	if (u < 0 || cg->skipped[u]) {
		if (!wants_anything(res))
			return 0;
		return hull_error_set(reterr, -ENOENT,
				      "set limits of cgroup '%s': the cgroup was not created",
				      cg->path);
	}
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
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

/* Frozen by its own cgroup.freeze or through an ancestor (cgroup.events says which holds)? */
static int v2_check_join(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout);
	bool frozen = false;
	uint64_t v = 0;

	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
	if (hull_cgroup_read_keyed(dfd, "cgroup.events", "frozen", &v) >= 0 && v == 1)
		frozen = true;
	if (hull_cgroup_read_u64(dfd, "cgroup.freeze", &v) >= 0 && v == 1)
		frozen = true;
	return hull_cgroup_check_join(cg, frozen, reterr);
}

static int v2_create(struct hull_cgroup *cg, const struct hull_oci_resources *res,
		     enum hull_cgroup_create_flags flags, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **needed = NULL;
	_cleanup_error_ struct hull_error *e = NULL;
	int u = hull_cgroup_layout_unified(cg->layout), r;
	size_t first = (size_t)-1;

	if (u < 0)
		return hull_error_set(reterr, -EOPNOTSUPP, "create cgroup '%s': no cgroup2 mount",
				      cg->path);
	r = needed_controllers(res, &needed);
	if (r < 0)
		return r;
	r = hull_cgroup_v2_mkdir(cg->layout->hierarchies[u].mount_point, cg->path, needed, &first,
				 &e);
	if (r < 0) {
		if ((flags & HULL_CGROUP_ROOTLESS) &&
		    (r == -EACCES || r == -EPERM || r == -EROFS) && !wants_anything(res)) {
			hull_warn("%s: running without a cgroup", e ? e->msg : cg->path);
			cg->skipped[u] = true;
			return 0;
		}
		goto fail;
	}
	r = v2_check_join(cg, &e);
	if (r >= 0)
		r = v2_set(cg, res, &e);
	if (r < 0) {
		hull_cgroup_rmdir_levels(cg->layout->hierarchies[u].mount_point, cg->path, first);
		goto fail;
	}
	return 0;
fail:
	if (reterr) {
		hull_error_free(*reterr);
		*reterr = TAKE_PTR(e);
	}
	return r;
}

/* ---- processes -------------------------------------------------------- */

static int v2_enter(const struct hull_cgroup *cg, pid_t pid, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout), r;

	if (u < 0 || cg->skipped[u])
		return 0;
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "enter cgroup '%s'", cg->dirs[u]);
	r = hull_cgroup_writef(dfd, "cgroup.procs", reterr, "%d", (int)pid);
	if (r < 0)
		return hull_error_wrap(reterr, r, "enter cgroup '%s'", cg->dirs[u]);
	return 0;
}

static int v2_open_fd(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	int u = hull_cgroup_layout_unified(cg->layout), fd;

	if (u < 0 || cg->skipped[u])
		return hull_error_set(reterr, -ENOENT, "open cgroup '%s': it was not created",
				      cg->path);
	fd = open(cg->dirs[u], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open cgroup '%s'", cg->dirs[u]);
	return fd;
}

int hull_cgroup_v2_is_frozen_dir(int dfd, bool *ret)
{
	uint64_t v;
	int r = 0;

	r = hull_cgroup_read_keyed(dfd, "cgroup.events", "frozen", &v);
	if (r < 0)
		return r;
	*ret = v == 1;
	return 0;
}

int hull_cgroup_v2_freeze_dir(int dfd, bool frozen, struct hull_error **reterr)
{
	int r = 0;

	if (!hull_cgroup_file_exists(dfd, "cgroup.freeze"))
		return hull_error_set(
			reterr, -EOPNOTSUPP,
			"freeze: the kernel has no cgroup v2 freezer ('cgroup.freeze')");
	r = hull_cgroup_write(dfd, "cgroup.freeze", frozen ? "1" : "0", reterr);
	if (r < 0)
		return r;
	/* the kernel reports the state reached in cgroup.events; wait (bounded, ~10 s) */
	for (unsigned i = 0; i < 1100; i++) {
		bool now = !frozen;

		r = hull_cgroup_v2_is_frozen_dir(dfd, &now);
		if (r < 0)
			return hull_error_errno(reterr, r, "read 'cgroup.events'");
		if (now == frozen)
			return 0;
		hull_cgroup_sleep_ms(i < 100 ? 1 : 10);
	}
	if (frozen)
		(void)hull_write_string_at(dfd, "cgroup.freeze", "0");
	return hull_error_set(reterr, -ETIMEDOUT, "%s: timed out waiting for 'frozen %d'",
			      frozen ? "freeze" : "thaw", frozen);
}

static int v2_freeze(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout), r;

	if (u < 0 || cg->skipped[u])
		return hull_error_set(reterr, -ENOENT, "freeze cgroup '%s': it was not created",
				      cg->path);
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
	r = hull_cgroup_v2_freeze_dir(dfd, frozen, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "cgroup '%s'", cg->path);
	return 0;
}

static int v2_is_frozen(const struct hull_cgroup *cg, bool *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout);

	if (u < 0 || cg->skipped[u]) {
		*ret = false;
		return 0;
	}
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd < 0)
		return dfd;
	return hull_cgroup_v2_is_frozen_dir(dfd, ret);
}

static int v2_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n,
		   struct hull_error **reterr)
{
	_cleanup_free_ pid_t *pids = NULL;
	int u = hull_cgroup_layout_unified(cg->layout), r;
	size_t n = 0;

	if (u >= 0 && !cg->skipped[u]) {
		r = hull_cgroup_collect_pids(cg->dirs[u], &pids, &n);
		if (r < 0)
			return hull_error_errno(reterr, r, "list the processes of cgroup '%s'",
						cg->dirs[u]);
	}
	*ret = TAKE_PTR(pids);
	*ret_n = n;
	return 0;
}

static int v2_kill(const struct hull_cgroup *cg, int sig, const struct stat *pidns,
		   struct hull_error **reterr)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_close_ int dfd = -EBADF;
	int u = hull_cgroup_layout_unified(cg->layout), r;
	bool was_frozen = false, froze = false;
	size_t n = 0;

	if (u < 0 || cg->skipped[u])
		return 0;
	dfd = hull_cgroup_open_dir(cg->dirs[u]);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", cg->dirs[u]);
	/* cgroup.kill reaches every member: only when all of them are the container's */
	if (sig == SIGKILL && !pidns && hull_cgroup_file_exists(dfd, "cgroup.kill"))
		return hull_cgroup_write(dfd, "cgroup.kill", "1", reterr);

	/* frozen, nothing can fork away between listing and signalling */
	if (sig != 0) {
		(void)hull_cgroup_v2_is_frozen_dir(dfd, &was_frozen);
		froze = hull_cgroup_v2_freeze_dir(dfd, true, NULL) >= 0;
	}
	r = hull_cgroup_collect_pids(cg->dirs[u], &pids, &n);
	if (r >= 0)
		hull_cgroup_signal_pids(pids, n, sig, pidns);
	if (froze && (sig == SIGKILL || !was_frozen))
		(void)hull_cgroup_v2_freeze_dir(dfd, false, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "list the processes of cgroup '%s'",
					cg->dirs[u]);
	return 0;
}

static int v2_destroy(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	int u = hull_cgroup_layout_unified(cg->layout), r;

	if (u < 0 || cg->skipped[u])
		return 0;
	r = hull_cgroup_rmdir_tree(cg->dirs[u]);
	if (r < 0)
		return hull_error_errno(reterr, r, "remove cgroup '%s'", cg->dirs[u]);
	hull_cgroup_rmdir_parents(cg->layout->hierarchies[u].mount_point, cg->path);
	return 0;
}

/* ---- statistics ------------------------------------------------------- */

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

static int v2_stats(const struct hull_cgroup *cg, struct json_object **ret,
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

/* ---- the container's view --------------------------------------------- */

static int mount_fresh_cgroup2(int target_fd, uint64_t attr, struct hull_error **reterr)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF;

	fs = fsopen("cgroup2", FSOPEN_CLOEXEC);
	if (fs < 0)
		return hull_error_errno(reterr, -errno, "mount 'cgroup2': fsopen");
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hull_error_errno(reterr, -errno, "mount 'cgroup2'");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)attr);
	if (mnt < 0)
		return hull_error_errno(reterr, -errno, "mount 'cgroup2': fsmount");
	if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return hull_error_errno(reterr, -errno, "mount 'cgroup2' in the container");
	return 0;
}

static int v2_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
		    bool cgroupns, struct hull_error **reterr)
{
	int u = hull_cgroup_layout_unified(cg->layout), r;
	uint64_t attr = hull_cgroup_mount_attr(mount_flags);

	if (u < 0)
		return hull_error_set(reterr, -EOPNOTSUPP, "mount cgroup: no cgroup2 mount");
	if (cgroupns) {
		_cleanup_error_ struct hull_error *e = NULL;

		/* in its own cgroup namespace the container sees its cgroup as the root */
		r = mount_fresh_cgroup2(target_fd, attr, &e);
		if (r >= 0)
			return 0;
		if (r != -EPERM && r != -EBUSY) {
			if (reterr) {
				hull_error_free(*reterr);
				*reterr = TAKE_PTR(e);
			}
			return r;
		}
		hull_debug("cgroup: %s; binding instead", e ? e->msg : "mount failed");
	}
	/* a container left without a cgroup (rootless) sees the host's hierarchy, as in runc */
	return hull_cgroup_bind(cg->skipped[u] ? cg->layout->hierarchies[u].mount_point
					       : cg->dirs[u],
				target_fd, NULL, attr, reterr);
}

const struct hull_cgroup_ops hull_cgroup_v2_ops = {
	.create = v2_create,
	.set = v2_set,
	.enter = v2_enter,
	.open_fd = v2_open_fd,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.pids = v2_pids,
	.kill = v2_kill,
	.destroy = v2_destroy,
	.stats = v2_stats,
	.mount = v2_mount,
};
