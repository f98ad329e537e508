/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the runtime room. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/config.h"
#include "runtime/container.h"
#include "util/error.h"

struct hull_cgroup;

#define STATE_FILE "state.json"
#define CONFIG_FILE "config.json"
#define FIFO_FILE "exec.fifo"

/* Creates the root directory if needed and returns its fd. */
int state_root_open(const struct hull_runtime *rt, bool create, int *ret_fd,
		    struct hull_error **reterr);

/*
 * Opens <root>/<id> and takes its lock (exclusive or shared, bounded: see
 * container_dir_lock()).  -ENOENT with "container 'x' does not exist" when
 * missing.
 */
int container_dir_open(const struct hull_runtime *rt, const char *id, bool exclusive, int *ret_fd,
		       struct hull_error **reterr);

/*
 * Takes the lock of a container directory, waiting at most a few seconds for
 * another holder (which may be stuck for good); then -EBUSY with "container
 * 'x' is busy (held by pid N)", and *ret_holder (may be NULL) is N (0 when
 * unknown).
 */
int container_dir_lock(int fd, const char *id, bool exclusive, pid_t *ret_holder,
		       struct hull_error **reterr);
/* Was the container deleted meanwhile (its directory unlinked, state.json gone)? */
bool container_dir_deleted(int fd);
/* The pid holding an flock() on `fd`'s file, from /proc/locks; 0 when unknown. */
pid_t container_lock_holder(int fd);
/* Opens <root>/<id> without taking its lock: for read-only commands (state, ps, stats). */
int container_dir_open_unlocked(const struct hull_runtime *rt, const char *id, int *ret_fd,
				struct hull_error **reterr);

/* container_dir_open() + state_load(): the locked dir fd and the live state. */
int container_open_state(const struct hull_runtime *rt, const char *id, bool exclusive, int *ret_fd,
			 struct hull_state **ret, struct hull_error **reterr);

/*
 * The runtime-spec containerProcessState JSON of process `pid` for the seccomp
 * agent (malloc'd; NULL when out of memory).
 */
char *state_container_process_state(const struct hull_oci_seccomp *sc, const struct hull_state *s,
				    pid_t pid, enum hull_status status);

/* Reads state.json and computes the live status from the pid and the freezer. */
int state_load(int dirfd, const char *id, struct hull_state **ret, struct hull_error **reterr);
/* Writes state.json atomically (recording s->pidns the first time a pid is known). */
int state_save(int dirfd, struct hull_state *s, struct hull_error **reterr);

/*
 * Whether the config may have hooks of `kind` (recorded at create, so start
 * and delete parse the saved config only when there is a hook to run).
 */
bool state_has_hooks(const struct hull_state *s, enum hull_oci_hook_kind kind);

/* Loads the copy of config.json saved in the container's directory. */
int state_load_config(int dirfd, struct hull_oci_config **ret, struct hull_error **reterr);

/*
 * The start time (clock ticks since boot, /proc/PID/stat field 22) of pid;
 * *ret_zombie tells if it is a zombie or dead.  -ESRCH when gone.
 */
int proc_pid_start_time(pid_t pid, uint64_t *ret, bool *ret_zombie);

/*
 * Sets s->pidns from the live init (/proc/PID/status NSpid: 1 innermost means
 * it is the init of its own pid namespace); unchanged when it is gone.
 * state_save() records it the first time it writes a pid.
 */
void state_probe_pidns(struct hull_state *s);

/* Opens a pidfd for the container's init if it is still the same process; -ESRCH otherwise. */
int state_open_pidfd(const struct hull_state *s);

/* Waits until the process behind pidfd exits, up to timeout_ms; -ETIMEDOUT after. */
int pidfd_wait_exit(int pidfd, int timeout_ms);

/* Writes `pid` followed by nothing into `path` atomically (runc's --pid-file). */
int pid_file_write(const char *path, pid_t pid, struct hull_error **reterr);

/* Runs the hooks of `kind` with the state JSON of `s` (status overridden by `status`). */
int state_run_hooks(const struct hull_oci_config *c, enum hull_oci_hook_kind kind,
		    const struct hull_state *s, enum hull_status status,
		    struct hull_error **reterr);

/* Runs each hook of `kind` on its own; failures are warnings (poststart, poststop). */
void state_run_hooks_each(const struct hull_oci_config *c, enum hull_oci_hook_kind kind,
			  const struct hull_state *s, enum hull_status status);

/* The state of a container whose cgroup is known: resolves it, or NULL when there is none. */
int state_cgroup(const struct hull_state *s, struct hull_cgroup **ret, struct hull_error **reterr);

/* Removes the container's directory (state, fifo, config copy). */
int container_dir_remove(const struct hull_runtime *rt, const char *id);

/* Current time as RFC 3339 with nanoseconds, UTC. */
char *now_rfc3339(void);

/* Appends runc's default device cgroup rules (and linux.devices) to the config's resources. */
int runtime_add_default_device_rules(struct hull_oci_config *c);
