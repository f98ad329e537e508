/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device nodes and the /dev links of a container, created before pivot_root
 * below the rootfs fd.
 */
#include "linux/mount-options.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "linux/rootfs.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

struct device {
	const char *path;
	char type; /* 'c', 'u', 'b', 'p' */
	unsigned major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

/* runc's default devices (libcontainer/specconv AllowedDevices) */
static const struct device default_devices[] = {
	{ "/dev/null", 'c', 1, 3, 0666, 0, 0 },	   { "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
	{ "/dev/full", 'c', 1, 7, 0666, 0, 0 },	   { "/dev/random", 'c', 1, 8, 0666, 0, 0 },
	{ "/dev/urandom", 'c', 1, 9, 0666, 0, 0 }, { "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

static const struct {
	const char *target, *name;
} dev_links[] = {
	{ "/proc/self/fd", "fd" },
	{ "/proc/self/fd/0", "stdin" },
	{ "/proc/self/fd/1", "stdout" },
	{ "/proc/self/fd/2", "stderr" },
};

static mode_t type_bits(char type)
{
	switch (type) {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default:
		return S_IFCHR;
	}
}

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

/*
 * chmod of the inode an O_PATH fd holds, never of a path: fchmodat2 with
 * AT_EMPTY_PATH (Linux 6.6), else the fd's /proc/self/fd link, which names
 * the inode itself and is never resolved again.
 */
static int fd_chmod(int fd, mode_t mode)
{
	char path[64];

	if (syscall(__NR_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return chmod(path, mode) < 0 ? -errno : 0;
}

static bool node_matches(const struct stat *st, mode_t type, dev_t dev)
{
	if ((st->st_mode & S_IFMT) != type)
		return false;
	return type == S_IFIFO || st->st_rdev == dev;
}

/*
 * Opens parent/name without following a symlink and checks it is a node of
 * `type` and `dev`; -ENODEV when something else is there.
 */
static int open_node(int parent, const char *name, mode_t type, dev_t dev)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!node_matches(&st, type, dev))
		return -ENODEV;
	return TAKE_FD(fd);
}

/*
 * Makes parent/name something a bind mount may land on: what is there (a
 * file, a device node) is kept, a symlink is replaced by an empty regular
 * file, so the mount can only land on this very entry.  A directory is
 * refused.  Returns an O_PATH fd of it.
 */
static int make_bind_target(int parent, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	for (int attempt = 0;; attempt++) {
		fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &st) < 0)
				return -errno;
			if (S_ISDIR(st.st_mode))
				return -EISDIR;
			if (!S_ISLNK(st.st_mode))
				return TAKE_FD(fd);
			fd = safe_close(fd);
			if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
				return -errno;
		} else if (errno != ENOENT) {
			return -errno;
		}
		if (attempt > 0)
			return -EEXIST; /* something keeps swapping it */
		fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
		if (fd < 0 && errno != EEXIST)
			return -errno;
		fd = safe_close(fd);
	}
}

/* Binds the host's node at the same path onto an empty file in the rootfs. */
static int bind_device(int parent, const char *name, const struct device *d)
{
	_cleanup_close_ int target = -EBADF, src = -EBADF;
	struct stat st;
	int r;

	/* the host's node (the config is trusted on the host side), but a node */
	src = open(d->path, O_PATH | O_CLOEXEC);
	if (src < 0)
		return -errno;
	if (fstat(src, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISFIFO(st.st_mode))
		return -ENODEV;
	target = make_bind_target(parent, name);
	if (target < 0)
		return target;
	r = hull_mount_bind_fd(src, NULL, target, false, 0, 0);
	if (r < 0)
		return r;
	safe_close(r);
	return 0;
}

/*
 * mknod, keeping a matching node the rootfs already has and replacing
 * anything else (a symlink to a host file must never be taken for
 * /dev/null); mode and owner are set on an fd of the checked node.
 */
static int mknod_device(int parent, const char *name, const struct device *d)
{
	_cleanup_close_ int fd = -EBADF;
	mode_t t = type_bits(d->type);
	dev_t dev = t == S_IFIFO ? 0 : makedev(d->major, d->minor);
	int r;

	for (int attempt = 0;; attempt++) {
		if (mknodat(parent, name, t | (d->mode & 07777), dev) < 0 && errno != EEXIST)
			return -errno;
		fd = open_node(parent, name, t, dev);
		if (fd >= 0)
			break;
		if (fd != -ENODEV || attempt > 0)
			return fd;
		if (unlinkat(parent, name, 0) < 0 &&
		    (errno != EISDIR || unlinkat(parent, name, AT_REMOVEDIR) < 0))
			return -errno;
	}
	/* the mode without the umask, then the owner */
	r = fd_chmod(fd, d->mode & 07777);
	if (r < 0)
		return r;
	if (fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int create_device(int root_fd, const struct device *d, bool bind, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int parent = -EBADF;
	const char *slash = strrchr(d->path, '/');
	const char *name = slash ? slash + 1 : d->path;
	int r;

	if (name[0] == '\0' || streq_dots(name))
		return hull_error_set(reterr, -EINVAL, "create device '%s': not a file path",
				      d->path);
	dir = slash ? strndup(d->path, (size_t)(slash - d->path)) : strdup("");
	if (!dir)
		return hull_error_errno(reterr, -ENOMEM, "create device '%s'", d->path);
	parent = hull_mkdir_in_root(root_fd, dir[0] ? dir : "/", false, 0755, NULL);
	if (parent < 0)
		return hull_error_errno(reterr, parent, "create device '%s'", d->path);
	if (!bind) {
		r = mknod_device(parent, name, d);
		if (r >= 0)
			return 0;
		if (r != -EPERM)
			return hull_error_errno(reterr, r, "create device '%s'", d->path);
		/* no CAP_MKNOD (a user namespace the caller did not tell us about) */
		hull_debug("mknod '%s' not permitted, binding the host's node", d->path);
	}
	r = bind_device(parent, name, d);
	if (r < 0)
		return hull_error_errno(reterr, r, "bind device '%s'", d->path);
	return 0;
}

static int open_checked(int root_fd, const char *path, int flags, mode_t type, dev_t dev,
			struct stat *ret_st)
{
	_cleanup_close_ int fd = -EBADF;

	fd = hull_open_in_root(root_fd, path, flags, NULL);
	if (fd < 0)
		return fd;
	if (fstat(fd, ret_st) < 0)
		return -errno;
	if (!node_matches(ret_st, type, dev))
		return -ENODEV;
	return TAKE_FD(fd);
}

int hull_open_device_in_root(int root_fd, const char *path, int flags, mode_t type, unsigned major,
			     unsigned minor, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	dev_t dev = makedev(major, minor);
	struct stat a, b;

	/* O_PATH first: nothing but the device itself is ever opened for real */
	fd = open_checked(root_fd, path, O_PATH | (flags & O_NOFOLLOW), type, dev, &a);
	if (fd >= 0 && !(flags & O_PATH)) {
		safe_close(fd);
		fd = open_checked(root_fd, path, flags, type, dev, &b);
		if (fd >= 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
			fd = -ENODEV; /* swapped in between (the old fd is closed on return) */
	}
	if (fd == -ENODEV)
		return hull_error_set(reterr, -ENODEV,
				      "open '%s': not the device %u:%u (a symlink or another file)",
				      path, major, minor);
	if (fd < 0)
		return hull_error_errno(reterr, fd, "open '%s'", path);
	return TAKE_FD(fd);
}

int hull_dev_bind_target(int root_fd, const char *path, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int parent = -EBADF;
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash || slash[1] == '\0' || streq_dots(slash + 1))
		return hull_error_set(reterr, -EINVAL, "create '%s': not a file path", path);
	dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return hull_error_errno(reterr, -ENOMEM, "create '%s'", path);
	parent = hull_mkdir_in_root(root_fd, dir[0] ? dir : "/", false, 0755, NULL);
	if (parent < 0)
		return hull_error_errno(reterr, parent, "create '%s'", path);
	fd = make_bind_target(parent, slash + 1);
	if (fd < 0)
		return hull_error_errno(reterr, fd, "create '%s'", path);
	return fd;
}

static bool config_has_device(const struct hull_oci_linux *lc, const char *path)
{
	if (!lc)
		return false;
	for (size_t i = 0; i < lc->n_devices; i++)
		if (lc->devices[i].path && streq(lc->devices[i].path, path))
			return true;
	return false;
}

static int dev_symlink(int dev_fd, const char *target, const char *name, struct hull_error **reterr)
{
	if (symlinkat(target, dev_fd, name) < 0 && errno != EEXIST)
		return hull_error_errno(reterr, -errno, "create symlink '/dev/%s'", name);
	return 0;
}

static int setup_links(int root_fd, struct hull_error **reterr)
{
	_cleanup_close_ int dev = -EBADF;
	int r;

	dev = hull_open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY, NULL);
	if (dev < 0)
		return hull_error_errno(reterr, dev, "open '/dev'");

	/* the container's devpts owns ptmx */
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
		return hull_error_errno(reterr, -errno, "remove '/dev/ptmx'");
	r = dev_symlink(dev, "pts/ptmx", "ptmx", reterr);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ELEMENTSOF(dev_links); i++) {
		r = dev_symlink(dev, dev_links[i].target, dev_links[i].name, reterr);
		if (r < 0)
			return r;
	}
	/* the host's /proc, still mounted here, tells whether a kcore exists */
	if (access("/proc/kcore", F_OK) >= 0) {
		r = dev_symlink(dev, "/proc/kcore", "core", reterr);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < 2; i++) {
		const char *d = i == 0 ? "/dev/pts" : "/dev/shm";
		int fd = hull_mkdir_in_root(root_fd, d, false, 0755, NULL);

		if (fd < 0)
			return hull_error_errno(reterr, fd, "create '%s'", d);
		safe_close(fd);
	}
	return 0;
}

int hull_devices_setup(int root_fd, const struct hull_oci_linux *lc, bool full, bool in_userns,
		       struct hull_error **reterr)
{
	int r;

	if (full)
		for (size_t i = 0; i < ELEMENTSOF(default_devices); i++) {
			if (config_has_device(lc, default_devices[i].path))
				continue; /* linux.devices says how it wants it */
			r = create_device(root_fd, &default_devices[i], in_userns, reterr);
			if (r < 0)
				return r;
		}

	for (size_t i = 0; lc && i < lc->n_devices; i++) {
		const struct hull_oci_device *od = &lc->devices[i];
		struct device d = {
			.path = od->path,
			.type = od->type,
			.major = (unsigned)od->major,
			.minor = (unsigned)od->minor,
			.mode = od->file_mode.set ? (mode_t)od->file_mode.v : 0666,
			.uid = od->uid.set ? (uid_t)od->uid.v : 0,
			.gid = od->gid.set ? (gid_t)od->gid.v : 0,
		};

		if (!d.path)
			return hull_error_set(reterr, -EINVAL, "linux.devices[%zu].path: missing",
					      i);
		r = create_device(root_fd, &d, in_userns, reterr);
		if (r < 0)
			return r;
	}

	if (full)
		return setup_links(root_fd, reterr);
	return 0;
}
