/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the instance room's files; not part of its interface. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "instance/instance.h"

/* limits.cpu ("2", "0.5"; 0.01 to 1024) in thousandths of a CPU. */
int instance_parse_cpus(const char *s, uint64_t *ret_millis);

/* The CFS period hull uses for limits.cpu, in microseconds. */
#define INSTANCE_CPU_PERIOD_US 100000u

/* Bytes of limits.memory (0 when unset). */
uint64_t instance_memory_limit(const struct hull_instance_config *c);

/* Opens instances/<name> (O_DIRECTORY); -ENOENT with "unknown instance '<name>'". */
int instance_open(struct hull_home *h, const char *name, struct hull_error **reterr);

/* Reads and parses <instance>/instance.json. */
int instance_config_load(int dirfd, struct hull_instance_config **ret, struct hull_error **reterr);

/* flock()s <instance>/lock exclusively; returns the lock fd. */
int instance_lock(int dirfd, struct hull_error **reterr);

/* True while the instance's monitor holds monitor.lock. */
bool instance_monitor_alive(int dirfd);

/* Writes state.json: {"status", "init_pid", "monitor_pid", "started", "last_exit"}. */
int instance_state_write(int dirfd, const char *status, pid_t init_pid, pid_t monitor_pid,
			 const char *started, int last_exit);

/* The OCI config of a system container for this instance (rootfs at <bundle>/rootfs). */
struct json_object *instance_oci_config(const struct hull_instance_config *c);
/* Writes <instance>/config.json from c (atomically). */
int instance_oci_write(int dirfd, const struct hull_instance_config *c, struct hull_error **reterr);

/*
 * Puts the instance back at rest after its container is gone or the monitor
 * died: deletes the runtime's container (force), unmounts the rootfs, records
 * `last_exit` as stopped.
 */
int instance_cleanup(struct hull_home *h, int dirfd, const char *name, int last_exit,
		     struct hull_error **reterr);

/* The current time as RFC 3339 UTC in buf[32]. */
void instance_now(char buf[32]);

/* Chowns the cgroups of pid (each hierarchy, not their roots) to uid:gid. */
int instance_cgroup_delegate(pid_t pid, uid_t uid, gid_t gid, struct hull_error **reterr);

/*
 * A free block of subordinate uids and gids for a new instance (the caller
 * holds instances/.lock).
 */
int instance_allocate_ids(struct hull_home *h, const struct hull_init_opts *o, uint32_t *ret_uid,
			  uint32_t *ret_gid, struct hull_error **reterr);

/*
 * Takes instances/.lock (exclusive) for making instance 'name'; returns the
 * lock fd, or -EEXIST when an instance 'name' already exists.
 */
int instance_new_lock(struct hull_home *h, const char *name, struct hull_error **reterr);

/*
 * Opens the new instance directory 'tmp' (made by the caller under
 * instances_fd) and prepares its storage for c's ids; returns its fd.
 * 'name' is the instance's final name, for messages.
 */
int instance_dir_open(int instances_fd, const char *tmp, const char *name,
		      const struct hull_instance_config *c, struct hull_error **reterr);

/*
 * Makes a new instance directory whole: owned by c's root with mode 0100,
 * instance.json (text) written atomically and synced, state "stopped".
 */
int instance_dir_finish(int dfd, const char *name, const struct hull_instance_config *c,
			const char *text, struct hull_error **reterr);
