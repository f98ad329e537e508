/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's own pieces, shared between its files and the unit tests.
 *
 * Guest-physical memory map (x86_64, the same for every VM):
 *   0x0000_0500  GDT (boot segments: 0x10 code, 0x18 data, 0x20 TSS)
 *   0x0000_6000  PVH hvm_start_info, its module list and memory map
 *   0x0000_7000  Linux boot_params ("zero page")
 *   0x0000_8ff0  initial stack
 *   0x0000_9000  page tables for the 64-bit entry (PML4, PDPT, 4 PDs:
 *                0..4 GiB identity-mapped with 2 MiB pages)
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  MP floating pointer + MP config table (reserved in e820 up to 1 MiB)
 *   0x0010_0000  bzImage protected-mode kernel (PVH: the ELF's own p_paddr)
 *   ...          initrd, as high as the kernel allows below 3 GiB
 *   0xd000_0000  virtio-mmio devices, 4 KiB each, GSI 5 + i
 *   0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC (in-kernel irqchip)
 *   4 GiB ...    RAM above the hole when --memory exceeds 3 GiB
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/guest-mem.h"

#define HULL_BOOT_GDT 0x500ULL
#define HULL_BOOT_PVH_INFO 0x6000ULL
#define HULL_BOOT_PVH_MODLIST 0x6040ULL
#define HULL_BOOT_PVH_MEMMAP 0x6080ULL
#define HULL_BOOT_ZERO_PAGE 0x7000ULL
#define HULL_BOOT_STACK 0x8ff0ULL
#define HULL_BOOT_PML4 0x9000ULL
#define HULL_BOOT_PDPT 0xa000ULL
#define HULL_BOOT_PD 0xb000ULL /* four pages: 0xb000..0xefff */
#define HULL_BOOT_CMDLINE 0x20000ULL
#define HULL_BOOT_CMDLINE_MAX 4096 /* with its NUL; the kernel may take less */
#define HULL_BOOT_EBDA 0x9fc00ULL
#define HULL_BOOT_HIMEM 0x100000ULL
#define HULL_BOOT_KERNEL 0x100000ULL
#define HULL_BOOT_MIN_MEMORY (16ULL << 20)

#define HULL_VIRTIO_MMIO_BASE 0xd0000000ULL
#define HULL_VIRTIO_MMIO_GSI 5
#define HULL_VIRTIO_MAX_DEVICES 16
#define HULL_IOAPIC_ADDR 0xfec00000ULL
#define HULL_LAPIC_ADDR 0xfee00000ULL
#define HULL_SERIAL_IRQ 4
#define HULL_VMM_MAX_CPUS 64

/* ---- e820 (boot.c) */
enum {
	HULL_E820_RAM = 1,
	HULL_E820_RESERVED = 2,
};

struct hull_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#define HULL_E820_MAX 8

/* The guest's memory map from its RAM regions; returns the number of entries. */
size_t hull_e820_build(const struct hull_guest_mem *mem, struct hull_e820_entry *ret, size_t max);

/* ---- boot (boot.c, boot-linux.c, boot-pvh.c) */
enum hull_boot_mode {
	HULL_BOOT_LINUX64, /* 64-bit boot protocol: long mode, paging on, rsi = boot_params */
	HULL_BOOT_PVH,	   /* PVH: 32-bit protected mode, paging off, ebx = hvm_start_info */
};

struct hull_boot_input {
	const uint8_t *kernel; /* the whole kernel file */
	size_t kernel_len;
	const uint8_t *initrd; /* NULL for none */
	size_t initrd_len;
	const char *cmdline; /* the complete command line */
	unsigned n_cpus;
};

struct hull_boot_entry {
	enum hull_boot_mode mode;
	uint64_t rip;
	uint64_t rsi; /* LINUX64 */
	uint64_t rbx; /* PVH */
};

/*
 * Loads a bzImage or an ELF vmlinux with a PVH note into guest memory with
 * everything it boots with: command line, initrd, memory map, MP table, GDT
 * and (64-bit entry) page tables.  The kernel file is untrusted input: a
 * malformed one is refused with -ENOEXEC (or -EINVAL / -E2BIG / -ENOMEM for
 * a command line or initrd that does not fit) and never read out of bounds.
 */
int hull_boot_load(struct hull_guest_mem *mem, const struct hull_boot_input *in,
		   struct hull_boot_entry *ret, struct hull_error **reterr);

/* The two formats; called by hull_boot_load() after the common parts. */
int hull_boot_linux_load(struct hull_guest_mem *mem, const struct hull_boot_input *in,
			 struct hull_boot_entry *ret, struct hull_error **reterr);
int hull_boot_pvh_load(struct hull_guest_mem *mem, const struct hull_boot_input *in,
		       struct hull_boot_entry *ret, struct hull_error **reterr);
bool hull_boot_is_elf(const uint8_t *kernel, size_t len);

/* Highest page-aligned address below `limit` (exclusive) for `size` bytes above `floor`. */
int hull_boot_initrd_addr(const struct hull_guest_mem *mem, uint64_t floor, uint64_t limit,
			  uint64_t size, uint64_t *ret);

/* GDT (null, null, code, data, TSS) at HULL_BOOT_GDT; long = 64-bit code segment. */
int hull_boot_write_gdt(struct hull_guest_mem *mem, bool long_mode);
/* A GDT descriptor from flags (type/S/DPL/P + G/DB/L nibble), base and limit. */
uint64_t hull_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
/* Identity map of 0..4 GiB with 2 MiB pages at HULL_BOOT_PML4. */
int hull_boot_write_page_tables(struct hull_guest_mem *mem);

/* ---- MP table (mptable.c) */
/*
 * Writes the MP floating pointer and configuration table for n_cpus (1..64)
 * at `addr` (room for hull_mptable_size()): one processor entry per vCPU
 * (APIC id = index, 0 the boot processor), an ISA bus, the IOAPIC with id
 * n_cpus + 1, ISA IRQs 0..23 routed to its same-numbered pins, LINT0 ExtINT
 * and LINT1 NMI.
 */
int hull_mptable_write(void *buf, size_t buf_len, uint32_t addr, unsigned n_cpus);
size_t hull_mptable_size(unsigned n_cpus);

/* ---- CPUID (cpuid.c) */
struct kvm_cpuid_entry2;
/*
 * Makes KVM's supported CPUID what vCPU `cpu` of `n_cpus` sees: its APIC id
 * in leaves 1 and 0xb, the topology (n_cpus cores, one thread each), the
 * hypervisor bit, and no PMU (leaf 0xa zeroed, PDCM and AMD perf-counter bits
 * cleared, 0x80000022 zeroed): L1 KVMs log unhandled MSRs for it.
 */
void hull_cpuid_filter(struct kvm_cpuid_entry2 *e, size_t n, unsigned cpu, unsigned n_cpus);

/* ---- MSRs (msr.c) */
struct hull_msr {
	uint32_t index;
	uint64_t value;
};
/* The boot values of the MSRs Linux expects; returns how many were written (<= max). */
size_t hull_msr_boot_list(struct hull_msr *ret, size_t max);

/* ---- 8250 UART (serial.c): a pure state machine, the caller holds any lock */
#define HULL_SERIAL_FIFO 64
typedef void (*hull_serial_out_fn)(void *opaque, uint8_t byte);

struct hull_serial {
	uint8_t ier, lcr, mcr, lsr_extra, scr, dll, dlm, fcr;
	bool thri_pending;
	uint8_t rx[HULL_SERIAL_FIFO];
	unsigned rx_head, rx_len;
	hull_serial_out_fn out;
	void *opaque;
};

void hull_serial_init(struct hull_serial *s, hull_serial_out_fn out, void *opaque);
/* A guest access to register `off` (0..7); both return whether the IRQ line is now high. */
bool hull_serial_read(struct hull_serial *s, unsigned off, uint8_t *ret);
bool hull_serial_write(struct hull_serial *s, unsigned off, uint8_t val);
/*
 * Host input: queues up to len bytes, returns how many (the FIFO may be full,
 * and nothing is taken before the guest enables the receive interrupt).
 */
size_t hull_serial_input(struct hull_serial *s, const uint8_t *buf, size_t len);
bool hull_serial_irq(const struct hull_serial *s);

/* ---- i8042 (i8042.c): the controller Linux resets the machine with; no devices */
#define HULL_I8042_DATA 0x60
#define HULL_I8042_CMD 0x64
struct hull_i8042 {
	uint8_t ctr; /* configuration byte */
	uint8_t out; /* the byte port 0x60 reads next, when out_full */
	bool out_full;
	uint8_t pending; /* a command waiting for its data byte */
};
void hull_i8042_init(struct hull_i8042 *k);
uint8_t hull_i8042_read(struct hull_i8042 *k, uint16_t port);
/* Returns true when the guest asks for a reset (command 0xfe on port 0x64). */
bool hull_i8042_write(struct hull_i8042 *k, uint16_t port, uint8_t val);

/* ---- MMIO bus (mmio-bus.c) */
typedef void (*hull_mmio_read_fn)(void *opaque, uint64_t offset, void *data, uint32_t len);
typedef void (*hull_mmio_write_fn)(void *opaque, uint64_t offset, const void *data, uint32_t len);
#define HULL_MMIO_BUS_MAX 32

struct hull_mmio_bus {
	struct {
		uint64_t base, size;
		hull_mmio_read_fn read;
		hull_mmio_write_fn write;
		void *opaque;
	} dev[HULL_MMIO_BUS_MAX];
	size_t n;
};

/* Registers [base, base + size); -EEXIST when it overlaps, -ENOSPC when full. */
int hull_mmio_bus_add(struct hull_mmio_bus *bus, uint64_t base, uint64_t size,
		      hull_mmio_read_fn read, hull_mmio_write_fn write, void *opaque);
/*
 * Dispatches a guest access; returns false when no device covers the whole
 * access (a read then yields all-ones).  Registration is finished before the
 * vCPUs run, so dispatch takes no lock.
 */
bool hull_mmio_bus_read(const struct hull_mmio_bus *bus, uint64_t addr, void *data, uint32_t len);
bool hull_mmio_bus_write(const struct hull_mmio_bus *bus, uint64_t addr, const void *data,
			 uint32_t len);

/* ---- seccomp (vmm-seccomp.c) */
enum hull_vmm_thread_role {
	HULL_VMM_THREAD_VCPU,
	HULL_VMM_THREAD_MAIN, /* the thread that waits for the end and feeds the console */
};
/* Installs the allow-list filter for the calling thread's role; a denied call fails with EPERM. */
int hull_vmm_seccomp_apply(enum hull_vmm_thread_role role);

/* ---- the running VM (vm.c, vcpu.c, kvm.c) */
#include <pthread.h>
#include <stdatomic.h>

struct kvm_run;
struct kvm_cpuid2;
struct hull_virtio_mmio;

struct hull_vcpu {
	struct hull_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

struct hull_vm {
	int kvm_fd, vm_fd;
	size_t run_size;
	struct hull_guest_mem *mem;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, unfiltered */
	unsigned n_cpus;
	struct hull_vcpu *vcpus;
	struct hull_mmio_bus bus;
	struct hull_virtio_mmio *virtio[HULL_VIRTIO_MAX_DEVICES];
	int virtio_irqfd[HULL_VIRTIO_MAX_DEVICES];
	size_t n_virtio;

	pthread_mutex_t serial_lock; /* the legacy devices: serial and i8042 */
	struct hull_serial serial;
	struct hull_i8042 i8042;
	bool serial_irq;
	int console_out;
	bool seccomp;

	atomic_bool stop; /* set by the main thread: vCPU threads leave their loop */
	int done_fd;	  /* eventfd: a vCPU thread ended the VM */
	pthread_mutex_t end_lock;
	int end;		/* enum hull_vmm_end, or -1 while running */
	struct hull_error *err; /* the first vCPU error */
};

/* kvm.c: opens /dev/kvm and checks the API and the capabilities the VMM needs. */
int hull_kvm_open(int *ret_fd, size_t *ret_run_size, struct hull_error **reterr);
int hull_kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **ret, struct hull_error **reterr);

/* vcpu.c */
int hull_vcpu_init(struct hull_vm *vm, struct hull_vcpu *v, unsigned id,
		   const struct hull_boot_entry *entry, struct hull_error **reterr);
void hull_vcpu_done(struct hull_vcpu *v);
void *hull_vcpu_thread(void *arg);
void hull_vcpu_install_kick(void);
/* The serial port, wired to vm->console_out and IRQ 4; input is queued under its lock. */
void hull_vcpu_serial_init(struct hull_vm *vm);
void hull_vm_serial_input(struct hull_vm *vm, const uint8_t *buf, size_t len, size_t *ret_taken);

/*
 * vm-devices.c: the virtio-mmio devices of the config on the bus (before
 * /dev/kvm is opened: a bad disk path fails on any host), then their
 * interrupt eventfds bound to their GSIs (KVM_IRQFD, once the VM exists).
 */
struct hull_vmm_config;
int hull_vm_make_devices(struct hull_vm *vm, const struct hull_vmm_config *c,
			 struct hull_error **reterr);
int hull_vm_connect_devices(struct hull_vm *vm, struct hull_error **reterr);
void hull_vm_free_devices(struct hull_vm *vm);

/* vm.c: the first caller's reason (or error, which it takes) wins. */
void hull_vm_end(struct hull_vm *vm, int end, struct hull_error *err);
#define HULL_VM_END_ERROR 100
