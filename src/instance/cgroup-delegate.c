/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delegating an instance's cgroups to its root, as LXC does: systemd inside
 * must create its own sub-cgroups (init.scope, system.slice, ...) in the
 * name=systemd hierarchy (and the unified one on a hybrid host).
 *
 * hull runs this as a createRuntime hook of the instance's container: the
 * runtime has made the cgroups and put init in them, init has not yet made
 * its cgroup namespace nor mounted cgroupfs.  For each hierarchy init is in,
 * the cgroup directory and the files that move processes or enable
 * controllers are chowned to the instance's root.  The limit files of that
 * directory stay root's, so the instance cannot raise its own limits; it can
 * only divide them among sub-cgroups.  release_agent lives only at a
 * hierarchy's root, which the cgroup namespace hides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

static const char *const v1_files[] = { "tasks", "cgroup.procs", "cgroup.clone_children" };
static const char *const v2_files[] = { "cgroup.procs", "cgroup.threads",
					"cgroup.subtree_control" };

/* True when every controller of the comma list `want` is in the comma list `have`. */
static bool options_cover(const char *have, const char *want)
{
	_cleanup_free_ char *copy = strdup(want);
	char *save = NULL;

	if (!copy)
		return false;
	for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(c);
		const char *p = have;
		bool found = false;

		while (!found && (p = strstr(p, c))) {
			found = (p == have || p[-1] == ',') && (p[n] == ',' || p[n] == '\0');
			p += n;
		}
		if (!found)
			return false;
	}
	return true;
}

/*
 * The host mount point of the hierarchy named by a /proc/PID/cgroup line's
 * controller list ("" for cgroup2).
 */
static int find_mount(const char *mountinfo, const char *controllers, char *ret, size_t size)
{
	_cleanup_free_ char *copy = strdup(mountinfo);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char root[PATH_MAX], mp[PATH_MAX], fstype[64], super[1024];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2 || !streq(root, "/"))
			continue;
		if (*controllers ? streq(fstype, "cgroup") && options_cover(super, controllers)
				 : streq(fstype, "cgroup2")) {
			if (snprintf(ret, size, "%s", mp) >= (int)size)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	return -ENOENT;
}

int instance_cgroup_delegate(pid_t pid, uid_t uid, gid_t gid, struct hull_error **reterr)
{
	_cleanup_free_ char *cgroups = NULL, *mountinfo = NULL;
	char path[64], *save = NULL;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	r = hull_read_file_at(AT_FDCWD, path, &cgroups, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", path);
	r = hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '/proc/self/mountinfo'");

	for (char *line = strtok_r(cgroups, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *controllers, *cg;
		_cleanup_close_ int mfd = -EBADF, dfd = -EBADF;
		const char *const *files;
		char mp[PATH_MAX];
		size_t n_files;

		if (!c2)
			continue;
		*c2 = '\0';
		controllers = c1 + 1;
		cg = c2 + 1;
		/* never the hierarchy's root, nor a path that climbs */
		if (streq(cg, "/") || *cg != '/' || strstr(cg, "/.."))
			continue;
		if (find_mount(mountinfo, controllers, mp, sizeof(mp)) < 0)
			continue; /* a hierarchy the host does not mount */
		mfd = open(mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			return hull_error_errno(reterr, -errno, "open '%s'", mp);
		dfd = openat(mfd, cg + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return hull_error_errno(reterr, -errno, "open cgroup '%s%s'", mp, cg);
		if (fchown(dfd, uid, gid) < 0)
			return hull_error_errno(reterr, -errno, "chown cgroup '%s%s'", mp, cg);
		files = *controllers ? v1_files : v2_files;
		n_files = *controllers ? ELEMENTSOF(v1_files) : ELEMENTSOF(v2_files);
		for (size_t i = 0; i < n_files; i++)
			if (fchownat(dfd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0 &&
			    errno != ENOENT)
				return hull_error_errno(reterr, -errno, "chown '%s%s/%s'", mp, cg,
							files[i]);
	}
	return 0;
}

int instance_hook_state(const char *state_json, size_t len, int *ret_pid, char **ret_bundle,
			struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v;
	int r, pid;

	r = hull_json_parse(state_json, len, "state", &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "pid", &v) || !json_object_is_type(v, json_type_int) ||
	    (pid = json_object_get_int(v)) <= 0)
		return hull_error_set(reterr, -EINVAL, "state.pid: expected a positive number");
	if (ret_bundle) {
		if (!json_object_object_get_ex(o, "bundle", &v) ||
		    !json_object_is_type(v, json_type_string))
			return hull_error_set(reterr, -EINVAL, "state.bundle: expected a path");
		*ret_bundle = strdup(json_object_get_string(v));
		if (!*ret_bundle)
			return -ENOMEM;
	}
	*ret_pid = pid;
	return 0;
}

int hull_instance_delegate_hook(const char *state_json, size_t len, uint32_t uid, uint32_t gid,
				struct hull_error **reterr)
{
	int pid, r = instance_hook_state(state_json, len, &pid, NULL, reterr);

	if (r < 0)
		return r;
	return instance_cgroup_delegate(pid, uid, gid, reterr);
}
