/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/guest-mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void test_bad_sizes(void **state)
{
	struct hull_guest_mem *m = NULL;
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_guest_mem_new(0, &m, &err), -EINVAL);
	assert_non_null(err);
	assert_int_equal(hull_guest_mem_new(4097, &m, NULL), -EINVAL);
	assert_int_equal(hull_guest_mem_new(HULL_GUEST_MEM_MAX + 4096, &m, NULL), -EINVAL);
	assert_int_equal(hull_guest_mem_new(UINT64_MAX & ~4095ULL, &m, NULL), -EINVAL);
	assert_null(m);
	hull_guest_mem_free(NULL);
}

static void test_small(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *m = NULL;
	const struct hull_guest_mem_region *r;
	uint8_t buf[16], back[16];
	uint8_t *p;

	assert_int_equal(hull_guest_mem_new(16 * MiB, &m, NULL), 0);
	assert_int_equal(hull_guest_mem_size(m), 16 * MiB);
	assert_int_equal(hull_guest_mem_regions(m, &r), 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 16 * MiB);
	assert_non_null(r[0].host);
	/* 2 MiB-aligned in the host, as in the guest: KVM can use huge pages */
	assert_int_equal((uintptr_t)r[0].host % (2 * MiB), 0);

	/* zero-filled, and the whole range is writable */
	p = hull_guest_mem_ptr(m, 0, 16 * MiB);
	assert_ptr_equal(p, r[0].host);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[16 * MiB - 1], 0);
	p[16 * MiB - 1] = 0xaa;

	/* exact end, one past, and len 0 (treated as 1) */
	assert_non_null(hull_guest_mem_ptr(m, 16 * MiB - 1, 1));
	assert_null(hull_guest_mem_ptr(m, 16 * MiB - 1, 2));
	assert_null(hull_guest_mem_ptr(m, 16 * MiB, 1));
	assert_null(hull_guest_mem_ptr(m, 16 * MiB, 0));
	assert_non_null(hull_guest_mem_ptr(m, 16 * MiB - 1, 0));
	assert_null(hull_guest_mem_ptr(m, 0, 16 * MiB + 1));

	/* gpa + len wrapping past 2^64 must not look small */
	assert_null(hull_guest_mem_ptr(m, 4096, UINT64_MAX));
	assert_null(hull_guest_mem_ptr(m, 4096, UINT64_MAX - 4095));
	assert_null(hull_guest_mem_ptr(m, UINT64_MAX, 2));
	assert_null(hull_guest_mem_ptr(m, UINT64_MAX - 4095, 4097));
	assert_null(hull_guest_mem_ptr(m, UINT64_MAX, 0));

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(hull_guest_mem_write(m, 4096, buf, sizeof(buf)), 0);
	assert_int_equal(hull_guest_mem_read(m, 4096, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	assert_int_equal(hull_guest_mem_write(m, 16 * MiB - 8, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(hull_guest_mem_read(m, 16 * MiB - 8, back, sizeof(back)), -EFAULT);
	/* a refused write left the last bytes alone */
	assert_int_equal(p[16 * MiB - 1], 0xaa);
	assert_int_equal(hull_guest_mem_read(m, UINT64_MAX - 3, back, 8), -EFAULT);
	assert_int_equal(hull_guest_mem_read(m, 0, back, 0), 0);
}

/* More than 3 GiB: RAM resumes at 4 GiB; the hole is not memory. */
static void test_split(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *m = NULL;
	const struct hull_guest_mem_region *r;
	uint8_t *lo, *hi;

	assert_int_equal(hull_guest_mem_new(3 * GiB + 8 * MiB, &m, NULL), 0);
	assert_int_equal(hull_guest_mem_regions(m, &r), 2);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 3 * GiB);
	assert_int_equal(r[1].gpa, 4 * GiB);
	assert_int_equal(r[1].size, 8 * MiB);
	assert_int_equal((uintptr_t)r[0].host % (2 * MiB), 0);
	assert_int_equal((uintptr_t)r[1].host % (2 * MiB), 0);

	lo = hull_guest_mem_ptr(m, 3 * GiB - 1, 1);
	assert_ptr_equal(lo, (uint8_t *)r[0].host + 3 * GiB - 1);
	*lo = 1;
	hi = hull_guest_mem_ptr(m, 4 * GiB, 8 * MiB);
	assert_ptr_equal(hi, r[1].host);
	hi[8 * MiB - 1] = 2;

	/* nothing in the hole, nothing spanning it, nothing past the top */
	assert_null(hull_guest_mem_ptr(m, 3 * GiB, 1));
	assert_null(hull_guest_mem_ptr(m, 3 * GiB + 4096, 4096));
	assert_null(hull_guest_mem_ptr(m, 4 * GiB - 1, 1));
	assert_null(hull_guest_mem_ptr(m, 3 * GiB - 1, 2));
	assert_null(hull_guest_mem_ptr(m, 3 * GiB - 4096, GiB + 4096));
	assert_null(hull_guest_mem_ptr(m, 4 * GiB + 8 * MiB, 1));
	assert_null(hull_guest_mem_ptr(m, 4 * GiB, 8 * MiB + 1));
	assert_null(hull_guest_mem_ptr(m, 4 * GiB + 1, UINT64_MAX));
	assert_null(hull_guest_mem_ptr(m, 0, UINT64_MAX));
	assert_non_null(hull_guest_mem_ptr(m, 4 * GiB + 8 * MiB - 1, 0));
}

/* Exactly 3 GiB: one region, and 3 GiB itself is already the hole. */
static void test_exactly_low(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *m = NULL;
	const struct hull_guest_mem_region *r;

	assert_int_equal(hull_guest_mem_new(3 * GiB, &m, NULL), 0);
	assert_int_equal(hull_guest_mem_regions(m, &r), 1);
	assert_non_null(hull_guest_mem_ptr(m, 3 * GiB - 4096, 4096));
	assert_null(hull_guest_mem_ptr(m, 3 * GiB, 1));
	assert_null(hull_guest_mem_ptr(m, 4 * GiB, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_exactly_low),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
