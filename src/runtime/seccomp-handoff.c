/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp listener hand-off: how the notify fd of a container process P
 * (the init at create, or an exec'd process) reaches the agent A listening
 * on linux.seccomp.listenerPath, with the runtime R in between.
 *
 * Once P has loaded a filter, any syscall it makes may be one the profile
 * notifies, and a notified syscall blocks until A answers -- which A can only
 * do once it has the listener.  So nothing P does after the load may be part
 * of the hand-off (runc sends the fd number with write(2) after the load and
 * therefore refuses to notify write; hull refuses nothing):
 *
 *   P  finds the lowest free fd L (the listener will get it: P is single
 *      threaded and opens nothing until the load) and sends
 *      SYNC_SECCOMP_FD(L) to R; then loads the filter (listener = L) and goes
 *      on with its setup, notified syscalls waiting for A.
 *   R  pidfd_getfd(P, L) until that is a seccomp listener, or P reports an
 *      error or exits (P's cooperation is not needed);
 *   R  connects to listenerPath, sends the copy and the containerProcessState
 *      JSON (SCM_RIGHTS, one message), and waits until A has taken the
 *      message off its socket (SIOCOUTQ is 0; an agent that closes with the
 *      message unread shows as ECONNRESET);
 *   R  sends SYNC_SECCOMP_DONE.  P waits for it before its READY (so the
 *      listener is still at L while R copies it) and closes L: from then on
 *      only A holds the listener, and if A goes away P's notified syscalls
 *      fail with ENOSYS instead of waiting forever;
 *   R  waits for P's next message (READY, an error, or EOF).
 *
 * Every wait of R is bounded by the listener timeout (annotation
 * run.hull.seccomp-listener-timeout, 10s by default): taking the listener,
 * connecting, A receiving it, and P's READY afterwards.  Any failure is an
 * error naming what failed; the caller kills P and removes what it made.
 */
#include "runtime/seccomp-handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "linux/seccomp.h"
#include "runtime/runtime-internal.h"
#include "runtime/sync.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int seccomp_handoff_announce(int fd, void *userdata, struct hull_error **reterr)
{
	int r = sync_send(*(int *)userdata, SYNC_SECCOMP_FD, fd, NULL, -EBADF);

	if (r < 0)
		return hull_error_errno(reterr, r, "seccomp: announce the listener to the runtime");
	return 0;
}

int seccomp_handoff_send(int fd, void *userdata, struct hull_error **reterr)
{
	int r = sync_send(*(int *)userdata, SYNC_SECCOMP_FD, fd, NULL, fd);

	if (r < 0)
		return hull_error_errno(reterr, r, "seccomp: send the listener to the runtime");
	return 0;
}

int seccomp_handoff_child_finish(int sync, int *listener, struct hull_error **reterr)
{
	struct sync_msg m;
	int r;

	if (*listener < 0)
		return 0;
	r = sync_recv(sync, &m, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "seccomp: wait for the listener hand-off");
	if (m.type != SYNC_SECCOMP_DONE)
		return hull_error_set(reterr, -EBADMSG, "sync: unexpected message %u", m.type);
	*listener = safe_close(*listener);
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool is_listener(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return streq(target, "anon_inode:seccomp notify");
}

/*
 * The process spoke while we waited for its listener: the listener itself
 * (h->sent), an error, its exit, or a bug.
 */
static int early_message(const struct seccomp_handoff *h, int *ret_fd, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct sync_msg m;
	int r = sync_recv(h->sync, &m, &fd);

	if (r == -EPIPE)
		return hull_error_set(reterr, -EPIPE, "container process exited during setup");
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with container process");
	if (m.type == SYNC_ERROR)
		return hull_error_set(reterr, m.value < 0 ? m.value : -EIO, "%s", m.text);
	if (h->sent && m.type == SYNC_SECCOMP_FD && fd >= 0 && is_listener(fd)) {
		*ret_fd = TAKE_FD(fd);
		return 0;
	}
	return hull_error_set(reterr, -EBADMSG,
			      "sync: unexpected message %u during the seccomp listener hand-off",
			      m.type);
}

/* pidfd_getfd(P, L), retried (bounded) until P has loaded its filter. */
static int take_listener(const struct seccomp_handoff *h, int fd_nr, uint64_t timeout, int *ret_fd,
			 struct hull_error **reterr)
{
	uint64_t deadline = now_usec() + timeout;
	unsigned backoff_ms = 1;

	if (fd_nr < 0)
		return hull_error_set(reterr, -EBADMSG, "seccomp: bad listener fd %d announced",
				      fd_nr);
	for (;;) {
		struct pollfd pfd = { .fd = h->sync, .events = POLLIN };
		int fd = h->sent ? -EBADF : (int)syscall(SYS_pidfd_getfd, h->pidfd, fd_nr, 0);
		uint64_t now;

		if (h->sent) {
			/* the process sends it (early_message) */
		} else if (fd >= 0) {
			if (is_listener(fd)) {
				*ret_fd = fd;
				return 0;
			}
			close(fd); /* not loaded yet: nothing else can be at L */
		} else if (errno != EBADF) {
			return hull_error_errno(reterr, -errno,
						"seccomp: take the listener (fd %d) of process %d: "
						"pidfd_getfd",
						fd_nr, (int)h->pid);
		}
		now = now_usec();
		if (now >= deadline && h->sent)
			return hull_error_set(reterr, -ETIMEDOUT,
					      "seccomp: process %d sent no listener within %s (an "
					      "unprivileged runtime gets it by sendmsg, which must "
					      "not be notified)",
					      (int)h->pid, hull_seccomp_timeout_str(timeout).s);
		if (now >= deadline)
			return hull_error_set(reterr, -ETIMEDOUT,
					      "seccomp: process %d loaded no filter within %s",
					      (int)h->pid, hull_seccomp_timeout_str(timeout).s);
		if ((uint64_t)backoff_ms * 1000 > deadline - now)
			backoff_ms = (unsigned)((deadline - now + 999) / 1000);
		if (poll(&pfd, 1, (int)backoff_ms) > 0)
			return early_message(h, ret_fd, reterr);
		if (backoff_ms < 32)
			backoff_ms *= 2;
	}
}

/*
 * After the hand-off: P's next message must come within the timeout.  The
 * runtime still holds a copy of the listener, which tells whether P waits on
 * a notification the agent has not received (POLLIN) or not answered (POLLOUT).
 */
static int wait_for_process(const struct seccomp_handoff *h, int listener, uint64_t timeout,
			    struct hull_error **reterr)
{
	const char *path = h->config->linux_config->seccomp->listener_path;
	uint64_t deadline = now_usec() + timeout;
	struct pollfd pfd = { .fd = h->sync, .events = POLLIN };
	struct pollfd lfd = { .fd = listener, .events = POLLIN | POLLOUT };

	for (;;) {
		uint64_t now = now_usec();
		int r;

		if (now >= deadline)
			break;
		r = poll(&pfd, 1, (int)((deadline - now + 999) / 1000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return hull_error_errno(reterr, -errno, "sync with container process");
	}
	if (poll(&lfd, 1, 0) > 0 && (lfd.revents & (POLLIN | POLLOUT)))
		return hull_error_set(reterr, -ETIMEDOUT,
				      "linux.seccomp.listenerPath '%s': the agent has not answered "
				      "a notification of process %d within %s",
				      path, (int)h->pid, hull_seccomp_timeout_str(timeout).s);
	return hull_error_set(reterr, -ETIMEDOUT,
			      "seccomp: process %d did not finish its setup within %s after the "
			      "listener hand-off",
			      (int)h->pid, hull_seccomp_timeout_str(timeout).s);
}

int seccomp_handoff_run(const struct seccomp_handoff *h, int fd_nr, struct hull_error **reterr)
{
	const struct hull_oci_seccomp *sc = h->config->linux_config->seccomp;
	_cleanup_close_ int listener = -EBADF;
	_cleanup_free_ char *json = NULL;
	uint64_t timeout;
	int r;

	if (!sc || !sc->listener_path)
		return hull_error_set(reterr, -EBADMSG,
				      "seccomp: a listener came but linux.seccomp.listenerPath is "
				      "not set");
	r = hull_seccomp_listener_timeout(h->config->annotations, &timeout, reterr);
	if (r < 0)
		return r;
	r = take_listener(h, fd_nr, timeout, &listener, reterr);
	if (r < 0)
		return r;
	json = state_container_process_state(sc, h->state, h->pid, h->status);
	if (!json)
		return hull_error_errno(reterr, -ENOMEM, "seccomp: container process state");
	r = hull_seccomp_send_listener(sc->listener_path, listener, json, timeout, reterr);
	if (r < 0)
		return r;
	hull_debug("seccomp: listener of process %d handed to '%s'", (int)h->pid,
		   sc->listener_path);
	r = sync_send(h->sync, SYNC_SECCOMP_DONE, 0, NULL, -EBADF);
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with container process");
	return wait_for_process(h, listener, timeout, reterr);
}

/* Whether `pid` sleeps in a seccomp notification (its wchan; false when unknown). */
static bool waits_for_agent(pid_t pid)
{
	char path[64], buf[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "seccomp") != NULL;
}

int seccomp_handoff_start_timeout(const char *id, pid_t pid, uint64_t timeout,
				  struct hull_error **reterr)
{
	if (waits_for_agent(pid))
		return hull_error_set(
			reterr, -ETIMEDOUT,
			"cannot start container '%s': its process %d has been waiting "
			"for its seccomp agent to answer a notification for %s",
			id, (int)pid, hull_seccomp_timeout_str(timeout).s);
	return hull_error_set(reterr, -ETIMEDOUT,
			      "cannot start container '%s': its process %d did not take the start "
			      "signal within %s",
			      id, (int)pid, hull_seccomp_timeout_str(timeout).s);
}
