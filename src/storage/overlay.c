/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/storage.h"
#include "util/file.h"
#include "util/log.h"

int hull_storage_prepare(int instance_fd, const struct hull_storage_idmap *map,
			 struct hull_error **reterr)
{
	static const struct {
		const char *name;
		mode_t mode;
	} dirs[] = { { "lower", 0755 }, { "upper", 0755 }, { "work", 0700 }, { "rootfs", 0755 } };

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdirat(instance_fd, dirs[i].name, dirs[i].mode) < 0 && errno != EEXIST)
			return hull_error_errno(reterr, -errno, "create '%s'", dirs[i].name);
	/* the overlay's root directory takes its owner from upper/: the instance's root */
	if (fchownat(instance_fd, "upper", map->uid_base, map->gid_base, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error_errno(reterr, -errno, "chown 'upper' to %u:%u", map->uid_base,
					map->gid_base);
	return 0;
}

static int mnt_id(int dirfd, const char *name, uint64_t *ret)
{
	struct statx stx;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH), STATX_MNT_ID,
		  &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret = stx.stx_mnt_id;
	return 0;
}

static bool is_mount_point(int instance_fd, const char *name)
{
	uint64_t a, b;

	return mnt_id(instance_fd, "", &a) >= 0 && mnt_id(instance_fd, name, &b) >= 0 && a != b;
}

bool hull_storage_is_mounted(int instance_fd)
{
	return is_mount_point(instance_fd, "rootfs");
}

static int write_map(pid_t pid, const char *file, uint32_t base, uint32_t count)
{
	char path[64], line[64];
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	snprintf(line, sizeof(line), "0 %u %u\n", base, count);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write(fd, line, strlen(line)) == (ssize_t)strlen(line) ? 0 : -errno;
}

int hull_storage_userns_fd(const struct hull_storage_idmap *map, struct hull_error **reterr)
{
	int ready[2] = { -EBADF, -EBADF }, hold[2] = { -EBADF, -EBADF };
	char path[64], c = 0;
	int fd = -EBADF, r = 0;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		char x;

		safe_close(hold[1]); /* or the read below never sees EOF */
		safe_close(ready[0]);
		x = unshare(CLONE_NEWUSER) < 0 ? 1 : 0;

		if (write(ready[1], &x, 1) != 1)
			_exit(1);
		/* wait for the parent to be done with our namespace */
		while (read(hold[0], &x, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	ready[1] = safe_close(ready[1]);
	hold[0] = safe_close(hold[0]);
	if (RETRY_EINTR(read(ready[0], &c, 1)) != 1 || c != 0)
		r = -EPERM;
	if (r >= 0)
		r = write_map(pid, "uid_map", map->uid_base, map->count);
	if (r >= 0)
		r = write_map(pid, "gid_map", map->gid_base, map->count);
	if (r >= 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = -errno;
	}
	hold[1] = safe_close(hold[1]);
	RETRY_EINTR(waitpid(pid, NULL, 0));
out:
	safe_close(ready[0]);
	safe_close(ready[1]);
	safe_close(hold[0]);
	safe_close(hold[1]);
	if (r < 0)
		return hull_error_errno(reterr, r, "make a user namespace for ids %u-%u",
					map->uid_base, map->uid_base + map->count - 1);
	return fd;
}

static int umount_at(int instance_fd, const char *name)
{
	char path[64];

	if (!is_mount_point(instance_fd, name))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", instance_fd, name);
	if (umount2(path, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EBUSY && umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) == 0)
		return 0;
	return -errno;
}

int hull_storage_umount(int instance_fd, struct hull_error **reterr)
{
	int r = umount_at(instance_fd, "rootfs");

	if (r < 0)
		return hull_error_errno(reterr, r, "unmount 'rootfs'");
	r = umount_at(instance_fd, "lower");
	if (r < 0)
		return hull_error_errno(reterr, r, "unmount 'lower'");
	return 0;
}

/* Appends what the filesystem context logged ("e overlay: ...") to msg. */
static void fs_log(int fsfd, char *msg, size_t size)
{
	char buf[256];
	ssize_t n = read(fsfd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(msg, size, " (%s)", buf);
}

static int mount_overlay(int instance_fd, int lower_fd, struct hull_error **reterr)
{
	_cleanup_close_ int fsfd = -EBADF, mfd = -EBADF, upper = -EBADF, work = -EBADF,
			    target = -EBADF;
	char lower_path[64], upper_path[64], work_path[64], why[300] = "";

	upper = openat(instance_fd, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	work = openat(instance_fd, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	target = openat(instance_fd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (upper < 0 || work < 0 || target < 0)
		return hull_error_errno(reterr, -errno, "open the overlay directories");
	snprintf(lower_path, sizeof(lower_path), "/proc/self/fd/%d", lower_fd);
	snprintf(upper_path, sizeof(upper_path), "/proc/self/fd/%d", upper);
	snprintf(work_path, sizeof(work_path), "/proc/self/fd/%d", work);

	fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return hull_error_errno(reterr, -errno, "mount overlay: fsopen");
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", lower_path, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper_path, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work_path, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int r = -errno;

		fs_log(fsfd, why, sizeof(why));
		return hull_error_errno(reterr, r, "mount overlay%s", why);
	}
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return hull_error_errno(reterr, -errno, "mount overlay: fsmount");
	if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hull_error_errno(reterr, -errno, "mount overlay on 'rootfs'");
	return 0;
}

static int mount_shifted(int instance_fd, int image_rootfs_fd, const struct hull_storage_idmap *map,
			 struct hull_error **reterr)
{
	_cleanup_close_ int lower = -EBADF;
	int r = hull_storage_shift_copy(instance_fd, image_rootfs_fd, map, reterr);

	if (r < 0)
		return r;
	lower = openat(instance_fd, "lower-shifted", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lower < 0)
		return hull_error_errno(reterr, -errno, "open 'lower-shifted'");
	return mount_overlay(instance_fd, lower, reterr);
}

int hull_storage_mount(int instance_fd, int image_rootfs_fd, const struct hull_storage_idmap *map,
		       enum hull_storage_flags flags, struct hull_error **reterr)
{
	_cleanup_close_ int userns = -EBADF, tree = -EBADF, target = -EBADF, lower = -EBADF;
	struct mount_attr attr = {
		.attr_set =
			MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
	};
	bool identity = map->uid_base == 0 && map->gid_base == 0;
	int r;

	if (hull_storage_is_mounted(instance_fd))
		return 0;
	/* a lower left by a crash is replaced */
	r = umount_at(instance_fd, "lower");
	if (r < 0)
		return hull_error_errno(reterr, r, "unmount a stale 'lower'");
	if (identity) {
		/* host ids (a privileged instance): the image as it is */
		attr.attr_set &= ~(uint64_t)MOUNT_ATTR_IDMAP;
	} else if ((flags & HULL_STORAGE_SHIFT) ||
		   faccessat(instance_fd, "lower-shifted", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		return mount_shifted(instance_fd, image_rootfs_fd, map, reterr);
	} else {
		userns = hull_storage_userns_fd(map, reterr);
		if (userns < 0)
			return userns;
		attr.userns_fd = (uint64_t)userns;
	}
	tree = open_tree(image_rootfs_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return hull_error_errno(reterr, -errno, "clone the image mount");
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		/* no id-mapped mounts here: the one-time ownership shift instead */
		if (errno == EINVAL || errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS) {
			hull_debug("storage: id-mapped mount refused (%s): shifting a copy",
				   strerror(errno));
			return mount_shifted(instance_fd, image_rootfs_fd, map, reterr);
		}
		return hull_error_errno(reterr, -errno,
					"id-map the image to %u:%u (the kernel or the image's "
					"filesystem may not support id-mapped mounts)",
					map->uid_base, map->gid_base);
	}
	target = openat(instance_fd, "lower", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return hull_error_errno(reterr, -errno, "open 'lower'");
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hull_error_errno(reterr, -errno, "mount the image on 'lower'");
	lower = openat(instance_fd, "lower", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lower < 0)
		r = hull_error_errno(reterr, -errno, "open 'lower'");
	else
		r = mount_overlay(instance_fd, lower, reterr);
	if (r < 0) {
		umount_at(instance_fd, "lower");
		return r;
	}
	return 0;
}
