/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport and the virtqueue parser, driven through
 * virtio-rng (the simplest device): registers, negotiation, interrupts, and a
 * hostile guest, which must get DEVICE_NEEDS_RESET and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "virtio-driver.h"
#include "vmm/virtio-dev.h"

static struct hull_virtio_dev *new_rng(void)
{
	struct hull_virtio_dev *dev = NULL;

	assert_int_equal(hull_virtio_rng_new(&dev, NULL), 0);
	return dev;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_registers(void **state)
{
	struct drv d;
	uint8_t b = 0xff;
	uint64_t q = ~0ULL;

	drv_attach(&d, new_rng(), 1);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_DEVICE_ID), HULL_VIRTIO_ID_RNG);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS), 0);
	/* VERSION_1 is bit 0 of the high word */
	drv_w32(&d, HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1);
	drv_w32(&d, HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* queue 0 exists, queue 1 does not */
	drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_QUEUE_READY), 0);
	/* odd widths, odd offsets, outside the window, config space of size 0 */
	hull_virtio_mmio_read(d.t, HULL_VIRTIO_MMIO_MAGIC_VALUE, &b, 1);
	assert_int_equal(b, 0);
	hull_virtio_mmio_read(d.t, HULL_VIRTIO_MMIO_MAGIC_VALUE, &q, 8);
	assert_int_equal(q, 0);
	assert_int_equal(drv_r32(&d, 0x2), 0);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_SIZE), 0);
	assert_int_equal(drv_r32(&d, UINT64_MAX - 1), 0);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_CONFIG), 0);
	drv_w32(&d, UINT64_MAX - 3, 1);
	drv_w32(&d, HULL_VIRTIO_MMIO_CONFIG, 1);
	hull_virtio_mmio_write(d.t, HULL_VIRTIO_MMIO_STATUS, &b, 1);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS), 0);
	drv_stop(&d);
}

static void test_negotiation(void **state)
{
	struct drv d;

	drv_attach(&d, new_rng(), 1);
	/* no VERSION_1: FEATURES_OK does not stick */
	drv_negotiate(&d, 0);
	assert_false(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS) & HULL_VIRTIO_STATUS_FEATURES_OK);
	/* a bit the device never offered: refused as well */
	drv_w32(&d, HULL_VIRTIO_MMIO_STATUS, 0);
	drv_w32(&d, HULL_VIRTIO_MMIO_STATUS, HULL_VIRTIO_STATUS_DRIVER);
	drv_w32(&d, HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w32(&d, HULL_VIRTIO_MMIO_DRIVER_FEATURES, 1 | 2);
	drv_w32(&d, HULL_VIRTIO_MMIO_STATUS,
		HULL_VIRTIO_STATUS_DRIVER | HULL_VIRTIO_STATUS_FEATURES_OK);
	assert_false(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS) & HULL_VIRTIO_STATUS_FEATURES_OK);
	/* DRIVER_OK without FEATURES_OK: the device needs a reset */
	drv_w32(&d, HULL_VIRTIO_MMIO_STATUS,
		HULL_VIRTIO_STATUS_DRIVER | HULL_VIRTIO_STATUS_DRIVER_OK);
	assert_true(drv_needs_reset(&d));
	/* status 0 resets; then a proper negotiation works */
	drv_w32(&d, HULL_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(drv_negotiate(&d, 1ULL << HULL_VIRTIO_F_VERSION_1),
			 1ULL << HULL_VIRTIO_F_VERSION_1);
	assert_true(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS) & HULL_VIRTIO_STATUS_FEATURES_OK);
	/* features are frozen after FEATURES_OK; clearing a status bit is ignored */
	drv_w32(&d, HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_w32(&d, HULL_VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	drv_w32(&d, HULL_VIRTIO_MMIO_STATUS, HULL_VIRTIO_STATUS_DRIVER);
	assert_true(drv_r32(&d, HULL_VIRTIO_MMIO_STATUS) & HULL_VIRTIO_STATUS_FEATURES_OK);
	drv_stop(&d);
}

static void test_rng_fills(void **state)
{
	struct drv d;
	uint64_t a, b;
	uint32_t id, len;

	drv_start(&d, new_rng(), 1, 0);
	a = drv_alloc(&d, 64);
	b = drv_alloc(&d, 4096);
	drv_add(&d, 0, (struct drv_seg[]){ { a, 64, true }, { b, 4096, true } }, 2);
	drv_notify(&d, 0);
	assert_true(drv_used(&d, 0, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 64 + 4096);
	assert_false(all_zero(drv_ptr(&d, a, 64), 64));
	assert_false(all_zero(drv_ptr(&d, b, 4096), 4096));
	assert_true(drv_irq(&d));
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_INTERRUPT_STATUS), HULL_VIRTIO_INT_USED);
	drv_w32(&d, HULL_VIRTIO_MMIO_INTERRUPT_ACK, HULL_VIRTIO_INT_USED);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* the same through an indirect table */
	a = drv_alloc(&d, 32);
	drv_add_indirect(&d, 0, (struct drv_seg[]){ { a, 16, true }, { a + 16, 16, true } }, 2);
	drv_notify(&d, 0);
	assert_true(drv_used(&d, 0, &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 32);
	assert_false(all_zero(drv_ptr(&d, a, 32), 32));

	/* the driver asked for no interrupt: none comes */
	assert_true(drv_irq(&d));
	*(uint16_t *)drv_ptr(&d, d.q[0].avail, 2) = htole16(HULL_VIRTQ_AVAIL_F_NO_INTERRUPT);
	a = drv_alloc(&d, 8);
	drv_add(&d, 0, (struct drv_seg[]){ { a, 8, true } }, 1);
	drv_notify(&d, 0);
	assert_true(drv_used(&d, 0, &id, &len));
	assert_false(drv_irq(&d));

	/* a readable buffer is left alone: nothing written */
	a = drv_alloc(&d, 8);
	drv_add(&d, 0, (struct drv_seg[]){ { a, 8, false } }, 1);
	drv_notify(&d, 0);
	assert_true(drv_used(&d, 0, &id, &len));
	assert_int_equal(len, 0);
	assert_true(all_zero(drv_ptr(&d, a, 8), 8));
	assert_false(drv_needs_reset(&d));
	drv_stop(&d);
}

/* After NEEDS_RESET: the device ignores notifies; a reset brings it back. */
static void assert_broken_then_recovers(struct drv *d, bool after_driver_ok)
{
	uint32_t id, len;
	uint64_t a;

	assert_true(drv_needs_reset(d));
	/* 2.1.2: the driver hears of it by a config-change interrupt, once it is live */
	assert_int_equal(!!(drv_r32(d, HULL_VIRTIO_MMIO_INTERRUPT_STATUS) & HULL_VIRTIO_INT_CONFIG),
			 after_driver_ok);
	drv_notify(d, 0);
	/* (a refused queue's rings may lie outside memory: do not read them then) */
	if (after_driver_ok)
		assert_false(drv_used(d, 0, &id, &len));
	assert_true(drv_needs_reset(d));

	drv_w32(d, HULL_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(drv_r32(d, HULL_VIRTIO_MMIO_STATUS), 0);
	memset(drv_ptr(d, 0x10000, 0x40000), 0, 0x40000);
	drv_queue_layout(d, 0, DRV_QSIZE);
	drv_negotiate(d, 1ULL << HULL_VIRTIO_F_VERSION_1);
	drv_queue_enable(d, 0);
	drv_driver_ok(d);
	a = drv_alloc(d, 16);
	drv_add(d, 0, (struct drv_seg[]){ { a, 16, true } }, 1);
	drv_notify(d, 0);
	assert_true(drv_used(d, 0, &id, &len));
	assert_int_equal(len, 16);
	assert_false(drv_needs_reset(d));
}

/* Starts rng, lets `poke` break queue 0's next chain, notifies. */
static void hostile_chain(void (*poke)(struct drv *d))
{
	struct drv d;
	uint32_t id, len;

	drv_start(&d, new_rng(), 1, 1ULL << HULL_VIRTIO_F_INDIRECT_DESC);
	poke(&d);
	drv_notify(&d, 0);
	assert_false(drv_used(&d, 0, &id, &len));
	assert_broken_then_recovers(&d, true);
	drv_stop(&d);
}

static void poke_loop(struct drv *d)
{
	uint64_t a = drv_alloc(d, 8);

	drv_put_desc(d, d->q[0].desc, 0, a, 8, HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 1);
	drv_put_desc(d, d->q[0].desc, 1, a, 8, HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 0);
	drv_publish(d, 0, 0);
}

static void poke_self_loop(struct drv *d)
{
	drv_put_desc(d, d->q[0].desc, 5, DRV_BUF_BASE, 8,
		     HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 5);
	drv_publish(d, 0, 5);
}

static void poke_past_end(struct drv *d)
{
	drv_add(d, 0, (struct drv_seg[]){ { DRV_MEM_SIZE - 8, 16, true } }, 1);
}

static void poke_in_hole(struct drv *d)
{
	drv_add(d, 0, (struct drv_seg[]){ { 3ULL << 30, 16, true } }, 1);
}

static void poke_len_overflow(struct drv *d)
{
	drv_add(d, 0, (struct drv_seg[]){ { UINT64_MAX - 10, 100, true } }, 1);
}

static void poke_huge_len(struct drv *d)
{
	drv_add(d, 0, (struct drv_seg[]){ { DRV_BUF_BASE, UINT32_MAX, true } }, 1);
}

static void poke_head_out_of_range(struct drv *d)
{
	drv_publish(d, 0, DRV_QSIZE + 3);
}

static void poke_next_out_of_range(struct drv *d)
{
	drv_put_desc(d, d->q[0].desc, 0, DRV_BUF_BASE, 8,
		     HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 0xffff);
	drv_publish(d, 0, 0);
}

static void poke_avail_jump(struct drv *d)
{
	/* a valid chain, but the index claims more than the ring holds */
	drv_add(d, 0, (struct drv_seg[]){ { DRV_BUF_BASE, 8, true } }, 1);
	d->q[0].avail_idx = DRV_QSIZE + 1;
	*(uint16_t *)drv_ptr(d, d->q[0].avail + 2, 2) = htole16(DRV_QSIZE + 1);
}

static void poke_read_after_write(struct drv *d)
{
	uint64_t a = drv_alloc(d, 16);

	drv_add(d, 0, (struct drv_seg[]){ { a, 8, true }, { a + 8, 8, false } }, 2);
}

static void poke_nested_indirect(struct drv *d)
{
	uint64_t t1 = drv_alloc(d, 16), t2 = drv_alloc(d, 16);

	drv_put_desc(d, t2, 0, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE, 0);
	drv_put_desc(d, t1, 0, t2, 16, HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_put_desc(d, d->q[0].desc, 0, t1, 16, HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(d, 0, 0);
}

static void poke_indirect_loop(struct drv *d)
{
	uint64_t t = drv_alloc(d, 32);

	drv_put_desc(d, t, 0, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 1);
	drv_put_desc(d, t, 1, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 0);
	drv_put_desc(d, d->q[0].desc, 0, t, 32, HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(d, 0, 0);
}

static void poke_indirect_bad_len(struct drv *d)
{
	uint64_t t = drv_alloc(d, 32);

	drv_put_desc(d, t, 0, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE, 0);
	drv_put_desc(d, d->q[0].desc, 0, t, 17, HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(d, 0, 0);
}

static void poke_indirect_too_long(struct drv *d)
{
	uint64_t t = drv_alloc(d, 16 * (DRV_QSIZE + 1));

	drv_put_desc(d, t, 0, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE, 0);
	drv_put_desc(d, d->q[0].desc, 0, t, 16 * (DRV_QSIZE + 1), HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(d, 0, 0);
}

static void poke_indirect_past_end(struct drv *d)
{
	drv_put_desc(d, d->q[0].desc, 0, DRV_MEM_SIZE - 16, 32, HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(d, 0, 0);
}

static void poke_indirect_with_next(struct drv *d)
{
	uint64_t t = drv_alloc(d, 16);

	drv_put_desc(d, t, 0, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE, 0);
	drv_put_desc(d, d->q[0].desc, 0, t, 16, HULL_VIRTQ_DESC_F_INDIRECT | HULL_VIRTQ_DESC_F_NEXT,
		     1);
	drv_put_desc(d, d->q[0].desc, 1, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE, 0);
	drv_publish(d, 0, 0);
}

static void poke_indirect_next_out_of_table(struct drv *d)
{
	uint64_t t = drv_alloc(d, 16);

	/* next = 1 exists in the queue but not in this one-entry table */
	drv_put_desc(d, t, 0, DRV_BUF_BASE, 8, HULL_VIRTQ_DESC_F_WRITE | HULL_VIRTQ_DESC_F_NEXT, 1);
	drv_put_desc(d, d->q[0].desc, 0, t, 16, HULL_VIRTQ_DESC_F_INDIRECT, 0);
	drv_publish(d, 0, 0);
}

#define HOSTILE(name)                         \
	static void test_##name(void **state) \
	{                                     \
		hostile_chain(poke_##name);   \
	}
HOSTILE(loop)
HOSTILE(self_loop)
HOSTILE(past_end)
HOSTILE(in_hole)
HOSTILE(len_overflow)
HOSTILE(huge_len)
HOSTILE(head_out_of_range)
HOSTILE(next_out_of_range)
HOSTILE(avail_jump)
HOSTILE(read_after_write)
HOSTILE(nested_indirect)
HOSTILE(indirect_loop)
HOSTILE(indirect_bad_len)
HOSTILE(indirect_too_long)
HOSTILE(indirect_past_end)
HOSTILE(indirect_with_next)
HOSTILE(indirect_next_out_of_table)

/* Queue setups a driver must not make: each refused at QueueReady with NEEDS_RESET. */
static void hostile_queue(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct drv d;

	drv_attach(&d, new_rng(), 1);
	drv_negotiate(&d, 1ULL << HULL_VIRTIO_F_VERSION_1);
	d.q[0] = (struct drv_queue){ .size = size, .desc = desc, .avail = avail, .used = used };
	drv_queue_enable(&d, 0);
	assert_int_equal(drv_r32(&d, HULL_VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(drv_needs_reset(&d));
	drv_driver_ok(&d);
	drv_notify(&d, 0);
	assert_broken_then_recovers(&d, false);
	drv_stop(&d);
}

static void test_bad_queues(void **state)
{
	hostile_queue(100, 0x10000, 0x14000, 0x18000); /* not a power of 2 */
	hostile_queue(0, 0x10000, 0x14000, 0x18000);
	hostile_queue(512, 0x10000, 0x14000, 0x18000);	       /* above QueueNumMax */
	hostile_queue(64, 0x10000, 0x14000, DRV_MEM_SIZE - 8); /* used ring past the end */
	hostile_queue(64, 0x10000, 0x14000, UINT64_MAX - 7);   /* ... and wrapping */
	hostile_queue(64, 0x10000, DRV_MEM_SIZE - 2, 0x18000); /* avail ring */
	hostile_queue(64, 3ULL << 30, 0x14000, 0x18000);       /* desc in the MMIO hole */
	hostile_queue(64, 0x10008, 0x14000, 0x18000);	       /* desc misaligned */
	hostile_queue(64, 0x10000, 0x14001, 0x18000);	       /* avail misaligned */
	hostile_queue(64, 0x10000, 0x14000, 0x18002);	       /* used misaligned */
}

/* QueueNum over 16 bits must not wrap into a valid size. */
static void test_queue_num_wraps(void **state)
{
	{
		struct drv d;

		drv_attach(&d, new_rng(), 1);
		drv_negotiate(&d, 1ULL << HULL_VIRTIO_F_VERSION_1);
		drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_SEL, 0);
		drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_NUM, 0x10040);
		drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10000);
		drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x14000);
		drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x18000);
		drv_w32(&d, HULL_VIRTIO_MMIO_QUEUE_READY, 1);
		assert_true(drv_needs_reset(&d));
		drv_stop(&d);
	}
}

/* A chain exactly queue-size long is fine; the parser itself on a table. */
static void test_parse_chain_limits(void **state)
{
	struct hull_guest_mem *mem = NULL;
	struct hull_virtq_chain *c = malloc(sizeof(*c));
	uint8_t *table;

	assert_non_null(c);
	assert_int_equal(hull_guest_mem_new(1 << 20, &mem, NULL), 0);
	table = hull_guest_mem_ptr(mem, 0, 16 * 8);
	for (uint16_t i = 0; i < 8; i++) {
		struct hull_virtq_desc dd = { 0x8000 + 64 * i, 64,
					      i < 7 ? HULL_VIRTQ_DESC_F_NEXT : 0,
					      (uint16_t)(i + 1) };
		memcpy(table + 16 * i, &dd, 16);
	}
	assert_int_equal(hull_virtq_parse_chain(mem, table, 8, 0, c), 0);
	assert_int_equal(c->n_out, 8);
	assert_int_equal(c->out_len, 8 * 64);
	assert_int_equal(c->n_in, 0);
	/* head beyond size, size 0, size above the maximum */
	assert_int_equal(hull_virtq_parse_chain(mem, table, 8, 8, c), -EINVAL);
	assert_int_equal(hull_virtq_parse_chain(mem, table, 0, 0, c), -EINVAL);
	assert_int_equal(hull_virtq_parse_chain(mem, table, 512, 0, c), -EINVAL);
	/* the same 8 entries in a queue of 4: next 4 is out of range */
	assert_int_equal(hull_virtq_parse_chain(mem, table, 4, 0, c), -EINVAL);
	hull_guest_mem_free(mem);
	free(c);
}

static void test_chain_stream(void **state)
{
	struct hull_virtq_chain *c = calloc(1, sizeof(*c));
	uint8_t a[3], b[5], out[8] = { 0 };
	struct iovec part[4];

	assert_non_null(c);
	memcpy(a, "abc", 3);
	memcpy(b, "defgh", 5);
	c->out[0] = (struct iovec){ a, 3 };
	c->out[1] = (struct iovec){ b, 5 };
	c->n_out = 2;
	assert_int_equal(hull_virtq_chain_read(c, 2, out, 4), 4);
	assert_memory_equal(out, "cdef", 4);
	assert_int_equal(hull_virtq_chain_read(c, 6, out, 8), 2);
	assert_int_equal(hull_virtq_chain_read(c, 9, out, 8), 0);
	assert_int_equal(hull_iov_slice(c->out, 2, 1, 100, part, 4), 2);
	assert_int_equal(part[0].iov_len, 2);
	assert_int_equal(part[1].iov_len, 5);
	assert_int_equal(hull_iov_slice(c->out, 2, 0, 100, part, 1), 1);
	c->in[0] = (struct iovec){ b, 5 };
	c->n_in = 1;
	assert_int_equal(hull_virtq_chain_write(c, 3, "XYZ", 3), 2);
	assert_memory_equal(b, "defXY", 5);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_rng_fills),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_self_loop),
		cmocka_unit_test(test_past_end),
		cmocka_unit_test(test_in_hole),
		cmocka_unit_test(test_len_overflow),
		cmocka_unit_test(test_huge_len),
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_avail_jump),
		cmocka_unit_test(test_read_after_write),
		cmocka_unit_test(test_nested_indirect),
		cmocka_unit_test(test_indirect_loop),
		cmocka_unit_test(test_indirect_bad_len),
		cmocka_unit_test(test_indirect_too_long),
		cmocka_unit_test(test_indirect_past_end),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_next_out_of_table),
		cmocka_unit_test(test_bad_queues),
		cmocka_unit_test(test_queue_num_wraps),
		cmocka_unit_test(test_parse_chain_limits),
		cmocka_unit_test(test_chain_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
