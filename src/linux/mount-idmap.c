/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User namespaces that only hold id maps, for idmapped mounts
 * (MOUNT_ATTR_IDMAP takes the fd of one).
 */
#include "linux/mount-options.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/namespace.h"
#include "util/file.h"
#include "util/macro.h"
#include "util/str.h"

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
int hull_idmap_userns_new(const struct hull_oci_idmap *uids, size_t n_uids,
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
