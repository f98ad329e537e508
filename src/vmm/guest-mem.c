/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/guest-mem.h"

/*
 * Guard gaps are whole huge pages, and every region starts on a 2 MiB
 * boundary in the host: KVM maps guest memory with 2 MiB pages only where the
 * guest-physical and the host address agree modulo 2 MiB (and the host page
 * is huge).  Under nested virtualisation each 4 KiB fault of the guest costs
 * an exit through two hypervisors, so this is most of the difference in boot
 * time against a VMM that aligns its RAM (docs/vm.md, "Boot time").
 */
#define HUGE_SIZE (2ULL << 20)
#define GUARD_SIZE HUGE_SIZE

static uint64_t align_huge(uint64_t v)
{
	return (v + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
}

struct hull_guest_mem {
	uint64_t size;
	void *map; /* the whole reservation, guard pages included */
	size_t map_len;
	size_t n_regions;
	struct hull_guest_mem_region regions[HULL_GUEST_MEM_MAX_REGIONS];
};

int hull_guest_mem_new(uint64_t size, struct hull_guest_mem **ret, struct hull_error **reterr)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *m = NULL;
	uint64_t low, high, off, base;

	if (size == 0 || size % 4096 != 0 || size > HULL_GUEST_MEM_MAX)
		return hull_error_set(reterr, -EINVAL,
				      "guest memory: size %llu is not a non-zero multiple of 4096 "
				      "up to %llu",
				      (unsigned long long)size,
				      (unsigned long long)HULL_GUEST_MEM_MAX);
	m = calloc(1, sizeof(*m));
	if (!m)
		return hull_error_errno(reterr, -ENOMEM, "guest memory");
	m->map = MAP_FAILED;
	m->size = size;
	low = size < HULL_GUEST_MEM_LOW_END ? size : HULL_GUEST_MEM_LOW_END;
	high = size - low;

	/*
	 * [slack][guard][low][guard][high][guard], reserved inaccessible first;
	 * the slack (up to 2 MiB) moves the first region onto a 2 MiB boundary.
	 */
	m->map_len = (size_t)(HUGE_SIZE + GUARD_SIZE + align_huge(low) + GUARD_SIZE +
			      (high ? align_huge(high) + GUARD_SIZE : 0));
	m->map = mmap(NULL, m->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		      0);
	if (m->map == MAP_FAILED)
		return hull_error_errno(reterr, negative_errno(), "guest memory: map %llu bytes",
					(unsigned long long)size);

	base = align_huge((uint64_t)(uintptr_t)m->map) - (uint64_t)(uintptr_t)m->map;
	off = base + GUARD_SIZE;
	m->regions[m->n_regions++] = (struct hull_guest_mem_region){
		.gpa = 0, .size = low, .host = (uint8_t *)m->map + off
	};
	if (high) {
		off += align_huge(low) + GUARD_SIZE;
		m->regions[m->n_regions++] =
			(struct hull_guest_mem_region){ .gpa = HULL_GUEST_MEM_HIGH_START,
							.size = high,
							.host = (uint8_t *)m->map + off };
	}
	for (size_t i = 0; i < m->n_regions; i++) {
		if (mprotect(m->regions[i].host, m->regions[i].size, PROT_READ | PROT_WRITE) < 0)
			return hull_error_errno(reterr, negative_errno(), "guest memory: mprotect");
		/* guest RAM has no place in a core dump of the VMM */
		(void)madvise(m->regions[i].host, m->regions[i].size, MADV_DONTDUMP);
		/* huge pages where the host allows them (THP "madvise" or "always") */
		(void)madvise(m->regions[i].host, m->regions[i].size, MADV_HUGEPAGE);
	}
	*ret = TAKE_PTR(m);
	return 0;
}

void hull_guest_mem_free(struct hull_guest_mem *m)
{
	if (!m)
		return;
	if (m->map != MAP_FAILED && m->map)
		munmap(m->map, m->map_len);
	free(m);
}

uint64_t hull_guest_mem_size(const struct hull_guest_mem *m)
{
	return m->size;
}

size_t hull_guest_mem_regions(const struct hull_guest_mem *m,
			      const struct hull_guest_mem_region **ret)
{
	*ret = m->regions;
	return m->n_regions;
}

void *hull_guest_mem_ptr(const struct hull_guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (size_t i = 0; i < m->n_regions; i++) {
		const struct hull_guest_mem_region *r = &m->regions[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		/* off < size and len <= size - off: no sum that could wrap */
		if (off >= r->size || len > r->size - off)
			continue;
		return (uint8_t *)r->host + off;
	}
	return NULL;
}

int hull_guest_mem_read(const struct hull_guest_mem *m, uint64_t gpa, void *buf, size_t len)
{
	const void *p = hull_guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	if (len)
		memcpy(buf, p, len);
	return 0;
}

int hull_guest_mem_write(struct hull_guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
	void *p = hull_guest_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	if (len)
		memcpy(p, buf, len);
	return 0;
}
