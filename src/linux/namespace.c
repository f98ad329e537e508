/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/macro.h"
#include "util/str.h"

void hull_ns_close_all(int fds[_HULL_NS_MAX])
{
	for (int i = 0; i < _HULL_NS_MAX; i++)
		fds[i] = safe_close(fds[i]);
}

int hull_ns_open_paths(const struct hull_oci_linux *lc, int ret_fds[_HULL_NS_MAX],
		       struct hull_error **reterr)
{
	int fds[_HULL_NS_MAX];

	for (int i = 0; i < _HULL_NS_MAX; i++)
		fds[i] = -EBADF;

	for (size_t i = 0; lc && i < lc->n_namespaces; i++) {
		const struct hull_oci_namespace *ns = &lc->namespaces[i];
		int fd, type;

		if (!ns->path || !ns->path[0])
			continue;
		if ((unsigned)ns->type >= _HULL_NS_MAX || fds[ns->type] >= 0) {
			hull_ns_close_all(fds);
			return hull_error_set(reterr, -EINVAL,
					      "linux.namespaces[%zu]: a second '%s' namespace", i,
					      hull_ns_type_name(ns->type));
		}
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int r = -errno;

			hull_ns_close_all(fds);
			return hull_error_errno(reterr, r, "linux.namespaces[%zu].path: open '%s'",
						i, ns->path);
		}
		fds[ns->type] = fd;
		type = ioctl(fd, NS_GET_NSTYPE);
		if (type < 0) {
			int r = -errno;

			hull_ns_close_all(fds);
			if (r == -ENOTTY || r == -EINVAL)
				return hull_error_set(reterr, -EINVAL,
						      "linux.namespaces[%zu].path: '%s' is not a "
						      "namespace",
						      i, ns->path);
			return hull_error_errno(reterr, r, "linux.namespaces[%zu].path: '%s'", i,
						ns->path);
		}
		if (type != hull_ns_type_clone_flag(ns->type)) {
			hull_ns_close_all(fds);
			return hull_error_set(reterr, -EINVAL,
					      "linux.namespaces[%zu].path: '%s' is not a '%s' "
					      "namespace",
					      i, ns->path, hull_ns_type_name(ns->type));
		}
	}
	memcpy(ret_fds, fds, sizeof(fds));
	return 0;
}

/* Joining the user namespace we are in already fails with EINVAL: skip it. */
static bool is_current_ns(int fd, enum hull_ns_type t)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", hull_ns_type_proc_name(t));
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int hull_ns_join(int fds[_HULL_NS_MAX], struct hull_error **reterr)
{
	/* runc's order: the user namespace first, the mount namespace late */
	static const enum hull_ns_type order[] = {
		HULL_NS_USER, HULL_NS_IPC, HULL_NS_UTS,	   HULL_NS_NET,
		HULL_NS_PID,  HULL_NS_MNT, HULL_NS_CGROUP, HULL_NS_TIME,
	};
	int r = 0;

	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		enum hull_ns_type t = order[i];

		if (fds[t] < 0)
			continue;
		if (t == HULL_NS_USER && is_current_ns(fds[t], t)) {
			fds[t] = safe_close(fds[t]);
			continue;
		}
		if (setns(fds[t], hull_ns_type_clone_flag(t)) < 0) {
			r = hull_error_errno(reterr, -errno, "join '%s' namespace",
					     hull_ns_type_name(t));
			break;
		}
		fds[t] = safe_close(fds[t]);
	}
	hull_ns_close_all(fds);
	return r;
}

int hull_timens_write_offsets(pid_t pid, const struct hull_oci_linux *lc,
			      struct hull_error **reterr)
{
	char path[64], buf[128] = "";
	size_t len = 0;
	int r;

	if (!lc || (!lc->time_offsets.monotonic.set && !lc->time_offsets.boottime.set))
		return 0;
	if (lc->time_offsets.monotonic.set)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "monotonic %" PRIi64 " %u\n",
					lc->time_offsets.monotonic.secs,
					lc->time_offsets.monotonic.nanosecs);
	if (lc->time_offsets.boottime.set)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "boottime %" PRIi64 " %u\n",
					lc->time_offsets.boottime.secs,
					lc->time_offsets.boottime.nanosecs);
	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", (int)pid);
	/* one write: the kernel takes all offsets at once or none */
	r = hull_write_file_at(AT_FDCWD, path, buf, len);
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s'", path);
	return 0;
}

int hull_netns_loopback_up(struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct ifreq ifr = { .ifr_name = "lo" };

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "socket for 'lo'");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return hull_error_errno(reterr, -errno, "get flags of 'lo'");
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return hull_error_errno(reterr, -errno, "bring 'lo' up");
	return 0;
}
