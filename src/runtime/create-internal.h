/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between container-create.c (runtime side) and container-init.c (container side). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "oci/config.h"
#include "runtime/container.h"
#include "util/error.h"

struct hull_cgroup;
struct hull_seccomp_program;

struct create_ctx {
	const struct hull_runtime *rt;
	const char *id;
	const struct hull_create_opts *o;
	struct hull_oci_config *config;
	char *config_text;
	size_t config_len;
	struct hull_state *state; /* what state.json will say */

	int bundle_fd;
	int dir_fd;  /* the container's state directory, locked */
	int fifo_fd; /* O_PATH fd of exec.fifo, for the container side */
	int sync[2]; /* [0] runtime end, [1] container end */
	int ns_fds[_HULL_NS_MAX];

	struct hull_cgroup *cgroup;
	struct hull_seccomp_program *seccomp;
	struct hull_mount_sources *mount_sources; /* bind sources cloned as host root */

	unsigned long clone_flags;
	unsigned long unshare_flags; /* namespaces the container makes itself after the id maps */
	bool new_userns;
	bool late_userns; /* joins namespaces by path first, then makes its user namespace */
	bool cgroupns;	  /* a new cgroup namespace, made by the container after GO */
	bool new_netns;
	bool keep_pty; /* `run` in the foreground proxies the pty itself */
	bool cloned_into_cgroup;
	bool state_dir_made;
	bool cgroup_made;

	pid_t pid; /* container init, host pid */
	int pidfd;
	int pty_master; /* received from the container when process.terminal */
};

/* Container side: sets up and execs the workload; never returns. */
_noreturn_ void container_init(struct create_ctx *c);

/*
 * Runtime side of create: validates, makes the state directory and cgroup,
 * clones the container init and drives its setup until it waits for start.
 * On failure everything made is removed again.
 */
int container_create(struct create_ctx *c, struct hull_error **reterr);
void create_ctx_done(struct create_ctx *c);

/* Makes the container run: opens exec.fifo, marks it started, runs poststart hooks. */
int container_start_locked(const struct hull_runtime *rt, int dir_fd, struct hull_state *s,
			   struct hull_error **reterr);

/* Kills what is left and removes cgroup and state dir; runs poststop hooks. */
int container_destroy_locked(const struct hull_runtime *rt, int dir_fd, struct hull_state *s,
			     struct hull_error **reterr);
