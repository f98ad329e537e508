/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec: runs a new process inside a running container.  Like create, the
 * runtime clones the process itself; the child joins the container's
 * namespaces (pid and time are entered by the runtime around the clone, as
 * they only apply to children), applies the process attributes and execs.
 * As with create, the child runs from the sealed copy of the binary
 * (runtime/cloned-binary.h) and is non-dumpable until its execve.  The
 * path both share (clone, setup conversation, the end of the process's
 * setup) is spawn.c; joining existing namespaces and root is exec's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/namespace.h"
#include "linux/process.h"
#include "linux/seccomp.h"
#include "linux/terminal.h"
#include "runtime/runtime-internal.h"
#include "runtime/spawn.h"
#include "runtime/seccomp-handoff.h"
#include "runtime/sync.h"
#include "runtime/wait.h"
#include "util/file.h"
#include "util/log.h"

/* How long exec waits for the process's execve after its setup (then it runs on regardless). */
#define EXEC_START_TIMEOUT_MS 5000

struct exec_ctx {
	const struct hull_runtime *rt;
	const struct hull_exec_opts *o;
	const struct hull_oci_process *p;
	struct hull_oci_config *config;
	struct hull_state *state;
	struct hull_cgroup *cgroup;
	struct hull_seccomp_program *seccomp;
	int dir_fd;
	int ns_fds[_HULL_NS_MAX];
	int root_fd; /* the init's root, when there is no mount namespace to join */
	int sync[2];
	int pidfd;
	int pty_master;
	pid_t pid;
	bool cloned_into_cgroup;
	bool double_fork; /* unprivileged: a helper child joins the namespaces and forks */
};

static void exec_ctx_done(struct exec_ctx *e)
{
	hull_oci_config_free(e->config);
	hull_state_free(e->state);
	hull_cgroup_free(e->cgroup);
	hull_seccomp_program_free(e->seccomp);
	safe_close(e->dir_fd);
	safe_close(e->root_fd);
	hull_ns_close_all(e->ns_fds);
	safe_close(e->sync[0]);
	safe_close(e->sync[1]);
	safe_close(e->pidfd);
	safe_close(e->pty_master);
}

/* Opens /proc/<init>/ns/<type> for every namespace the container has of its own. */
static int open_container_namespaces(struct exec_ctx *e, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = e->config->linux_config;

	for (size_t i = 0; i < lc->n_namespaces; i++) {
		enum hull_ns_type t = lc->namespaces[i].type;
		char path[64];
		struct stat a, b;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)e->state->pid,
			 hull_ns_type_proc_name(t));
		e->ns_fds[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (e->ns_fds[t] < 0)
			return hull_error_errno(reterr, -errno, "open '%s'", path);
		/* joining the namespace we are already in is pointless (and EINVAL for user) */
		snprintf(path, sizeof(path), "/proc/self/ns/%s", hull_ns_type_proc_name(t));
		if (fstat(e->ns_fds[t], &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			e->ns_fds[t] = safe_close(e->ns_fds[t]);
	}
	if (!hull_oci_config_namespace(e->config, HULL_NS_MNT)) {
		char path[64];

		/* the init chrooted into the rootfs in our mount namespace: follow it */
		snprintf(path, sizeof(path), "/proc/%d/root", (int)e->state->pid);
		e->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (e->root_fd < 0)
			return hull_error_errno(reterr, -errno, "open '%s'", path);
	}
	return 0;
}

/*
 * Joins the container's namespaces (all but pid and time, which the runtime
 * entered around the clone, unless this child is the unprivileged helper),
 * becomes root of its user namespace and enters its root, once GO says the
 * process sits in the container's cgroup.
 */
static int exec_enter(struct exec_ctx *e, struct hull_error **reterr)
{
	struct sync_msg m;
	int r;

	if (e->double_fork) {
		/*
		 * Unprivileged, the runtime cannot enter the pid namespace itself
		 * (setns needs CAP_SYS_ADMIN in its own user namespace): this child
		 * joins everything, user namespace first, and goes on as a sibling.
		 */
		r = hull_ns_join(e->ns_fds, reterr);
		if (r < 0)
			return r;
		r = spawn_fork_sibling(e->sync[1], reterr);
		if (r < 0)
			return r;
	}
	r = spawn_wait_for_runtime(e->sync[1], SYNC_GO, &m, reterr);
	if (r < 0)
		return r;
	if (!e->double_fork) {
		e->ns_fds[HULL_NS_PID] = safe_close(e->ns_fds[HULL_NS_PID]);
		e->ns_fds[HULL_NS_TIME] = safe_close(e->ns_fds[HULL_NS_TIME]);
		r = hull_ns_join(e->ns_fds, reterr);
		if (r < 0)
			return r;
	}
	if (e->ns_fds[HULL_NS_USER] >= 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return hull_error_errno(reterr, -errno, "become root in the user namespace");
	if (e->root_fd >= 0 && (fchdir(e->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0))
		return hull_error_errno(reterr, -errno, "enter the container's root");
	return 0;
}

/* A new pty: the master goes to the runtime, the slave becomes the controlling terminal. */
static int exec_terminal(struct exec_ctx *e, struct hull_error **reterr)
{
	_cleanup_close_ int master = -EBADF, slave = -EBADF;
	int r;

	r = hull_terminal_open(e->p, &master, &slave, reterr);
	if (r < 0)
		return r;
	r = sync_send(e->sync[1], SYNC_PTY, 0, NULL, master);
	if (r < 0)
		return hull_error_errno(reterr, r, "send pty to runtime");
	return hull_terminal_make_controlling(slave, reterr);
}

static int exec_child_run(struct exec_ctx *e, struct hull_error **reterr)
{
	struct spawn_process sp = {
		.p = e->p,
		.lc = e->config->linux_config,
		.seccomp = e->seccomp,
		.preserve_fds = e->o->preserve_fds,
		.rootless = e->rt->rootless,
		.sync_until_exec = true,
	};
	_cleanup_free_ char *exec_path = NULL;
	int r;

	r = exec_enter(e, reterr);
	if (r < 0)
		return r;
	if (e->p->terminal) {
		r = exec_terminal(e, reterr);
		if (r < 0)
			return r;
	}
	r = spawn_become_process(&sp, &e->sync[1], &exec_path, reterr);
	if (r < 0)
		return r;
	return hull_process_exec(e->p, exec_path, reterr);
}

static _noreturn_ void exec_child(struct exec_ctx *e)
{
	_cleanup_error_ struct hull_error *err = NULL;
	int r;

	spawn_child_begin();
	e->sync[0] = safe_close(e->sync[0]);
	e->dir_fd = safe_close(e->dir_fd);
	r = exec_child_run(e, &err);
	spawn_child_fail(e->sync[1], r, err);
}

/* Clones the process (through the helper when unprivileged) and takes a pidfd of it. */
static int spawn(struct exec_ctx *e, struct hull_error **reterr)
{
	_cleanup_close_ int cgfd = -EBADF;
	struct spawn_saved_ns saved = SPAWN_SAVED_NS_INIT;
	pid_t pid = -1;
	int r = 0;

	if (e->cgroup)
		cgfd = hull_cgroup_open_fd(e->cgroup, NULL);
	if (!e->double_fork)
		r = spawn_enter_for_children(e->ns_fds[HULL_NS_PID], e->ns_fds[HULL_NS_TIME], NULL,
					     &saved, reterr);
	if (r >= 0) {
		pid = spawn_clone(0, cgfd);
		if (pid == 0)
			exec_child(e);
		if (pid < 0)
			r = hull_error_errno(reterr, -errno, "clone process");
	}
	spawn_leave_for_children(&saved);
	if (r < 0)
		return r;
	e->sync[1] = safe_close(e->sync[1]);
	if (e->double_fork) {
		struct sync_msg m;

		r = sync_expect(e->sync[0], SYNC_PID, &m, NULL, reterr);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (r < 0)
			return r;
		pid = m.value;
	}
	e->pid = pid;
	e->cloned_into_cgroup = cgfd >= 0;
	e->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (e->pidfd < 0)
		return hull_error_errno(reterr, -errno, "pidfd_open");
	return 0;
}

static int drive(struct exec_ctx *e, struct hull_error **reterr)
{
	int r;

	if (e->cgroup && !e->cloned_into_cgroup) {
		r = hull_cgroup_enter(e->cgroup, e->pid, reterr);
		if (r < 0)
			return r;
	}
	if (e->p->oom_score_adj.set) {
		r = hull_process_set_oom_score_adj(e->pid, (int)e->p->oom_score_adj.v, reterr);
		if (r < 0)
			return r;
	}
	r = sync_send(e->sync[0], SYNC_GO, e->pid, NULL, -EBADF);
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with process");
	return spawn_drive_until_ready(
		&(struct spawn_driver){
			.sync = e->sync[0],
			.pty_master = &e->pty_master,
			.what = "process",
			.handoff = { .sync = e->sync[0],
				     .pidfd = e->pidfd,
				     .pid = e->pid,
				     .config = e->config,
				     .state = e->state,
				     .status = HULL_STATUS_RUNNING,
				     .sent = e->rt->rootless },
		},
		reterr);
}

/* exec --cgroup: the process goes into sub-cgroups of the container's (which must exist). */
static int use_sub_cgroup(struct exec_ctx *e, struct hull_error **reterr)
{
	struct hull_cgroup *sub = NULL;
	int r;

	if (!e->cgroup)
		return hull_error_set(reterr, -EINVAL, "--cgroup: container '%s' has no cgroup",
				      e->state->id);
	r = hull_cgroup_sub(e->cgroup, e->o->cgroup_subs, &sub, reterr);
	if (r < 0)
		return r;
	hull_cgroup_free(e->cgroup);
	e->cgroup = sub;
	return 0;
}

/*
 * Everything before the clone: the container's state (running, created, or
 * paused with --ignore-paused), its config, the process checked, seccomp
 * compiled, the cgroup and namespaces to join, the sync socket.
 */
static int prepare(struct exec_ctx *e, const char *id, struct hull_error **reterr)
{
	int r;

	r = container_open_state(e->rt, id, false, &e->dir_fd, &e->state, reterr);
	if (r < 0)
		return r;
	if (e->state->status == HULL_STATUS_PAUSED && !e->o->ignore_paused)
		return hull_error_set(reterr, -EINVAL,
				      "cannot exec in container '%s': it is paused "
				      "(use --ignore-paused to override)",
				      id);
	if (e->state->status != HULL_STATUS_RUNNING && e->state->status != HULL_STATUS_CREATED &&
	    e->state->status != HULL_STATUS_PAUSED)
		return hull_error_set(reterr, -EINVAL, "cannot exec in container '%s': it is %s",
				      id, hull_status_name(e->state->status));
	r = state_load_config(e->dir_fd, &e->config, reterr);
	if (r < 0)
		return r;
	r = hull_process_validate(e->p, reterr);
	if (r < 0)
		return r;
	if (e->config->linux_config && e->config->linux_config->seccomp) {
		r = hull_seccomp_compile(e->config->linux_config->seccomp, &e->seccomp, reterr);
		if (r < 0)
			return r;
	}
	r = state_cgroup(e->state, &e->cgroup, reterr);
	if (r >= 0 && e->o->cgroup_subs && e->o->cgroup_subs[0])
		r = use_sub_cgroup(e, reterr);
	if (r < 0)
		return r;
	r = open_container_namespaces(e, reterr);
	if (r < 0)
		return r;
	e->double_fork = e->rt->rootless && e->ns_fds[HULL_NS_PID] >= 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, e->sync) < 0)
		return hull_error_errno(reterr, -errno, "socketpair");
	return 0;
}

/* The process is set up: its pty to --console-socket, its pid to --pid-file. */
static int hand_over(struct exec_ctx *e, struct hull_error **reterr)
{
	int r;

	if (e->pty_master >= 0 && e->o->console_socket) {
		r = hull_console_socket_send(e->o->console_socket, e->pty_master, reterr);
		if (r < 0)
			return r;
		e->pty_master = safe_close(e->pty_master);
	}
	if (e->o->pid_file)
		return pid_file_write(e->o->pid_file, e->pid, reterr);
	return 0;
}

int hull_container_exec(const struct hull_runtime *rt, const char *id,
			const struct hull_oci_process *p, const struct hull_exec_opts *o,
			int *ret_exit, struct hull_error **reterr)
{
	struct exec_ctx e = { .rt = rt, .o = o, .p = p };
	sigset_t oldmask;
	bool blocked = false;
	int r;

	e.dir_fd = e.root_fd = e.sync[0] = e.sync[1] = e.pidfd = e.pty_master = -EBADF;
	for (int i = 0; i < _HULL_NS_MAX; i++)
		e.ns_fds[i] = -EBADF;

	/* first: nothing of the runtime's may be in the range yet, nothing is made */
	r = spawn_check_preserved_fds(o->preserve_fds, reterr);
	if (r < 0)
		goto out;
	if (p->terminal && !o->console_socket && o->detach) {
		r = hull_error_set(reterr, -EINVAL,
				   "exec: a detached terminal needs --console-socket");
		goto out;
	}
	r = prepare(&e, id, reterr);
	if (r < 0)
		goto out;
	/*
	 * Paused: the process freezes as it enters the cgroup and goes on at
	 * resume, which takes the container's lock exclusively: let go of it.
	 */
	if (e.state->status == HULL_STATUS_PAUSED)
		(void)flock(e.dir_fd, LOCK_UN);
	if (!o->detach) {
		wait_block_signals(&oldmask);
		blocked = true;
	}
	r = spawn(&e, reterr);
	if (r < 0)
		goto out;
	r = drive(&e, reterr);
	if (r >= 0)
		/* exec -d returns once the program runs, with no fd of hull's left in it */
		r = spawn_wait_for_exec(e.sync[0], EXEC_START_TIMEOUT_MS, reterr);
	if (r < 0)
		goto kill;
	e.sync[0] = safe_close(e.sync[0]);
	e.dir_fd = safe_close(e.dir_fd); /* let delete/kill proceed while we wait */
	r = hand_over(&e, reterr);
	if (r < 0)
		goto kill;
	if (o->detach) {
		*ret_exit = 0;
		goto out;
	}
	r = wait_foreground(e.pid, e.pidfd, e.pty_master, ret_exit);
	if (r < 0)
		r = hull_error_errno(reterr, r, "wait for process");
	goto out;
kill:
	/* as runc: a process that could not be handed over is not left behind */
	kill(e.pid, SIGKILL);
	while (waitpid(e.pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	if (blocked)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	exec_ctx_done(&e);
	return r;
}
