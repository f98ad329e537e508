/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config's mounts, in order, inside the rootfs (prepare).
 *
 * Each destination is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT,
 * or the walk of path-in-root.c) to an O_PATH fd, created when missing,
 * and the mount is attached onto that fd with move_mount, so no path
 * string that could follow a symlink out of the rootfs reaches the kernel
 * for the target.  Sources are the host's (the config is trusted there);
 * with a user namespace the runtime clones bind sources beforehand
 * (hull_mount_sources_open).  proc and sysfs are never mounted through a
 * symlink; nothing is mounted inside a procfs but the files lxcfs emulates;
 * a read-only tmpfs or /dev becomes read-only after the mounts below it.
 */
#include "linux/rootfs-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static const char *mount_name(const struct hull_oci_mount *m)
{
	if (m->source && m->source[0])
		return m->source;
	return m->type ? m->type : "none";
}

/* "/dev", "/dev/", "//dev" are all /dev. */
bool rootfs_dest_is(const char *dest, const char *want)
{
	while (*dest && *want) {
		if (*dest == '/' && *want == '/') {
			while (*dest == '/')
				dest++;
			want++;
			continue;
		}
		if (*dest != *want)
			return false;
		dest++;
		want++;
	}
	while (*dest == '/')
		dest++;
	return *dest == '\0' && *want == '\0';
}

static int mount_error(struct hull_error **reterr, int r, const struct hull_oci_mount *m,
		       const char *kmsg)
{
	if (kmsg && kmsg[0])
		return hull_error_errno(reterr, r, "mount '%s' on '%s' (%s)", mount_name(m),
					m->destination, kmsg);
	return hull_error_errno(reterr, r, "mount '%s' on '%s'", mount_name(m), m->destination);
}

int rootfs_fd_path(int fd, char **ret)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;
	char *p;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(buf) - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	p = strdup(buf);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

/*
 * As runc's checkProcMount: nothing may be mounted over something inside a
 * procfs except the few files lxcfs emulates.  Mounting over /proc/self/attr
 * and the like would let a config defeat the LSM setup (CVE-2019-16884).
 */
static int check_proc_target(struct rootfs_ctx *c, const struct hull_oci_mount *m, int target_fd,
			     struct hull_error **reterr)
{
	static const char *const allowed[] = {
		"/proc/cpuinfo", "/proc/diskstats",
		"/proc/meminfo", "/proc/stat",
		"/proc/swaps",	 "/proc/uptime",
		"/proc/loadavg", "/proc/slabinfo",
		"/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
	};
	_cleanup_free_ char *path = NULL;
	struct statfs sfs;
	const char *rel;
	int r;

	if (fstatfs(target_fd, &sfs) < 0)
		return mount_error(reterr, -errno, m, NULL);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return 0;
	if (!c->root_path) {
		r = rootfs_fd_path(c->root_fd, &c->root_path);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	r = rootfs_fd_path(target_fd, &path);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);
	rel = startswith(path, c->root_path);
	if (streq(c->root_path, "/"))
		rel = path;
	if (rel)
		for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
			if (streq(rel, allowed[i]))
				return 0;
	return hull_error_set(reterr, -EPERM, "mount '%s' on '%s': the target is inside /proc",
			      mount_name(m), m->destination);
}

/* ---- idmapped mounts ---- */

static int apply_idmap(struct rootfs_ctx *c, const struct hull_oci_mount *m,
		       const struct hull_mount_options *mo, int mnt, struct hull_error **reterr)
{
	const struct hull_oci_idmap *uids = m->uid_mappings, *gids = m->gid_mappings;
	size_t n_uids = m->n_uid_mappings, n_gids = m->n_gid_mappings;
	_cleanup_close_ int userns = -EBADF;
	int r;

	if (mo->idmap == HULL_MOUNT_IDMAP_NONE && n_uids == 0 && n_gids == 0)
		return 0;
	/*
	 * Idmapping needs CAP_SYS_ADMIN over the filesystem's user namespace,
	 * which a container's user namespace never has for the host's
	 * filesystems; runc prepares such mounts on the host side instead.
	 */
	if (c->o->in_userns)
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "mount '%s' on '%s': idmapped mounts in a user namespace are "
				      "not supported",
				      mount_name(m), m->destination);
	if (n_uids == 0 && n_gids == 0 && c->lc) {
		/* "idmap" alone: the container's own user namespace maps */
		uids = c->lc->uid_mappings;
		n_uids = c->lc->n_uid_mappings;
		gids = c->lc->gid_mappings;
		n_gids = c->lc->n_gid_mappings;
	}
	if (n_uids == 0 || n_gids == 0)
		return hull_error_set(reterr, -EINVAL,
				      "mount '%s' on '%s': an idmapped mount needs uidMappings and "
				      "gidMappings",
				      mount_name(m), m->destination);
	r = hull_idmap_userns_new(uids, n_uids, gids, n_gids, &userns, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "mount '%s' on '%s'", mount_name(m),
				       m->destination);
	r = hull_mount_setattr(mnt, mo->idmap == HULL_MOUNT_IDMAP_RECURSIVE, MOUNT_ATTR_IDMAP, 0, 0,
			       userns);
	if (r < 0)
		return hull_error_errno(reterr, r, "mount '%s' on '%s': idmap", mount_name(m),
					m->destination);
	return 0;
}

/* ---- tmpcopyup ---- */

static int copy_data(int in, int out)
{
	char buf[64 * 1024];

	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, SSIZE_MAX, 0);

		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		break;
	}
	for (;;) {
		ssize_t n = RETRY_EINTR(read(in, buf, sizeof(buf)));
		int r;

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = hull_write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

/* Copies the contents of directory `src` into `dst`, keeping modes and owners. */
static int copy_tree(int src, int dst, unsigned depth)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct dirent *de;
	int r;

	if (depth > 256)
		return -ELOOP;
	dfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d)
		return -errno;
	TAKE_FD(dfd); /* the DIR owns it now */
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (streq_dots(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s = -EBADF, t = -EBADF;

			if (mkdirat(dst, de->d_name, 0700) < 0)
				return -errno;
			s = openat(dirfd(d), de->d_name,
				   O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			t = openat(dst, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || t < 0)
				return -errno;
			r = copy_tree(s, t, depth + 1);
			if (r < 0)
				return r;
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in = -EBADF, out = -EBADF;

			in = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (in < 0)
				return -errno;
			out = openat(dst, de->d_name,
				     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (out < 0)
				return -errno;
			r = copy_data(in, out);
			if (r < 0)
				return r;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (symlinkat(target, dst, de->d_name) < 0)
				return -errno;
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
			if (mknodat(dst, de->d_name, st.st_mode, st.st_rdev) < 0)
				return -errno;
		} else {
			continue; /* sockets mean nothing in a copy */
		}
		if (fchownat(dst, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISLNK(st.st_mode) && fchmodat(dst, de->d_name, st.st_mode & 07777, 0) < 0)
			return -errno;
	}
	return errno > 0 ? -errno : 0;
}

/* ---- the mounts of the config ---- */

struct hull_mount_sources {
	size_t n;
	int fds[]; /* one per config.mounts entry, -EBADF where not prepared */
};

void hull_mount_sources_free(struct hull_mount_sources *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		safe_close(s->fds[i]);
	free(s);
}

static bool is_bind(const struct hull_oci_mount *m, const struct hull_mount_options *mo)
{
	return !(mo->flags & MS_REMOUNT) && ((mo->flags & MS_BIND) || streq_ptr(m->type, "bind"));
}

int hull_mount_sources_open(const struct hull_oci_config *c, int bundle_fd,
			    struct hull_mount_sources **ret, struct hull_error **reterr)
{
	struct hull_mount_sources *s;
	int r;

	s = malloc(sizeof(*s) + c->n_mounts * sizeof(int));
	if (!s)
		return hull_error_errno(reterr, -ENOMEM, "prepare mount sources");
	s->n = c->n_mounts;
	for (size_t i = 0; i < s->n; i++)
		s->fds[i] = -EBADF;
	for (size_t i = 0; i < s->n; i++) {
		_cleanup_(rootfs_mount_options_donep) struct hull_mount_options mo = {};
		const struct hull_oci_mount *m = &c->mounts[i];

		r = hull_mount_options_parse(m->options, &mo);
		if (r < 0) {
			hull_error_errno(reterr, r, "prepare mount sources");
			goto fail;
		}
		/* idmapped binds are refused in a user namespace; the init says so */
		if (!is_bind(m, &mo) || !m->source || !m->source[0] ||
		    mo.idmap != HULL_MOUNT_IDMAP_NONE || m->n_uid_mappings || m->n_gid_mappings)
			continue;
		/* the source is the host's (or the bundle's): the config is trusted there */
		r = hull_mount_clone(m->source[0] == '/' ? AT_FDCWD : bundle_fd, m->source,
				     mo.flags & MS_REC);
		if (r < 0) {
			/* rootless, or no such source: the init tries itself and says why */
			hull_debug("mounts[%zu].source: clone '%s': %s", i, m->source,
				   strerror(-r));
			continue;
		}
		s->fds[i] = r;
	}
	*ret = s;
	return 0;
fail:
	hull_mount_sources_free(s);
	return r;
}

/*
 * A bind whose source the runtime cloned on the host side: attached as it
 * is, then given its attributes (a detached mount of the host's may not be
 * changed from a user namespace; once in our mount namespace it may).
 */
static int mount_bind_prepared(struct rootfs_ctx *c, const struct hull_oci_mount *m,
			       const struct hull_mount_options *mo, int src, int *ret_mnt,
			       struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF, mnt = -EBADF;
	uint64_t set, clr;
	struct stat st;
	int r;

	if (fstat(src, &st) < 0)
		return mount_error(reterr, -errno, m, NULL);
	target = hull_mkdir_in_root(c->root_fd, m->destination, !S_ISDIR(st.st_mode), 0755, NULL);
	if (target < 0)
		return mount_error(reterr, target, m, NULL);
	r = check_proc_target(c, m, target, reterr);
	if (r < 0)
		return r;
	r = hull_mount_attach(src, target);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);
	mnt = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (mnt < 0)
		return mount_error(reterr, -errno, m, NULL);
	if (hull_mount_options_to_setattr(mo, &set, &clr)) {
		r = hull_mount_setattr(mnt, false, set, clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

static int mount_bind(struct rootfs_ctx *c, const struct hull_oci_mount *m,
		      const struct hull_mount_options *mo, int *ret_mnt, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF, mnt = -EBADF;
	int src_dirfd;
	uint64_t set, clr;
	struct stat st;
	int r;

	if (!m->source || !m->source[0])
		return hull_error_set(reterr, -EINVAL, "mount on '%s': a bind mount needs a source",
				      m->destination);
	if (c->o->mount_sources && c->idx < c->o->mount_sources->n &&
	    c->o->mount_sources->fds[c->idx] >= 0)
		return mount_bind_prepared(c, m, mo, c->o->mount_sources->fds[c->idx], ret_mnt,
					   reterr);
	/* the source is the host's (or the bundle's): the config is trusted there */
	src_dirfd = m->source[0] == '/' ? AT_FDCWD : c->bundle_fd;
	if (fstatat(src_dirfd, m->source, &st, 0) < 0)
		return mount_error(reterr, -errno, m, NULL);

	target = hull_mkdir_in_root(c->root_fd, m->destination, !S_ISDIR(st.st_mode), 0755, NULL);
	if (target < 0)
		return mount_error(reterr, target, m, NULL);
	r = check_proc_target(c, m, target, reterr);
	if (r < 0)
		return r;

	mnt = hull_mount_clone(src_dirfd, m->source, mo->flags & MS_REC);
	if (mnt < 0)
		return mount_error(reterr, mnt, m, NULL);
	r = apply_idmap(c, m, mo, mnt, reterr);
	if (r < 0)
		return r;
	/* like runc's remount of a bind: the top mount only */
	if (hull_mount_options_to_setattr(mo, &set, &clr)) {
		r = hull_mount_setattr(mnt, false, set, clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	r = hull_mount_attach(mnt, target);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

static int push_ro_later(struct rootfs_ctx *c, int mnt)
{
	struct rootfs_ro_later *n = reallocarray(c->ro_later, c->n_ro_later + 1, sizeof(*n));
	int fd;

	if (!n)
		return -ENOMEM;
	c->ro_later = n;
	fd = fcntl(mnt, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	c->ro_later[c->n_ro_later++] = (struct rootfs_ro_later){ .fd = fd, .idx = c->idx };
	return 0;
}

/* The superblock and the mount of each deferred read-only mount become read-only. */
int rootfs_apply_ro_later(struct rootfs_ctx *c, struct hull_error **reterr)
{
	for (size_t i = 0; i < c->n_ro_later; i++) {
		_cleanup_close_ int fsfd = -EBADF;
		int fd = c->ro_later[i].fd, r;

		fsfd = fspick(fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
		r = fsfd < 0 ? -errno : hull_fs_flag(fsfd, "ro");
		if (r >= 0 && fsconfig(fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
			r = -errno;
		if (r >= 0)
			r = hull_mount_setattr(fd, false, MOUNT_ATTR_RDONLY, 0, 0, -EBADF);
		if (r < 0)
			return hull_error_errno(
				reterr, r, "mounts[%zu]: make '%s' read-only", c->ro_later[i].idx,
				c->o->config->mounts[c->ro_later[i].idx].destination);
	}
	return 0;
}

static bool data_has_mode(const char *data)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!data || !(copy = strdup(data)))
		return false;
	for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (startswith(opt, "mode="))
			return true;
	return false;
}

static int mount_fs(struct rootfs_ctx *c, const struct hull_oci_mount *m,
		    const struct hull_mount_options *mo, int *ret_mnt, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF, mnt = -EBADF;
	char kmsg[HULL_FS_KMSG_MAX];
	struct stat before;
	unsigned long flags;
	bool existed, ro_later = false;
	int r;

	if (!m->type || !m->type[0])
		return hull_error_set(reterr, -EINVAL,
				      "mount '%s' on '%s': no type given and not a bind mount",
				      mount_name(m), m->destination);
	if (mo->tmpcopyup && !streq(m->type, "tmpfs"))
		return hull_error_set(reterr, -EINVAL,
				      "mount '%s' on '%s': 'tmpcopyup' needs a tmpfs",
				      mount_name(m), m->destination);

	if (streq(m->type, "proc") || streq(m->type, "sysfs")) {
		/*
		 * As runc: a symlink (or file) where proc or sysfs goes is refused,
		 * never followed, even inside the rootfs.
		 */
		target = hull_open_in_root(c->root_fd, m->destination, O_PATH | O_NOFOLLOW, NULL);
		if (target >= 0 && fstat(target, &before) < 0)
			return mount_error(reterr, -errno, m, NULL);
		if (target >= 0 && !S_ISDIR(before.st_mode))
			return hull_error_set(reterr, -ENOTDIR,
					      "mounts[%zu].destination: filesystem '%s' must be "
					      "mounted on ordinary directory ('%s' is %s)",
					      c->idx, m->type, m->destination,
					      S_ISLNK(before.st_mode) ? "a symlink"
								      : "not a directory");
		if (target < 0 && target != -ENOENT)
			return mount_error(reterr, target, m, NULL);
	} else {
		target = hull_open_in_root(c->root_fd, m->destination, O_PATH | O_DIRECTORY, NULL);
		if (target >= 0 && fstat(target, &before) < 0)
			return mount_error(reterr, -errno, m, NULL);
	}
	existed = target >= 0;
	if (!existed) {
		target = hull_mkdir_in_root(c->root_fd, m->destination, false, 0755, NULL);
		if (target < 0)
			return mount_error(reterr, target, m, NULL);
	}
	if (!streq(m->type, "proc") && !streq(m->type, "sysfs")) {
		r = check_proc_target(c, m, target, reterr);
		if (r < 0)
			return r;
	}

	if (streq(m->type, "cgroup") || streq(m->type, "cgroup2")) {
		if (c->o->cgroup) {
			r = hull_cgroup_mount(c->o->cgroup, target, mo->flags, c->o->cgroupns,
					      reterr);
			if (r < 0)
				return hull_error_wrap(reterr, r, "mount '%s' on '%s'",
						       mount_name(m), m->destination);
			/* the new mount is the top of the target now */
			mnt = hull_open_in_root(c->root_fd, m->destination, O_PATH | O_DIRECTORY,
						NULL);
			if (mnt < 0)
				return mount_error(reterr, mnt, m, NULL);
			*ret_mnt = TAKE_FD(mnt);
			return 0;
		}
		/* no container cgroup to show: a plain mount of the filesystem */
	}

	/*
	 * As runc: a read-only tmpfs or /dev is made read-only only after the
	 * mounts below it (/dev/pts, device nodes) found their directories.
	 */
	flags = mo->flags;
	if ((flags & MS_RDONLY) &&
	    (streq(m->type, "tmpfs") || rootfs_dest_is(m->destination, "/dev"))) {
		flags &= ~(unsigned long)MS_RDONLY;
		ro_later = true;
	}
	mnt = hull_fs_new(m->type, m->source, flags, mo->data, hull_mount_flags_to_attr(flags),
			  kmsg, sizeof(kmsg));
	if (mnt == -EPERM && streq(m->type, "sysfs")) {
		uint64_t set = 0, clr = 0;

		/*
		 * A user namespace that does not own the network namespace may
		 * not mount sysfs; like runc, fall back to the host's /sys,
		 * read-only etc. all the way down.
		 */
		hull_debug("mount sysfs on '%s': not permitted, binding /sys instead",
			   m->destination);
		mnt = hull_mount_clone(AT_FDCWD, "/sys", true);
		if (mnt < 0)
			return mount_error(reterr, mnt, m, NULL);
		if (hull_mount_options_to_setattr(mo, &set, &clr)) {
			r = hull_mount_setattr(mnt, true, set, clr, 0, -EBADF);
			if (r < 0)
				return mount_error(reterr, r, m, NULL);
		}
	} else if (mnt < 0) {
		return mount_error(reterr, mnt, m, kmsg);
	}

	if (mo->tmpcopyup) {
		r = copy_tree(target, mnt, 0);
		if (r < 0)
			return hull_error_errno(reterr, r, "mount '%s' on '%s': tmpcopyup",
						mount_name(m), m->destination);
	}
	/* runc keeps the mode of a directory a tmpfs lands on unless mode= says otherwise */
	if (existed && streq(m->type, "tmpfs") && !data_has_mode(mo->data)) {
		_cleanup_close_ int dir = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0 || fchmod(dir, before.st_mode & 07777) < 0)
			return mount_error(reterr, -errno, m, NULL);
	}

	r = hull_mount_attach(mnt, target);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);
	if (ro_later) {
		r = push_ro_later(c, mnt);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

/* "remount": change an existing mount (and its superblock unless it is a bind). */
static int mount_remount(struct rootfs_ctx *c, const struct hull_oci_mount *m,
			 const struct hull_mount_options *mo, int *ret_mnt,
			 struct hull_error **reterr)
{
	_cleanup_close_ int mnt = -EBADF;
	uint64_t set, clr;
	int r;

	mnt = hull_open_in_root(c->root_fd, m->destination, O_PATH, NULL);
	if (mnt < 0)
		return mount_error(reterr, mnt, m, NULL);
	if (!(mo->flags & MS_BIND)) {
		_cleanup_close_ int fsfd = -EBADF;
		char kmsg[HULL_FS_KMSG_MAX] = "";

		fsfd = fspick(mnt, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
		if (fsfd < 0)
			return mount_error(reterr, -errno, m, NULL);
		r = hull_fs_sb_flags(fsfd, mo->flags);
		if (r >= 0 && (mo->clear_flags & MS_RDONLY))
			r = hull_fs_flag(fsfd, "rw");
		if (r >= 0)
			r = hull_fs_data(fsfd, mo->data);
		if (r >= 0 && fsconfig(fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
			r = -errno;
		if (r < 0) {
			hull_fs_kernel_msg(fsfd, kmsg, sizeof(kmsg));
			return mount_error(reterr, r, m, kmsg);
		}
	}
	if (hull_mount_options_to_setattr(mo, &set, &clr)) {
		r = hull_mount_setattr(mnt, false, set, clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

int rootfs_mount_one(struct rootfs_ctx *c, const struct hull_oci_mount *m,
		     struct hull_error **reterr)
{
	_cleanup_(rootfs_mount_options_donep) struct hull_mount_options mo = {};
	_cleanup_close_ int mnt = -EBADF;
	int r;

	r = hull_mount_options_parse(m->options, &mo);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);

	if (mo.flags & MS_REMOUNT)
		r = mount_remount(c, m, &mo, &mnt, reterr);
	else if (is_bind(m, &mo))
		r = mount_bind(c, m, &mo, &mnt, reterr);
	else
		r = mount_fs(c, m, &mo, &mnt, reterr);
	if (r < 0)
		return r;

	if (hull_mount_options_has_rec_attrs(&mo)) {
		r = hull_mount_setattr(mnt, true, mo.attr_set, mo.attr_clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	for (size_t i = 0; i < mo.n_propagation; i++) {
		unsigned long p = mo.propagation[i];

		r = hull_mount_setattr(mnt, p & MS_REC, 0, 0, p & ~(unsigned long)MS_REC, -EBADF);
		if (r < 0)
			return hull_error_errno(reterr, r, "mount '%s' on '%s': set propagation",
						mount_name(m), m->destination);
	}
	hull_debug("mounted '%s' on '%s'", mount_name(m), m->destination);
	return 0;
}
