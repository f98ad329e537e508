/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/namespace.h"
#include "linux/seccomp.h"
#include "util/file.h"
#include "util/log.h"

/* ---- the runtime's side ---- */

int spawn_check_preserved_fds(unsigned n, struct hull_error **reterr)
{
	for (unsigned i = 0; i < n; i++) {
		int fd = 3 + (int)i, flags = fcntl(fd, F_GETFD);

		if (flags < 0 || (flags & FD_CLOEXEC))
			return hull_error_set(reterr, -EBADF,
					      "--preserve-fds %u: fd %d is not open in the caller",
					      n, fd);
	}
	return 0;
}

static int enter_ns(int fd, int nstype, const char *name, int *saved, struct hull_error **reterr)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	*saved = open(path, O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", path);
	if (fd >= 0 && setns(fd, nstype) < 0)
		return hull_error_errno(reterr, -errno, "join %s namespace", name);
	return 0;
}

int spawn_enter_for_children(int pid_ns, int time_ns, const struct hull_oci_linux *new_time,
			     struct spawn_saved_ns *saved, struct hull_error **reterr)
{
	int r;

	if (pid_ns >= 0) {
		r = enter_ns(pid_ns, CLONE_NEWPID, "pid", &saved->pid, reterr);
		if (r < 0)
			return r;
	}
	if (time_ns >= 0 || new_time) {
		r = enter_ns(time_ns, CLONE_NEWTIME, "time", &saved->time, reterr);
		if (r < 0)
			return r;
		if (time_ns < 0) {
			if (unshare(CLONE_NEWTIME) < 0)
				return hull_error_errno(reterr, -errno, "create time namespace");
			r = hull_timens_write_offsets(getpid(), new_time, reterr);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void spawn_leave_for_children(struct spawn_saved_ns *saved)
{
	if (saved->pid >= 0 && setns(saved->pid, CLONE_NEWPID) < 0)
		hull_debug("restore pid namespace: %m");
	if (saved->time >= 0 && setns(saved->time, CLONE_NEWTIME) < 0)
		hull_debug("restore time namespace: %m");
	saved->pid = safe_close(saved->pid);
	saved->time = safe_close(saved->time);
}

pid_t spawn_clone(unsigned long flags, int cgroup_fd)
{
	struct clone_args args = {
		.flags = flags,
		.exit_signal = SIGCHLD,
	};
	pid_t pid;

	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && errno == ENOSYS && cgroup_fd < 0)
		pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	return pid;
}

/* One message of the process's; 1 when it was SYNC_READY. */
static int drive_one(struct spawn_driver *d, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct sync_msg m;
	int r;

	r = sync_recv(d->sync, &m, &fd);
	if (r == -EPIPE)
		return hull_error_set(reterr, -EPIPE, "%s exited during setup", d->what);
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with %s", d->what);
	switch (m.type) {
	case SYNC_READY:
		return 1;
	case SYNC_ERROR:
		return hull_error_set(reterr, m.value < 0 ? m.value : -EIO, "%s", m.text);
	case SYNC_PTY:
		if (fd < 0)
			return hull_error_set(reterr, -EBADMSG, "%s sent no pty", d->what);
		safe_close(*d->pty_master);
		*d->pty_master = TAKE_FD(fd);
		return 0;
	case SYNC_SECCOMP_FD:
		return seccomp_handoff_run(&d->handoff, m.value, reterr);
	default:
		if (d->other)
			return d->other(d, &m, reterr);
		return hull_error_set(reterr, -EBADMSG, "sync: unexpected message %u", m.type);
	}
}

int spawn_drive_until_ready(struct spawn_driver *d, struct hull_error **reterr)
{
	int r;

	while ((r = drive_one(d, reterr)) == 0)
		;
	return r < 0 ? r : 0;
}

int spawn_wait_for_exec(int sync, int timeout_ms, struct hull_error **reterr)
{
	struct pollfd pfd = { .fd = sync, .events = POLLIN };
	struct sync_msg m;
	int r;

	r = RETRY_EINTR(poll(&pfd, 1, timeout_ms));
	if (r <= 0)
		return 0; /* still on its way (or poll failed): as before this wait existed */
	r = sync_recv(sync, &m, NULL);
	if (r == -EPIPE)
		return 0; /* EOF: its execve closed the socket */
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with process");
	if (m.type == SYNC_ERROR)
		return hull_error_set(reterr, m.value < 0 ? m.value : -EIO, "%s", m.text);
	return hull_error_set(reterr, -EBADMSG, "sync: unexpected message %u", m.type);
}

/* ---- the process's side ---- */

void spawn_child_begin(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

int spawn_fork_sibling(int sync, struct hull_error **reterr)
{
	/* with CLONE_PARENT the exit signal is the parent's (SIGCHLD): clone3 wants 0 here */
	struct clone_args args = { .flags = CLONE_PARENT };
	pid_t pid;
	int r;

	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return hull_error_errno(reterr, -errno, "clone into the pid namespace");
	if (pid > 0) {
		r = sync_send(sync, SYNC_PID, pid, NULL, -EBADF);
		_exit(r < 0 ? 127 : 0);
	}
	return 0;
}

int spawn_wait_for_runtime(int sync, enum sync_type type, struct sync_msg *ret,
			   struct hull_error **reterr)
{
	int r = sync_recv(sync, ret, NULL);

	if (r < 0)
		return hull_error_errno(reterr, r, "wait for runtime");
	if (ret->type != type)
		return hull_error_set(reterr, -EBADMSG, "sync: unexpected message %u", ret->type);
	return 0;
}

/* Leaves stdio, the preserved fds (made to survive execve), *sync and `keep`. */
static int close_fds(const struct spawn_process *sp, int sync, struct hull_error **reterr)
{
	int keep[8], first = 3 + (int)sp->preserve_fds, r;

	if (sp->n_keep >= ELEMENTSOF(keep))
		return hull_error_set(reterr, -E2BIG, "close inherited fds: too many to keep");
	keep[0] = sync;
	if (sp->n_keep) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(keep + 1, sp->keep, sp->n_keep * sizeof(int));
	r = hull_close_fds_from(first, keep, sp->n_keep + 1);
	if (r < 0)
		return hull_error_errno(reterr, r, "close inherited fds");
	for (int fd = 3; fd < first; fd++) {
		r = hull_fd_set_cloexec(fd, false);
		if (r < 0)
			return hull_error_errno(reterr, r, "--preserve-fds: keep fd %d", fd);
	}
	return 0;
}

/*
 * chdir(cwd), then getcwd(2): the kernel prefixes "(unreachable)" (glibc
 * turns that into ENOENT) when the directory is not below the process's root,
 * e.g. a cwd of /proc/self/fd/N naming a host directory.
 */
static int enter_cwd(const char *cwd, struct hull_error **reterr)
{
	char buf[PATH_MAX];
	long n;

	if (chdir(cwd) < 0)
		return hull_error_errno(reterr, -errno, "chdir to cwd '%s'", cwd);
	n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0 && (errno == ERANGE || errno == ENAMETOOLONG))
		return 0; /* longer than PATH_MAX, but a path from the root */
	if (n < 0 && errno != ENOENT)
		return hull_error_errno(reterr, -errno, "process.cwd '%s': getcwd", cwd);
	if (n < 0 || buf[0] != '/')
		return hull_error_set(
			reterr, -EPERM,
			"process.cwd '%s': the directory lies outside the container's root", cwd);
	return 0;
}

int spawn_become_process(const struct spawn_process *sp, int *sync, char **ret_exec_path,
			 struct hull_error **reterr)
{
	_cleanup_free_ char *exec_path = NULL;
	struct hull_seccomp_listener listener = {
		.announce = seccomp_handoff_announce,
		.loaded = sp->rootless ? seccomp_handoff_send : NULL,
		.userdata = sync,
		.fd = -EBADF,
	};
	int r;

	r = hull_process_find_exec(sp->p, &exec_path, reterr);
	if (r < 0)
		return r;
	/* no fd of the runtime's may be a way out: close them before the chdir */
	r = close_fds(sp, *sync, reterr);
	if (r < 0)
		return r;
	r = enter_cwd(sp->p->cwd, reterr);
	if (r < 0)
		return r;
	r = hull_process_apply(sp->p, sp->lc, sp->seccomp, sp->flags, exec_path, &listener, reterr);
	if (r < 0)
		return r;
	r = seccomp_handoff_child_finish(*sync, &listener.fd, reterr);
	if (r < 0)
		return r;
	r = sync_send(*sync, SYNC_READY, 0, NULL, -EBADF);
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with runtime");
	if (!sp->sync_until_exec)
		*sync = safe_close(*sync);
	*ret_exec_path = TAKE_PTR(exec_path);
	return 0;
}

_noreturn_ void spawn_child_fail(int sync, int r, const struct hull_error *err)
{
	if (sync >= 0)
		sync_send_error(sync, r, err);
	else if (err)
		dprintf(STDERR_FILENO, "hull-runtime: %s\n", err->msg);
	_exit(127);
}
