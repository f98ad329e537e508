/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/oom-notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/file.h"
#include "util/str.h"

struct hull_oom_notify {
	bool v2;
	int fd;		    /* v1: the eventfd; v2: inotify */
	int dir_fd;	    /* the memory cgroup directory */
	int target_fd;	    /* v1: memory.oom_control, kept open while registered */
	uint64_t oom_kills; /* v2: last "oom_kill" count seen */
};

void hull_oom_notify_free(struct hull_oom_notify *n)
{
	if (!n)
		return;
	safe_close(n->fd);
	safe_close(n->dir_fd);
	safe_close(n->target_fd);
	free(n);
}

int hull_oom_notify_fd(const struct hull_oom_notify *n)
{
	return n->fd;
}

static int watch_v1(struct hull_oom_notify *n, struct hull_error **reterr)
{
	_cleanup_close_ int control = -EBADF;
	char buf[64];
	int len;

	n->target_fd = openat(n->dir_fd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
	if (n->target_fd < 0)
		return hull_error_errno(reterr, -errno, "open 'memory.oom_control'");
	n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->fd < 0)
		return hull_error_errno(reterr, -errno, "eventfd");
	control = openat(n->dir_fd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
	if (control < 0)
		return hull_error_errno(reterr, -errno, "open 'cgroup.event_control'");
	len = snprintf(buf, sizeof(buf), "%d %d", n->fd, n->target_fd);
	if (write(control, buf, (size_t)len) != len)
		return hull_error_errno(reterr, -errno, "register OOM notification");
	return 0;
}

static int watch_v2(struct hull_oom_notify *n, const char *dir, struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/memory.events", dir);
	int r;

	if (!path)
		return hull_error_errno(reterr, -ENOMEM, "oom notify");
	r = hull_cgroup_read_keyed(n->dir_fd, "memory.events", "oom_kill", &n->oom_kills);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", path);
	n->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (n->fd < 0)
		return hull_error_errno(reterr, -errno, "inotify_init1");
	if (inotify_add_watch(n->fd, path, IN_MODIFY) < 0)
		return hull_error_errno(reterr, -errno, "watch '%s'", path);
	return 0;
}

int hull_oom_notify_new(const struct hull_cgroup *cg, struct hull_oom_notify **ret,
			struct hull_error **reterr)
{
	_cleanup_(hull_oom_notify_freep) struct hull_oom_notify *n = NULL;
	int i, r;

	n = calloc(1, sizeof(*n));
	if (!n)
		return hull_error_errno(reterr, -ENOMEM, "oom notify");
	n->fd = n->dir_fd = n->target_fd = -EBADF;
	i = hull_cgroup_layout_find(cg->layout, "memory");
	if (i < 0) {
		i = hull_cgroup_layout_unified(cg->layout);
		n->v2 = true;
	}
	if (i < 0 || cg->skipped[i])
		return hull_error_set(reterr, -ENOENT, "cgroup '%s' has no memory controller",
				      cg->path);
	n->dir_fd = hull_cgroup_open_dir(cg->dirs[i]);
	if (n->dir_fd < 0)
		return hull_error_errno(reterr, n->dir_fd, "open cgroup '%s'", cg->dirs[i]);
	r = n->v2 ? watch_v2(n, cg->dirs[i], reterr) : watch_v1(n, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(n);
	return 0;
}

static bool dir_gone(int dir_fd, const char *file)
{
	return faccessat(dir_fd, file, F_OK, 0) < 0 && errno == ENOENT;
}

int hull_oom_notify_read(struct hull_oom_notify *n, unsigned *ret_ooms, bool *ret_gone)
{
	uint64_t count = 0, kills = 0;
	bool gone = false;

	if (!n->v2) {
		if (read(n->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			return -errno;
		/* removing the cgroup signals the eventfd once more */
		gone = dir_gone(n->dir_fd, "memory.oom_control");
		if (gone && count > 0)
			count--;
	} else {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t len;

		while ((len = read(n->fd, buf, sizeof(buf))) > 0)
			for (char *p = buf; p < buf + len;) {
				const struct inotify_event *ev = (const void *)p;

				if (ev->mask & IN_IGNORED)
					gone = true;
				p += sizeof(*ev) + ev->len;
			}
		if (hull_cgroup_read_keyed(n->dir_fd, "memory.events", "oom_kill", &kills) < 0)
			gone = true;
		else if (kills > n->oom_kills)
			count = kills - n->oom_kills;
		if (!gone)
			n->oom_kills = kills;
	}
	*ret_ooms = count > UINT_MAX ? UINT_MAX : (unsigned)count;
	*ret_gone = gone;
	return 0;
}
