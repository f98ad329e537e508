/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System containers: instances of a system image, each a whole distro with its
 * own init, unprivileged, managed like a small machine.
 *
 * State lives under the state directory (--state-dir, $HULL_DIR, or
 * /var/lib/hull):
 *   images/                the image store (image/image.h)
 *   instances/<name>/      one directory per instance:
 *       instance.json      its configuration (hull_instance_config)
 *       state.json         what the monitor last recorded
 *       config.json        the OCI config generated at each start
 *       monitor.lock       flock()ed by the instance's monitor while it lives
 *       lock               flock()ed by every command changing the instance
 *       upper/ work/       the overlayfs upper and work directories
 *       lower/ rootfs/     mount points: the id-mapped image, the overlay
 *       console.log        what init wrote on /dev/console
 *   instances/.lock        held while a name or an id range is allocated
 *   run/                   libhull's container state (the runtime root)
 *   cache/                 downloaded packages of image builds
 * Every file is written atomically (temp file + fsync + rename).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/image.h"
#include "runtime/container.h"
#include "util/error.h"

#define HULL_DEFAULT_STATE_DIR "/var/lib/hull"
#define HULL_ID_RANGE 65536u

struct hull_home {
	char *path; /* absolute */
	int fd;
	int instances_fd;
	struct hull_image_store *images;
	struct hull_runtime rt; /* runtime root: <path>/run */
	char *cache_path;	/* <path>/cache */
};

/*
 * Opens the state directory `path`, or $HULL_DIR when path is NULL, or
 * /var/lib/hull; creates it and its subdirectories when missing.
 */
int hull_home_open(const char *path, struct hull_home **ret, struct hull_error **reterr);
void hull_home_free(struct hull_home *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_home *, hull_home_free)

/* ---- instance configuration (instance.json) ---------------------------- */

struct hull_instance_config {
	char *name;
	char *image;	 /* fingerprint */
	char *image_ref; /* what the user named: an alias or a fingerprint */
	char *created;	 /* RFC 3339 */
	uint32_t uid_base, gid_base, id_count;
	char **config;	       /* user keys: alternating key, value; sorted by key */
	char **profiles;       /* applied in order; NULL (instance.json without them): "default" */
	bool storage_host_ids; /* upper/ holds host ids (privileged), not the range's */
	char **devices;	       /* "DEV.KEY", value pairs, sorted ("eth0.type", "nic") */
};

void hull_instance_config_free(struct hull_instance_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_instance_config *, hull_instance_config_free)

/* Parses instance.json; errors name the field ("uid_base: expected a number"). */
int hull_instance_config_parse(const char *text, size_t len, struct hull_instance_config **ret,
			       struct hull_error **reterr);
/* The JSON text of a config (malloc'ed), NULL on allocation failure. */
char *hull_instance_config_format(const struct hull_instance_config *c);

/* Names: 1-63 of [a-zA-Z0-9-], starting with a letter (a valid hostname). */
int hull_instance_name_check(const char *name, struct hull_error **reterr);

/*
 * Checks one "key=value" setting: known keys are limits.memory (bytes, with
 * k/m/g suffixes), limits.processes (a number), limits.cpu (a number of
 * CPUs, up to three decimals), security.privileged (true/false),
 * boot.autostart (true/false), boot.autostart.delay (seconds),
 * boot.autostart.priority (an integer) and user.* (free text).
 */
int hull_instance_key_check(const char *key, const char *value, struct hull_error **reterr);
/* True for a key hull_instance_key_check knows (whatever its value). */
bool hull_instance_key_known(const char *key);

/* Sets (replacing) or removes key in c->config (unchecked: see hull_instance_key_check). */
int hull_instance_config_set(struct hull_instance_config *c, const char *key, const char *value);
bool hull_instance_config_unset(struct hull_instance_config *c, const char *key);

/*
 * Changes one key of an instance's config (value NULL: removes it), checked
 * as at init.  For a running instance, limits.* are applied to its cgroups
 * first (the runtime's update) and the change is persisted only when that
 * worked.  Removing a limit makes it unlimited.
 */
int hull_instance_config_update(struct hull_home *h, const char *name, const char *key,
				const char *value, struct hull_error **reterr);

/* The value of key in c->config, or NULL. */
const char *hull_instance_config_get(const struct hull_instance_config *c, const char *key);

/* ---- devices (hull config device ...) ------------------------------------ */

/*
 * Adds device `dev` of `type` with "key=value" settings to an instance.
 * A `nic` (stopped instances only): network=NET (required, a hull network),
 * name= (the interface inside, default DEV), hwaddr= (default: a stable MAC
 * from the instance and device names), ipv4.address= (a fixed DHCP address).
 * disk, unix-char, unix-block, gpu, usb (docs/devices.md): a running
 * instance gets the device at once, and it is recorded only when that worked.
 */
int hull_instance_device_add(struct hull_home *h, const char *name, const char *dev,
			     const char *type, char *const *settings, struct hull_error **reterr);
/*
 * Removes a device (a nic from a stopped instance only; the others are taken
 * out of a running one at once); -ENOENT naming it when there is none.
 */
int hull_instance_device_remove(struct hull_home *h, const char *name, const char *dev,
				struct hull_error **reterr);
/* The value of DEV.KEY in c, or NULL. */
const char *hull_instance_device_get(const struct hull_instance_config *c, const char *dev,
				     const char *key);
/* The name of an instance with a nic on `network` (a new string), or 0 when none. */
int hull_instance_network_user(struct hull_home *h, const char *network, char **ret_name);
/* The "ADDR (DEV)" of each nic of c with a lease on its network (a strv, maybe empty). */
char **hull_instance_ipv4(struct hull_home *h, const struct hull_instance_config *c);
/* The createRuntime hook that plugs an instance's nics into its new namespace. */
int hull_instance_nic_hook(const char *state_json, size_t len, struct hull_error **reterr);

/* ---- profiles (profiles/<name>.json) ------------------------------------ */

struct hull_profile {
	char *name;
	char *description;
	char **config; /* alternating key, value */
};

void hull_profile_free(struct hull_profile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_profile *, hull_profile_free)

/* Profile names: 1-63 of [a-zA-Z0-9._-], starting with a letter or digit. */
int hull_profile_name_check(const char *name, struct hull_error **reterr);
/* -ENOENT with "unknown profile 'NAME'". */
int hull_profile_get(struct hull_home *h, const char *name, struct hull_profile **ret,
		     struct hull_error **reterr);
/* All profiles' names, sorted. */
int hull_profile_list(struct hull_home *h, char ***ret, struct hull_error **reterr);
/* The instances whose profile list names `name`, sorted. */
int hull_profile_used_by(struct hull_home *h, const char *name, char ***ret,
			 struct hull_error **reterr);
int hull_profile_create(struct hull_home *h, const char *name, const char *description,
			struct hull_error **reterr);
/*
 * Sets (value NULL: removes) one key of a profile, checked as instance keys
 * are.  The running instances using it get the new effective limits.* first
 * (the runtime's update); if one refuses, those already changed are put back
 * and nothing is written.
 */
int hull_profile_update(struct hull_home *h, const char *name, const char *key, const char *value,
			struct hull_error **reterr);
/* Refused for "default" and for a profile some instance uses. */
int hull_profile_delete(struct hull_home *h, const char *name, struct hull_error **reterr);
int hull_profile_copy(struct hull_home *h, const char *name, const char *new_name,
		      struct hull_error **reterr);
/* Renames a profile (not "default") and every instance's reference to it. */
int hull_profile_rename(struct hull_home *h, const char *name, const char *new_name,
			struct hull_error **reterr);
enum hull_profiles_op {
	HULL_PROFILES_SET,    /* the list becomes `profiles` (LXD's assign) */
	HULL_PROFILES_ADD,    /* profiles[0] appended (LXD's add) */
	HULL_PROFILES_REMOVE, /* profiles[0] taken out (LXD's remove) */
};

/*
 * Changes an instance's profile list (each must exist, no repeats); a
 * running instance gets its new effective limits.* at once.
 */
int hull_instance_profiles_change(struct hull_home *h, const char *name, enum hull_profiles_op op,
				  char *const *profiles, struct hull_error **reterr);
/*
 * The effective config of an instance: a copy of c whose keys are its
 * profiles' keys, in order, then its own.
 */
int hull_instance_config_expand(struct hull_home *h, const struct hull_instance_config *c,
				struct hull_instance_config **ret, struct hull_error **reterr);

/* ---- subordinate ids ---------------------------------------------------- */

struct hull_id_range {
	uint32_t start, count;
};

/*
 * Reads the ranges of user `user` from an /etc/subuid-format file.  None:
 * -ENOENT with a message telling how to add one.
 */
int hull_subid_read(const char *file, const char *user, struct hull_id_range **ret, size_t *ret_n,
		    struct hull_error **reterr);

/*
 * The lowest 65536-id block inside `ranges` overlapping none of `used`
 * (each used[i] a block start); -ENOSPC when all are taken.
 */
int hull_subid_allocate(const struct hull_id_range *ranges, size_t n_ranges, const uint32_t *used,
			size_t n_used, uint32_t *ret);

/* ---- lifecycle ---------------------------------------------------------- */

enum hull_instance_status {
	HULL_INSTANCE_STOPPED,
	HULL_INSTANCE_RUNNING,
	HULL_INSTANCE_ERROR, /* the monitor died while the instance ran */
};

const char *hull_instance_status_name(enum hull_instance_status s);

struct hull_instance_info {
	struct hull_instance_config *config;
	enum hull_instance_status status;
	pid_t init_pid;	   /* 0 unless running */
	pid_t monitor_pid; /* 0 unless running */
	char *started;	   /* RFC 3339 or NULL */
	int last_exit;	   /* init's exit code (128+n for a signal), -1 unknown */
	char *error;	   /* why the status is ERROR, or NULL */
	size_t snapshots;  /* how many snapshots it has */
	char **ipv4;	   /* running: "ADDR (DEV)" of each nic with a DHCP lease */
};

void hull_instance_info_free(struct hull_instance_info *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_instance_info *, hull_instance_info_free)
void hull_instance_info_list_free(struct hull_instance_info **l, size_t n);

struct hull_init_opts {
	char **config;			       /* "key=value" settings; may be NULL */
	char **profiles;		       /* NULL: "default"; an empty list: none */
	bool instance_only;		       /* copy: without the source's snapshots */
	const char *subuid_file, *subgid_file; /* NULL: /etc/subuid, /etc/subgid */
};

/* Creates a stopped instance of an image: all or nothing. */
int hull_instance_init(struct hull_home *h, const char *image_ref, const char *name,
		       const struct hull_init_opts *o, struct hull_error **reterr);

/*
 * Starts an instance: mounts its rootfs, generates its OCI config, and
 * double-forks its monitor, which creates and starts the container and lives
 * as long as the container's init.  Returns once init runs (or with the
 * error the monitor reported).
 */
int hull_instance_start(struct hull_home *h, const char *name, struct hull_error **reterr);

/*
 * Stops an instance: SIGRTMIN+3 to init (systemd's "halt"), up to `timeout`
 * seconds for it to exit, then SIGKILL.  `force` kills at once.
 */
int hull_instance_stop(struct hull_home *h, const char *name, unsigned timeout, bool force,
		       struct hull_error **reterr);

/* Removes a stopped instance (with `force`, stops it first) and all it owned. */
int hull_instance_delete(struct hull_home *h, const char *name, bool force,
			 struct hull_error **reterr);

int hull_instance_get(struct hull_home *h, const char *name, struct hull_instance_info **ret,
		      struct hull_error **reterr);
/* All instances, sorted by name. */
int hull_instance_list(struct hull_home *h, struct hull_instance_info ***ret, size_t *ret_n,
		       struct hull_error **reterr);

/*
 * The instances `hull start --all` starts, in order: with `autostart_only`
 * those whose boot.autostart is true, by boot.autostart.priority (highest
 * first), then by name; otherwise all, by name.  ret_delays[i] is the
 * boot.autostart.delay of ret_names[i] (seconds to wait after starting it).
 */
int hull_instance_autostart_order(struct hull_home *h, bool autostart_only, char ***ret_names,
				  unsigned **ret_delays, struct hull_error **reterr);

/* True when some instance uses image `fingerprint` (name of the first in *ret_name). */
int hull_instance_image_in_use(struct hull_home *h, const char *fingerprint, char **ret_name);

struct hull_instance_exec_opts {
	char **args;
	char **env; /* "K=V", added to (or replacing in) the instance's environment */
	const char *cwd;
	bool user_set;
	uint32_t uid, gid;
	bool terminal; /* a pty (stdin must be a terminal) instead of the caller's stdio */
};

/* Runs a command in a running instance and stores its exit status (128+n for a signal). */
int hull_instance_exec(struct hull_home *h, const char *name,
		       const struct hull_instance_exec_opts *o, int *ret_exit,
		       struct hull_error **reterr);

/* ---- snapshots and copies (snapshots/<snap>/upper in the instance dir) ---- */

struct hull_snapshot_info {
	char *name;
	char *created;	  /* RFC 3339 */
	uint64_t made_ns; /* when snapshot.json was written (orders snapshots) */
};

void hull_snapshot_info_list_free(struct hull_snapshot_info *l, size_t n);

/* Snapshot names: 1-63 of [a-zA-Z0-9._-], starting with a letter or digit. */
int hull_snapshot_name_check(const char *snap, struct hull_error **reterr);

/*
 * Snapshots an instance's upper directory as `snap` (NULL: the first free
 * snapN, returned in *ret_snap when not NULL).  A running instance is
 * frozen (the runtime's pause) for the copy.  All or nothing.
 */
int hull_instance_snapshot_create(struct hull_home *h, const char *name, const char *snap,
				  char **ret_snap, struct hull_error **reterr);
/* The snapshots of an instance, oldest first. */
int hull_instance_snapshot_list(struct hull_home *h, const char *name,
				struct hull_snapshot_info **ret, size_t *ret_n,
				struct hull_error **reterr);
int hull_instance_snapshot_delete(struct hull_home *h, const char *name, const char *snap,
				  struct hull_error **reterr);

/*
 * Puts a stopped instance's upper directory back to snapshot `snap`
 * (swapped in with one rename).  A running instance is refused (-EBUSY).
 */
int hull_instance_restore(struct hull_home *h, const char *name, const char *snap,
			  struct hull_error **reterr);

/*
 * Makes `new_name`, a stopped instance of the same image and config with its
 * own id range, whose upper directory is a copy of `name`'s with owners
 * shifted to the new range (a running source is frozen for the copy).
 * The source's snapshots are copied too (shifted likewise) unless
 * o->instance_only.
 */
int hull_instance_copy(struct hull_home *h, const char *name, const char *new_name,
		       const struct hull_init_opts *o, struct hull_error **reterr);

/* ---- files (hull file push|pull) ------------------------------------------ */

/*
 * Copies the regular file at `path` inside the instance to out_fd.  The path
 * is resolved inside the instance's rootfs (openat2 RESOLVE_IN_ROOT): its
 * symlinks never lead out of it.  A stopped instance's rootfs is mounted for
 * the call.
 */
int hull_instance_file_pull(struct hull_home *h, const char *name, const char *path, int out_fd,
			    struct hull_error **reterr);

/*
 * Writes in_fd's content to `path` inside the instance, owned by the
 * instance's uid:gid (below its range's size) with `mode`: a temp file in
 * the parent directory (resolved inside the rootfs) renamed over the name,
 * so a symlink at `path` is replaced, never followed.
 */
int hull_instance_file_push(struct hull_home *h, const char *name, const char *path, int in_fd,
			    uint32_t uid, uint32_t gid, mode_t mode, struct hull_error **reterr);

/*
 * The createRuntime hook of an instance's container (`hull __delegate-cgroups
 * UID GID`, the OCI state JSON on stdin): chowns init's cgroups to the
 * instance's root so that systemd inside can manage its own sub-cgroups.
 */
int hull_instance_delegate_hook(const char *state_json, size_t len, uint32_t uid, uint32_t gid,
				struct hull_error **reterr);

/*
 * The console attach protocol (instances/<name>/console.attach, a
 * SOCK_SEQPACKET socket): each client packet is one type byte and its
 * payload; the monitor sends the console's output as plain packets.
 */
#define HULL_CONSOLE_DATA 'd'	 /* bytes to type on the console */
#define HULL_CONSOLE_WINSIZE 'w' /* a struct winsize: the client's terminal size */
#define HULL_CONSOLE_DATA_MAX 4096

/*
 * The monitor's body (internal; exported for the double-forked child).
 * Never returns.
 */
_noreturn_ void hull_monitor_main(struct hull_home *h, const char *name, int notify_fd);
