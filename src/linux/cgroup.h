/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups v1 (including hybrid layouts: cpu and cpuacct mounted separately,
 * a non-empty cgroup2 at /sys/fs/cgroup/unified) and v2.
 *
 * A container's cgroup is named by its cgroupsPath: absolute paths are taken
 * from the root of each hierarchy; empty or relative ones are put under
 * hull's own subtree "/hull/" (never under the caller's cgroup).  The
 * resolved path is stable, so later commands re-open the same cgroup from
 * the path saved in the container's state.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "oci/config.h"
#include "util/error.h"

enum hull_cgroup_mode {
	HULL_CGROUP_V1, /* legacy or hybrid: controllers on v1 hierarchies */
	HULL_CGROUP_V2, /* unified only */
};

struct hull_cgroup;

/* Detects the host's layout (cached after the first call). */
int hull_cgroup_mode_detect(enum hull_cgroup_mode *ret);

/*
 * Resolves the cgroup of container `id` from `cgroups_path` (may be NULL or
 * empty).  With `systemd` the path is "slice:prefix:name" and systemd must be
 * running as PID 1 (-EOPNOTSUPP with a clear message otherwise).  Creates
 * nothing.
 */
int hull_cgroup_new(const char *cgroups_path, const char *id, bool systemd,
		    struct hull_cgroup **ret, struct hull_error **reterr);
/* Re-opens a cgroup from its resolved path (hull_cgroup_path()) saved in state. */
int hull_cgroup_from_path(const char *path, struct hull_cgroup **ret, struct hull_error **reterr);
void hull_cgroup_free(struct hull_cgroup *cg);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_cgroup *, hull_cgroup_free)

/* The resolved path, e.g. "/hull/web" (same on every hierarchy). */
const char *hull_cgroup_path(const struct hull_cgroup *cg);

enum hull_cgroup_create_flags {
	/*
	 * Rootless: a hierarchy that cannot be written is skipped with a
	 * warning (hull_warn) unless resources were asked for in it.
	 */
	HULL_CGROUP_ROOTLESS = 1 << 0,
};

/*
 * Creates the cgroup on every hierarchy and applies `res` (may be NULL).
 * A cgroup that exists already is joined as it is, except when it is frozen
 * (itself or through an ancestor): a container started there would hang, so
 * that is refused ("container's cgroup unexpectedly frozen", as runc) before
 * anything is written to it.  One that holds processes is joined with runc
 * 1.1's warning ("container's cgroup is not empty").  On failure everything
 * it created is removed again, what existed before is left as it was, and
 * hull_cgroup_destroy() on `cg` does nothing.
 */
int hull_cgroup_create(struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       enum hull_cgroup_create_flags flags, struct hull_error **reterr);

/* Moves `pid` into the cgroup on every hierarchy. */
int hull_cgroup_enter(const struct hull_cgroup *cg, pid_t pid, struct hull_error **reterr);

/*
 * v2 only: an O_PATH|O_DIRECTORY fd of the cgroup for clone3(CLONE_INTO_CGROUP).
 * Returns -EOPNOTSUPP on v1.
 */
int hull_cgroup_open_fd(const struct hull_cgroup *cg, struct hull_error **reterr);

/* Applies new limits to an existing cgroup (runc update semantics). */
int hull_cgroup_update(const struct hull_cgroup *cg, const struct hull_oci_resources *res,
		       struct hull_error **reterr);

/* Freezes or thaws, waiting until the state is reached. */
int hull_cgroup_freeze(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr);
/* *ret = true when frozen. */
int hull_cgroup_is_frozen(const struct hull_cgroup *cg, bool *ret);

/* All pids in the cgroup (and its children); malloc'ed array. */
int hull_cgroup_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n,
		     struct hull_error **reterr);

/*
 * Sends `sig` to the processes of the cgroup and its children, frozen
 * meanwhile so that none forks away (cgroup.kill on v2 for SIGKILL where
 * present).  With `pidns_fd` >= 0 (an fd of /proc/PID/ns/pid) only those in
 * that pid namespace are signalled, each through a pidfd after checking its
 * namespace, so a host process that shares the cgroup is never hit;
 * -EBADF signals every member (a container without its own pid namespace).
 */
int hull_cgroup_kill(const struct hull_cgroup *cg, int sig, int pidns_fd,
		     struct hull_error **reterr);

/*
 * Removes the cgroup (and its children) from every hierarchy it was made
 * on; missing directories are fine (idempotent).  It signals nobody: the
 * caller ends the container first (hull_cgroup_kill(), or the init of its
 * pid namespace).  Processes still in it are waited for (at most 2 s); when
 * some remain, -EBUSY ("... processes are still in it") and the cgroup stays.
 */
int hull_cgroup_destroy(const struct hull_cgroup *cg, struct hull_error **reterr);

/*
 * exec --cgroup, as runc takes it: each of `specs` is "PATH" (every
 * hierarchy; only alone) or "CONTROLLER[,CONTROLLER...]:PATH" (v1).  Returns
 * a cgroup whose directories are those sub-cgroups of `cg` (hierarchies not
 * named keep `cg`'s), for hull_cgroup_enter()/hull_cgroup_open_fd().  Each
 * must exist; a PATH with ".." is refused (it could leave `cg`); a leading
 * '/' is relative to `cg`, as in runc.
 */
int hull_cgroup_sub(const struct hull_cgroup *cg, char *const *specs, struct hull_cgroup **ret,
		    struct hull_error **reterr);

/*
 * Statistics in the shape of runc's `events --stats` "data" object
 * (cpu, memory, pids, blkio, hugetlb).
 */
int hull_cgroup_stats(const struct hull_cgroup *cg, struct json_object **ret,
		      struct hull_error **reterr);

/*
 * Mounts the container's view of the cgroup filesystem on `target_fd` (an
 * O_PATH fd of a directory inside the rootfs), as an OCI mount of type
 * "cgroup" asks: v2 mounts cgroup2 (in a cgroup namespace) or binds the
 * container's cgroup; v1 mounts a tmpfs with one directory per hierarchy
 * holding the container's cgroup.  `mount_flags` are MS_RDONLY/MS_NOSUID/...
 * Must run in the container's mount namespace before pivot_root.
 */
int hull_cgroup_mount(const struct hull_cgroup *cg, int target_fd, unsigned long mount_flags,
		      bool cgroupns, struct hull_error **reterr);
