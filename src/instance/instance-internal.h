/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the instance room's files; not part of its interface. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <sys/socket.h>

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

/* A deep copy of c (NULL on allocation failure). */
struct hull_instance_config *instance_config_dup(const struct hull_instance_config *c);

/* Writes <instance>/instance.json from c (atomically, synced). */
int instance_config_save(int dirfd, const struct hull_instance_config *c,
			 struct hull_error **reterr);

/* Makes profiles/ and the "default" profile when missing. */
int profile_home_init(struct hull_home *h, struct hull_error **reterr);

/* Writes profiles/<p->name>.json atomically (dfd: profiles/). */
int profile_write(int dfd, const struct hull_profile *p, struct hull_error **reterr);

/* Takes profiles/.lock (exclusive); returns its fd. */
int profile_lock(struct hull_home *h, struct hull_error **reterr);

/* c's profile list ("default" for an instance.json without one). */
char *const *instance_profiles(const struct hull_instance_config *c);

/* hull_instance_config_expand with `override` used in place of the stored profile of its name. */
int instance_config_expand_with(struct hull_home *h, const struct hull_instance_config *c,
				const struct hull_profile *override,
				struct hull_instance_config **ret, struct hull_error **reterr);

/*
 * For a running instance (its monitor alive): applies the limits.* keys whose
 * effective value differs between old and new through the runtime's update
 * (an unset limit: unlimited).  Nothing to do: 0.
 */
int instance_apply_live(struct hull_home *h, int dirfd, const char *name,
			const struct hull_instance_config *old_eff,
			const struct hull_instance_config *new_eff, struct hull_error **reterr);

/* Sets a new instance's profile list (NULL: "default"), each checked to exist. */
int instance_init_profiles(struct hull_home *h, struct hull_instance_config *c,
			   char *const *profiles, struct hull_error **reterr);

/* The number of snapshots in <instance>/snapshots. */
size_t instance_count_snapshots(int dirfd);

/* True when c's security.privileged is "true". */
bool instance_privileged(const struct hull_instance_config *c);

/*
 * Before a start (the instance stopped and unmounted): when the files of the
 * upper directory use the other ids than `privileged` wants (host ids for a
 * privileged instance, its own range otherwise), shifts them (a shifted copy
 * swapped in with one rename) and records it in instance.json.  Refused
 * while the instance has snapshots.
 */
int instance_storage_align(struct hull_home *h, int dirfd, struct hull_instance_config *own,
			   bool privileged, struct hull_error **reterr);

struct hull_storage_idshift;
/*
 * Copies every snapshot of the instance at src_dfd into the new instance
 * directory dst_dfd (owners moved by `shift`, NULL: as they are), keeping
 * their names, snapshot.json and order.
 */
int instance_copy_snapshots(int src_dfd, int dst_dfd, const struct hull_storage_idshift *shift,
			    struct hull_error **reterr);

/* The names of all instances (directories with a valid name), sorted. */
int instance_list_names(struct hull_home *h, char ***ret, struct hull_error **reterr);

/* nic.c: whether c has nics; their ifupdown stanzas written into <dfd>/rootfs. */
bool instance_has_nics(const struct hull_instance_config *c);
/* After a stop: the nics' filters go (their host ends went with the namespace). */
void instance_nics_stopped(const struct hull_instance_config *c);
/*
 * Before the namespace of netns_fd (held open by the monitor past init's
 * exit) goes: its physical nics go back to the caller's namespace under their
 * host names (a moved-in interface would otherwise die with it if virtual, or
 * land in the initial namespace if not).
 */
int instance_nics_return(const struct hull_instance_config *c, int netns_fd,
			 struct hull_error **reterr);
int instance_nics_write_config(int dfd, const struct hull_instance_config *c, bool privileged,
			       struct hull_error **reterr);

/* A createRuntime hook's state (stdin): the container's pid and (when asked) its bundle. */
int instance_hook_state(const char *state_json, size_t len, int *ret_pid, char **ret_bundle,
			struct hull_error **reterr);

/*
 * proxy.c: the proxy devices of a running instance, served by its monitor:
 * each listens in the monitor's network namespace and connects inside the
 * one of init_pid.  No proxy device: *ret is NULL and 0 is returned.
 */
struct instance_proxy;
int instance_proxy_start(const struct hull_instance_config *c, pid_t init_pid,
			 struct instance_proxy **ret, struct hull_error **reterr);
void instance_proxy_free(struct instance_proxy *px);
/* The fd to poll for POLLIN (-EBADF without proxies), then call dispatch. */
int instance_proxy_fd(const struct instance_proxy *px);
void instance_proxy_dispatch(struct instance_proxy *px);
/* Parses "tcp:ADDR:PORT" ("tcp:[V6]:PORT"); -EPROTONOSUPPORT for other protocols. */
struct sockaddr_storage;
int instance_proxy_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);
