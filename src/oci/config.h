/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime-spec (1.1, Linux) configuration model: config.json as C.
 *
 * The parser (config-parse.c) validates types, enumerations and ranges and
 * names the exact field path in its error ("process.user.uid: expected a
 * number"); consumers can rely on every enum/name below being valid.
 * Optional scalars carry a `set` flag.  Arrays are (pointer, count) pairs;
 * string lists are NULL-terminated strv; string maps are strv of alternating
 * key, value.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct hull_oi64 {
	int64_t v;
	bool set;
};

struct hull_ou64 {
	uint64_t v;
	bool set;
};

/* ---- process ---------------------------------------------------------- */

struct hull_oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t hard, soft;
};

struct hull_oci_caps {
	/* bit masks of CAP_* numbers; `*_set` says the list was present */
	uint64_t bounding, effective, inheritable, permitted, ambient;
	bool bounding_set, effective_set, inheritable_set, permitted_set, ambient_set;
};

struct hull_oci_user {
	uint32_t uid, gid;
	struct hull_ou64 umask; /* mode_t value when set */
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* informational (Windows); ignored on Linux */
};

struct hull_oci_io_priority {
	int class; /* IOPRIO_CLASS_RT/BE/IDLE */
	int priority;
	bool set;
};

struct hull_oci_scheduler {
	int policy; /* SCHED_* */
	int nice, priority;
	uint64_t flags; /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period;
	bool set;
};

struct hull_oci_process {
	bool terminal;
	struct {
		uint32_t height, width;
		bool set;
	} console_size;
	struct hull_oci_user user;
	char **args;
	char **env;
	char *cwd;
	struct hull_oci_caps caps;
	struct hull_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	struct hull_oi64 oom_score_adj;
	struct hull_oci_io_priority io_priority;
	struct hull_oci_scheduler scheduler;
};

/* ---- mounts ----------------------------------------------------------- */

struct hull_oci_idmap {
	uint32_t container_id, host_id, size;
};

struct hull_oci_mount {
	char *destination;
	char *type;   /* may be NULL (bind mounts) */
	char *source; /* may be NULL */
	char **options;
	struct hull_oci_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
};

/* ---- hooks ------------------------------------------------------------ */

struct hull_oci_hook {
	char *path;
	char **args;
	char **env;
	struct hull_oi64 timeout; /* seconds, > 0 when set */
};

enum hull_oci_hook_kind {
	HULL_HOOK_PRESTART,
	HULL_HOOK_CREATE_RUNTIME,
	HULL_HOOK_CREATE_CONTAINER,
	HULL_HOOK_START_CONTAINER,
	HULL_HOOK_POSTSTART,
	HULL_HOOK_POSTSTOP,
	_HULL_HOOK_MAX,
};

struct hull_oci_hooks {
	struct hull_oci_hook *hooks[_HULL_HOOK_MAX];
	size_t n_hooks[_HULL_HOOK_MAX];
};

/* "prestart", "createRuntime", ... */
const char *hull_oci_hook_kind_name(enum hull_oci_hook_kind k);

/* ---- linux ------------------------------------------------------------ */

enum hull_ns_type {
	HULL_NS_PID,
	HULL_NS_NET,
	HULL_NS_MNT,
	HULL_NS_IPC,
	HULL_NS_UTS,
	HULL_NS_USER,
	HULL_NS_CGROUP,
	HULL_NS_TIME,
	_HULL_NS_MAX,
};

/* Spec name ("pid", "network", "mount", ...), CLONE_NEW* flag, /proc/PID/ns/ name. */
const char *hull_ns_type_name(enum hull_ns_type t);
int hull_ns_type_clone_flag(enum hull_ns_type t);
const char *hull_ns_type_proc_name(enum hull_ns_type t);
int hull_ns_type_from_name(const char *name, enum hull_ns_type *ret);

struct hull_oci_namespace {
	enum hull_ns_type type;
	char *path; /* join this one when set */
};

struct hull_oci_device {
	char type; /* 'c', 'b', 'u' (== 'c'), 'p' */
	char *path;
	int64_t major, minor;	    /* 0 for 'p' */
	struct hull_ou64 file_mode; /* permission bits (0666 ...) when set */
	struct hull_ou64 uid, gid;
};

struct hull_oci_device_rule {
	bool allow;
	char type;	      /* 'a', 'c', 'b'; 'a' when absent */
	int64_t major, minor; /* -1 for wildcard */
	char access[4];	      /* subset of "rwm" in that order; "rwm" when absent or empty */
};

struct hull_oci_weight_device {
	int64_t major, minor;
	struct hull_ou64 weight, leaf_weight;
};

struct hull_oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct hull_oci_hugepage_limit {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
};

struct hull_oci_resources {
	struct hull_oci_device_rule *devices;
	size_t n_devices;

	struct {
		struct hull_oi64 limit, reservation, swap, kernel, kernel_tcp;
		struct hull_ou64 swappiness;
		bool disable_oom_killer, disable_oom_killer_set;
		bool use_hierarchy, use_hierarchy_set;
		bool check_before_update;
	} memory;

	struct {
		struct hull_ou64 shares, period, realtime_period, burst;
		struct hull_oi64 quota, realtime_runtime, idle;
		char *cpus, *mems;
	} cpu;

	struct {
		struct hull_oi64 limit; /* <= 0 means unlimited */
	} pids;

	struct {
		struct hull_ou64 weight, leaf_weight;
		struct hull_oci_weight_device *weight_device;
		size_t n_weight_device;
		struct hull_oci_throttle_device *throttle[4];
		size_t n_throttle[4]; /* read bps, write bps, read iops, write iops */
	} block_io;

	struct hull_oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	struct {
		struct hull_ou64 class_id;
		char **priorities; /* alternating interface name, priority as text */
	} network;

	char **unified; /* alternating cgroup v2 file name, value */
};

enum hull_throttle_kind {
	HULL_THROTTLE_READ_BPS,
	HULL_THROTTLE_WRITE_BPS,
	HULL_THROTTLE_READ_IOPS,
	HULL_THROTTLE_WRITE_IOPS,
};

enum hull_seccomp_action {
	HULL_SECCOMP_KILL,	   /* SCMP_ACT_KILL (== KILL_THREAD) */
	HULL_SECCOMP_KILL_PROCESS, /* SCMP_ACT_KILL_PROCESS */
	HULL_SECCOMP_KILL_THREAD,  /* SCMP_ACT_KILL_THREAD */
	HULL_SECCOMP_TRAP,
	HULL_SECCOMP_ERRNO,
	HULL_SECCOMP_TRACE,
	HULL_SECCOMP_ALLOW,
	HULL_SECCOMP_LOG,
	HULL_SECCOMP_NOTIFY,
};

enum hull_seccomp_op {
	HULL_SCMP_NE,
	HULL_SCMP_LT,
	HULL_SCMP_LE,
	HULL_SCMP_EQ,
	HULL_SCMP_GE,
	HULL_SCMP_GT,
	HULL_SCMP_MASKED_EQ,
};

struct hull_oci_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	enum hull_seccomp_op op;
};

struct hull_oci_seccomp_syscall {
	char **names;
	enum hull_seccomp_action action;
	struct hull_ou64 errno_ret; /* for ERRNO/TRACE; EPERM when not set */
	struct hull_oci_seccomp_arg *args;
	size_t n_args;
};

struct hull_oci_seccomp {
	enum hull_seccomp_action default_action;
	struct hull_ou64 default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64", ... */
	char **flags;	      /* "SECCOMP_FILTER_FLAG_LOG", ... */
	char *listener_path;
	char *listener_metadata;
	struct hull_oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct hull_oci_time_offset {
	int64_t secs;
	uint32_t nanosecs;
	bool set;
};

struct hull_oci_linux {
	struct hull_oci_namespace *namespaces;
	size_t n_namespaces;
	struct hull_oci_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct {
		struct hull_oci_time_offset monotonic, boottime;
	} time_offsets;
	struct hull_oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	struct hull_oci_resources *resources; /* NULL when absent */
	char **sysctl;			      /* alternating key, value */
	struct hull_oci_seccomp *seccomp;     /* NULL when absent */
	char *rootfs_propagation; /* "shared", "slave", "private", "unbindable", r-variants */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	struct {
		char *domain; /* "LINUX" or "LINUX32" */
		char **flags;
		bool set;
	} personality;
};

/* ---- the whole config ------------------------------------------------- */

struct hull_oci_config {
	char *oci_version;
	struct {
		char *path;
		bool readonly;
	} root;
	char *hostname;
	char *domainname;
	struct hull_oci_mount *mounts;
	size_t n_mounts;
	struct hull_oci_process *process; /* NULL when absent */
	struct hull_oci_hooks hooks;
	char **annotations;		     /* alternating key, value */
	struct hull_oci_linux *linux_config; /* NULL when absent */
};

/*
 * Parses config.json text.  On error returns -EINVAL (or -ENOMEM) and sets a
 * message naming the field path, or line and column for syntax errors.
 */
int hull_oci_config_parse(const char *text, size_t len, struct hull_oci_config **ret,
			  struct hull_error **reterr);
/* Reads and parses `bundle_dirfd`/config.json. */
int hull_oci_config_load(int bundle_dirfd, struct hull_oci_config **ret,
			 struct hull_error **reterr);
void hull_oci_config_free(struct hull_oci_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_config *, hull_oci_config_free)
#define _cleanup_oci_config_ _cleanup_(hull_oci_config_freep)

/* Parses a lone process object (for `exec --process FILE`); path prefix "process". */
int hull_oci_process_parse(const char *text, size_t len, struct hull_oci_process **ret,
			   struct hull_error **reterr);
void hull_oci_process_free(struct hull_oci_process *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_process *, hull_oci_process_free)

/*
 * Parses a lone resources object (for `update --resources`); error paths are
 * relative to the object ("memory.limit: expected a number").
 */
int hull_oci_resources_parse(const char *text, size_t len, struct hull_oci_resources **ret,
			     struct hull_error **reterr);
void hull_oci_resources_free(struct hull_oci_resources *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_resources *, hull_oci_resources_free)

/* Looks up annotation `key`; NULL when absent. */
const char *hull_oci_config_annotation(const struct hull_oci_config *c, const char *key);
/* Returns the namespace entry of type t, or NULL when the config does not ask for it. */
const struct hull_oci_namespace *hull_oci_config_namespace(const struct hull_oci_config *c,
							   enum hull_ns_type t);

/* Capability names <-> numbers ("CAP_SYS_ADMIN"); -EINVAL for unknown names. */
int hull_cap_from_name(const char *name, int *ret);
const char *hull_cap_name(int cap);
int hull_cap_last(void); /* highest capability number this build knows */

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -EINVAL for unknown names. */
int hull_rlimit_from_name(const char *name, int *ret);
const char *hull_rlimit_name(int resource);

/* Default config.json (runc spec's), rootless variant when asked; malloc'ed text. */
char *hull_oci_default_spec(bool rootless);
