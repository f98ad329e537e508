/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI bundles in micro-VMs: what hull-runtime does for a bundle whose config
 * has the annotation run.hull.isolation=vm, or when run as hull-runtime-vm
 * (docs/engines.md).  One VM per container.
 *
 * `create` forks a monitor (a session of its own, holding the stdio create
 * was given) which boots the VM (microvm.h) and keeps the one agent session:
 * the other verbs talk to it over <root>/<id>/ctl (a SOCK_SEQPACKET unix
 * socket).  <root>/<id>/vm.json is the container's OCI state; its "pid" is
 * the VMM's process (the container's processes live in the guest).  Once the
 * container's process has exited the VM powers off, the monitor records
 * "stopped" and exits; `delete` removes the directory.
 *
 * Annotations read: run.hull.vm.cpus (vCPUs, default 1), run.hull.vm.memory
 * (MiB, default 256).  The bundle's rootfs becomes an ext4 image cached by
 * content in <root>/.vm-cache/.
 */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#include "util/error.h"

#define HULL_VM_ISOLATION_ANNOTATION "run.hull.isolation"

/* Is `id` a VM container under root (has <root>/<id>/vm.json)? */
bool hull_vm_bundle_exists(const char *root, const char *id);
/* Does the bundle's config.json ask for a VM (run.hull.isolation=vm)? */
bool hull_vm_bundle_wanted(const char *bundle);

/* Boots the VM and waits until its agent answers; the process waits for start. */
int hull_vm_bundle_create(const char *root, const char *id, const char *bundle,
			  const char *pid_file, struct hull_error **reterr);
int hull_vm_bundle_start(const char *root, const char *id, struct hull_error **reterr);
/* The OCI state object (status derived from the monitor's life). */
int hull_vm_bundle_state(const char *root, const char *id, struct json_object **ret,
			 struct hull_error **reterr);
int hull_vm_bundle_kill(const char *root, const char *id, int sig, struct hull_error **reterr);
/* Runs `process` (an OCI process object) in the container with the caller's stdio. */
int hull_vm_bundle_exec(const char *root, const char *id, struct json_object *process,
			int *ret_exit, struct hull_error **reterr);
int hull_vm_bundle_delete(const char *root, const char *id, bool force, struct hull_error **reterr);
