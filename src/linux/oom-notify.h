/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OOM-kill notifications of a container's memory cgroup, for `events`.
 * v1: an eventfd registered on memory.oom_control through
 * cgroup.event_control (it also fires once when the cgroup is removed);
 * v2: inotify on memory.events, counting "oom_kill".
 */
#pragma once

#include <stdbool.h>

#include "linux/cgroup.h"
#include "util/error.h"
#include "util/macro.h"

struct hull_oom_notify;

/* Starts watching; -ENOENT when the cgroup has no memory controller directory. */
int hull_oom_notify_new(const struct hull_cgroup *cg, struct hull_oom_notify **ret,
			struct hull_error **reterr);
void hull_oom_notify_free(struct hull_oom_notify *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oom_notify *, hull_oom_notify_free)

/* An fd to poll() for POLLIN; then call hull_oom_notify_read(). */
int hull_oom_notify_fd(const struct hull_oom_notify *n);

/*
 * Consumes what made the fd readable: *ret_ooms OOM events since the last
 * call, *ret_gone once the memory cgroup has been removed (the watch is then
 * dead: stop polling it).  Never blocks.
 */
int hull_oom_notify_read(struct hull_oom_notify *n, unsigned *ret_ooms, bool *ret_gone);
