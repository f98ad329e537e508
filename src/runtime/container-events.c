/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `events`: periodic statistics and OOM notifications until the container
 * is deleted.  runc ends its stream when the memory cgroup's OOM eventfd
 * reports the cgroup's removal; hull also watches the state directory, so
 * the stream ends on `delete` even without a memory cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/oom-notify.h"
#include "runtime/runtime-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"

/* How often the container's existence is re-checked between events. */
#define EXISTENCE_CHECK_MS 1000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A removed directory keeps its fd but loses its last link. */
static bool dir_removed(int dir_fd)
{
	struct stat st;

	return fstat(dir_fd, &st) < 0 || st.st_nlink == 0;
}

/*
 * Opens what the stream watches: an unlocked fd of the container's state
 * directory and, when it has a memory cgroup, its OOM notification.
 */
static int watch_open(const struct hull_runtime *rt, const char *id, int *ret_dir_fd,
		      struct hull_oom_notify **ret_oom, struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = container_open_state(rt, id, false, &fd, &s, reterr);
	if (r < 0)
		return r;
	r = state_cgroup(s, &cg, reterr);
	if (r < 0)
		return r;
	if (cg && hull_oom_notify_new(cg, ret_oom, NULL) < 0)
		hull_debug("events: no OOM notifications for '%s'", id);
	/* drop the shared lock: delete must be able to proceed */
	if (flock(fd, LOCK_UN) < 0)
		return hull_error_errno(reterr, -errno, "unlock '%s'", id);
	*ret_dir_fd = TAKE_FD(fd);
	return 0;
}

static int emit_oom(const char *id, hull_event_fn fn, void *userdata, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();

	if (!o)
		return hull_error_errno(reterr, -ENOMEM, "events");
	json_object_object_add(o, "type", json_object_new_string("oom"));
	json_object_object_add(o, "id", json_object_new_string(id));
	return fn(o, userdata);
}

static int emit_stats(const struct hull_runtime *rt, const char *id, hull_event_fn fn,
		      void *userdata)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	r = hull_container_stats(rt, id, &o, &err);
	if (r == -ESRCH || r == -ENOENT)
		return 0; /* stopped or going away: nothing to measure */
	if (r < 0) {
		/* as runc: report and keep the stream going */
		hull_err("%s", err && err->msg ? err->msg : "stats failed");
		return 0;
	}
	return fn(o, userdata);
}

int hull_container_events(const struct hull_runtime *rt, const char *id, uint64_t interval_ms,
			  hull_event_fn fn, void *userdata, struct hull_error **reterr)
{
	_cleanup_(hull_oom_notify_freep) struct hull_oom_notify *oom = NULL;
	_cleanup_close_ int dir_fd = -EBADF;
	uint64_t next_stats;
	int r;

	if (interval_ms == 0)
		return hull_error_set(reterr, -EINVAL, "events: the interval must be positive");
	r = watch_open(rt, id, &dir_fd, &oom, reterr);
	if (r < 0)
		return r;
	next_stats = now_ms() + interval_ms;
	for (;;) {
		struct pollfd pfd = { .fd = oom ? hull_oom_notify_fd(oom) : -1, .events = POLLIN };
		uint64_t now = now_ms(), wait;

		if (dir_removed(dir_fd))
			return 0;
		if (now >= next_stats) {
			r = emit_stats(rt, id, fn, userdata);
			if (r < 0)
				return r;
			/* as time.Tick: the next tick keeps the rhythm */
			next_stats += interval_ms * ((now - next_stats) / interval_ms + 1);
			continue;
		}
		wait = next_stats - now;
		if (wait > EXISTENCE_CHECK_MS)
			wait = EXISTENCE_CHECK_MS;
		r = poll(&pfd, 1, (int)wait);
		if (r < 0 && errno != EINTR)
			return hull_error_errno(reterr, -errno, "events: poll");
		if (r > 0 && oom) {
			unsigned n = 0;
			bool gone = false;

			r = hull_oom_notify_read(oom, &n, &gone);
			if (r < 0)
				return hull_error_errno(reterr, r, "events: read OOM notification");
			for (unsigned i = 0; i < n; i++) {
				r = emit_oom(id, fn, userdata, reterr);
				if (r < 0)
					return r;
			}
			if (gone)
				return 0; /* the memory cgroup was removed: the container is gone */
		}
	}
}
