/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What both boot formats share: the e820 memory map, the command line, the MP
 * table, the GDT and the identity page tables, and the choice of format.
 */
#include <string.h>

#include "vmm/vmm-internal.h"

size_t hull_e820_build(const struct hull_guest_mem *mem, struct hull_e820_entry *ret, size_t max)
{
	const struct hull_guest_mem_region *r = NULL;
	size_t n_regions = hull_guest_mem_regions(mem, &r), n = 0;

#define ADD(a, s, t)                                                                               \
	do {                                                                                       \
		if (n < max)                                                                       \
			ret[n++] =                                                                 \
				(struct hull_e820_entry){ .addr = (a), .size = (s), .type = (t) }; \
	} while (0)

	for (size_t i = 0; i < n_regions; i++) {
		uint64_t start = r[i].gpa, end = r[i].gpa + r[i].size;

		if (start < HULL_BOOT_EBDA) {
			/* base memory up to the EBDA, where the MP table lives */
			ADD(start, (end < HULL_BOOT_EBDA ? end : HULL_BOOT_EBDA) - start,
			    HULL_E820_RAM);
			if (end > HULL_BOOT_EBDA)
				ADD(HULL_BOOT_EBDA, HULL_BOOT_HIMEM - HULL_BOOT_EBDA,
				    HULL_E820_RESERVED);
			start = HULL_BOOT_HIMEM;
		}
		if (end > start)
			ADD(start, end - start, HULL_E820_RAM);
	}
#undef ADD
	return n;
}

int hull_boot_initrd_addr(const struct hull_guest_mem *mem, uint64_t floor, uint64_t limit,
			  uint64_t size, uint64_t *ret)
{
	const struct hull_guest_mem_region *r = NULL;
	uint64_t top, addr;

	if (hull_guest_mem_regions(mem, &r) < 1)
		return -ENOMEM;
	/* the initrd goes in the region at 0, which always holds the kernel too */
	top = r[0].gpa + r[0].size;
	if (limit < top)
		top = limit;
	if (size == 0 || size > top)
		return -ENOMEM;
	addr = (top - size) & ~0xfffULL;
	if (addr < floor)
		return -ENOMEM;
	*ret = addr;
	return 0;
}

uint64_t hull_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000U) << (56 - 24)) |
	       ((uint64_t)(flags & 0x0000f0ffU) << 40) |
	       ((uint64_t)(limit & 0x000f0000U) << (48 - 16)) |
	       ((uint64_t)(base & 0x00ffffffU) << 16) | ((uint64_t)(limit & 0x0000ffffU));
}

int hull_boot_write_gdt(struct hull_guest_mem *mem, bool long_mode)
{
	uint64_t gdt[5] = {
		0,
		0,
		hull_gdt_entry(long_mode ? 0xa09b : 0xc09b, 0, 0xfffff), /* 0x10 code */
		hull_gdt_entry(0xc093, 0, 0xfffff),			 /* 0x18 data */
		hull_gdt_entry(0x808b, 0, 0xfffff),			 /* 0x20 TSS */
	};

	return hull_guest_mem_write(mem, HULL_BOOT_GDT, gdt, sizeof(gdt));
}

int hull_boot_write_page_tables(struct hull_guest_mem *mem)
{
	uint64_t *pml4 = hull_guest_mem_ptr(mem, HULL_BOOT_PML4, 4096);
	uint64_t *pdpt = hull_guest_mem_ptr(mem, HULL_BOOT_PDPT, 4096);
	uint64_t *pd = hull_guest_mem_ptr(mem, HULL_BOOT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = HULL_BOOT_PDPT | 0x3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (HULL_BOOT_PD + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

bool hull_boot_is_elf(const uint8_t *kernel, size_t len)
{
	return len >= 4 && memcmp(kernel, "\177ELF", 4) == 0;
}

int hull_boot_load(struct hull_guest_mem *mem, const struct hull_boot_input *in,
		   struct hull_boot_entry *ret, struct hull_error **reterr)
{
	struct hull_boot_entry e = {};
	size_t cmdline_len = strlen(in->cmdline);
	void *mp;
	int r;

	if (cmdline_len + 1 > HULL_BOOT_CMDLINE_MAX)
		return hull_error_set(reterr, -E2BIG,
				      "command line is %zu bytes, at most %d are allowed",
				      cmdline_len, HULL_BOOT_CMDLINE_MAX - 1);
	if (in->n_cpus < 1 || in->n_cpus > HULL_VMM_MAX_CPUS)
		return hull_error_set(reterr, -EINVAL, "%u vCPUs: between 1 and %d are allowed",
				      in->n_cpus, HULL_VMM_MAX_CPUS);
	if (hull_guest_mem_size(mem) < HULL_BOOT_MIN_MEMORY)
		return hull_error_set(reterr, -EINVAL, "guest memory below the %llu MiB minimum",
				      HULL_BOOT_MIN_MEMORY >> 20);
	if (hull_guest_mem_write(mem, HULL_BOOT_CMDLINE, in->cmdline, cmdline_len + 1) < 0)
		return hull_error_set(reterr, -EFAULT, "command line does not fit in memory");

	mp = hull_guest_mem_ptr(mem, HULL_BOOT_EBDA, hull_mptable_size(in->n_cpus));
	if (!mp)
		return hull_error_set(reterr, -EFAULT, "mp table does not fit in memory");
	r = hull_mptable_write(mp, hull_mptable_size(in->n_cpus), (uint32_t)HULL_BOOT_EBDA,
			       in->n_cpus);
	if (r < 0)
		return hull_error_errno(reterr, r, "mp table");

	if (hull_boot_is_elf(in->kernel, in->kernel_len))
		r = hull_boot_pvh_load(mem, in, &e, reterr);
	else
		r = hull_boot_linux_load(mem, in, &e, reterr);
	if (r < 0)
		return r;

	r = hull_boot_write_gdt(mem, e.mode == HULL_BOOT_LINUX64);
	if (r >= 0 && e.mode == HULL_BOOT_LINUX64)
		r = hull_boot_write_page_tables(mem);
	if (r < 0)
		return hull_error_errno(reterr, r, "boot tables");
	*ret = e;
	return 0;
}
