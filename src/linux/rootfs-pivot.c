/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entering the rootfs (phase 2): pivot_root(".", ".") and a lazy unmount of
 * the old root; with --no-pivot, MS_MOVE onto "/" and chroot after the
 * host's proc and sysfs are detached; without a mount namespace of its own,
 * chroot alone.  Also the mountinfo reading these need.
 */
#include "linux/rootfs-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

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
int rootfs_make_parent_private(int dir_fd)
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

	r = rootfs_fd_path(rootfs_fd, &root);
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

	if (!rootfs_has_mount_ns(o)) {
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
