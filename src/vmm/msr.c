/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MSR values a vCPU starts with: syscall entry points cleared (the kernel
 * sets its own), the TSC at 0, fast strings on, and MTRRs defaulting to
 * write-back so the guest does not run its RAM uncached.
 */
#include "vmm/vmm-internal.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WB 6ULL

static const struct hull_msr boot_msrs[] = {
	{ MSR_IA32_SYSENTER_CS, 0 },
	{ MSR_IA32_SYSENTER_ESP, 0 },
	{ MSR_IA32_SYSENTER_EIP, 0 },
	{ MSR_STAR, 0 },
	{ MSR_CSTAR, 0 },
	{ MSR_KERNEL_GS_BASE, 0 },
	{ MSR_SYSCALL_MASK, 0 },
	{ MSR_LSTAR, 0 },
	{ MSR_IA32_TSC, 0 },
	{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WB },
};

size_t hull_msr_boot_list(struct hull_msr *ret, size_t max)
{
	size_t n = ELEMENTSOF(boot_msrs) < max ? ELEMENTSOF(boot_msrs) : max;

	for (size_t i = 0; i < n; i++)
		ret[i] = boot_msrs[i];
	return n;
}
