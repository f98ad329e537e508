/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest physical memory of a micro-VM.
 *
 * One anonymous mapping (MAP_NORESERVE) holds the guest's RAM.  Up to 3 GiB it
 * is mapped at guest-physical address 0; the rest starts at 4 GiB, leaving the
 * 3-4 GiB hole for MMIO devices, the IOAPIC and the LAPIC.  So there are one or
 * two regions; every region is surrounded by PROT_NONE guard pages in the host,
 * so an access that ever escaped the checks below faults instead of reading a
 * neighbour.  Each region starts on a 2 MiB boundary in the host and is
 * advised for transparent huge pages, so KVM can map it with 2 MiB pages.
 *
 * Everything the guest writes is hostile: device code never dereferences a
 * guest address itself but asks hull_guest_mem_ptr() (or the read/write
 * helpers) for the whole range [gpa, gpa + len), checked at once and
 * overflow-safe.  A range is valid only when it lies wholly inside one region.
 *
 * The memory is shared with running vCPUs: the guest may change any byte at any
 * time, so a value read from it must be read once, checked, and then used (never
 * re-read after the check).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/macro.h"

#define HULL_GUEST_MEM_LOW_END (3ULL << 30)    /* end of RAM below the MMIO hole */
#define HULL_GUEST_MEM_HIGH_START (4ULL << 30) /* where RAM resumes above it */
/* An upper bound on guest RAM: keeps every gpa + size far from overflowing. */
#define HULL_GUEST_MEM_MAX (1ULL << 40)
#define HULL_GUEST_MEM_MAX_REGIONS 2

struct hull_guest_mem;

struct hull_guest_mem_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size; /* bytes, a multiple of the page size */
	void *host;    /* where it is mapped in this process */
};

/*
 * Maps `size` bytes of guest RAM (a non-zero multiple of 4096, at most
 * HULL_GUEST_MEM_MAX), zero-filled.  -EINVAL for a bad size, -ENOMEM when the
 * address space is short.
 */
int hull_guest_mem_new(uint64_t size, struct hull_guest_mem **ret, struct hull_error **reterr);
void hull_guest_mem_free(struct hull_guest_mem *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_guest_mem *, hull_guest_mem_free)

/* Total RAM in bytes (the size given to hull_guest_mem_new()). */
uint64_t hull_guest_mem_size(const struct hull_guest_mem *m);

/*
 * The regions in ascending gpa order, for KVM_SET_USER_MEMORY_REGION and the
 * e820 map: *ret points into m (valid until hull_guest_mem_free()); returns how
 * many there are (1 or 2).
 */
size_t hull_guest_mem_regions(const struct hull_guest_mem *m,
			      const struct hull_guest_mem_region **ret);

/*
 * The host address of guest-physical `gpa`, or NULL unless the whole range
 * [gpa, gpa + len) lies inside one region.  len 0 is treated as 1: the address
 * itself must be RAM.  Never overflows, whatever gpa and len are.
 */
void *hull_guest_mem_ptr(const struct hull_guest_mem *m, uint64_t gpa, uint64_t len);

/* Copies between guest memory and buf; -EFAULT (nothing copied) unless the range is valid. */
int hull_guest_mem_read(const struct hull_guest_mem *m, uint64_t gpa, void *buf, size_t len);
int hull_guest_mem_write(struct hull_guest_mem *m, uint64_t gpa, const void *buf, size_t len);
