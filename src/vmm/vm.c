/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's life: inputs checked and the kernel loaded (before /dev/kvm is
 * even opened, so bad input fails the same on every host), the KVM VM with
 * its in-kernel irqchip and PIT, the devices, one thread per vCPU, the wait
 * for the end, and the teardown that every path goes through (vm_free()).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>

#include "util/file.h"
#include "vmm/vmm-internal.h"
#include "vmm/vmm.h"

#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define MAX_KERNEL_SIZE (512ULL << 20)
#define MAX_INITRD_SIZE (1ULL << 30)

int hull_vmm_cmdline(const char *base, size_t n_devices, char **ret)
{
	_cleanup_free_ char *s = NULL;
	size_t len, cap;

	if (!base)
		base = HULL_VMM_DEFAULT_CMDLINE;
	if (n_devices > HULL_VIRTIO_MAX_DEVICES)
		return -E2BIG;
	len = strlen(base);
	cap = len + 1 + n_devices * 64;
	s = malloc(cap);
	if (!s)
		return -ENOMEM;
	memcpy(s, base, len + 1);
	for (size_t i = 0; i < n_devices; i++)
		len += (size_t)snprintf(s + len, cap - len, " virtio_mmio.device=4K@0x%llx:%zu",
					(unsigned long long)(HULL_VIRTIO_MMIO_BASE + i * 0x1000),
					HULL_VIRTIO_MMIO_GSI + i);
	*ret = TAKE_PTR(s);
	return 0;
}

void hull_vm_end(struct hull_vm *vm, int end, struct hull_error *err)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->end_lock);
	first = vm->end < 0;
	if (first) {
		vm->end = end;
		vm->err = err;
		err = NULL;
	}
	pthread_mutex_unlock(&vm->end_lock);
	hull_error_free(err);
	if (first)
		(void)!write(vm->done_fd, &one, sizeof(one));
}

static void vm_stop_vcpus(struct hull_vm *vm)
{
	atomic_store(&vm->stop, true);
	for (unsigned i = 0; i < vm->n_cpus; i++)
		if (vm->vcpus[i].started)
			pthread_kill(vm->vcpus[i].thread, HULL_VMM_KICK_SIGNAL);
	for (unsigned i = 0; i < vm->n_cpus; i++)
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
}

static void vm_free(struct hull_vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus) {
		vm_stop_vcpus(vm);
		for (unsigned i = 0; i < vm->n_cpus; i++)
			hull_vcpu_done(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	hull_vm_free_devices(vm);
	free(vm->cpuid);
	safe_close(vm->vm_fd);
	safe_close(vm->kvm_fd);
	safe_close(vm->done_fd);
	hull_guest_mem_free(vm->mem);
	hull_error_free(vm->err);
	pthread_mutex_destroy(&vm->serial_lock);
	pthread_mutex_destroy(&vm->end_lock);
	free(vm);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_vm *, vm_free)

static int read_file_bounded(const char *what, const char *path, uint64_t max, uint8_t **ret,
			     size_t *ret_len, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, negative_errno(), "%s '%s'", what, path);
	if (fstat(fd, &st) < 0)
		return hull_error_errno(reterr, negative_errno(), "%s '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return hull_error_set(reterr, -EINVAL, "%s '%s': not a regular file", what, path);
	if ((uint64_t)st.st_size > max)
		return hull_error_set(reterr, -EFBIG, "%s '%s': %lld bytes, at most %llu", what,
				      path, (long long)st.st_size, (unsigned long long)max);
	if (st.st_size == 0)
		return hull_error_set(reterr, -ENOEXEC, "%s '%s': empty file", what, path);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return hull_error_errno(reterr, -ENOMEM, "%s '%s'", what, path);
	n = hull_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return hull_error_errno(reterr, (int)n, "read %s '%s'", what, path);
	*ret_len = (size_t)n;
	*ret = TAKE_PTR(buf);
	return 0;
}

static int check_config(const struct hull_vmm_config *c, struct hull_error **reterr)
{
	struct sysinfo si;
	uint64_t host_mib;

	if (!c->kernel)
		return hull_error_set(reterr, -EINVAL, "no kernel given");
	if (c->cpus < 1 || c->cpus > HULL_VMM_MAX_CPUS)
		return hull_error_set(reterr, -EINVAL, "cpus %u: between 1 and %d are allowed",
				      c->cpus, HULL_VMM_MAX_CPUS);
	if (c->memory_mib < (HULL_BOOT_MIN_MEMORY >> 20))
		return hull_error_set(reterr, -EINVAL, "memory %llu MiB: at least %llu MiB",
				      (unsigned long long)c->memory_mib,
				      HULL_BOOT_MIN_MEMORY >> 20);
	if (sysinfo(&si) < 0)
		return hull_error_errno(reterr, negative_errno(), "sysinfo");
	host_mib = ((uint64_t)si.totalram * si.mem_unit) >> 20;
	if (c->memory_mib > host_mib || c->memory_mib > (HULL_GUEST_MEM_MAX >> 20))
		return hull_error_set(
			reterr, -ENOMEM, "memory %llu MiB: more than the host has (%llu MiB)",
			(unsigned long long)c->memory_mib, (unsigned long long)host_mib);
	if (c->n_disks + (c->rng ? 1 : 0) + (c->vsock_cid ? 1 : 0) > HULL_VIRTIO_MAX_DEVICES)
		return hull_error_set(reterr, -E2BIG, "more than %d devices",
				      HULL_VIRTIO_MAX_DEVICES);
	if (c->vsock_cid && (c->vsock_cid < 3 || !c->vsock_uds))
		return hull_error_set(reterr, -EINVAL,
				      "vsock: a guest cid of at least 3 and a unix socket path "
				      "are needed");
	return 0;
}

static int make_vm(struct hull_vm *vm, struct hull_error **reterr)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	const struct hull_guest_mem_region *regions = NULL;
	size_t n_regions;
	int r;

	r = hull_kvm_open(&vm->kvm_fd, &vm->run_size, reterr);
	if (r < 0)
		return r;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return hull_error_errno(reterr, negative_errno(), "KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return hull_error_errno(reterr, negative_errno(), "KVM_SET_TSS_ADDR");
	{
		uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			return hull_error_errno(reterr, negative_errno(),
						"KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return hull_error_errno(reterr, negative_errno(), "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return hull_error_errno(reterr, negative_errno(), "KVM_CREATE_PIT2");

	n_regions = hull_guest_mem_regions(vm->mem, &regions);
	for (size_t i = 0; i < n_regions; i++) {
		struct kvm_userspace_memory_region mr = {
			.slot = (uint32_t)i,
			.guest_phys_addr = regions[i].gpa,
			.memory_size = regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)regions[i].host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
			return hull_error_errno(reterr, negative_errno(),
						"KVM_SET_USER_MEMORY_REGION slot %zu", i);
	}
	return hull_kvm_supported_cpuid(vm->kvm_fd, &vm->cpuid, reterr);
}

/* Waits for the end: a vCPU ending the VM, stop_fd, and serial input. */
static int vm_wait(struct hull_vm *vm, const struct hull_vmm_config *c)
{
	int console_in = c->console_in;
	uint8_t pending[HULL_SERIAL_FIFO];
	size_t n_pending = 0;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = vm->done_fd, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
			{ .fd = n_pending ? -1 : console_in, .events = POLLIN },
		};
		int r;

		/* input the guest has not taken yet is offered again every 10 ms */
		r = poll(p, ELEMENTSOF(p), n_pending ? 10 : -1);
		if (r < 0 && errno != EINTR)
			return negative_errno();
		if (p[0].revents)
			return 0;
		if (p[1].revents) {
			hull_vm_end(vm, HULL_VMM_END_STOPPED, NULL);
			return 0;
		}
		if (p[2].revents) {
			ssize_t n = read(console_in, pending, sizeof(pending));

			if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
				console_in = -1; /* EOF or error: no more input */
			else if (n > 0)
				n_pending = (size_t)n;
		}
		if (n_pending) {
			size_t taken = 0;

			hull_vm_serial_input(vm, pending, n_pending, &taken);
			memmove(pending, pending + taken, n_pending - taken);
			n_pending -= taken;
		}
	}
}

int hull_vmm_run(const struct hull_vmm_config *c, enum hull_vmm_end *ret_end,
		 struct hull_error **reterr)
{
	_cleanup_(vm_freep) struct hull_vm *vm = NULL;
	_cleanup_free_ uint8_t *kernel = NULL, *initrd = NULL;
	_cleanup_free_ char *cmdline = NULL;
	size_t kernel_len = 0, initrd_len = 0, n_devices;
	struct hull_boot_input in;
	struct hull_boot_entry entry;
	int r;

	r = check_config(c, reterr);
	if (r < 0)
		return r;
	r = read_file_bounded("kernel", c->kernel, MAX_KERNEL_SIZE, &kernel, &kernel_len, reterr);
	if (r < 0)
		return r;
	if (c->initrd) {
		r = read_file_bounded("initrd", c->initrd, MAX_INITRD_SIZE, &initrd, &initrd_len,
				      reterr);
		if (r < 0)
			return r;
	}
	n_devices = c->n_disks + (c->rng ? 1 : 0) + (c->vsock_cid ? 1 : 0);
	r = hull_vmm_cmdline(c->cmdline, n_devices, &cmdline);
	if (r < 0)
		return hull_error_errno(reterr, r, "command line");

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return hull_error_errno(reterr, -ENOMEM, "vm");
	vm->kvm_fd = vm->vm_fd = vm->done_fd = -EBADF;
	vm->end = -1;
	vm->console_out = c->console_out;
	vm->seccomp = c->seccomp;
	vm->n_cpus = c->cpus;
	pthread_mutex_init(&vm->serial_lock, NULL);
	pthread_mutex_init(&vm->end_lock, NULL);
	hull_vcpu_serial_init(vm);

	r = hull_guest_mem_new(c->memory_mib << 20, &vm->mem, reterr);
	if (r < 0)
		return r;
	in = (struct hull_boot_input){
		.kernel = kernel,
		.kernel_len = kernel_len,
		.initrd = initrd,
		.initrd_len = initrd_len,
		.cmdline = cmdline,
		.n_cpus = c->cpus,
	};
	r = hull_boot_load(vm->mem, &in, &entry, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "kernel '%s'", c->kernel);
	/* the guest has its copies now */
	free(TAKE_PTR(kernel));
	free(TAKE_PTR(initrd));

	r = hull_vm_make_devices(vm, c, reterr);
	if (r < 0)
		return r;
	r = make_vm(vm, reterr);
	if (r < 0)
		return r;
	r = hull_vm_connect_devices(vm, reterr);
	if (r < 0)
		return r;
	vm->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->done_fd < 0)
		return hull_error_errno(reterr, negative_errno(), "eventfd");

	vm->vcpus = calloc(c->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return hull_error_errno(reterr, -ENOMEM, "vcpus");
	for (unsigned i = 0; i < c->cpus; i++)
		vm->vcpus[i].fd = -EBADF;
	for (unsigned i = 0; i < c->cpus; i++) {
		vm->vcpus[i].vm = vm;
		r = hull_vcpu_init(vm, &vm->vcpus[i], i, &entry, reterr);
		if (r < 0)
			return r;
	}

	hull_vcpu_install_kick();
	for (unsigned i = 0; i < c->cpus; i++) {
		r = -pthread_create(&vm->vcpus[i].thread, NULL, hull_vcpu_thread, &vm->vcpus[i]);
		if (r < 0)
			return hull_error_errno(reterr, r, "vcpu %u: thread", i);
		vm->vcpus[i].started = true;
	}
	if (c->seccomp) {
		r = hull_vmm_seccomp_apply(HULL_VMM_THREAD_MAIN);
		if (r < 0)
			return hull_error_errno(reterr, r, "seccomp");
	}

	r = vm_wait(vm, c);
	vm_stop_vcpus(vm);
	if (r < 0)
		return hull_error_errno(reterr, r, "poll");
	if (vm->end == HULL_VM_END_ERROR) {
		r = vm->err ? vm->err->code : -EIO;
		if (reterr) {
			hull_error_free(*reterr);
			*reterr = TAKE_PTR(vm->err);
		}
		return r;
	}
	*ret_end = (enum hull_vmm_end)vm->end;
	return 0;
}
