/* SPDX-License-Identifier: Apache-2.0 */
/* /dev/kvm: the API version and the capabilities hull's VMM relies on. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "vmm/vmm-internal.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
};

int hull_kvm_open(int *ret_fd, size_t *ret_run_size, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, negative_errno(), "/dev/kvm");
	r = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		return hull_error_set(reterr, -ENOTSUP, "/dev/kvm: API version %d, expected %d", r,
				      KVM_API_VERSION);
	for (size_t i = 0; i < ELEMENTSOF(required_caps); i++)
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return hull_error_set(reterr, -ENOTSUP, "/dev/kvm: no %s",
					      required_caps[i].name);
	r = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run))
		return hull_error_errno(reterr, r < 0 ? negative_errno() : -EINVAL,
					"/dev/kvm: KVM_GET_VCPU_MMAP_SIZE");
	*ret_run_size = (size_t)r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

#define LEAF1_ECX_TSC_DEADLINE (1U << 24)

/*
 * KVM emulates the LAPIC's TSC-deadline mode with its in-kernel irqchip, but
 * says so through KVM_CAP_TSC_DEADLINE_TIMER rather than in the supported
 * CPUID.  Without the bit Linux falls back to the LAPIC's one-shot timer and
 * first calibrates it against the PIT, ticks that come slowly in a nested guest.
 */
static void add_emulated(int kvm_fd, struct kvm_cpuid2 *c)
{
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= LEAF1_ECX_TSC_DEADLINE;
}

int hull_kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **ret, struct hull_error **reterr)
{
	/* grow until KVM stops saying E2BIG */
	for (unsigned n = 64; n <= 4096; n *= 2) {
		_cleanup_free_ struct kvm_cpuid2 *c = NULL;

		c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			return hull_error_errno(reterr, -ENOMEM, "cpuid");
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			add_emulated(kvm_fd, c);
			*ret = TAKE_PTR(c);
			return 0;
		}
		if (errno != E2BIG)
			return hull_error_errno(reterr, negative_errno(),
						"KVM_GET_SUPPORTED_CPUID");
	}
	return hull_error_errno(reterr, -E2BIG, "KVM_GET_SUPPORTED_CPUID");
}
