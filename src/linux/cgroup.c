/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: the public functions.  They check what they are given and
 * dispatch to the v1 or v2 backend through an ops table (as LXC's cgroup
 * drivers do).  Where the rest lives (cgroup-internal.h has the map):
 * cgroup-layout.c (the host's hierarchies), cgroup-paths.c (naming),
 * cgroup-validate.c (linux.resources checks), cgroup-fs.c (files,
 * directories, processes), cgroup-json.c (stats JSON), cgroup-mount.c (the
 * container's view), cgroup-v1*.c and cgroup-v2*.c (the backends),
 * cgroup-devices-bpf.c (v2's device program).
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
