/* SPDX-License-Identifier: Apache-2.0 */
/* run: create + start, then (in the foreground) wait, forward, and delete. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/create-internal.h"
#include "runtime/runtime-internal.h"
#include "runtime/wait.h"
#include "util/log.h"

int hull_container_run(const struct hull_runtime *rt, const char *id,
		       const struct hull_create_opts *o, bool detach, bool keep, int *ret_exit,
		       struct hull_error **reterr)
{
	struct create_ctx c = { .rt = rt, .id = id, .o = o };
	sigset_t oldmask;
	int r;

	c.keep_pty = !detach && !o->console_socket;
	if (!detach)
		wait_block_signals(&oldmask);
	r = container_create(&c, reterr);
	if (r < 0)
		goto out;
	c.state->status = HULL_STATUS_CREATED;
	r = container_start_locked(rt, c.dir_fd, c.state, reterr);
	if (r < 0) {
		/* nothing may stay behind: the container never ran */
		(void)container_destroy_locked(rt, c.dir_fd, c.state, NULL);
		while (waitpid(c.pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	if (detach) {
		*ret_exit = 0;
		goto out;
	}
	c.dir_fd = safe_close(c.dir_fd); /* others may kill, exec or state it meanwhile */
	r = wait_foreground(c.pid, c.pidfd, c.pty_master, ret_exit);
	if (r < 0) {
		r = hull_error_errno(reterr, r, "wait for container '%s'", id);
		goto out;
	}
	if (!keep) {
		_cleanup_(hull_state_freep) struct hull_state *s = NULL;
		_cleanup_close_ int fd = -EBADF;

		r = container_open_state(rt, id, true, &fd, &s, reterr);
		if (r == -ENOENT) {
			r = 0; /* someone deleted it already */
			goto out;
		}
		if (r >= 0)
			r = container_destroy_locked(rt, fd, s, reterr);
	}
out:
	if (!detach)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	create_ctx_done(&c);
	return r;
}
