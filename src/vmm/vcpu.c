/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One vCPU: its registers at boot, and the thread that runs KVM_RUN and
 * serves its exits (port I/O for the serial port and the i8042, MMIO for the
 * virtio devices).
 *
 * Stopping: the main thread sets vm->stop and sends HULL_VMM_KICK_SIGNAL to
 * each vCPU thread.  The handler sets the thread's run->immediate_exit, so a
 * signal that lands just before KVM_RUN is not lost: KVM_RUN then returns
 * EINTR at once, and the loop sees vm->stop.
 */
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "util/file.h"
#include "vmm/vmm-internal.h"
#include "vmm/vmm.h"

#define SERIAL_BASE 0x3f8
#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static __thread struct kvm_run *kick_run;

static void kick_handler(int sig)
{
	if (kick_run)
		kick_run->immediate_exit = 1;
}

void hull_vcpu_install_kick(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(HULL_VMM_KICK_SIGNAL, &sa, NULL);
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, bool s, bool l, bool db)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = s,
		.l = l,
		.g = 1,
	};
}

static int setup_sregs(struct hull_vcpu *v, const struct hull_boot_entry *e)
{
	struct kvm_sregs s;
	bool long_mode = e->mode == HULL_BOOT_LINUX64;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return negative_errno();
	s.cs = segment(0x10, 0xb, true, long_mode, !long_mode);
	s.ds = s.es = s.fs = s.gs = s.ss = segment(0x18, 0x3, true, false, true);
	s.tr = segment(0x20, 0xb, false, false, false);
	s.tr.limit = 0xfffff;
	s.tr.g = 0;
	s.gdt.base = HULL_BOOT_GDT;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = (s.cr0 | X86_CR0_PE | X86_CR0_ET) & ~(X86_CR0_CD | X86_CR0_NW);
	if (long_mode) {
		s.cr0 |= X86_CR0_PG;
		s.cr3 = HULL_BOOT_PML4;
		s.cr4 |= X86_CR4_PAE;
		s.efer |= EFER_LME | EFER_LMA;
	} else {
		s.cr4 = 0;
		s.efer = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return negative_errno();
	return 0;
}

static int setup_regs(struct hull_vcpu *v, const struct hull_boot_entry *e)
{
	struct kvm_regs r = {
		.rflags = 0x2,
		.rip = e->rip,
		.rsi = e->rsi,
		.rbx = e->rbx,
		.rsp = HULL_BOOT_STACK,
		.rbp = HULL_BOOT_STACK,
	};

	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return negative_errno();
	return 0;
}

static int setup_fpu(struct hull_vcpu *v)
{
	struct kvm_fpu f = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(v->fd, KVM_SET_FPU, &f) < 0)
		return negative_errno();
	return 0;
}

/* -EINVAL with *ret_refused set when KVM refuses one of them. */
static int setup_msrs(struct hull_vcpu *v, uint32_t *ret_refused)
{
	struct hull_msr list[16];
	size_t n = hull_msr_boot_list(list, ELEMENTSOF(list));
	_cleanup_free_ struct kvm_msrs *m = NULL;
	int r;

	m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	if (!m)
		return -ENOMEM;
	m->nmsrs = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		m->entries[i].index = list[i].index;
		m->entries[i].data = list[i].value;
	}
	r = ioctl(v->fd, KVM_SET_MSRS, m);
	if (r < 0)
		return negative_errno();
	/* KVM stops at the first MSR it refuses: name it */
	if ((size_t)r < n) {
		*ret_refused = list[r].index;
		return -EINVAL;
	}
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, l->regs + reg, 4);
	v = (v & ~0x700U) | (mode << 8);
	memcpy(l->regs + reg, &v, 4);
}

static int setup_lapic(struct hull_vcpu *v)
{
	struct kvm_lapic_state l;

	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return negative_errno();
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
		return negative_errno();
	return 0;
}

static int setup_cpuid(struct hull_vcpu *v)
{
	const struct kvm_cpuid2 *sup = v->vm->cpuid;
	_cleanup_free_ struct kvm_cpuid2 *c = NULL;
	size_t size = sizeof(*c) + sup->nent * sizeof(struct kvm_cpuid_entry2);

	c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, sup, size);
	hull_cpuid_filter(c->entries, c->nent, v->id, v->vm->n_cpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		return negative_errno();
	return 0;
}

int hull_vcpu_init(struct hull_vm *vm, struct hull_vcpu *v, unsigned id,
		   const struct hull_boot_entry *entry, struct hull_error **reterr)
{
	uint32_t refused = 0;
	void *run;
	int r;

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return hull_error_errno(reterr, negative_errno(), "vcpu %u: KVM_CREATE_VCPU", id);
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED)
		return hull_error_errno(reterr, negative_errno(), "vcpu %u: mmap kvm_run", id);
	v->run = run;

	r = setup_cpuid(v);
	if (r < 0)
		return hull_error_errno(reterr, r, "vcpu %u: KVM_SET_CPUID2", id);
	r = setup_msrs(v, &refused);
	if (r == -EINVAL && refused)
		return hull_error_set(reterr, r, "vcpu %u: KVM_SET_MSRS: msr 0x%x refused", id,
				      refused);
	if (r < 0)
		return hull_error_errno(reterr, r, "vcpu %u: KVM_SET_MSRS", id);
	r = setup_fpu(v);
	if (r < 0)
		return hull_error_errno(reterr, r, "vcpu %u: KVM_SET_FPU", id);
	r = setup_lapic(v);
	if (r < 0)
		return hull_error_errno(reterr, r, "vcpu %u: lapic", id);
	/* the application processors wait for INIT/SIPI from the boot processor */
	if (id == 0) {
		r = setup_sregs(v, entry);
		if (r < 0)
			return hull_error_errno(reterr, r, "vcpu %u: KVM_SET_SREGS", id);
		r = setup_regs(v, entry);
		if (r < 0)
			return hull_error_errno(reterr, r, "vcpu %u: KVM_SET_REGS", id);
	}
	return 0;
}

void hull_vcpu_done(struct hull_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->run_size);
	v->run = NULL;
	v->fd = safe_close(v->fd);
}

/* ---- exits */

static void serial_out(void *opaque, uint8_t byte)
{
	struct hull_vm *vm = opaque;

	/* a console nobody reads (EPIPE) must not stop the guest */
	(void)hull_write_all(vm->console_out, &byte, 1);
}

static void serial_set_irq(struct hull_vm *vm, bool level)
{
	struct kvm_irq_level irq = { .irq = HULL_SERIAL_IRQ, .level = level };

	if (level == vm->serial_irq)
		return;
	vm->serial_irq = level;
	(void)ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
}

void hull_vm_serial_input(struct hull_vm *vm, const uint8_t *buf, size_t len, size_t *ret_taken)
{
	pthread_mutex_lock(&vm->serial_lock);
	*ret_taken = hull_serial_input(&vm->serial, buf, len);
	serial_set_irq(vm, hull_serial_irq(&vm->serial));
	pthread_mutex_unlock(&vm->serial_lock);
}

/* Returns true when the guest asked for a reset. */
static bool io_byte(struct hull_vm *vm, uint16_t port, bool out, uint8_t *data)
{
	if (port >= SERIAL_BASE && port < SERIAL_BASE + 8) {
		bool level;

		pthread_mutex_lock(&vm->serial_lock);
		if (out)
			level = hull_serial_write(&vm->serial, port - SERIAL_BASE, *data);
		else
			level = hull_serial_read(&vm->serial, port - SERIAL_BASE, data);
		serial_set_irq(vm, level);
		pthread_mutex_unlock(&vm->serial_lock);
		return false;
	}
	if (port == HULL_I8042_DATA || port == HULL_I8042_CMD) {
		bool reset = false;

		pthread_mutex_lock(&vm->serial_lock);
		if (out)
			reset = hull_i8042_write(&vm->i8042, port, *data);
		else
			*data = hull_i8042_read(&vm->i8042, port);
		pthread_mutex_unlock(&vm->serial_lock);
		return reset;
	}
	/*
	 * The CMOS RTC (0x70/0x71) is absent, but reads as zero: a floating 0xff
	 * has the "update in progress" bit set forever, and Linux's rtc-cmos
	 * then spins for minutes waiting for it to clear.
	 */
	if (port == 0x70 || port == 0x71) {
		if (!out)
			*data = 0;
		return false;
	}
	/* nothing else here: reads float high, writes vanish */
	if (!out)
		*data = 0xff;
	return false;
}

static bool handle_io(struct hull_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *base = (uint8_t *)run;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;
	bool out = run->io.direction == KVM_EXIT_IO_OUT, reset = false;

	if (run->io.data_offset > v->vm->run_size || bytes > v->vm->run_size - run->io.data_offset)
		return false;
	/* multi-byte accesses act byte by byte on consecutive ports */
	for (uint32_t c = 0; c < run->io.count; c++)
		for (uint8_t i = 0; i < run->io.size; i++)
			reset |= io_byte(v->vm, (uint16_t)(run->io.port + i), out,
					 base + run->io.data_offset + c * run->io.size + i);
	return reset;
}

static void handle_mmio(struct hull_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		hull_mmio_bus_write(&v->vm->bus, run->mmio.phys_addr, run->mmio.data, len);
	else
		hull_mmio_bus_read(&v->vm->bus, run->mmio.phys_addr, run->mmio.data, len);
}

void *hull_vcpu_thread(void *arg)
{
	struct hull_vcpu *v = arg;
	struct hull_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	struct hull_error *err = NULL;
	int r;

	kick_run = run;
	if (vm->seccomp) {
		r = hull_vmm_seccomp_apply(HULL_VMM_THREAD_VCPU);
		if (r < 0) {
			hull_error_errno(&err, r, "vcpu %u: seccomp", v->id);
			hull_vm_end(vm, HULL_VM_END_ERROR, err);
			return NULL;
		}
	}

	while (!atomic_load(&vm->stop)) {
		r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			hull_error_errno(&err, negative_errno(), "vcpu %u: KVM_RUN", v->id);
			hull_vm_end(vm, HULL_VM_END_ERROR, err);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (handle_io(v)) {
				hull_vm_end(vm, HULL_VMM_END_RESET, NULL);
				return NULL;
			}
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_SHUTDOWN:
			hull_vm_end(vm, HULL_VMM_END_SHUTDOWN, NULL);
			return NULL;
		case KVM_EXIT_SYSTEM_EVENT:
			hull_vm_end(vm,
				    run->system_event.type == KVM_SYSTEM_EVENT_RESET
					    ? HULL_VMM_END_RESET
					    : HULL_VMM_END_SHUTDOWN,
				    NULL);
			return NULL;
		case KVM_EXIT_FAIL_ENTRY:
			hull_error_set(
				&err, -EIO, "vcpu %u: entry failed, hardware reason 0x%llx", v->id,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			hull_vm_end(vm, HULL_VM_END_ERROR, err);
			return NULL;
		case KVM_EXIT_INTERNAL_ERROR:
			hull_error_set(&err, -EIO, "vcpu %u: KVM internal error, suberror %u",
				       v->id, run->internal.suberror);
			hull_vm_end(vm, HULL_VM_END_ERROR, err);
			return NULL;
		default:
			hull_error_set(&err, -EIO, "vcpu %u: unexpected exit reason %u", v->id,
				       run->exit_reason);
			hull_vm_end(vm, HULL_VM_END_ERROR, err);
			return NULL;
		}
	}
	return NULL;
}

void hull_vcpu_serial_init(struct hull_vm *vm)
{
	hull_serial_init(&vm->serial, serial_out, vm);
	hull_i8042_init(&vm->i8042);
}
