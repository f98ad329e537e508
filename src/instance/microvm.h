/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running an OCI config in one of hull's micro-VMs: what `hull run --vm` and
 * hull-runtime-vm share (docs/vm.md, "Front ends").
 *
 * The assets a VM boots from, each found or made once and cached:
 *   - the guest kernel: $HULL_GUEST_KERNEL (a bzImage, or a directory with
 *     one), else the newest complete build (a BUILT file beside the
 *     bzImage) of `make guest-kernel` under $HULL_GUEST_KERNEL_CACHE, by
 *     default /var/cache/hull/guest-kernel/;
 *   - the agent's initramfs (hull-mkinitramfs's archive: /init = hull-agent),
 *     <cache>/agent-<sha256 of the agent>.cpio; the agent is $HULL_AGENT, or
 *     the hull-agent beside (or two levels above) the running program;
 *   - the root image: the rootfs directory as ext4 (`mke2fs -d`),
 *     <cache>/rootfs-<key>.ext4, the key given (an image's layers) or the
 *     sha256 of the tree itself (names, types, modes, owners, contents).
 *
 * The VMM runs in a child process of the caller (hull_vmm_run() of the
 * library, no exec): one VM per process, as Firecracker.  The caller then
 * speaks the agent protocol over the VM's vsock bridge (agent-client.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/agent-client.h"
#include "util/error.h"

#define HULL_MICROVM_AGENT_PORT 1024
#define HULL_MICROVM_KERNEL_CACHE "/var/cache/hull/guest-kernel"

/* The guest kernel's path.  -ENOENT: "no guest kernel ...: run `make guest-kernel`". */
int hull_microvm_kernel(char **ret, struct hull_error **reterr);
/* The agent initramfs in cache_dir (made when missing). */
int hull_microvm_initramfs(const char *cache_dir, char **ret, struct hull_error **reterr);
/*
 * The ext4 image of the directory `rootfs` in cache_dir, made when missing.
 * `key`: what identifies the content ([0-9a-f]+, e.g. a hash of an image's
 * layer diff_ids); NULL hashes the tree.
 */
int hull_microvm_rootfs_image(const char *cache_dir, const char *rootfs, const char *key,
			      char **ret, struct hull_error **reterr);

/* "256", "256m", "1g": MiB.  -EINVAL with "--memory 'x': ..." */
int hull_microvm_parse_memory(const char *s, uint64_t *ret_mib, struct hull_error **reterr);
/* "2": vCPUs 1..64.  -EINVAL with "--cpus 'x': ..." */
int hull_microvm_parse_cpus(const char *s, unsigned *ret, struct hull_error **reterr);

struct hull_microvm_opts {
	const char *cache_dir; /* the assets' cache (created when missing) */
	const char *run_dir;   /* the VM's own files: vsock socket, console.log */
	const char *rootfs;    /* the container's root directory */
	const char *rootfs_key;
	unsigned cpus;	     /* 0: 1 */
	uint64_t memory_mib; /* 0: 256 */
};

struct hull_microvm {
	pid_t vmm_pid;
	char *vsock_uds;
	char *console;
	struct hull_agent_client *client;
	int err_fd; /* the VMM child's error line */
};

/*
 * Makes the assets, starts the VMM child and connects to the agent (waiting,
 * bounded by $HULL_VM_BOOT_TIMEOUT seconds, default 300, and by the VMM's
 * life).  On failure nothing runs any more and the error is the VMM's own
 * line when it ended early ("vm: memory 99999 MiB: ...").
 */
int hull_microvm_boot(const struct hull_microvm_opts *o, struct hull_microvm **ret,
		      struct hull_error **reterr);
/*
 * Connects to the agent of a VM booted earlier (its vsock socket), once; for
 * the processes that drive a detached VM.
 */
int hull_microvm_connect(const char *vsock_uds, struct hull_agent_client **ret,
			 struct hull_error **reterr);
/*
 * Waits up to timeout_s for the VMM to exit (the agent powers the VM off once
 * the container has ended), then stops it (SIGTERM, then SIGKILL).  0 when it
 * ended by itself.
 */
int hull_microvm_wait(struct hull_microvm *m, unsigned timeout_s);
/* Stops the VMM if it still runs, reaps it, removes the vsock socket. */
void hull_microvm_free(struct hull_microvm *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_microvm *, hull_microvm_free)

/*
 * Runs `config` (an OCI config.json object) in a new VM with the caller's
 * stdin/stdout/stderr, as `hull run` does a container: *ret_exit gets the
 * process's exit code (runc's 128+N after signal N).
 */
int hull_microvm_run(const struct hull_microvm_opts *o, const char *id, struct json_object *config,
		     int *ret_exit, struct hull_error **reterr);
