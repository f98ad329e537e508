/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 backend: one unified hierarchy.  Enabling controllers and
 * making the cgroup, joining, freezing (cgroup.freeze, which the v1 backend
 * borrows on a hybrid host), killing and removing; the ops table.  Limits
 * are in cgroup-v2-limits.c, statistics in cgroup-v2-stats.c.
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

bool hull_cgroup_v2_wants_anything(const struct hull_oci_resources *res)
{
	_cleanup_strv_free_ char **needed = NULL;

	if (!res)
		return false;
	if (res->n_devices > 0)
		return true;
	return needed_controllers(res, &needed) < 0 || needed;
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
		    (r == -EACCES || r == -EPERM || r == -EROFS) &&
		    !hull_cgroup_v2_wants_anything(res)) {
			hull_warn("%s: running without a cgroup", e ? e->msg : cg->path);
			cg->skipped[u] = true;
			return 0;
		}
		goto fail;
	}
	r = v2_check_join(cg, &e);
	if (r >= 0)
		r = hull_cgroup_v2_set(cg, res, &e);
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

const struct hull_cgroup_ops hull_cgroup_v2_ops = {
	.create = v2_create,
	.set = hull_cgroup_v2_set,
	.enter = v2_enter,
	.open_fd = v2_open_fd,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.pids = v2_pids,
	.kill = v2_kill,
	.destroy = v2_destroy,
	.stats = hull_cgroup_v2_stats,
	.mount = hull_cgroup_v2_mount,
};
