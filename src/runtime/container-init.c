/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create, container side: the cloned child sets itself up inside its new
 * namespaces and becomes the workload.  It is a copy of the runtime process,
 * and that process runs from a sealed memfd copy of the binary
 * (runtime/cloned-binary.h), never from the host's file: a container process
 * that opens /proc/<pid>/exe of it, or makes it exec `#!/proc/self/exe`, gets
 * a copy it cannot write (CVE-2019-5736).  It is also non-dumpable from its
 * first instruction until the execve, so no container process can read its
 * memory or reach its fds through /proc/<pid> meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/hooks.h"
#include "linux/namespace.h"
#include "linux/process.h"
#include "linux/rootfs.h"
#include "linux/seccomp.h"
#include "linux/terminal.h"
#include "runtime/create-internal.h"
#include "runtime/runtime-internal.h"
#include "runtime/spawn.h"
#include "runtime/seccomp-handoff.h"
#include "runtime/sync.h"
#include "util/file.h"
#include "util/str.h"

static int setup_terminal(struct create_ctx *c, struct hull_error **reterr)
{
	_cleanup_close_ int master = -EBADF, slave = -EBADF;
	int r;

	r = hull_terminal_open(c->config->process, &master, &slave, reterr);
	if (r < 0)
		return r;
	r = sync_send(c->sync[1], SYNC_PTY, 0, NULL, master);
	if (r < 0)
		return hull_error_errno(reterr, r, "send pty to runtime");
	/* without a mount namespace of its own, a mount would land in the host's */
	if (hull_oci_config_namespace(c->config, HULL_NS_MNT)) {
		r = hull_terminal_mount_console(slave, reterr);
		if (r < 0)
			return r;
	}
	return hull_terminal_make_controlling(slave, reterr);
}

static int wait_for_start(struct create_ctx *c, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fifo_fd);
	/* blocks until `start` opens the other end */
	if (fstat(c->fifo_fd, &st) == 0 && S_ISDIR(st.st_mode))
		fd = RETRY_EINTR(openat(c->fifo_fd, FIFO_FILE, O_WRONLY | O_CLOEXEC));
	else
		fd = RETRY_EINTR(open(path, O_WRONLY | O_CLOEXEC));
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open exec fifo");
	if (hull_write_all(fd, "0", 1) < 0)
		return hull_error_errno(reterr, -errno, "write exec fifo");
	c->fifo_fd = safe_close(c->fifo_fd);
	return 0;
}

/*
 * Joins the namespaces given by path, makes the container's own (a user
 * namespace first when there is one, so the others belong to its root), and
 * waits for the runtime's GO (cgroup joined, id maps written) on the way.
 */
static int init_enter_namespaces(struct create_ctx *c, struct hull_error **reterr)
{
	struct sync_msg m;
	int r;

	if (c->late_userns) {
		c->ns_fds[HULL_NS_PID] = safe_close(c->ns_fds[HULL_NS_PID]);
		c->ns_fds[HULL_NS_TIME] = safe_close(c->ns_fds[HULL_NS_TIME]);
		r = hull_ns_join(c->ns_fds, reterr);
		if (r < 0)
			return r;
		if (unshare(CLONE_NEWUSER) < 0)
			return hull_error_errno(reterr, -errno, "create user namespace");
		r = sync_send(c->sync[1], SYNC_USERNS, 0, NULL, -EBADF);
		if (r < 0)
			return hull_error_errno(reterr, r, "sync with runtime");
	}
	r = spawn_wait_for_runtime(c->sync[1], SYNC_GO, &m, reterr);
	if (r < 0)
		return r;
	c->state->pid = m.value;
	if (c->ns_fds[HULL_NS_USER] >= 0 || c->new_userns) {
		/* become root of the user namespace the maps were just written for */
		if (c->ns_fds[HULL_NS_USER] >= 0) {
			if (setns(c->ns_fds[HULL_NS_USER], CLONE_NEWUSER) < 0)
				return hull_error_errno(reterr, -errno, "join user namespace");
			c->ns_fds[HULL_NS_USER] = safe_close(c->ns_fds[HULL_NS_USER]);
		}
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return hull_error_errno(reterr, -errno,
						"become root in the user namespace");
		if (c->unshare_flags && unshare((int)c->unshare_flags) < 0)
			return hull_error_errno(reterr, -errno, "create namespaces");
		if (c->unshare_flags & CLONE_NEWPID) {
			/* the runtime follows the sibling (SYNC_PID) and says GO again */
			r = spawn_fork_sibling(c->sync[1], reterr);
			if (r < 0)
				return r;
			r = spawn_wait_for_runtime(c->sync[1], SYNC_GO, &m, reterr);
			if (r < 0)
				return r;
			c->state->pid = m.value;
		}
	}
	c->ns_fds[HULL_NS_PID] = safe_close(c->ns_fds[HULL_NS_PID]);
	c->ns_fds[HULL_NS_TIME] = safe_close(c->ns_fds[HULL_NS_TIME]);
	r = hull_ns_join(c->ns_fds, reterr);
	if (r < 0)
		return r;
	if (c->cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		return hull_error_errno(reterr, -errno, "create cgroup namespace");
	if (c->new_netns)
		return hull_netns_loopback_up(reterr);
	return 0;
}

/*
 * Builds the container's root and enters it: mounts, hostname, the runtime's
 * prestart/createRuntime hooks (SYNC_HOOKS), createContainer hooks,
 * process.cwd, pivot_root, the terminal, sysctls, masked and read-only paths.
 */
static int init_prepare_root(struct create_ctx *c, struct hull_rootfs_opts *ro,
			     struct hull_error **reterr)
{
	const struct hull_oci_config *cfg = c->config;
	const struct hull_oci_process *p = cfg->process;
	_cleanup_close_ int rootfs_fd = -EBADF;
	struct sync_msg m;
	int r;

	r = hull_rootfs_prepare(ro, &rootfs_fd, reterr);
	if (r < 0)
		return r;
	r = hull_uts_apply(cfg, reterr);
	if (r < 0)
		return r;
	if (cfg->hooks.n_hooks[HULL_HOOK_PRESTART] ||
	    cfg->hooks.n_hooks[HULL_HOOK_CREATE_RUNTIME]) {
		r = sync_send(c->sync[1], SYNC_HOOKS, 0, NULL, -EBADF);
		if (r < 0)
			return hull_error_errno(reterr, r, "sync with runtime");
		r = spawn_wait_for_runtime(c->sync[1], SYNC_HOOKS_DONE, &m, reterr);
		if (r < 0)
			return r;
	}
	/* runtime-spec and runc: createContainer hooks run from the container's root */
	if (fchdir(rootfs_fd) < 0)
		return hull_error_errno(reterr, -errno, "chdir to the rootfs");
	r = state_run_hooks(cfg, HULL_HOOK_CREATE_CONTAINER, c->state, HULL_STATUS_CREATING,
			    reterr);
	if (r < 0)
		return r;
	/* runc makes a missing cwd, inside the rootfs */
	{
		_cleanup_close_ int cwd =
			hull_mkdir_in_root(rootfs_fd, p->cwd, false, 0755, reterr);

		if (cwd < 0)
			return hull_error_wrap(reterr, cwd, "process.cwd");
	}
	r = hull_rootfs_pivot(ro, rootfs_fd, reterr);
	if (r < 0)
		return r;
	rootfs_fd = safe_close(rootfs_fd);
	c->bundle_fd = safe_close(c->bundle_fd);
	if (p->terminal) {
		r = setup_terminal(c, reterr);
		if (r < 0)
			return r;
	}
	r = hull_sysctl_apply(cfg->linux_config, reterr);
	if (r < 0)
		return r;
	return hull_rootfs_finalize(ro, reterr);
}

static int init_run(struct create_ctx *c, struct hull_error **reterr)
{
	const struct hull_oci_config *cfg = c->config;
	struct hull_rootfs_opts ro = {
		.config = cfg,
		.bundle_fd = c->bundle_fd,
		.cgroup = c->cgroup,
		.no_pivot = c->o->no_pivot,
		.in_userns = c->new_userns || c->ns_fds[HULL_NS_USER] >= 0,
		.cgroupns = c->cgroupns,
		.no_mount_ns = !hull_oci_config_namespace(cfg, HULL_NS_MNT),
		.mount_sources = c->mount_sources,
	};
	int keep[] = { c->fifo_fd };
	struct spawn_process sp = {
		.p = cfg->process,
		.lc = cfg->linux_config,
		.seccomp = c->seccomp,
		.flags = c->o->no_new_keyring ? 0 : HULL_PROCESS_NEW_KEYRING,
		.preserve_fds = c->o->preserve_fds,
		.keep = keep,
		.n_keep = ELEMENTSOF(keep),
		.rootless = c->rt->rootless,
	};
	_cleanup_free_ char *exec_path = NULL;
	int r;

	r = init_enter_namespaces(c, reterr);
	if (r < 0)
		return r;
	r = init_prepare_root(c, &ro, reterr);
	if (r < 0)
		return r;
	r = spawn_become_process(&sp, &c->sync[1], &exec_path, reterr);
	if (r < 0)
		return r;
	r = wait_for_start(c, reterr);
	if (r < 0)
		return r;
	r = state_run_hooks(cfg, HULL_HOOK_START_CONTAINER, c->state, HULL_STATUS_CREATED, reterr);
	if (r < 0)
		return r;
	return hull_process_exec(cfg->process, exec_path, reterr);
}

_noreturn_ void container_init(struct create_ctx *c)
{
	_cleanup_error_ struct hull_error *err = NULL;
	int r;

	spawn_child_begin();
	c->sync[0] = safe_close(c->sync[0]);
	if (!hull_oci_config_namespace(c->config, HULL_NS_MNT)) {
		/*
		 * Without a mount namespace nothing is mounted, so no /proc to
		 * reopen the fifo through: keep the state directory (a new O_PATH
		 * description, which holds no lock) and open it by name.
		 */
		safe_close(c->fifo_fd);
		c->fifo_fd = openat(c->dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	c->dir_fd = safe_close(c->dir_fd); /* holds the container lock */
	r = init_run(c, &err);
	spawn_child_fail(c->sync[1], r, err);
}
