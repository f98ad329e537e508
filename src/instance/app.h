/* SPDX-License-Identifier: Apache-2.0 */
/*
 * App containers: `hull run IMAGE`, one process tree from an OCI image, as
 * podman runs it.  Built on the runtime library (the same create/start/wait
 * as hull-runtime), with the image's Entrypoint, Cmd, Env, WorkingDir and
 * User honoured, podman's default capability set and a default seccomp
 * profile.
 *
 * State under the state directory:
 *   apps/<name>/app.json    {"name","image","image_ref","created","rm"}
 *   apps/<name>/config.json the generated OCI config (the bundle)
 *   apps/<name>/upper/ work/  the container's overlayfs upper and work dirs
 *   apps/<name>/rootfs/     the overlay of the image's layers (or, where
 *                           overlayfs cannot be used, a flattened copy)
 *   apps/.lock              held while a name is taken or released
 *   run/<name>/             the runtime's state while the container exists
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "instance/instance.h"
#include "util/error.h"

enum hull_app_network {
	HULL_APP_NET_NONE, /* a network namespace of its own with loopback only */
	HULL_APP_NET_HOST,
};

enum hull_app_pull {
	HULL_APP_PULL_MISSING,
	HULL_APP_PULL_ALWAYS,
	HULL_APP_PULL_NEVER,
};

struct hull_app_opts {
	const char *image;
	char **cmd;	   /* replaces the image's Cmd; NULL: keep it */
	char **entrypoint; /* --entrypoint; NULL: the image's; empty: none */
	const char *name;  /* NULL: generated */
	char **env;	   /* "K=V" in order (-e, --env-file), after the image's */
	char **volumes;	   /* "SRC:DST[:ro|rw]" */
	const char *workdir;
	const char *user; /* "user[:group]", names from the image's /etc/passwd, /etc/group */
	enum hull_app_network network;
	int64_t memory;	    /* bytes; 0 = unlimited */
	uint64_t cpu_quota; /* microseconds per 100000; 0 = unlimited */
	int64_t pids_limit; /* 0 = podman's default (2048); -1 unlimited */
	bool read_only;
	char **cap_add, **cap_drop; /* "NET_ADMIN", "CAP_NET_ADMIN", "ALL" */
	bool rm, detach, interactive, tty;
	/* --vm: in a micro-VM of its own (instance/microvm.h); memory and cpu_quota unused */
	bool vm;
	unsigned vm_cpus;	/* vCPUs; 0: 1 */
	uint64_t vm_memory_mib; /* guest memory; 0: 256 MiB */
};

/* Checks a container name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 63 characters. */
int hull_app_name_check(const char *name, struct hull_error **reterr);

/*
 * Runs the image as a container.  Foreground: waits and stores the exit
 * status of the container's process in *ret_exit; detached: prints nothing,
 * returns once it runs, its name in *ret_name (may be NULL).  A failure
 * before the process runs leaves nothing behind (no mount, cgroup or state
 * directory).
 */
int hull_app_run(struct hull_home *h, const struct hull_app_opts *o, int *ret_exit, char **ret_name,
		 struct hull_error **reterr);

struct hull_app_info {
	char *name;
	char *image; /* manifest digest */
	char *image_ref;
	char *created;
	char *status; /* "running", "exited", "created" */
	int pid;
};
void hull_app_info_free(struct hull_app_info *i);
void hull_app_info_list_free(struct hull_app_info **l, size_t n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_app_info *, hull_app_info_free)

/* Every app container, sorted by name. */
int hull_app_list(struct hull_home *h, struct hull_app_info ***ret, size_t *ret_n,
		  struct hull_error **reterr);

/* Stops (SIGTERM, then SIGKILL after timeout seconds) and removes an app container. */
int hull_app_remove(struct hull_home *h, const char *name, bool force, unsigned timeout,
		    struct hull_error **reterr);
/*
 * Stops a running app container: SIGTERM, SIGKILL after `timeout` seconds
 * (at once with force); its runtime state goes and its overlay is unmounted;
 * it stays listed as exited until deleted.  Stopping a stopped one is fine.
 */
int hull_app_stop(struct hull_home *h, const char *name, unsigned timeout, bool force,
		  struct hull_error **reterr);
/* Opens the console.log of a detached app container (-ENOENT: none). */
int hull_app_log_open(struct hull_home *h, const char *name, int *ret_fd,
		      struct hull_error **reterr);
/* Is `name` an app container? */
bool hull_app_exists(struct hull_home *h, const char *name);

/* 1 when an app container uses the image (manifest digest), its name in *ret_name. */
int hull_app_image_in_use(struct hull_home *h, const char *digest, char **ret_name);
/* The manifest digests every app container uses (NULL-terminated). */
int hull_app_images_in_use(struct hull_home *h, char ***ret, struct hull_error **reterr);
