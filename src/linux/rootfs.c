/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's root filesystem, in three phases (prepare, pivot, finalize).
 *
 * Every mount goes through the new mount API: a filesystem is created with
 * fsopen/fsconfig/fsmount and a bind with open_tree(OPEN_TREE_CLONE); both
 * give a detached mount that gets its attributes (mount_setattr) before it
 * is attached with move_mount onto an O_PATH fd of the target.  The target
 * fd comes from resolving the destination inside the rootfs (openat2
 * RESOLVE_IN_ROOT), so no path string that could follow a symlink out of
 * the rootfs ever reaches the kernel.  No mount goes through a
 * /proc/self/fd path either, so masking and read-only paths work after
 * pivot_root whether or not the container mounted a proc.
 */
#include "linux/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/mount-options.h"
#include "linux/namespace.h"
#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

#define KMSG_MAX 256

struct ro_later {
	int fd;
	size_t idx; /* in config.mounts */
};

struct ctx {
	const struct hull_rootfs_opts *o;
	const struct hull_oci_linux *lc; /* may be NULL */
	int bundle_fd;			 /* the bundle, opened in our mount namespace */
	int root_fd;			 /* the rootfs mount (O_PATH) */
	char *root_path;		 /* its path in our mount namespace, lazily */
	size_t idx;			 /* mounts[idx] is being mounted */
	struct ro_later *ro_later;	 /* mounts made read-only after the mounts below them */
	size_t n_ro_later;
};

static void mount_options_donep(struct hull_mount_options *o)
{
	hull_mount_options_done(o);
}

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
static bool dest_is(const char *dest, const char *want)
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

static int setattr(int fd, bool recursive, uint64_t set, uint64_t clr, uint64_t propagation,
		   int userns_fd)
{
	struct mount_attr a = {
		.attr_set = set,
		.attr_clr = clr,
		.propagation = propagation,
		.userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0,
	};

	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) <
	    0)
		return -errno;
	return 0;
}

static int attach(int mnt_fd, int target_fd)
{
	if (move_mount(mnt_fd, "", target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/* Clones the tree at dirfd/path (or dirfd itself) as a detached mount. */
static int clone_tree(int dirfd, const char *path, bool recursive)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
	int fd;

	if (!path || !path[0]) {
		path = "";
		flags |= AT_EMPTY_PATH;
	}
	fd = open_tree(dirfd, path, flags);
	return fd < 0 ? -errno : fd;
}

int hull_mount_bind_fd(int source_dirfd, const char *source, int target_fd, bool recursive,
		       uint64_t attr_set, uint64_t attr_clr)
{
	_cleanup_close_ int mnt = -EBADF;
	int r;

	mnt = clone_tree(source_dirfd, source, recursive);
	if (mnt < 0)
		return mnt;
	if (attr_set | attr_clr) {
		r = setattr(mnt, false, attr_set, attr_clr, 0, -EBADF);
		if (r < 0)
			return r;
	}
	r = attach(mnt, target_fd);
	if (r < 0)
		return r;
	return TAKE_FD(mnt);
}

/* The last error the kernel logged on an fs_context fd, without its "e " tag. */
static void fs_kernel_msg(int fsfd, char *buf, size_t len)
{
	char tmp[KMSG_MAX + 3];

	buf[0] = '\0';
	for (;;) {
		ssize_t n = read(fsfd, tmp, sizeof(tmp) - 1);

		if (n <= 0)
			break;
		tmp[n] = '\0';
		tmp[strcspn(tmp, "\n")] = '\0';
		if (n > 2 && tmp[0] == 'e' && tmp[1] == ' ') {
			size_t l = strlen(tmp + 2);

			if (l >= len)
				l = len - 1; /* a long message is cut, not lost */
			memcpy(buf, tmp + 2, l);
			buf[l] = '\0';
		}
	}
}

static int fs_flag(int fsfd, const char *key)
{
	return fsconfig(fsfd, FSCONFIG_SET_FLAG, key, NULL, 0) < 0 ? -errno : 0;
}

/* Feeds "k=v,flag,..." to the filesystem. */
static int fs_data(int fsfd, const char *data)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!data)
		return 0;
	copy = strdup(data);
	if (!copy)
		return -ENOMEM;
	for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int r;

		if (eq) {
			*eq = '\0';
			r = fsconfig(fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0) < 0 ? -errno : 0;
		} else {
			r = fs_flag(fsfd, opt);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Superblock flags a new filesystem takes through fsconfig. */
static int fs_sb_flags(int fsfd, unsigned long flags)
{
	static const struct {
		unsigned long flag;
		const char *key;
	} sb[] = {
		{ MS_RDONLY, "ro" },
		{ MS_SYNCHRONOUS, "sync" },
		{ MS_DIRSYNC, "dirsync" },
		{ MS_LAZYTIME, "lazytime" },
	};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(sb); i++) {
		if (!(flags & sb[i].flag))
			continue;
		r = fs_flag(fsfd, sb[i].key);
		if (r < 0)
			return r;
	}
	if (flags & MS_MANDLOCK)
		hull_debug("mount option 'mand' ignored: the kernel has no mandatory locks");
	return 0;
}

/*
 * Creates a new filesystem of `type` as a detached mount.  On failure the
 * kernel's own explanation, if any, is left in kmsg.
 */
static int fs_new(const char *type, const char *source, unsigned long flags, const char *data,
		  uint64_t attrs, char *kmsg, size_t kmsg_len)
{
	_cleanup_close_ int fsfd = -EBADF;
	int r, mnt;

	kmsg[0] = '\0';
	fsfd = fsopen(type, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return -errno;
	if (source && source[0]) {
		r = fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0 ? -errno : 0;
		if (r < 0)
			goto fail;
	}
	r = fs_sb_flags(fsfd, flags);
	if (r < 0)
		goto fail;
	r = fs_data(fsfd, data);
	if (r < 0)
		goto fail;
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		r = -errno;
		goto fail;
	}
	mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)attrs);
	if (mnt < 0) {
		r = -errno;
		goto fail;
	}
	return mnt;
fail:
	fs_kernel_msg(fsfd, kmsg, kmsg_len);
	return r;
}

static int mount_error(struct hull_error **reterr, int r, const struct hull_oci_mount *m,
		       const char *kmsg)
{
	if (kmsg && kmsg[0])
		return hull_error_errno(reterr, r, "mount '%s' on '%s' (%s)", mount_name(m),
					m->destination, kmsg);
	return hull_error_errno(reterr, r, "mount '%s' on '%s'", mount_name(m), m->destination);
}

static int fd_path(int fd, char **ret)
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
static int check_proc_target(struct ctx *c, const struct hull_oci_mount *m, int target_fd,
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
		r = fd_path(c->root_fd, &c->root_path);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	r = fd_path(target_fd, &path);
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

/* Reads the child's /proc pid from `ready`, writes its maps, opens its user ns. */
static int userns_map_child(int ready, const struct hull_oci_idmap *uids, size_t n_uids,
			    const struct hull_oci_idmap *gids, size_t n_gids, int *ret_fd,
			    struct hull_error **reterr)
{
	char buf[32], path[64];
	pid_t procpid;
	ssize_t n;
	int fd, r;

	n = hull_read_all(ready, buf, sizeof(buf) - 1);
	if (n <= 0)
		return hull_error_errno(reterr, n < 0 ? (int)n : -ECHILD,
					"create idmap user namespace");
	buf[n] = '\0';
	r = hull_parse_int(buf, &procpid);
	if (r < 0)
		return hull_error_errno(reterr, r, "create idmap user namespace");
	r = hull_idmap_write(procpid, uids, n_uids, gids, n_gids, reterr);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)procpid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", path);
	*ret_fd = fd;
	return 0;
}

/*
 * A user namespace holding the given maps, for MOUNT_ATTR_IDMAP: a child
 * unshares it and waits while we write its maps and open its ns file.  The
 * child reports its pid as /proc sees it, which differs from fork()'s
 * return value when we live in a new pid namespace but /proc is the host's.
 */
static int userns_new(const struct hull_oci_idmap *uids, size_t n_uids,
		      const struct hull_oci_idmap *gids, size_t n_gids, int *ret_fd,
		      struct hull_error **reterr)
{
	_cleanup_close_ int ready_r = -EBADF, ready_w = -EBADF, hold_r = -EBADF, hold_w = -EBADF;
	int p[2], fd = -EBADF, r, status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "create idmap user namespace");
	ready_r = p[0];
	ready_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "create idmap user namespace");
	hold_r = p[0];
	hold_w = p[1];

	pid = fork();
	if (pid < 0)
		return hull_error_errno(reterr, -errno, "create idmap user namespace");
	if (pid == 0) {
		char self[32], c;
		ssize_t len;

		/* only the parent may hold the write end, or the read below never ends */
		close(hold_w);
		close(ready_r);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		len = readlink("/proc/self", self, sizeof(self) - 1);
		if (len <= 0 || write(ready_w, self, (size_t)len) != len)
			_exit(1);
		close(ready_w);
		(void)!read(hold_r, &c, 1); /* until the parent closes its end */
		_exit(0);
	}
	ready_w = safe_close(ready_w);
	hold_r = safe_close(hold_r);

	r = userns_map_child(ready_r, uids, n_uids, gids, n_gids, &fd, reterr);
	hold_w = safe_close(hold_w); /* the namespace lives on in fd: let the child go */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	*ret_fd = fd;
	return 0;
}

static int apply_idmap(struct ctx *c, const struct hull_oci_mount *m,
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
	r = userns_new(uids, n_uids, gids, n_gids, &userns, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "mount '%s' on '%s'", mount_name(m),
				       m->destination);
	r = setattr(mnt, mo->idmap == HULL_MOUNT_IDMAP_RECURSIVE, MOUNT_ATTR_IDMAP, 0, 0, userns);
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
		_cleanup_(mount_options_donep) struct hull_mount_options mo = {};
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
		r = clone_tree(m->source[0] == '/' ? AT_FDCWD : bundle_fd, m->source,
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
static int mount_bind_prepared(struct ctx *c, const struct hull_oci_mount *m,
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
	r = attach(src, target);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);
	mnt = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (mnt < 0)
		return mount_error(reterr, -errno, m, NULL);
	if (hull_mount_options_to_setattr(mo, &set, &clr)) {
		r = setattr(mnt, false, set, clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

static int mount_bind(struct ctx *c, const struct hull_oci_mount *m,
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

	mnt = clone_tree(src_dirfd, m->source, mo->flags & MS_REC);
	if (mnt < 0)
		return mount_error(reterr, mnt, m, NULL);
	r = apply_idmap(c, m, mo, mnt, reterr);
	if (r < 0)
		return r;
	/* like runc's remount of a bind: the top mount only */
	if (hull_mount_options_to_setattr(mo, &set, &clr)) {
		r = setattr(mnt, false, set, clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	r = attach(mnt, target);
	if (r < 0)
		return mount_error(reterr, r, m, NULL);
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

static int push_ro_later(struct ctx *c, int mnt)
{
	struct ro_later *n = reallocarray(c->ro_later, c->n_ro_later + 1, sizeof(*n));
	int fd;

	if (!n)
		return -ENOMEM;
	c->ro_later = n;
	fd = fcntl(mnt, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	c->ro_later[c->n_ro_later++] = (struct ro_later){ .fd = fd, .idx = c->idx };
	return 0;
}

/* The superblock and the mount of each deferred read-only mount become read-only. */
static int apply_ro_later(struct ctx *c, struct hull_error **reterr)
{
	for (size_t i = 0; i < c->n_ro_later; i++) {
		_cleanup_close_ int fsfd = -EBADF;
		int fd = c->ro_later[i].fd, r;

		fsfd = fspick(fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
		r = fsfd < 0 ? -errno : fs_flag(fsfd, "ro");
		if (r >= 0 && fsconfig(fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
			r = -errno;
		if (r >= 0)
			r = setattr(fd, false, MOUNT_ATTR_RDONLY, 0, 0, -EBADF);
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

static int mount_fs(struct ctx *c, const struct hull_oci_mount *m,
		    const struct hull_mount_options *mo, int *ret_mnt, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF, mnt = -EBADF;
	char kmsg[KMSG_MAX];
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
	if ((flags & MS_RDONLY) && (streq(m->type, "tmpfs") || dest_is(m->destination, "/dev"))) {
		flags &= ~(unsigned long)MS_RDONLY;
		ro_later = true;
	}
	mnt = fs_new(m->type, m->source, flags, mo->data, hull_mount_flags_to_attr(flags), kmsg,
		     sizeof(kmsg));
	if (mnt == -EPERM && streq(m->type, "sysfs")) {
		uint64_t set = 0, clr = 0;

		/*
		 * A user namespace that does not own the network namespace may
		 * not mount sysfs; like runc, fall back to the host's /sys,
		 * read-only etc. all the way down.
		 */
		hull_debug("mount sysfs on '%s': not permitted, binding /sys instead",
			   m->destination);
		mnt = clone_tree(AT_FDCWD, "/sys", true);
		if (mnt < 0)
			return mount_error(reterr, mnt, m, NULL);
		if (hull_mount_options_to_setattr(mo, &set, &clr)) {
			r = setattr(mnt, true, set, clr, 0, -EBADF);
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

	r = attach(mnt, target);
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
static int mount_remount(struct ctx *c, const struct hull_oci_mount *m,
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
		char kmsg[KMSG_MAX] = "";

		fsfd = fspick(mnt, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
		if (fsfd < 0)
			return mount_error(reterr, -errno, m, NULL);
		r = fs_sb_flags(fsfd, mo->flags);
		if (r >= 0 && (mo->clear_flags & MS_RDONLY))
			r = fs_flag(fsfd, "rw");
		if (r >= 0)
			r = fs_data(fsfd, mo->data);
		if (r >= 0 && fsconfig(fsfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
			r = -errno;
		if (r < 0) {
			fs_kernel_msg(fsfd, kmsg, sizeof(kmsg));
			return mount_error(reterr, r, m, kmsg);
		}
	}
	if (hull_mount_options_to_setattr(mo, &set, &clr)) {
		r = setattr(mnt, false, set, clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	*ret_mnt = TAKE_FD(mnt);
	return 0;
}

static int mount_one(struct ctx *c, const struct hull_oci_mount *m, struct hull_error **reterr)
{
	_cleanup_(mount_options_donep) struct hull_mount_options mo = {};
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
		r = setattr(mnt, true, mo.attr_set, mo.attr_clr, 0, -EBADF);
		if (r < 0)
			return mount_error(reterr, r, m, NULL);
	}
	for (size_t i = 0; i < mo.n_propagation; i++) {
		unsigned long p = mo.propagation[i];

		r = setattr(mnt, p & MS_REC, 0, 0, p & ~(unsigned long)MS_REC, -EBADF);
		if (r < 0)
			return hull_error_errno(reterr, r, "mount '%s' on '%s': set propagation",
						mount_name(m), m->destination);
	}
	hull_debug("mounted '%s' on '%s'", mount_name(m), m->destination);
	return 0;
}

/* The mount id of the mount `fd` lives on, from /proc/self/fdinfo. */
static int fd_mount_id(int fd, int *ret)
{
	_cleanup_free_ char *info = NULL;
	char path[64];
	const char *p;
	int r;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	r = hull_read_file_at(AT_FDCWD, path, &info, NULL);
	if (r < 0)
		return r;
	p = strstr(info, "\nmnt_id:");
	if (!p)
		return -ENOENT;
	if (sscanf(p + strlen("\nmnt_id:"), "%d", ret) != 1)
		return -EINVAL;
	return 0;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/*
 * pivot_root(2) and MS_MOVE refuse a rootfs whose parent mount is shared
 * (which it is with rootfsPropagation "shared"); like runc, make that one
 * mount private.
 */
static int make_parent_private(int dir_fd)
{
	_cleanup_free_ char *info = NULL;
	char *save = NULL;
	int id, r;

	r = fd_mount_id(dir_fd, &id);
	if (r < 0)
		return r;
	r = hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL);
	if (r < 0)
		return r;
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *fields[6] = {};
		char *s = NULL, *tok;
		int i = 0;

		for (tok = strtok_r(line, " ", &s); tok && i < 6; tok = strtok_r(NULL, " ", &s))
			fields[i++] = tok;
		if (i < 6 || atoi(fields[0]) != id)
			continue;
		/* optional fields follow until " - " */
		for (; tok && !streq(tok, "-"); tok = strtok_r(NULL, " ", &s))
			if (startswith(tok, "shared:")) {
				unescape_octal(fields[4]);
				if (mount(NULL, fields[4], NULL, MS_PRIVATE, NULL) < 0)
					return -errno;
				hull_debug("made '%s' private", fields[4]);
				return 0;
			}
		return 0;
	}
	return 0;
}

/*
 * The bundle fd was most likely opened before the mount namespace was
 * unshared, so it points into the old namespace's mounts, which open_tree()
 * refuses (EINVAL).  Open the same directory again from here.
 */
static int reopen_bundle(int bundle_fd, struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat a, b;
	int r;

	if (bundle_fd == AT_FDCWD)
		return AT_FDCWD;
	r = fd_path(bundle_fd, &path);
	if (r < 0)
		return hull_error_errno(reterr, r, "find the bundle directory");
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open bundle '%s'", path);
	if (fstat(fd, &a) < 0 || fstat(bundle_fd, &b) < 0)
		return hull_error_errno(reterr, -errno, "open bundle '%s'", path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return hull_error_set(reterr, -ESTALE,
				      "open bundle '%s': not the directory given (moved?)", path);
	return TAKE_FD(fd);
}

static int open_rootfs(int bundle_fd, const struct hull_rootfs_opts *o, struct hull_error **reterr)
{
	const char *path = o->config->root.path;
	int fd;

	if (!path || !path[0])
		return hull_error_set(reterr, -EINVAL, "root.path: missing");
	fd = openat(path[0] == '/' ? AT_FDCWD : bundle_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open rootfs '%s'", path);
	return fd;
}

static bool has_mount_ns(const struct hull_rootfs_opts *o)
{
	return !o->no_mount_ns;
}

/*
 * No mount namespace of its own: the container shares ours (the spec's
 * "inherited"), so nothing may be mounted at all, or the host's table would
 * change (runc mounts there anyway).  The rootfs is taken as it is and
 * entered with chroot; masks and read-only paths cannot be had, so a config
 * asking for them is refused, as runc does.
 */
static int prepare_without_mount_ns(const struct hull_rootfs_opts *o, int *ret_rootfs_fd,
				    struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = o->config->linux_config;
	int fd;

	if (lc && hull_strv_length(lc->masked_paths) > 0)
		return hull_error_set(
			reterr, -EINVAL,
			"linux.maskedPaths: cannot be applied without a mount namespace");
	if (lc && hull_strv_length(lc->readonly_paths) > 0)
		return hull_error_set(reterr, -EINVAL,
				      "linux.readonlyPaths: cannot be applied without a mount "
				      "namespace");
	if (o->config->n_mounts > 0 || o->config->root.readonly)
		hull_debug("no mount namespace: mounts and root.readonly left out, the host's "
			   "mount table is not changed");
	fd = open_rootfs(o->bundle_fd, o, reterr);
	if (fd < 0)
		return fd;
	*ret_rootfs_fd = fd;
	return 0;
}

int hull_rootfs_prepare(const struct hull_rootfs_opts *o, int *ret_rootfs_fd,
			struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = o->config->linux_config;
	_cleanup_close_ int bundle = -EBADF, dir = -EBADF, root = -EBADF;
	unsigned long prop = MS_SLAVE | MS_REC;
	struct ctx c = { .o = o, .lc = lc };
	const struct hull_oci_mount *dev_mount = NULL;
	int r;

	if (!has_mount_ns(o))
		return prepare_without_mount_ns(o, ret_rootfs_fd, reterr);
	if (lc && lc->rootfs_propagation) {
		r = hull_mount_propagation_parse(lc->rootfs_propagation, &prop);
		if (r < 0)
			return hull_error_set(reterr, r,
					      "linux.rootfsPropagation: unknown value '%s'",
					      lc->rootfs_propagation);
		/* an unbindable tree cannot be bound: that comes at the end (finalize) */
		if (prop & MS_UNBINDABLE)
			prop = MS_PRIVATE;
		prop |= MS_REC;
	}
	/* nothing done in here may reach the host's mount namespace */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return hull_error_errno(reterr, -errno, "set propagation of '/'");

	bundle = reopen_bundle(o->bundle_fd, reterr);
	if (bundle < 0 && bundle != AT_FDCWD)
		return bundle;
	c.bundle_fd = bundle;
	dir = open_rootfs(bundle, o, reterr);
	if (dir < 0)
		return dir;
	r = make_parent_private(dir);
	if (r < 0)
		return hull_error_errno(reterr, r, "make the parent mount of rootfs '%s' private",
					o->config->root.path);
	/* a mount of its own, so pivot_root can take it */
	root = hull_mount_bind_fd(dir, NULL, dir, true, 0, 0);
	if (root < 0)
		return hull_error_errno(reterr, root, "bind rootfs '%s'", o->config->root.path);
	c.root_fd = root;

	for (size_t i = 0; i < o->config->n_mounts; i++) {
		const struct hull_oci_mount *m = &o->config->mounts[i];

		c.idx = i;
		r = mount_one(&c, m, reterr);
		if (r < 0)
			goto out;
		if (dest_is(m->destination, "/dev"))
			dev_mount = m;
	}

	if (!dev_mount) {
		/* runc's nodes right in the rootfs' /dev, replacing what is not one */
		r = hull_devices_setup(root, lc, true, o->in_userns, reterr);
	} else {
		_cleanup_(mount_options_donep) struct hull_mount_options mo = {};

		r = hull_mount_options_parse(dev_mount->options, &mo);
		if (r < 0) {
			hull_error_errno(reterr, r, "parse options of '/dev'");
			goto out;
		}
		/* a /dev bound from elsewhere is taken as it is, as runc does */
		if (!(mo.flags & MS_BIND) && !streq_ptr(dev_mount->type, "bind"))
			r = hull_devices_setup(root, lc, true, o->in_userns, reterr);
	}
	if (r < 0)
		goto out;

	r = apply_ro_later(&c, reterr);
	if (r < 0)
		goto out;

	if (lc && lc->mount_label)
		hull_debug("linux.mountLabel ignored: no SELinux support");
	*ret_rootfs_fd = TAKE_FD(root);
	r = 0;
out:
	for (size_t i = 0; i < c.n_ro_later; i++)
		safe_close(c.ro_later[i].fd);
	free(c.ro_later);
	free(c.root_path);
	return r;
}

/* True when `path` is `dir` or below it. */
static bool path_below(const char *path, const char *dir)
{
	const char *rest;

	if (streq(dir, "/"))
		return true;
	rest = startswith(path, dir);
	return rest && (rest[0] == '\0' || rest[0] == '/');
}

/*
 * With --no-pivot the old root stays in the mount namespace under the
 * chroot, and the host's proc and sysfs in it would be "fully visible" to
 * the kernel's mount_too_revealing() check, which then lets a process in
 * the container mount a fresh procfs in a new user namespace.  As runc's
 * msMoveRoot: every proc and sysfs mount of a whole filesystem outside the
 * rootfs is detached, or covered with a tmpfs where it cannot be.
 */
static int hide_host_proc_sys(int rootfs_fd, struct hull_error **reterr)
{
	_cleanup_free_ char *info = NULL, *root = NULL;
	char *save = NULL;
	int r;

	r = fd_path(rootfs_fd, &root);
	if (r < 0)
		return hull_error_errno(reterr, r, "find the rootfs");
	r = hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '/proc/self/mountinfo'");
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *fields[5] = {}, *s = NULL, *tok, *sep, *fstype;
		int i = 0;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &s);
		if (!fstype || (!streq(fstype, "proc") && !streq(fstype, "sysfs")))
			continue;
		s = NULL;
		for (tok = strtok_r(line, " ", &s); tok && i < 5; tok = strtok_r(NULL, " ", &s))
			fields[i++] = tok;
		if (i < 5 || !streq(fields[3], "/"))
			continue; /* not the whole filesystem: not one the kernel counts */
		unescape_octal(fields[4]);
		if (path_below(fields[4], root))
			continue;
		/* the detach must not travel back to the host */
		if (mount(NULL, fields[4], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue; /* a parent went already */
			return hull_error_errno(reterr, -errno, "make '%s' a slave", fields[4]);
		}
		if (umount2(fields[4], MNT_DETACH) == 0)
			continue;
		if (errno != EINVAL && errno != EPERM)
			return hull_error_errno(reterr, -errno, "unmount '%s'", fields[4]);
		if (mount("tmpfs", fields[4], "tmpfs", MS_RDONLY, "size=0") < 0)
			return hull_error_errno(reterr, -errno, "cover '%s'", fields[4]);
	}
	return 0;
}

int hull_rootfs_pivot(const struct hull_rootfs_opts *o, int rootfs_fd, struct hull_error **reterr)
{
	_cleanup_close_ int oldroot = -EBADF;
	int r;

	if (!has_mount_ns(o)) {
		/* nothing may be unmounted or moved in a namespace we share */
		if (fchdir(rootfs_fd) < 0)
			return hull_error_errno(reterr, -errno, "enter rootfs");
		if (chroot(".") < 0)
			return hull_error_errno(reterr, -errno, "chroot into rootfs");
		if (chdir("/") < 0)
			return hull_error_errno(reterr, -errno, "chdir '/'");
		return 0;
	}
	if (o->no_pivot) {
		r = hide_host_proc_sys(rootfs_fd, reterr);
		if (r < 0)
			return r;
		if (fchdir(rootfs_fd) < 0)
			return hull_error_errno(reterr, -errno, "enter rootfs");
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return hull_error_errno(reterr, -errno, "move rootfs onto '/'");
		if (chroot(".") < 0)
			return hull_error_errno(reterr, -errno, "chroot into rootfs");
		if (chdir("/") < 0)
			return hull_error_errno(reterr, -errno, "chdir '/'");
		return 0;
	}

	oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return hull_error_errno(reterr, -errno, "open '/'");
	if (fchdir(rootfs_fd) < 0)
		return hull_error_errno(reterr, -errno, "enter rootfs");
	/*
	 * pivot_root(".", ".") stacks the old root on top of the new one at
	 * "/", which saves a directory for it inside the rootfs.
	 */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return hull_error_errno(reterr, -errno, "pivot_root");
	if (fchdir(oldroot) < 0)
		return hull_error_errno(reterr, -errno, "enter the old root");
	/* the detach must not travel back to the host through shared mounts */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hull_error_errno(reterr, -errno, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return hull_error_errno(reterr, -errno, "unmount the old root");
	if (chdir("/") < 0)
		return hull_error_errno(reterr, -errno, "chdir '/'");
	return 0;
}

static int mask_path(int root, int *null_fd, const char *path, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF, mnt = -EBADF;
	struct stat st;
	int r;

	target = hull_open_in_root(root, path, O_PATH, NULL);
	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return hull_error_errno(reterr, target, "mask '%s'", path);
	if (fstat(target, &st) < 0)
		return hull_error_errno(reterr, -errno, "mask '%s'", path);

	if (S_ISDIR(st.st_mode)) {
		char kmsg[KMSG_MAX];

		mnt = fs_new("tmpfs", "tmpfs", MS_RDONLY, NULL, MOUNT_ATTR_RDONLY, kmsg,
			     sizeof(kmsg));
		if (mnt < 0)
			return hull_error_errno(reterr, mnt, "mask '%s': mount tmpfs", path);
		r = attach(mnt, target);
	} else {
		if (*null_fd < 0) {
			/* never a /dev/null the rootfs made a symlink to a host file */
			*null_fd = hull_open_device_in_root(root, "/dev/null", O_PATH | O_NOFOLLOW,
							    S_IFCHR, 1, 3, reterr);
			if (*null_fd < 0)
				return hull_error_wrap(reterr, *null_fd,
						       "linux.maskedPaths: mask '%s'", path);
		}
		r = hull_mount_bind_fd(*null_fd, NULL, target, false, 0, 0);
		safe_close(r);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "mask '%s'", path);
	return 0;
}

static int readonly_path(int root, const char *path, struct hull_error **reterr)
{
	_cleanup_close_ int target = -EBADF;
	int r;

	target = hull_open_in_root(root, path, O_PATH, NULL);
	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return hull_error_errno(reterr, target, "make '%s' read-only", path);
	/* bind onto itself, then read-only on top; nosuid etc. stay as they are */
	r = hull_mount_bind_fd(target, NULL, target, true, MOUNT_ATTR_RDONLY, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "make '%s' read-only", path);
	safe_close(r);
	return 0;
}

int hull_rootfs_finalize(const struct hull_rootfs_opts *o, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = o->config->linux_config;
	_cleanup_close_ int root = -EBADF, null_fd = -EBADF;
	int r;

	if (!has_mount_ns(o))
		return 0;
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hull_error_errno(reterr, -errno, "open '/'");

	if (lc) {
		hull_strv_foreach (p, lc->masked_paths) {
			r = mask_path(root, &null_fd, p, reterr);
			if (r < 0)
				return r;
		}
		hull_strv_foreach (p, lc->readonly_paths) {
			r = readonly_path(root, p, reterr);
			if (r < 0)
				return r;
		}
	}

	if (o->config->root.readonly) {
		r = setattr(root, false, MOUNT_ATTR_RDONLY, 0, 0, -EBADF);
		if (r < 0)
			return hull_error_errno(reterr, r, "make '/' read-only");
	}

	if (lc && lc->rootfs_propagation) {
		unsigned long prop;

		r = hull_mount_propagation_parse(lc->rootfs_propagation, &prop);
		if (r < 0)
			return hull_error_set(reterr, r,
					      "linux.rootfsPropagation: unknown value '%s'",
					      lc->rootfs_propagation);
		if (mount(NULL, "/", NULL, prop, NULL) < 0)
			return hull_error_errno(reterr, -errno, "set propagation of '/' to '%s'",
						lc->rootfs_propagation);
	}
	return 0;
}
