/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the files of the cgroup room; not part of its interface (the
 * unit tests use it to drive a backend on a layout of their choosing).
 *
 *   cgroup.c              public functions, dispatch through the ops table
 *   cgroup-layout.c       the host's hierarchies (mountinfo), v1 or v2
 *   cgroup-paths.c        cgroupsPath, systemd slices, exec --cgroup specs
 *   cgroup-validate.c     linux.resources checks and v1-to-v2 conversions
 *   cgroup-fs.c           cgroup files, directories, processes and signals
 *   cgroup-json.c         building the statistics JSON
 *   cgroup-mount.c        the container's view of the cgroup filesystem
 *   cgroup-v1.c           v1 backend: create, enter, kill, destroy, ops table
 *   cgroup-v1-limits.c    v1 resource writers, one per controller family
 *   cgroup-v1-freezer.c   v1 freezer (or a hybrid host's cgroup.freeze)
 *   cgroup-v1-stats.c     v1 statistics
 *   cgroup-v2.c           v2 backend: controllers, create, kill, freeze, ops
 *   cgroup-v2-limits.c    v2 resource writers
 *   cgroup-v2-stats.c     v2 statistics
 *   cgroup-devices-bpf.c  v2 device controller (eBPF)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "linux/cgroup.h"

/* One mounted hierarchy, as found in /proc/self/mountinfo. */
struct hull_cgroup_hierarchy {
	char *mount_point;  /* "/sys/fs/cgroup/cpu" */
	char *name;	    /* its directory name in a container's view: "cpu,cpuacct", "unified" */
	char **controllers; /* v1: "cpu", "cpuacct", "name=systemd"; NULL for cgroup2 */
	bool unified;	    /* cgroup2 */
};

struct hull_cgroup_layout {
	enum hull_cgroup_mode mode;
	struct hull_cgroup_hierarchy *hierarchies;
	size_t n_hierarchies;
};

/*
 * Builds a layout from mountinfo text: one hierarchy per superblock (the
 * mount at root "/" preferred), v1 when any v1 hierarchy carries a real
 * controller, else v2.  -ENOENT when no cgroup filesystem is mounted.
 */
int hull_cgroup_layout_parse(const char *mountinfo, struct hull_cgroup_layout **ret);
void hull_cgroup_layout_free(struct hull_cgroup_layout *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_cgroup_layout *, hull_cgroup_layout_free)
/* The host's layout, parsed once and cached for the life of the process. */
int hull_cgroup_layout_get(const struct hull_cgroup_layout **ret);
/* Index of the v1 hierarchy carrying `controller` ("memory", "name=systemd"), or -1. */
int hull_cgroup_layout_find(const struct hull_cgroup_layout *l, const char *controller);
/* Index of the cgroup2 hierarchy, or -1. */
int hull_cgroup_layout_unified(const struct hull_cgroup_layout *l);

struct hull_cgroup_ops;

struct hull_cgroup {
	char *path; /* "/hull/web" */
	const struct hull_cgroup_layout *layout;
	const struct hull_cgroup_ops *ops;
	char **dirs;   /* per hierarchy: mount point + path */
	bool *skipped; /* per hierarchy: not created (rootless) or missing (from_path) */
};

static inline const struct hull_cgroup_hierarchy *hull_cgroup_hier(const struct hull_cgroup *cg,
								   size_t i)
{
	return &cg->layout->hierarchies[i];
}

/* Builds a cgroup on an explicit layout (the tests' entry point). */
int hull_cgroup_new_at(const struct hull_cgroup_layout *layout, const char *path,
		       struct hull_cgroup **ret, struct hull_error **reterr);

/* The backends; every function gets a cgroup whose path was validated. */
struct hull_cgroup_ops {
	int (*create)(struct hull_cgroup *cg, const struct hull_oci_resources *res,
		      enum hull_cgroup_create_flags flags, struct hull_error **reterr);
	int (*set)(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		   struct hull_error **reterr);
	int (*enter)(const struct hull_cgroup *cg, pid_t pid, struct hull_error **reterr);
	int (*open_fd)(const struct hull_cgroup *cg, struct hull_error **reterr);
	int (*freeze)(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr);
	int (*is_frozen)(const struct hull_cgroup *cg, bool *ret);
	int (*pids)(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n,
		    struct hull_error **reterr);
	/* `pidns` (st_dev, st_ino of a pid namespace) or NULL: see hull_cgroup_kill() */
	int (*kill)(const struct hull_cgroup *cg, int sig, const struct stat *pidns,
		    struct hull_error **reterr);
	/* Removes the directories of the hierarchies not skipped; signals nobody. */
	int (*destroy)(const struct hull_cgroup *cg, struct hull_error **reterr);
	int (*stats)(const struct hull_cgroup *cg, struct json_object **ret,
		     struct hull_error **reterr);
	int (*mount)(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
		     bool cgroupns, struct hull_error **reterr);
};

extern const struct hull_cgroup_ops hull_cgroup_v1_ops;
extern const struct hull_cgroup_ops hull_cgroup_v2_ops;

/* ---- paths ------------------------------------------------------------ */

/*
 * "" or NULL -> "/hull/<id>", "a/b" -> "/hull/a/b", "/a/b" -> "/a/b";
 * duplicate and trailing slashes dropped; "." and ".." components and the
 * root cgroup itself are refused (-EINVAL naming linux.cgroupsPath).
 */
int hull_cgroup_resolve_path(const char *cgroups_path, const char *id, char **ret,
			     struct hull_error **reterr);
/*
 * systemd's "slice:prefix:name" -> "/a.slice/a-b.slice/prefix-name.scope"
 * (an empty slice is "system.slice"; a name ending in ".slice" is the slice
 * itself).
 */
int hull_cgroup_systemd_path(const char *spec, const char *id, char **ret,
			     struct hull_error **reterr);

/* ---- value conversions ----------------------------------------------- */

/* cpu.shares [2, 262144] -> cpu.weight [1, 10000], runc's formula. */
uint64_t hull_cgroup_shares_to_weight(uint64_t shares);
/* blkio.weight [10, 1000] -> io.weight [1, 10000], runc's formula. */
uint64_t hull_cgroup_blkio_to_io_weight(uint64_t weight);
/*
 * OCI memory.swap (memory+swap) -> memory.swap.max: *ret is the value to
 * write ("max" for -1), or NULL when nothing is to be written.
 */
int hull_cgroup_swap_to_v2(const struct hull_oci_resources *res, char **ret,
			   struct hull_error **reterr);
/* Checks every range and name in `res` for `mode`, naming the field. */
int hull_cgroup_validate(const struct hull_oci_resources *res, enum hull_cgroup_mode mode,
			 bool have_unified, struct hull_error **reterr);
/* True when a unified-map key is a plain file name ("memory.high"). */
bool hull_cgroup_unified_key_ok(const char *key);

/* ---- file helpers ----------------------------------------------------- */

/* Writes `value` to dfd/file; the error reads "write 'file' = 'value': <strerror>". */
int hull_cgroup_write(int dfd, const char *file, const char *value, struct hull_error **reterr);
int hull_cgroup_writef(int dfd, const char *file, struct hull_error **reterr, const char *fmt, ...)
	_printf_(4, 5);
/* Reads dfd/file with trailing whitespace removed. */
int hull_cgroup_read(int dfd, const char *file, char **ret);
/* Reads a single number; "max" reads as UINT64_MAX. */
int hull_cgroup_read_u64(int dfd, const char *file, uint64_t *ret);
/* Reads `key` from a flat keyed file ("key value" lines); -ENOENT when absent. */
int hull_cgroup_read_keyed(int dfd, const char *file, const char *key, uint64_t *ret);
bool hull_cgroup_file_exists(int dfd, const char *file);
/* Opens a cgroup directory O_RDONLY|O_DIRECTORY|O_CLOEXEC. */
int hull_cgroup_open_dir(const char *path);
/*
 * Creates mount_point + path level by level.  `cpuset` copies cpuset.cpus
 * and cpuset.mems from the parent into every level where they are empty.
 * *ret_first is the index of the first level created ((size_t)-1 when all
 * existed), for hull_cgroup_rmdir_levels() to undo.
 */
int hull_cgroup_mkdir_levels(const char *mount_point, const char *path, bool cpuset,
			     size_t *ret_first, struct hull_error **reterr);
/* Removes mount_point + path and its parents up to level `first` (best effort). */
void hull_cgroup_rmdir_levels(const char *mount_point, const char *path, size_t first);
/* Removes the empty ancestors of `path` inside hull's own "/hull" subtree, /hull included. */
void hull_cgroup_rmdir_parents(const char *mount_point, const char *path);

/* Appends the pids of dir and its descendants to the vector (no duplicates). */
int hull_cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n);
/*
 * Sends sig to every pid listed; vanished processes are fine.  With `pidns`
 * only to those in that pid namespace (checked through a pidfd, so a reused
 * pid is never hit).
 */
void hull_cgroup_signal_pids(const pid_t *pids, size_t n, int sig, const struct stat *pidns);
/*
 * Refuses to join a frozen cgroup and warns when it holds processes; the
 * backends call it between making the directories and writing limits.
 * `frozen` is what the backend read (self or ancestor).
 */
int hull_cgroup_check_join(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr);
/* Parses exec --cgroup specs into a strv of (controller, path) pairs; "" = every hierarchy. */
int hull_cgroup_sub_parse(char *const *specs, char ***ret, struct hull_error **reterr);
/* Removes dir's child cgroups depth-first, then dir; ENOENT is fine, EBUSY retried (bounded). */
int hull_cgroup_rmdir_tree(const char *dir);
/* Sleeps `ms` milliseconds. */
void hull_cgroup_sleep_ms(unsigned ms);

/* ---- stats and mounts ------------------------------------------------- */

/* Sets o[key] = v, leaving it out when `omitempty` and v == 0 (Go's omitempty). */
void hull_cgroup_json_u64(struct json_object *o, const char *key, uint64_t v, bool omitempty);
/* o[key], created as an empty object when missing; NULL on allocation failure. */
struct json_object *hull_cgroup_json_child(struct json_object *o, const char *key);
/* Adds every "key value" line of a flat keyed file to o (memory.stat -> "raw"). */
int hull_cgroup_json_keyed(int dfd, const char *file, struct json_object *o);
/* runc's memory entry {"limit","usage","max","failcnt"}. */
void hull_cgroup_json_mem_entry(struct json_object *memory, const char *key, uint64_t limit,
				uint64_t usage, uint64_t max, uint64_t failcnt);

/* "0-2,7" -> [0,1,2,7] (NULL when malformed or absurdly long). */
struct json_object *hull_cgroup_json_cpu_list(const char *s);

/* MS_RDONLY/MS_NOSUID/MS_NODEV/MS_NOEXEC -> MOUNT_ATTR_*. */
uint64_t hull_cgroup_mount_attr(unsigned long mount_flags);
/*
 * Binds host directory `src` onto dirfd/name (dirfd itself when name is
 * NULL) with mount attributes `attr`, through open_tree + move_mount.
 */
int hull_cgroup_bind(const char *src, int dirfd, const char *name, uint64_t attr,
		     struct hull_error **reterr);

/* ---- pieces shared by both backends (cgroup-v2.c) --------------------- */

/*
 * Creates `path` in the cgroup2 hierarchy at `mount_point`, enabling in
 * every ancestor's cgroup.subtree_control the controllers it offers; those
 * in `needed` (strv) must succeed.
 */
int hull_cgroup_v2_mkdir(const char *mount_point, const char *path, char *const *needed,
			 size_t *ret_first, struct hull_error **reterr);
int hull_cgroup_v2_set_hugetlb(int dfd, const struct hull_oci_resources *res,
			       struct hull_error **reterr);
/* Writes the unified map verbatim; keys must exist as files. */
int hull_cgroup_v2_set_unified(int dfd, const struct hull_oci_resources *res,
			       struct hull_error **reterr);
int hull_cgroup_v2_freeze_dir(int dfd, bool frozen, struct hull_error **reterr);
int hull_cgroup_v2_is_frozen_dir(int dfd, bool *ret);
/* Fills "hugetlb" from hugetlb.<size>.{current,events} (empty object when none). */
int hull_cgroup_v2_hugetlb_stats(int dfd, struct json_object *stats);

/* ---- the v1 backend's parts (cgroup-v1-*.c) ---------------------------- */

/* Does `res` ask for anything that v1 controller `c` ("memory") implements? */
bool hull_cgroup_v1_wanted(const char *c, const struct hull_oci_resources *res);
/* Writes `res` to every v1 hierarchy (and a hybrid host's cgroup2). */
int hull_cgroup_v1_set(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr);
/*
 * The freezer to use: v1's, else cgroup.freeze of a hybrid unified hierarchy
 * (*ret_v2); -EOPNOTSUPP when there is none.
 */
int hull_cgroup_v1_freezer_dir(const struct hull_cgroup *cg, bool *ret_v2);
/* Freezes or thaws the v1 freezer cgroup `dfd`, bounded (about 10 s at worst). */
int hull_cgroup_v1_freeze_dir(int dfd, bool frozen, struct hull_error **reterr);
/* FROZEN by itself (not only through an ancestor)?  -EBUSY if it stays FREEZING. */
int hull_cgroup_v1_is_frozen_dir(int dfd, bool *ret);
int hull_cgroup_v1_freeze(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr);
int hull_cgroup_v1_is_frozen(const struct hull_cgroup *cg, bool *ret);
/* hull_cgroup_check_join() with what the freezer says (itself or an ancestor). */
int hull_cgroup_v1_check_join(const struct hull_cgroup *cg, struct hull_error **reterr);
int hull_cgroup_v1_stats(const struct hull_cgroup *cg, struct json_object **ret,
			 struct hull_error **reterr);
int hull_cgroup_v1_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
			 bool cgroupns, struct hull_error **reterr);

/* ---- the v2 backend's parts (cgroup-v2-*.c) ---------------------------- */

/* Does `res` ask for any v2 controller or device rule? */
bool hull_cgroup_v2_wants_anything(const struct hull_oci_resources *res);
/* Writes `res` to the unified hierarchy (the unified map last, runc's order). */
int hull_cgroup_v2_set(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr);
int hull_cgroup_v2_stats(const struct hull_cgroup *cg, struct json_object **ret,
			 struct hull_error **reterr);
int hull_cgroup_v2_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
			 bool cgroupns, struct hull_error **reterr);

/* ---- the v2 device controller (cgroup-devices-bpf.c) ------------------ */

/*
 * Compiles `rules` (OCI order: later rules win; default deny) into a
 * BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup2
 * directory `dfd`, replacing any program hull attached before.
 */
int hull_cgroup_devices_bpf_apply(int dfd, const struct hull_oci_device_rule *rules, size_t n,
				  struct hull_error **reterr);
/* Counts the device programs attached to `dfd` by hull. */
int hull_cgroup_devices_bpf_count(int dfd, size_t *ret);
