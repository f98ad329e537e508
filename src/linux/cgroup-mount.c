/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: the container's view of the cgroup filesystem (an OCI mount of
 * type "cgroup").  v1: a tmpfs with one directory per hierarchy holding the
 * container's cgroup (a fresh mount in a cgroup namespace, else a bind), as
 * runc makes it; v2: cgroup2 afresh in a cgroup namespace, else a bind.
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

uint64_t hull_cgroup_mount_attr(unsigned long mount_flags)
{
	uint64_t a = 0;

	if (mount_flags & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (mount_flags & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (mount_flags & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (mount_flags & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	return a;
}

int hull_cgroup_bind(const char *src, int dirfd, const char *name, uint64_t attr,
		     struct hull_error **reterr)
{
	_cleanup_close_ int tree = -EBADF, target = -EBADF;

	tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return hull_error_errno(reterr, -errno, "bind '%s': open_tree", src);
	if (attr) {
		struct mount_attr ma = { .attr_set = attr };

		if (mount_setattr(tree, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0)
			return hull_error_errno(reterr, -errno, "bind '%s': set mount attributes",
						src);
	}
	if (name) {
		target = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (target < 0)
			return hull_error_errno(reterr, -errno, "bind '%s': open '%s'", src, name);
	}
	if (move_mount(tree, "", name ? target : dirfd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hull_error_errno(reterr, -errno, "bind '%s' into the container", src);
	return 0;
}

/* ---- v1 --------------------------------------------------------------- */

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

int hull_cgroup_v1_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
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
		const struct hull_cgroup_hierarchy *h = hull_cgroup_hier(cg, i);

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

/* ---- v2 --------------------------------------------------------------- */

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

int hull_cgroup_v2_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
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
