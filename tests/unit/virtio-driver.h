/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny virtio-mmio driver for the device unit tests: it lays out rings and
 * buffers in a guest memory as Linux's virtio_mmio/virtio_ring would, and talks
 * to the transport only through hull_virtio_mmio_read/write, as a vCPU does.
 * Include after <cmocka.h>.
 */
#pragma once

#include <endian.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vmm/guest-mem.h"
#include "vmm/virtio-mmio.h"

#define DRV_MEM_SIZE (16ULL << 20)
#define DRV_QSIZE 64
#define DRV_BUF_BASE 0x100000ULL

struct drv_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct drv_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;
	uint16_t used_seen;
	uint16_t next_desc;
};

struct drv {
	struct hull_guest_mem *mem;
	struct hull_virtio_mmio *t;
	int irq;
	size_t n_queues;
	struct drv_queue q[HULL_VIRTIO_MAX_QUEUES];
	uint64_t next_buf;
};

static inline uint32_t drv_r32(struct drv *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	hull_virtio_mmio_read(d->t, off, &v, 4);
	return le32toh(v);
}

static inline void drv_w32(struct drv *d, uint64_t off, uint32_t v)
{
	v = htole32(v);
	hull_virtio_mmio_write(d->t, off, &v, 4);
}

static inline void *drv_ptr(struct drv *d, uint64_t gpa, uint64_t len)
{
	void *p = hull_guest_mem_ptr(d->mem, gpa, len);

	assert_non_null(p);
	return p;
}

/* A fresh zeroed buffer in guest memory. */
static inline uint64_t drv_alloc(struct drv *d, uint64_t len)
{
	uint64_t gpa = d->next_buf;

	d->next_buf += (len + 15) & ~15ULL;
	assert_true(d->next_buf <= DRV_MEM_SIZE);
	memset(drv_ptr(d, gpa, len), 0, len);
	return gpa;
}

static inline bool drv_needs_reset(struct drv *d)
{
	return drv_r32(d, HULL_VIRTIO_MMIO_STATUS) & HULL_VIRTIO_STATUS_NEEDS_RESET;
}

/* Sets up queue q with its rings at the usual spots (tests may move them before). */
static inline void drv_queue_layout(struct drv *d, size_t q, uint16_t size)
{
	uint64_t base = 0x10000ULL * (q + 1);

	d->q[q] = (struct drv_queue){
		.size = size, .desc = base, .avail = base + 0x4000, .used = base + 0x8000
	};
}

/* Writes the queue registers and sets QueueReady. */
static inline void drv_queue_enable(struct drv *d, size_t q)
{
	struct drv_queue *vq = &d->q[q];

	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_NUM, vq->size);
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(vq->desc >> 32));
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)vq->avail);
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(vq->avail >> 32));
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)vq->used);
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(vq->used >> 32));
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Status ACKNOWLEDGE|DRIVER, features (offered & want), FEATURES_OK; returns the features. */
static inline uint64_t drv_negotiate(struct drv *d, uint64_t want)
{
	uint64_t offered;

	drv_w32(d, HULL_VIRTIO_MMIO_STATUS, 0);
	drv_w32(d, HULL_VIRTIO_MMIO_STATUS, HULL_VIRTIO_STATUS_ACKNOWLEDGE);
	drv_w32(d, HULL_VIRTIO_MMIO_STATUS,
		HULL_VIRTIO_STATUS_ACKNOWLEDGE | HULL_VIRTIO_STATUS_DRIVER);
	drv_w32(d, HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = drv_r32(d, HULL_VIRTIO_MMIO_DEVICE_FEATURES);
	drv_w32(d, HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)drv_r32(d, HULL_VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	want &= offered;
	drv_w32(d, HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_w32(d, HULL_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	drv_w32(d, HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w32(d, HULL_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	drv_w32(d, HULL_VIRTIO_MMIO_STATUS,
		HULL_VIRTIO_STATUS_ACKNOWLEDGE | HULL_VIRTIO_STATUS_DRIVER |
			HULL_VIRTIO_STATUS_FEATURES_OK);
	return want;
}

static inline void drv_driver_ok(struct drv *d)
{
	drv_w32(d, HULL_VIRTIO_MMIO_STATUS,
		HULL_VIRTIO_STATUS_ACKNOWLEDGE | HULL_VIRTIO_STATUS_DRIVER |
			HULL_VIRTIO_STATUS_FEATURES_OK | HULL_VIRTIO_STATUS_DRIVER_OK);
}

/* Makes the transport around dev; no negotiation yet. */
static inline void drv_attach(struct drv *d, struct hull_virtio_dev *dev, size_t n_queues)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(hull_guest_mem_new(DRV_MEM_SIZE, &d->mem, NULL), 0);
	d->irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(d->irq >= 0);
	assert_int_equal(hull_virtio_mmio_new(dev, d->mem, d->irq, &d->t, NULL), 0);
	d->n_queues = n_queues;
	d->next_buf = DRV_BUF_BASE;
	for (size_t q = 0; q < n_queues; q++)
		drv_queue_layout(d, q, DRV_QSIZE);
}

/* The whole bring-up: attach, negotiate VERSION_1 + want, every queue, DRIVER_OK. */
static inline uint64_t drv_start(struct drv *d, struct hull_virtio_dev *dev, size_t n_queues,
				 uint64_t want)
{
	uint64_t f;

	drv_attach(d, dev, n_queues);
	f = drv_negotiate(d, want | (1ULL << HULL_VIRTIO_F_VERSION_1));
	assert_true(drv_r32(d, HULL_VIRTIO_MMIO_STATUS) & HULL_VIRTIO_STATUS_FEATURES_OK);
	for (size_t q = 0; q < n_queues; q++) {
		drv_queue_enable(d, q);
		assert_int_equal(drv_r32(d, HULL_VIRTIO_MMIO_QUEUE_READY), 1);
	}
	drv_driver_ok(d);
	assert_false(drv_needs_reset(d));
	return f;
}

static inline void drv_stop(struct drv *d)
{
	hull_virtio_mmio_free(d->t);
	hull_guest_mem_free(d->mem);
	close(d->irq);
}

static inline void drv_put_desc(struct drv *d, uint64_t table, uint16_t i, uint64_t addr,
				uint32_t len, uint16_t flags, uint16_t next)
{
	struct hull_virtq_desc desc = { htole64(addr), htole32(len), htole16(flags),
					htole16(next) };

	memcpy(drv_ptr(d, table + 16ULL * i, 16), &desc, 16);
}

/* Makes head available in queue q (without a notify). */
static inline void drv_publish(struct drv *d, size_t q, uint16_t head)
{
	struct drv_queue *vq = &d->q[q];
	uint16_t *ring = drv_ptr(d, vq->avail + 4 + 2ULL * (vq->avail_idx % vq->size), 2);
	uint16_t *idx = drv_ptr(d, vq->avail + 2, 2);

	*ring = htole16(head);
	vq->avail_idx++;
	__atomic_store_n(idx, htole16(vq->avail_idx), __ATOMIC_RELEASE);
}

/* Writes a chain of n segments into free descriptors and publishes it; returns its head. */
static inline uint16_t drv_add(struct drv *d, size_t q, const struct drv_seg *segs, size_t n)
{
	struct drv_queue *vq = &d->q[q];
	uint16_t head = vq->next_desc % vq->size;

	for (size_t i = 0; i < n; i++) {
		uint16_t me = (uint16_t)((head + i) % vq->size);
		uint16_t next = (uint16_t)((head + i + 1) % vq->size);
		uint16_t flags = (segs[i].write ? HULL_VIRTQ_DESC_F_WRITE : 0) |
				 (i + 1 < n ? HULL_VIRTQ_DESC_F_NEXT : 0);

		drv_put_desc(d, vq->desc, me, segs[i].gpa, segs[i].len, flags,
			     i + 1 < n ? next : 0);
	}
	vq->next_desc = (uint16_t)(vq->next_desc + n);
	drv_publish(d, q, head);
	return head;
}

/* The same chain through one indirect table (allocated in guest memory). */
static inline uint16_t drv_add_indirect(struct drv *d, size_t q, const struct drv_seg *segs,
					size_t n)
{
	struct drv_queue *vq = &d->q[q];
	uint16_t head = vq->next_desc % vq->size;
	uint64_t table = drv_alloc(d, 16 * n);

	for (size_t i = 0; i < n; i++)
		drv_put_desc(d, table, (uint16_t)i, segs[i].gpa, segs[i].len,
			     (segs[i].write ? HULL_VIRTQ_DESC_F_WRITE : 0) |
				     (i + 1 < n ? HULL_VIRTQ_DESC_F_NEXT : 0),
			     (uint16_t)(i + 1 < n ? i + 1 : 0));
	drv_put_desc(d, vq->desc, head, table, (uint32_t)(16 * n), HULL_VIRTQ_DESC_F_INDIRECT, 0);
	vq->next_desc++;
	drv_publish(d, q, head);
	return head;
}

static inline void drv_notify(struct drv *d, size_t q)
{
	drv_w32(d, HULL_VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)q);
}

/* Takes the next used entry of q, if the device has written one. */
static inline bool drv_used(struct drv *d, size_t q, uint32_t *ret_id, uint32_t *ret_len)
{
	struct drv_queue *vq = &d->q[q];
	uint16_t idx =
		le16toh(__atomic_load_n((uint16_t *)drv_ptr(d, vq->used + 2, 2), __ATOMIC_ACQUIRE));
	uint32_t e[2];

	if (idx == vq->used_seen)
		return false;
	memcpy(e, drv_ptr(d, vq->used + 4 + 8ULL * (vq->used_seen % vq->size), 8), 8);
	vq->used_seen++;
	*ret_id = le32toh(e[0]);
	*ret_len = le32toh(e[1]);
	return true;
}

/* Reads and clears the irq eventfd: whether an interrupt was raised since. */
static inline bool drv_irq(struct drv *d)
{
	uint64_t v;

	return read(d->irq, &v, sizeof(v)) == sizeof(v);
}

/* Waits (bounded: a hung device fails the test, it does not hang it) for a used entry. */
static inline bool drv_wait_used(struct drv *d, size_t q, uint32_t *ret_id, uint32_t *ret_len)
{
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = d->irq, .events = POLLIN };

		if (drv_used(d, q, ret_id, ret_len))
			return true;
		(void)poll(&p, 1, 20);
		(void)drv_irq(d);
	}
	return drv_used(d, q, ret_id, ret_len);
}
