/* SPDX-License-Identifier: Apache-2.0 */
/* start, kill, delete, pause, resume, ps, update, events --stats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/seccomp.h"
#include "runtime/create-internal.h"
#include "runtime/runtime-internal.h"
#include "runtime/seccomp-handoff.h"
#include "util/log.h"
#include "util/str.h"

static int pidfd_signal(int pidfd, int sig)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return -errno;
	return 0;
}

/* A created container paused before start would never read the fifo: refuse it. */
static int refuse_if_frozen(const struct hull_state *s, struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	bool frozen = false;

	if (state_cgroup(s, &cg, NULL) < 0 || !cg || hull_cgroup_is_frozen(cg, &frozen) < 0 ||
	    !frozen)
		return 0;
	return hull_error_set(reterr, -EBUSY,
			      "cannot start container '%s': it is paused (resume it first)", s->id);
}

/*
 * Does the container have a pid namespace of its own?  Recorded at create;
 * for an older state, asked of the live init, else of the saved config.
 */
static bool own_pidns(struct hull_state *s, int dir_fd)
{
	_cleanup_oci_config_ struct hull_oci_config *config = NULL;
	const struct hull_oci_namespace *ns;

	if (s->pidns == HULL_PIDNS_UNKNOWN)
		state_probe_pidns(s);
	if (s->pidns == HULL_PIDNS_UNKNOWN && dir_fd >= 0 &&
	    state_load_config(dir_fd, &config, NULL) >= 0) {
		ns = hull_oci_config_namespace(config, HULL_NS_PID);
		s->pidns = ns && !(ns->path && *ns->path) ? HULL_PIDNS_OWN : HULL_PIDNS_SHARED;
	}
	/* unknown either way: the cgroup is all there is (as runc) */
	return s->pidns == HULL_PIDNS_OWN;
}

int container_start_locked(const struct hull_runtime *rt, int dir_fd, struct hull_state *s,
			   struct hull_error **reterr)
{
	_cleanup_close_ int fifo = -EBADF, pidfd = -EBADF;
	_cleanup_oci_config_ struct hull_oci_config *config = NULL;
	struct pollfd pfd[2];
	uint64_t timeout = HULL_SECCOMP_TIMEOUT_DEFAULT_USEC;
	char byte;
	int r;

	if (s->status != HULL_STATUS_CREATED) {
		if (s->status == HULL_STATUS_STOPPED)
			return hull_error_set(reterr, -EINVAL,
					      "cannot start container '%s': it has stopped", s->id);
		return hull_error_set(reterr, -EINVAL,
				      "cannot start container '%s': it is %s, not created", s->id,
				      hull_status_name(s->status));
	}
	pidfd = state_open_pidfd(s);
	if (pidfd < 0)
		return hull_error_set(reterr, -ESRCH, "cannot start container '%s': it has stopped",
				      s->id);
	r = refuse_if_frozen(s, reterr);
	if (r < 0)
		return r;
	fifo = openat(dir_fd, FIFO_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		return hull_error_errno(reterr, -errno, "open exec fifo of '%s'", s->id);
	pfd[0] = (struct pollfd){ .fd = fifo, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	/* bounded: the process may be waiting for a seccomp agent that never answers */
	(void)hull_seccomp_listener_timeout(s->annotations, &timeout, NULL);
	for (;;) {
		r = RETRY_EINTR(poll(pfd, 2, (int)(timeout / 1000)));
		if (r < 0)
			return hull_error_errno(reterr, -errno, "wait for container '%s'", s->id);
		if (r == 0)
			return seccomp_handoff_start_timeout(s->id, s->pid, timeout, reterr);
		if (pfd[0].revents & POLLIN) {
			if (read(fifo, &byte, 1) == 1)
				break;
		}
		if (pfd[1].revents)
			return hull_error_set(reterr, -ESRCH,
					      "cannot start container '%s': its process exited",
					      s->id);
	}
	(void)unlinkat(dir_fd, FIFO_FILE, 0);
	s->started = true;
	s->status = HULL_STATUS_RUNNING;
	r = state_save(dir_fd, s, reterr);
	if (r < 0)
		return r;
	if (!state_has_hooks(s, HULL_HOOK_POSTSTART))
		return 0;
	r = state_load_config(dir_fd, &config, reterr);
	if (r < 0)
		return r;
	/* runtime-spec: a failing poststart hook is a warning; the others still run */
	state_run_hooks_each(config, HULL_HOOK_POSTSTART, s, HULL_STATUS_RUNNING);
	(void)rt;
	return 0;
}

int hull_container_start(const struct hull_runtime *rt, const char *id, struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = container_open_state(rt, id, true, &fd, &s, reterr);
	if (r < 0)
		return r;
	return container_start_locked(rt, fd, s, reterr);
}

/*
 * kill --all.  With a pid namespace of its own, only the processes in it (or
 * in namespaces below it) are signalled: a host process that shares the
 * cgroup is never hit, and once the init is gone nothing of the container is
 * left.  Without one, cgroup membership is all there is (runc's
 * signalAllProcesses).
 */
static int kill_all(struct hull_state *s, int dir_fd, struct hull_cgroup *cg, int sig,
		    struct hull_error **reterr)
{
	_cleanup_close_ int pidfd = -EBADF, nsfd = -EBADF;
	char path[64];
	int r;

	if (s->status != HULL_STATUS_STOPPED)
		pidfd = state_open_pidfd(s);
	if (!own_pidns(s, dir_fd)) {
		r = hull_cgroup_kill(cg, sig, -EBADF, reterr);
		if (r < 0)
			return r;
		if (pidfd >= 0)
			(void)pidfd_signal(pidfd, sig);
		return 0;
	}
	if (pidfd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)s->pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	/* the init still alive after the open: the namespace is its */
	if (nsfd < 0 || pidfd_signal(pidfd, 0) < 0)
		return 0;
	r = hull_cgroup_kill(cg, sig, nsfd, reterr);
	if (r < 0)
		return r;
	(void)pidfd_signal(pidfd, sig);
	return 0;
}

int hull_container_kill(const struct hull_runtime *rt, const char *id, int sig, bool all,
			struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_close_ int fd = -EBADF, pidfd = -EBADF;
	int r;

	r = container_open_state(rt, id, false, &fd, &s, reterr);
	if (r < 0)
		return r;
	if (all) {
		_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;

		r = state_cgroup(s, &cg, reterr);
		if (r < 0)
			return r;
		if (cg)
			return kill_all(s, fd, cg, sig, reterr);
	}
	if (s->status == HULL_STATUS_STOPPED || s->status == HULL_STATUS_CREATING)
		return hull_error_set(reterr, -ESRCH, "container '%s' is not running", id);
	pidfd = state_open_pidfd(s);
	if (pidfd < 0)
		return hull_error_set(reterr, -ESRCH, "container '%s' is not running", id);
	r = pidfd_signal(pidfd, sig);
	if (r < 0)
		return hull_error_errno(reterr, r, "kill container '%s'", id);
	return 0;
}

/* SIGKILLs the init (thawing a frozen cgroup so the signal lands) and waits for it. */
static int kill_and_wait(struct hull_state *s, struct hull_cgroup *cg, struct hull_error **reterr)
{
	_cleanup_close_ int pidfd = state_open_pidfd(s);
	int r;

	if (pidfd < 0)
		return 0;
	r = pidfd_signal(pidfd, SIGKILL);
	if (r < 0 && r != -ESRCH)
		return hull_error_errno(reterr, r, "kill container '%s'", s->id);
	if (cg)
		(void)hull_cgroup_freeze(cg, false, NULL);
	r = pidfd_wait_exit(pidfd, 10000);
	if (r < 0)
		return hull_error_errno(reterr, r, "wait for container '%s' to exit", s->id);
	return 0;
}

/* Does pid hold an fd on one of the files `want` (n of them)? */
static bool holds_fd_on(pid_t pid, const struct stat *want, size_t n)
{
	char path[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (st.st_dev == want[i].st_dev && st.st_ino == want[i].st_ino)
				found = true;
	}
	closedir(d);
	return found;
}

/*
 * A create killed before it recorded the init's pid leaves that init behind,
 * blocked on the exec fifo, in its own pid namespace: no pid to kill it by.
 * It is the process of the cgroup that holds the exec fifo (or the state
 * directory) open; a host process sharing the cgroup holds neither.
 */
static void kill_unrecorded_init(int dir_fd, const struct hull_cgroup *cg)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct stat want[2];
	size_t n = 0, nwant = 0;

	if (fstat(dir_fd, &want[nwant]) == 0)
		nwant++;
	if (fstatat(dir_fd, FIFO_FILE, &want[nwant], AT_SYMLINK_NOFOLLOW) == 0)
		nwant++;
	if (nwant == 0 || hull_cgroup_pids(cg, &pids, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pids[i], 0);

		/* alive at the signal means it was this process during the scan */
		if (pidfd < 0 || !holds_fd_on(pids[i], want, nwant) ||
		    pidfd_signal(pidfd, SIGKILL) < 0)
			continue;
		hull_debug("kill the unrecorded init %d of '%s'", (int)pids[i],
			   hull_cgroup_path(cg));
		(void)pidfd_wait_exit(pidfd, 10000);
	}
}

/*
 * Ends the container and removes its cgroup.  With its own pid namespace,
 * killing the init ends every process of it; what is left in the cgroup
 * then is not the container's (a host process in a cgroup it joined): it is
 * neither signalled nor waited for, and the cgroup stays, with a warning.
 */
static int end_container(struct hull_state *s, int dir_fd, struct hull_cgroup *cg,
			 struct hull_error **reterr)
{
	_cleanup_error_ struct hull_error *err = NULL;
	bool own = own_pidns(s, dir_fd);
	int r;

	if (cg && !own) {
		r = hull_cgroup_kill(cg, SIGKILL, -EBADF, &err);
		if (r < 0)
			hull_warn("%s", err->msg);
		hull_error_free(TAKE_PTR(err));
	}
	r = kill_and_wait(s, cg, reterr);
	if (r < 0 || !cg)
		return r;
	if (own && s->pid <= 0 && dir_fd >= 0)
		kill_unrecorded_init(dir_fd, cg);
	r = hull_cgroup_destroy(cg, &err);
	if (r == -EBUSY && own) {
		hull_warn("%s, not the container's: the cgroup stays", err->msg);
		return 0;
	}
	if (r < 0 && reterr) {
		hull_error_free(*reterr);
		*reterr = TAKE_PTR(err);
	}
	return r;
}

int container_destroy_locked(const struct hull_runtime *rt, int dir_fd, struct hull_state *s,
			     struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_oci_config_ struct hull_oci_config *config = NULL;
	int r;

	r = state_cgroup(s, &cg, reterr);
	if (r < 0)
		return r;
	r = end_container(s, dir_fd, cg, reterr);
	if (r < 0)
		return r;
	/* runtime-spec: a failing poststop hook is a warning; delete goes on */
	if (s->bundle && state_has_hooks(s, HULL_HOOK_POSTSTOP) &&
	    state_load_config(dir_fd, &config, NULL) >= 0)
		state_run_hooks_each(config, HULL_HOOK_POSTSTOP, s, HULL_STATUS_STOPPED);
	r = container_dir_remove(rt, s->id);
	if (r < 0)
		return hull_error_errno(reterr, r, "remove state of '%s'", s->id);
	return 0;
}

int hull_container_delete(const struct hull_runtime *rt, const char *id, bool force,
			  struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	pid_t holder = 0;
	int r;

	r = container_dir_open_unlocked(rt, id, &fd, reterr);
	if (r == -ENOENT && force)
		return 0;
	if (r < 0)
		return r;
	r = container_dir_lock(fd, id, true, &holder, force ? NULL : reterr);
	if (r == -EBUSY && force) {
		/* what force means: the container goes, whoever sits on its lock */
		if (holder > 0)
			hull_warn("container '%s' is busy (held by pid %d): deleting it anyway "
				  "(--force)",
				  id, (int)holder);
		else
			hull_warn("container '%s' is busy: deleting it anyway (--force)", id);
	} else if (r < 0) {
		return r;
	}
	if (container_dir_deleted(fd))
		return force ? 0
			     : hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	r = state_load(fd, id, &s, reterr);
	if (r < 0) {
		if (!force)
			return r;
		/* unreadable state: remove what we can */
		return container_dir_remove(rt, id);
	}
	if (!force && (s->status == HULL_STATUS_RUNNING || s->status == HULL_STATUS_PAUSED))
		return hull_error_set(reterr, -EBUSY,
				      "cannot delete container '%s': it is %s (use --force)", id,
				      hull_status_name(s->status));
	return container_destroy_locked(rt, fd, s, reterr);
}

static int freeze(const struct hull_runtime *rt, const char *id, bool frozen,
		  struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_close_ int fd = -EBADF;
	enum hull_status want = frozen ? HULL_STATUS_RUNNING : HULL_STATUS_PAUSED;
	int r;

	r = container_open_state(rt, id, true, &fd, &s, reterr);
	if (r < 0)
		return r;
	if (s->status != want && !(frozen && s->status == HULL_STATUS_CREATED))
		return hull_error_set(reterr, -EINVAL, "container '%s' is %s, not %s", id,
				      hull_status_name(s->status), hull_status_name(want));
	r = state_cgroup(s, &cg, reterr);
	if (r < 0)
		return r;
	if (!cg)
		return hull_error_set(reterr, -EOPNOTSUPP, "container '%s' has no cgroup", id);
	return hull_cgroup_freeze(cg, frozen, reterr);
}

int hull_container_pause(const struct hull_runtime *rt, const char *id, struct hull_error **reterr)
{
	return freeze(rt, id, true, reterr);
}

int hull_container_resume(const struct hull_runtime *rt, const char *id, struct hull_error **reterr)
{
	return freeze(rt, id, false, reterr);
}

/*
 * Loads state and cgroup of a container that must exist (any status); only
 * `update` takes the lock: ps and stats only read.
 */
static int open_cgroup(const struct hull_runtime *rt, const char *id, bool need_running, bool lock,
		       struct hull_cgroup **ret, struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (lock)
		r = container_dir_open(rt, id, false, &fd, reterr);
	else
		r = container_dir_open_unlocked(rt, id, &fd, reterr);
	if (r >= 0)
		r = state_load(fd, id, &s, reterr);
	if (r < 0)
		return r;
	if (need_running && s->status == HULL_STATUS_STOPPED)
		return hull_error_set(reterr, -ESRCH, "container '%s' is not running", id);
	r = state_cgroup(s, ret, reterr);
	if (r < 0)
		return r;
	if (!*ret)
		return hull_error_set(reterr, -EOPNOTSUPP, "container '%s' has no cgroup", id);
	return 0;
}

int hull_container_pids(const struct hull_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
			struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	int r;

	r = open_cgroup(rt, id, false, false, &cg, reterr);
	if (r < 0)
		return r;
	return hull_cgroup_pids(cg, ret, ret_n, reterr);
}

int hull_container_update(const struct hull_runtime *rt, const char *id,
			  const struct hull_oci_resources *res, struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	int r;

	r = open_cgroup(rt, id, true, true, &cg, reterr);
	if (r < 0)
		return r;
	return hull_cgroup_update(cg, res, reterr);
}

int hull_container_update_devices(const struct hull_runtime *rt, const char *id,
				  const struct hull_oci_device_rule *rules, size_t n,
				  struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	struct hull_oci_resources res = {};
	struct hull_oci_linux lc = { .resources = &res };
	struct hull_oci_config conf = { .linux_config = &lc };
	int r;

	if (rt->rootless)
		return hull_error_set(
			reterr, -EPERM,
			"the device cgroup of '%s' is not ours to program without root", id);
	r = open_cgroup(rt, id, true, true, &cg, reterr);
	if (r < 0)
		return r;
	/* deny everything, then these rules and the defaults, as create wrote them */
	res.devices = calloc(n + 1, sizeof(*res.devices));
	if (!res.devices)
		return hull_error_errno(reterr, -ENOMEM, "device rules");
	res.devices[0] = (struct hull_oci_device_rule){ false, 'a', -1, -1, "rwm" };
	if (n)
		memcpy(res.devices + 1, rules, n * sizeof(*rules));
	res.n_devices = n + 1;
	r = runtime_add_default_device_rules(&conf);
	if (r >= 0)
		r = hull_cgroup_update(cg, &res, reterr);
	else
		hull_error_errno(reterr, r, "device rules");
	free(res.devices);
	return r;
}

int hull_container_stats(const struct hull_runtime *rt, const char *id, struct json_object **ret,
			 struct hull_error **reterr)
{
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	struct json_object *data = NULL, *o;
	int r;

	r = open_cgroup(rt, id, true, false, &cg, reterr);
	if (r < 0)
		return r;
	r = hull_cgroup_stats(cg, &data, reterr);
	if (r < 0)
		return r;
	o = json_object_new_object();
	if (!o) {
		json_object_put(data);
		return hull_error_errno(reterr, -ENOMEM, "stats");
	}
	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "data", data);
	*ret = o;
	return 0;
}

int hull_container_process(const struct hull_runtime *rt, const char *id,
			   struct hull_oci_process **ret, struct hull_error **reterr)
{
	_cleanup_oci_config_ struct hull_oci_config *config = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = container_dir_open_unlocked(rt, id, &fd, reterr);
	if (r < 0)
		return r;
	r = state_load_config(fd, &config, reterr);
	if (r < 0)
		return r;
	if (!config->process)
		return hull_error_set(reterr, -EINVAL, "container '%s' has no process", id);
	*ret = TAKE_PTR(config->process);
	return 0;
}
