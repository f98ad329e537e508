/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle behind hull-runtime: create, start, run, exec,
 * state, kill, delete, list, ps, pause, resume, update, events.
 *
 * State lives under a root directory (default /run/hull): one directory per
 * container holding state.json (written to a temp file and renamed), a copy
 * of config.json, and exec.fifo while the container is created but not yet
 * started.  Every mutating operation holds an flock() on the container's
 * directory.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "oci/config.h"
#include "util/error.h"

#define HULL_DEFAULT_ROOT "/run/hull"
#define HULL_OCI_VERSION "1.1.0"

struct hull_runtime {
	const char *root;    /* state root */
	bool systemd_cgroup; /* --systemd-cgroup */
	bool rootless;	     /* running without host root (euid != 0) */
};

enum hull_status {
	HULL_STATUS_CREATING,
	HULL_STATUS_CREATED,
	HULL_STATUS_RUNNING,
	HULL_STATUS_PAUSED,
	HULL_STATUS_STOPPED,
};

const char *hull_status_name(enum hull_status s);

/*
 * Whether the container's init is the init of a pid namespace of its own: then
 * killing it ends every process of the container (the kernel does it), and
 * nothing is ever signalled by cgroup membership, which a host process may
 * share.
 */
enum hull_pidns {
	HULL_PIDNS_UNKNOWN, /* not recorded (a state.json of an older hull) */
	HULL_PIDNS_OWN,
	HULL_PIDNS_SHARED, /* the host's or one joined by path */
};

/* The state of one container, as `state` and `list` report it. */
struct hull_state {
	char *id;
	pid_t pid; /* 0 when stopped */
	enum hull_status status;
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *owner;
	char **annotations; /* alternating key, value */
	char *cgroup;	    /* resolved cgroup path */
	uint64_t pid_start; /* start time of pid in clock ticks, guards against pid reuse */
	bool started;
	bool systemd_cgroup;
	int hooks; /* bit (1 << kind) per hook kind the config has; -1 when unknown */
	enum hull_pidns pidns;
};

void hull_state_free(struct hull_state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_state *, hull_state_free)

/* The runtime-spec state JSON (ociVersion, id, status, pid, bundle, annotations, ...). */
struct json_object *hull_state_to_json(const struct hull_state *s);

/* Checks a container id: non-empty, [A-Za-z0-9_+.-], not "." or "..". */
int hull_container_id_check(const char *id, struct hull_error **reterr);

struct hull_create_opts {
	const char *bundle;	    /* bundle directory (made absolute) */
	const char *console_socket; /* may be NULL */
	const char *pid_file;	    /* may be NULL */
	bool no_pivot;
	bool no_new_keyring;
	unsigned preserve_fds; /* fds 3 .. 3+n-1 are passed to the container */
};

int hull_container_create(const struct hull_runtime *rt, const char *id,
			  const struct hull_create_opts *o, struct hull_error **reterr);
int hull_container_start(const struct hull_runtime *rt, const char *id, struct hull_error **reterr);

/*
 * create + start.  Detached: returns once started.  Otherwise waits for the
 * container's init, forwarding signals (and the terminal when process.terminal
 * is set and no console socket was given), deletes the container, and stores
 * the exit code in *ret_exit (128+n for a signal, as runc).
 */
int hull_container_run(const struct hull_runtime *rt, const char *id,
		       const struct hull_create_opts *o, bool detach, bool keep, int *ret_exit,
		       struct hull_error **reterr);

int hull_container_state(const struct hull_runtime *rt, const char *id, struct hull_state **ret,
			 struct hull_error **reterr);
/* All containers under the root, sorted by id. */
int hull_container_list(const struct hull_runtime *rt, struct hull_state ***ret, size_t *ret_n,
			struct hull_error **reterr);
void hull_state_list_free(struct hull_state **l, size_t n);

int hull_container_kill(const struct hull_runtime *rt, const char *id, int sig, bool all,
			struct hull_error **reterr);
int hull_container_delete(const struct hull_runtime *rt, const char *id, bool force,
			  struct hull_error **reterr);
int hull_container_pause(const struct hull_runtime *rt, const char *id, struct hull_error **reterr);
int hull_container_resume(const struct hull_runtime *rt, const char *id,
			  struct hull_error **reterr);
int hull_container_pids(const struct hull_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
			struct hull_error **reterr);
int hull_container_update(const struct hull_runtime *rt, const char *id,
			  const struct hull_oci_resources *res, struct hull_error **reterr);
/*
 * Replaces the device cgroup rules of a running container with "deny all",
 * `rules`, then the defaults every container gets (as create writes them):
 * for devices added to or taken from a running container.
 */
int hull_container_update_devices(const struct hull_runtime *rt, const char *id,
				  const struct hull_oci_device_rule *rules, size_t n,
				  struct hull_error **reterr);
/* runc's `events --stats` object: {"type":"stats","id":..,"data":{..}}. */
int hull_container_stats(const struct hull_runtime *rt, const char *id, struct json_object **ret,
			 struct hull_error **reterr);

/* Receives each event of hull_container_events(); a negative return stops the stream. */
typedef int (*hull_event_fn)(struct json_object *event, void *userdata);

/*
 * runc's `events` stream: {"type":"stats",...} every `interval_ms` and
 * {"type":"oom","id":..} whenever the kernel OOM-kills a process of the
 * container.  Returns 0 once the container is gone (deleted: its state
 * directory or memory cgroup removed), -errno when it cannot be watched.
 * Holds no lock between events; every wait is bounded by `interval_ms` and a
 * one-second existence check.
 */
int hull_container_events(const struct hull_runtime *rt, const char *id, uint64_t interval_ms,
			  hull_event_fn fn, void *userdata, struct hull_error **reterr);

/*
 * The container's own process (from its saved config.json), for `exec`
 * to start from before applying its flags.
 */
int hull_container_process(const struct hull_runtime *rt, const char *id,
			   struct hull_oci_process **ret, struct hull_error **reterr);

struct hull_exec_opts {
	const char *console_socket;
	const char *pid_file;
	bool detach;
	/* exec into a paused container: the process starts frozen (runc --ignore-paused) */
	bool ignore_paused;
	unsigned preserve_fds;
	char **cgroup_subs; /* --cgroup [CONTROLLER[,..]:]PATH: sub-cgroups to run in */
};

/*
 * Runs `p` inside a running container.  Detached: returns once the process
 * runs (its pid in the pid file).  Otherwise waits and stores its exit code.
 */
int hull_container_exec(const struct hull_runtime *rt, const char *id,
			const struct hull_oci_process *p, const struct hull_exec_opts *o,
			int *ret_exit, struct hull_error **reterr);

/* Features JSON (runtime-spec features.md). */
struct json_object *hull_runtime_features(void);
