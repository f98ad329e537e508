/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID for a vCPU: KVM_GET_SUPPORTED_CPUID adjusted to this VM's topology,
 * marked as a hypervisor guest, and without a PMU.  A pure function over the
 * entry array so it is tested without KVM.
 */
#include <linux/kvm.h>
#include <string.h>

#include "vmm/vmm-internal.h"

#define LEAF1_ECX_PDCM (1U << 15)
#define LEAF1_ECX_HYPERVISOR (1U << 31)
#define LEAF1_EDX_HTT (1U << 28)
#define EXT1_ECX_CMP_LEGACY (1U << 1)
#define EXT1_ECX_PERFCTR_CORE (1U << 23)
#define EXT1_ECX_PERFCTR_NB (1U << 24)
#define EXT1_ECX_PERFCTR_LLC (1U << 28)
#define LEAFB_TYPE_SMT 1
#define LEAFB_TYPE_CORE 2

static uint32_t order(unsigned n)
{
	uint32_t bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

void hull_cpuid_filter(struct kvm_cpuid_entry2 *e, size_t n, unsigned cpu, unsigned n_cpus)
{
	uint32_t cores_bits = order(n_cpus);

	for (size_t i = 0; i < n; i++) {
		switch (e[i].function) {
		case 1:
			e[i].ebx = (e[i].ebx & 0x0000ffffU) | ((uint32_t)(cpu & 0xff) << 24) |
				   ((uint32_t)(n_cpus & 0xff) << 16);
			e[i].ecx |= LEAF1_ECX_HYPERVISOR;
			e[i].ecx &= ~LEAF1_ECX_PDCM;
			if (n_cpus > 1)
				e[i].edx |= LEAF1_EDX_HTT;
			else
				e[i].edx &= ~LEAF1_EDX_HTT;
			break;
		case 4:
			/* cores per package - 1 in bits 31:26 (Intel deterministic cache leaf) */
			e[i].eax =
				(e[i].eax & 0x03ffffffU) | ((uint32_t)((n_cpus - 1) & 0x3f) << 26);
			break;
		case 0xa:
			/* architectural performance monitoring: none */
			e[i].eax = e[i].ebx = e[i].ecx = e[i].edx = 0;
			break;
		case 0xb:
			e[i].edx = cpu;
			if (e[i].index == 0) {
				e[i].eax = 0;
				e[i].ebx = 1;
				e[i].ecx = (LEAFB_TYPE_SMT << 8) | 0;
			} else if (e[i].index == 1) {
				e[i].eax = cores_bits;
				e[i].ebx = n_cpus;
				e[i].ecx = (LEAFB_TYPE_CORE << 8) | 1;
			} else {
				e[i].eax = e[i].ebx = 0;
				e[i].ecx = e[i].index & 0xff;
			}
			break;
		case 0x80000001:
			e[i].ecx &= ~(EXT1_ECX_PERFCTR_CORE | EXT1_ECX_PERFCTR_NB |
				      EXT1_ECX_PERFCTR_LLC);
			if (n_cpus > 1)
				e[i].ecx |= EXT1_ECX_CMP_LEGACY;
			else
				e[i].ecx &= ~EXT1_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* AMD: NC (cores - 1) in 7:0, ApicIdCoreIdSize in 15:12 */
			e[i].ecx = (e[i].ecx & ~0xf0ffU) | ((cores_bits & 0xf) << 12) |
				   ((n_cpus - 1) & 0xff);
			break;
		case 0x80000022:
			/* AMD PerfMonV2 */
			e[i].eax = e[i].ebx = e[i].ecx = e[i].edx = 0;
			break;
		default:
			break;
		}
	}
}
