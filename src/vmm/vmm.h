/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull's KVM micro-VMM: one VM per process (as Firecracker), x86_64 only.
 *
 * hull_vmm_run() loads a Linux kernel (bzImage through the 64-bit boot
 * protocol, or an uncompressed vmlinux through its PVH entry), builds the
 * machine (in-kernel irqchip and PIT, an 8250 serial console on 0x3f8 / IRQ 4,
 * an i8042 that only resets, virtio-mmio devices at 0xd0000000 + i * 4 KiB on
 * GSI 5 + i announced on the command line), runs one thread per vCPU and
 * returns when the guest shuts down, resets, fails, or `stop_fd` becomes
 * readable.  Every resource is released on every path.
 *
 * The guest is hostile: see docs/vm.md for the threat model.  When
 * `seccomp` is set, each thread role runs under an allow-list filter once
 * set-up is done (vmm-seccomp.c).
 *
 * The vCPU threads are kicked out of KVM_RUN with HULL_VMM_KICK_SIGNAL, for
 * which hull_vmm_run() installs a handler (no SA_RESTART).
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define HULL_VMM_KICK_SIGNAL (SIGRTMIN + 1)
/*
 * The i8042 options (as Firecracker's): a kernel with the i8042 driver (a
 * distro kernel) would otherwise probe for a mouse and a keyboard that are
 * not there, seconds of timeouts in a nested guest.
 */
#define HULL_VMM_DEFAULT_CMDLINE \
	"console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

struct hull_vmm_disk {
	const char *path;
	bool readonly;
};

struct hull_vmm_config {
	const char *kernel;  /* bzImage or ELF vmlinux (PVH) */
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* NULL: HULL_VMM_DEFAULT_CMDLINE; device entries are appended */
	unsigned cpus;	     /* 1..64 */
	uint64_t memory_mib;
	const struct hull_vmm_disk *disks;
	size_t n_disks;
	bool rng;
	uint32_t vsock_cid; /* 0: no vsock device */
	const char *vsock_uds;
	int console_out; /* the serial port's output goes here */
	int console_in;	 /* read for the serial port's input; -1 for none */
	int stop_fd;	 /* readable = stop the VM (a signalfd, an eventfd); -1 for none */
	bool seccomp;
};

enum hull_vmm_end {
	HULL_VMM_END_SHUTDOWN, /* triple fault / KVM_EXIT_SHUTDOWN, or a system-event poweroff */
	HULL_VMM_END_RESET,    /* i8042 reset, or a system-event reset */
	HULL_VMM_END_STOPPED,  /* stop_fd became readable */
};

/*
 * Boots and runs the VM until it ends; on success *ret_end says how.  A VM that
 * fails (bad input, KVM refusing, a vCPU internal error) returns -errno with
 * one line in *reterr, e.g. "kernel '/x': No such file or directory",
 * "/dev/kvm: No such file or directory".
 */
int hull_vmm_run(const struct hull_vmm_config *c, enum hull_vmm_end *ret_end,
		 struct hull_error **reterr);

/* "console=ttyS0 ... virtio_mmio.device=4K@0xd0000000:5 ...": the command line for n devices. */
int hull_vmm_cmdline(const char *base, size_t n_devices, char **ret);
