/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 backend, legacy and hybrid: one directory per mounted
 * hierarchy (co-mounted ones like "cpu,cpuacct" count once, name=systemd
 * too), plus the cgroup2 hierarchy of a hybrid host (as runc does), where
 * hugetlb may live and the unified map can be written.  Here: making,
 * joining, killing and removing the cgroup, and the ops table; limits in
 * cgroup-v1-limits.c, the freezer in cgroup-v1-freezer.c, statistics in
 * cgroup-v1-stats.c, the container's view in cgroup-mount.c.
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

/* Does `res` need hierarchy i? (rootless may skip a hierarchy only when not) */
static bool hierarchy_wanted(const struct hull_cgroup *cg, size_t i,
			     const struct hull_oci_resources *res)
{
	const struct hull_cgroup_hierarchy *h = hull_cgroup_hier(cg, i);

	if (!res)
		return false;
	if (h->unified)
		return (res->unified && res->unified[0]) ||
		       (res->n_hugepage_limits > 0 &&
			hull_cgroup_layout_find(cg->layout, "hugetlb") < 0);
	hull_strv_foreach (c, h->controllers)
		if (hull_cgroup_v1_wanted(c, res))
			return true;
	return false;
}

/* ---- create ----------------------------------------------------------- */

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
		const struct hull_cgroup_hierarchy *h = hull_cgroup_hier(cg, i);

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
	r = hull_cgroup_v1_check_join(cg, &e);
	if (r >= 0)
		r = hull_cgroup_v1_set(cg, res, &e);
	if (r >= 0)
		return 0;
fail:
	for (size_t i = 0; i < n; i++)
		hull_cgroup_rmdir_levels(hull_cgroup_hier(cg, i)->mount_point, cg->path, first[i]);
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
	fdir = sig != 0 ? hull_cgroup_v1_freezer_dir(cg, &v2) : -EBADF;
	if (fdir >= 0) {
		(void)(v2 ? hull_cgroup_v2_is_frozen_dir(fdir, &was_frozen)
			  : hull_cgroup_v1_is_frozen_dir(fdir, &was_frozen));
		froze = (v2 ? hull_cgroup_v2_freeze_dir(fdir, true, NULL)
			    : hull_cgroup_v1_freeze_dir(fdir, true, NULL)) >= 0;
	}
	r = all_pids(cg, &pids, &n, reterr);
	if (r >= 0)
		hull_cgroup_signal_pids(pids, n, sig, pidns);
	if (froze && (sig == SIGKILL || !was_frozen))
		(void)(v2 ? hull_cgroup_v2_freeze_dir(fdir, false, NULL)
			  : hull_cgroup_v1_freeze_dir(fdir, false, NULL));
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
			hull_cgroup_rmdir_parents(hull_cgroup_hier(cg, i)->mount_point, cg->path);
	}
	return ret;
}

const struct hull_cgroup_ops hull_cgroup_v1_ops = {
	.create = v1_create,
	.set = hull_cgroup_v1_set,
	.enter = v1_enter,
	.open_fd = v1_open_fd,
	.freeze = hull_cgroup_v1_freeze,
	.is_frozen = hull_cgroup_v1_is_frozen,
	.pids = v1_pids,
	.kill = v1_kill,
	.destroy = v1_destroy,
	.stats = hull_cgroup_v1_stats,
	.mount = hull_cgroup_v1_mount,
};
