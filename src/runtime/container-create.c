/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create, runtime side.  The runtime (already running from its sealed copy,
 * cloned-binary.h) clones the container init directly: the child is a copy
 * of this process that sets itself up inside its new namespaces
 * (container-init.c) and blocks on exec.fifo until `start`.  Both sides talk
 * over a SOCK_SEQPACKET pair (sync.h).  The steps create shares with exec
 * (namespaces entered around the clone, the setup conversation, the end of
 * the process's setup) are in spawn.c; what is create's own (state
 * directory, cgroup, id maps, hooks, the pid namespace fork) is here.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/namespace.h"
#include "linux/rootfs.h"
#include "linux/process.h"
#include "linux/seccomp.h"
#include "linux/terminal.h"
#include "runtime/create-internal.h"
#include "runtime/runtime-internal.h"
#include "runtime/spawn.h"
#include "runtime/seccomp-handoff.h"
#include "runtime/sync.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

void create_ctx_done(struct create_ctx *c)
{
	hull_oci_config_free(c->config);
	free(c->config_text);
	hull_state_free(c->state);
	safe_close(c->bundle_fd);
	safe_close(c->dir_fd);
	safe_close(c->fifo_fd);
	safe_close(c->sync[0]);
	safe_close(c->sync[1]);
	hull_ns_close_all(c->ns_fds);
	hull_cgroup_free(c->cgroup);
	hull_seccomp_program_free(c->seccomp);
	hull_mount_sources_free(c->mount_sources);
	safe_close(c->pidfd);
	safe_close(c->pty_master);
}

static int load_config(struct create_ctx *c, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	c->bundle_fd = open(c->o->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->bundle_fd < 0)
		return hull_error_errno(reterr, -errno, "open bundle '%s'", c->o->bundle);
	r = hull_read_file_at(c->bundle_fd, CONFIG_FILE, &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s/config.json'", c->o->bundle);
	r = hull_oci_config_parse(text, len, &c->config, reterr);
	if (r < 0)
		return r;
	if (!c->config->process)
		return hull_error_set(reterr, -EINVAL, "process: required field missing");
	if (!c->config->linux_config)
		return hull_error_set(reterr, -EINVAL, "linux: required field missing");
	c->config_text = TAKE_PTR(text);
	c->config_len = len;
	return 0;
}

/* Which namespaces to create with clone() and which to join. */
static int plan_namespaces(struct create_ctx *c, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = c->config->linux_config;
	bool joins_other = false;
	int r;

	r = hull_ns_open_paths(lc, c->ns_fds, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < lc->n_namespaces; i++) {
		const struct hull_oci_namespace *ns = &lc->namespaces[i];

		if (ns->path && *ns->path) {
			if (ns->type != HULL_NS_PID && ns->type != HULL_NS_TIME &&
			    ns->type != HULL_NS_USER)
				joins_other = true;
			continue;
		}
		/* a new time namespace is made by the runtime itself so offsets can be written */
		if (ns->type == HULL_NS_TIME)
			continue;
		/*
		 * The container makes its cgroup namespace itself once it sits in its
		 * cgroup, so the namespace's root is that cgroup, not the caller's.
		 */
		if (ns->type == HULL_NS_CGROUP) {
			c->cgroupns = true;
			continue;
		}
		if (ns->type == HULL_NS_NET)
			c->new_netns = true;
		c->clone_flags |= (unsigned long)hull_ns_type_clone_flag(ns->type);
		if (ns->type == HULL_NS_USER)
			c->new_userns = true;
	}
	if (c->new_userns && joins_other) {
		/*
		 * A namespace joined by path belongs to the host's user namespace:
		 * the container must join it while it is still host root, so it
		 * makes its user namespace (and the others, pid via a fork) after.
		 */
		c->late_userns = true;
		c->unshare_flags = c->clone_flags & ~(unsigned long)CLONE_NEWUSER;
		c->clone_flags = 0;
	}
	if (c->new_userns && !c->late_userns) {
		/*
		 * As runc does: only the user (and pid) namespaces come with the
		 * clone; the others are made by the container once it is root in its
		 * user namespace, so what they create at birth (the mqueue and sysfs
		 * roots) belongs to the container's root, not to the unmapped host root.
		 */
		c->unshare_flags = c->clone_flags & ~(unsigned long)(CLONE_NEWUSER | CLONE_NEWPID);
		c->clone_flags &= ~c->unshare_flags;
	}
	if (c->new_userns && lc->n_uid_mappings == 0)
		return hull_error_set(reterr, -EINVAL,
				      "linux.uidMappings: required with a new user namespace");
	if (c->new_userns && lc->n_gid_mappings == 0)
		return hull_error_set(reterr, -EINVAL,
				      "linux.gidMappings: required with a new user namespace");
	return 0;
}

/* Makes `pid` (our child) the container's init: pidfd, start time, state. */
static int adopt_init(struct create_ctx *c, pid_t pid, struct hull_error **reterr)
{
	int r;

	c->pid = pid;
	c->pidfd = safe_close(c->pidfd);
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd < 0)
		return hull_error_errno(reterr, -errno, "pidfd_open");
	r = proc_pid_start_time(pid, &c->state->pid_start, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "read start time of %d", (int)pid);
	c->state->pid = pid;
	return 0;
}

static int spawn_init(struct create_ctx *c, struct hull_error **reterr)
{
	_cleanup_close_ int cgroup_fd = -EBADF;
	struct spawn_saved_ns saved = SPAWN_SAVED_NS_INIT;
	bool new_time = hull_oci_config_namespace(c->config, HULL_NS_TIME) != NULL;
	pid_t pid = -1;
	int r;

	if (c->cgroup) {
		r = hull_cgroup_open_fd(c->cgroup, NULL);
		if (r >= 0)
			cgroup_fd = r;
	}
	r = spawn_enter_for_children(c->ns_fds[HULL_NS_PID], c->ns_fds[HULL_NS_TIME],
				     new_time ? c->config->linux_config : NULL, &saved, reterr);
	if (r >= 0) {
		pid = spawn_clone(c->clone_flags, cgroup_fd);
		if (pid == 0)
			container_init(c);
		if (pid < 0)
			r = hull_error_errno(reterr, -errno, "clone container process");
	}
	spawn_leave_for_children(&saved);
	if (r < 0)
		return r;
	c->cloned_into_cgroup = cgroup_fd >= 0;
	c->sync[1] = safe_close(c->sync[1]);
	return adopt_init(c, pid, reterr);
}

/* Reaps the helper that forked `pid` and makes `pid` the container's init. */
static int follow_child(struct create_ctx *c, pid_t pid, struct hull_error **reterr)
{
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	return adopt_init(c, pid, reterr);
}

/* create's own messages: the runtime's hooks, and the init's fork into its pid namespace. */
static int drive_other(struct spawn_driver *d, const struct sync_msg *m, struct hull_error **reterr)
{
	struct create_ctx *c = d->userdata;
	int r;

	switch (m->type) {
	case SYNC_HOOKS:
		r = state_run_hooks(c->config, HULL_HOOK_PRESTART, c->state, HULL_STATUS_CREATING,
				    reterr);
		if (r >= 0)
			r = state_run_hooks(c->config, HULL_HOOK_CREATE_RUNTIME, c->state,
					    HULL_STATUS_CREATING, reterr);
		if (r < 0)
			return r;
		r = sync_send(c->sync[0], SYNC_HOOKS_DONE, 0, NULL, -EBADF);
		break;
	case SYNC_PID:
		/* the container's pid namespace came with a fork: follow the child */
		r = follow_child(c, m->value, reterr);
		if (r < 0)
			return r;
		d->handoff.pid = c->pid;
		d->handoff.pidfd = c->pidfd;
		r = sync_send(c->sync[0], SYNC_GO, c->pid, NULL, -EBADF);
		break;
	default:
		return hull_error_set(reterr, -EBADMSG, "sync: unexpected message %u", m->type);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with container process");
	return 0;
}

/* Runs the runtime side of the setup conversation until the container is ready. */
static int drive_setup(struct create_ctx *c, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = c->config->linux_config;
	const struct hull_oci_process *p = c->config->process;
	int r;

	if (c->cgroup && !c->cloned_into_cgroup) {
		r = hull_cgroup_enter(c->cgroup, c->pid, reterr);
		if (r < 0)
			return r;
	}
	if (c->late_userns) {
		r = sync_expect(c->sync[0], SYNC_USERNS, NULL, NULL, reterr);
		if (r < 0)
			return r;
	}
	if (c->new_userns) {
		r = hull_idmap_write(c->pid, lc->uid_mappings, lc->n_uid_mappings, lc->gid_mappings,
				     lc->n_gid_mappings, reterr);
		if (r < 0)
			return r;
	}
	if (p->oom_score_adj.set) {
		r = hull_process_set_oom_score_adj(c->pid, (int)p->oom_score_adj.v, reterr);
		if (r < 0)
			return r;
	}
	r = sync_send(c->sync[0], SYNC_GO, c->pid, NULL, -EBADF);
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with container process");
	return spawn_drive_until_ready(
		&(struct spawn_driver){
			.sync = c->sync[0],
			.pty_master = &c->pty_master,
			.what = "container process",
			.handoff = { .sync = c->sync[0],
				     .pidfd = c->pidfd,
				     .pid = c->pid,
				     .config = c->config,
				     .state = c->state,
				     .status = HULL_STATUS_CREATING,
				     .sent = c->rt->rootless },
			.other = drive_other,
			.userdata = c,
		},
		reterr);
}

/*
 * The container process died without a word: say how, and name the likely
 * cause when it was SIGKILLed under a memory limit (the OOM killer hits the
 * half-built container when the limit is below what setup itself needs).
 */
static int explain_early_exit(struct create_ctx *c, struct hull_error **reterr)
{
	const struct hull_oci_resources *res = c->config->linux_config->resources;
	int status;

	if (RETRY_EINTR(waitpid(c->pid, &status, 0)) != c->pid)
		return -EPIPE;
	c->pid = 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && res && res->memory.limit.set &&
	    res->memory.limit.v > 0)
		return hull_error_set(
			reterr, -ENOMEM,
			"linux.resources.memory.limit: the container was killed by the "
			"OOM killer during setup: %" PRId64 " bytes is too little",
			res->memory.limit.v);
	if (WIFSIGNALED(status))
		return hull_error_set(reterr, -EPIPE,
				      "container process was killed by signal %d during setup",
				      WTERMSIG(status));
	return hull_error_set(reterr, -EPIPE,
			      "container process exited with status %d during setup",
			      WEXITSTATUS(status));
}

static int prepare_state(struct create_ctx *c, struct hull_error **reterr)
{
	struct hull_state *s;
	const char *root = c->config->root.path;

	s = c->state = calloc(1, sizeof(*s));
	if (!s)
		return hull_error_errno(reterr, -ENOMEM, "state");
	s->id = strdup(c->id);
	s->bundle = strdup(c->o->bundle);
	s->rootfs = root[0] == '/' ? strdup(root) : hull_strdup_printf("%s/%s", c->o->bundle, root);
	s->created = now_rfc3339();
	s->owner = strdup("");
	s->annotations = hull_strv_copy(c->config->annotations);
	s->systemd_cgroup = c->rt->systemd_cgroup;
	if (!s->id || !s->bundle || !s->rootfs || !s->created || !s->owner ||
	    (c->config->annotations && !s->annotations))
		return hull_error_errno(reterr, -ENOMEM, "state");
	s->status = HULL_STATUS_CREATING;
	for (int k = 0; k < _HULL_HOOK_MAX; k++)
		if (c->config->hooks.n_hooks[k])
			s->hooks |= 1 << k;
	return 0;
}

static int make_state_dir(struct create_ctx *c, struct hull_error **reterr)
{
	_cleanup_close_ int root = -EBADF;
	int r;

	r = state_root_open(c->rt, true, &root, reterr);
	if (r < 0)
		return r;
	if (mkdirat(root, c->id, 0700) < 0) {
		if (errno == EEXIST)
			return hull_error_set(reterr, -EEXIST, "container '%s' already exists",
					      c->id);
		return hull_error_errno(reterr, -errno, "create state of '%s' in '%s'", c->id,
					c->rt->root);
	}
	c->state_dir_made = true;
	c->dir_fd = openat(root, c->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dir_fd < 0)
		return hull_error_errno(reterr, -errno, "open state of '%s'", c->id);
	if (flock(c->dir_fd, LOCK_EX) < 0)
		return hull_error_errno(reterr, -errno, "lock '%s'", c->id);
	if (mkfifoat(c->dir_fd, FIFO_FILE, 0622) < 0)
		return hull_error_errno(reterr, -errno, "create exec fifo of '%s'", c->id);
	/* umask may have narrowed it; the container user must be able to open it */
	if (fchmodat(c->dir_fd, FIFO_FILE, 0622, 0) < 0)
		return hull_error_errno(reterr, -errno, "chmod exec fifo of '%s'", c->id);
	c->fifo_fd = openat(c->dir_fd, FIFO_FILE, O_PATH | O_CLOEXEC);
	if (c->fifo_fd < 0)
		return hull_error_errno(reterr, -errno, "open exec fifo of '%s'", c->id);
	return 0;
}

static int setup_cgroup(struct create_ctx *c, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = c->config->linux_config;
	int r;

	r = hull_cgroup_new(lc->cgroups_path, c->id, c->rt->systemd_cgroup, &c->cgroup, reterr);
	if (r < 0)
		return r;
	/* unprivileged, the device cgroup is not ours to program (runc ignores it too) */
	if (!c->rt->rootless) {
		r = runtime_add_default_device_rules(c->config);
		if (r < 0)
			return hull_error_errno(reterr, r, "device rules");
	} else if (lc->resources && lc->resources->n_devices) {
		hull_warn("linux.resources.devices: ignored without root");
		lc->resources->n_devices = 0;
	}
	c->state->cgroup = strdup(hull_cgroup_path(c->cgroup));
	if (!c->state->cgroup)
		return hull_error_errno(reterr, -ENOMEM, "state");
	/* record the cgroup before making it, so a crash here is still cleaned by delete */
	r = state_save(c->dir_fd, c->state, reterr);
	if (r < 0)
		return r;
	c->cgroup_made = true;
	return hull_cgroup_create(c->cgroup, lc->resources,
				  c->rt->rootless ? HULL_CGROUP_ROOTLESS : 0, reterr);
}

static void create_rollback(struct create_ctx *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
	if (c->cgroup_made && c->cgroup) {
		_cleanup_error_ struct hull_error *err = NULL;

		if (hull_cgroup_destroy(c->cgroup, &err) < 0)
			hull_warn("%s", err->msg);
	}
	if (c->state_dir_made) {
		int r = container_dir_remove(c->rt, c->id);

		if (r < 0)
			hull_warn("remove state of '%s': %s", c->id, strerror(-r));
	}
}

/* What can be checked before anything runs: terminal and console socket, root.path, process, uts,
 * sysctl, seccomp. */
static int check_config(struct create_ctx *c, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = c->config->linux_config;
	int r;

	if (c->config->process->terminal && !c->o->console_socket && !c->keep_pty)
		return hull_error_set(
			reterr, -EINVAL,
			"process.terminal: needs --console-socket to hand over the pty");
	if (!c->config->process->terminal && c->o->console_socket)
		return hull_error_set(
			reterr, -EINVAL,
			"--console-socket: process.terminal is false, there is no pty");
	if (access(c->state->rootfs, F_OK) < 0)
		return hull_error_errno(reterr, -errno, "root.path '%s'", c->state->rootfs);
	r = hull_process_validate(c->config->process, reterr);
	if (r >= 0)
		r = hull_uts_validate(c->config, reterr);
	if (r >= 0)
		r = hull_sysctl_validate(c->config, reterr);
	if (r < 0)
		return r;
	if (lc->seccomp) {
		uint64_t timeout;

		r = hull_seccomp_compile(lc->seccomp, &c->seccomp, reterr);
		if (r >= 0)
			r = hull_seccomp_listener_timeout(c->config->annotations, &timeout, reterr);
	}
	return r;
}

/* The container waits for start: the pty to --console-socket, state.json, --pid-file. */
static int hand_over(struct create_ctx *c, struct hull_error **reterr)
{
	int r;

	if (c->pty_master >= 0 && c->o->console_socket) {
		r = hull_console_socket_send(c->o->console_socket, c->pty_master, reterr);
		if (r < 0)
			return r;
		c->pty_master = safe_close(c->pty_master);
	}
	r = state_save(c->dir_fd, c->state, reterr);
	if (r < 0)
		return r;
	if (c->o->pid_file)
		return pid_file_write(c->o->pid_file, c->pid, reterr);
	return 0;
}

int container_create(struct create_ctx *c, struct hull_error **reterr)
{
	int r;

	c->bundle_fd = c->dir_fd = c->fifo_fd = c->pidfd = c->pty_master = -EBADF;
	c->sync[0] = c->sync[1] = -EBADF;
	for (int i = 0; i < _HULL_NS_MAX; i++)
		c->ns_fds[i] = -EBADF;

	/* first: before anything is opened or made, so a failure leaves nothing */
	r = spawn_check_preserved_fds(c->o->preserve_fds, reterr);
	if (r < 0)
		return r;
	r = hull_container_id_check(c->id, reterr);
	if (r < 0)
		return r;
	r = load_config(c, reterr);
	if (r < 0)
		return r;
	r = make_state_dir(c, reterr);
	if (r < 0)
		goto fail;
	/* keep a copy: exec, start and delete need the config after the bundle may be gone */
	r = hull_write_file_atomic_at(c->dir_fd, CONFIG_FILE, c->config_text, c->config_len, 0600,
				      0);
	if (r < 0) {
		r = hull_error_errno(reterr, r, "save config of '%s'", c->id);
		goto fail;
	}
	r = prepare_state(c, reterr);
	if (r < 0)
		goto fail;
	r = plan_namespaces(c, reterr);
	if (r < 0)
		goto fail;
	r = check_config(c, reterr);
	if (r < 0)
		goto fail;
	r = setup_cgroup(c, reterr);
	if (r < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sync) < 0) {
		r = hull_error_errno(reterr, -errno, "socketpair");
		goto fail;
	}
	/* the init's mapped root may not reach a bind source the runtime can */
	if (c->new_userns) {
		r = hull_mount_sources_open(c->config, c->bundle_fd, &c->mount_sources, reterr);
		if (r < 0)
			goto fail;
	}
	r = spawn_init(c, reterr);
	if (r < 0)
		goto fail;
	r = drive_setup(c, reterr);
	if (r == -EPIPE)
		r = explain_early_exit(c, reterr);
	if (r < 0)
		goto fail;
	c->sync[0] = safe_close(c->sync[0]);
	r = hand_over(c, reterr);
	if (r < 0)
		goto fail;
	return 0;
fail:
	create_rollback(c);
	return r;
}

int hull_container_create(const struct hull_runtime *rt, const char *id,
			  const struct hull_create_opts *o, struct hull_error **reterr)
{
	struct create_ctx c = { .rt = rt, .id = id, .o = o };
	int r;

	r = container_create(&c, reterr);
	create_ctx_done(&c);
	return r;
}
