/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The new mount API, as the rootfs room uses it: a filesystem is made with
 * fsopen/fsconfig/fsmount and a bind with open_tree(OPEN_TREE_CLONE); both
 * give a detached mount that gets its attributes (mount_setattr) and is
 * then attached with move_mount onto an O_PATH fd of its target, so the
 * target is exactly that fd and never a path resolved again.
 */
#include "linux/mount-options.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"

int hull_mount_setattr(int fd, bool recursive, uint64_t set, uint64_t clr, uint64_t propagation,
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

int hull_mount_attach(int mnt_fd, int target_fd)
{
	if (move_mount(mnt_fd, "", target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/* Clones the tree at dirfd/path (or dirfd itself) as a detached mount. */
int hull_mount_clone(int dirfd, const char *path, bool recursive)
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

	mnt = hull_mount_clone(source_dirfd, source, recursive);
	if (mnt < 0)
		return mnt;
	if (attr_set | attr_clr) {
		r = hull_mount_setattr(mnt, false, attr_set, attr_clr, 0, -EBADF);
		if (r < 0)
			return r;
	}
	r = hull_mount_attach(mnt, target_fd);
	if (r < 0)
		return r;
	return TAKE_FD(mnt);
}

/* The last error the kernel logged on an fs_context fd, without its "e " tag. */
void hull_fs_kernel_msg(int fsfd, char *buf, size_t len)
{
	char tmp[HULL_FS_KMSG_MAX + 3];

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

int hull_fs_flag(int fsfd, const char *key)
{
	return fsconfig(fsfd, FSCONFIG_SET_FLAG, key, NULL, 0) < 0 ? -errno : 0;
}

/* Feeds "k=v,flag,..." to the filesystem. */
int hull_fs_data(int fsfd, const char *data)
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
			r = hull_fs_flag(fsfd, opt);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Superblock flags a new filesystem takes through fsconfig. */
int hull_fs_sb_flags(int fsfd, unsigned long flags)
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
		r = hull_fs_flag(fsfd, sb[i].key);
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
int hull_fs_new(const char *type, const char *source, unsigned long flags, const char *data,
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
	r = hull_fs_sb_flags(fsfd, flags);
	if (r < 0)
		goto fail;
	r = hull_fs_data(fsfd, data);
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
	hull_fs_kernel_msg(fsfd, kmsg, kmsg_len);
	return r;
}
