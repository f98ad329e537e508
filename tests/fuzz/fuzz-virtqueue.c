/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the virtqueue descriptor-chain parser and the device path above it
 * with guest memory the input fills.  Input layout:
 *   byte 0      mode: bit 0 clear = the parser alone, set = virtio-rng through
 *               the mmio transport (queue setup, avail ring, pop, push, signal)
 *   bytes 1-2   queue size (le16), bytes 3-4 head / avail index seed (le16)
 *   the rest    copied to guest-physical 0: descriptor table at 0, avail ring
 *               at 0x1000, used ring at 0x2000, buffers anywhere
 * Invariants: the parser either refuses the chain or returns segments that lie
 * wholly inside guest RAM, at most queue-size of them; the transport never
 * crashes and either serves the chain or reports NEEDS_RESET.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "fuzz.h"
#include "vmm/guest-mem.h"
#include "vmm/virtio-dev.h"
#include "vmm/virtio-mmio.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

#define MEM_SIZE (1U << 20)
#define FILL_MAX (64U << 10)

static struct hull_guest_mem *mem;
static struct hull_virtq_chain chain;

static bool in_ram(const struct iovec *iov)
{
	const struct hull_guest_mem_region *r;
	size_t n = hull_guest_mem_regions(mem, &r);

	for (size_t i = 0; i < n; i++) {
		const uint8_t *lo = r[i].host, *hi = lo + r[i].size;
		const uint8_t *p = iov->iov_base;

		if (p >= lo && p < hi && iov->iov_len <= (size_t)(hi - p))
			return true;
	}
	return false;
}

static void parse_only(uint16_t size, uint16_t head)
{
	const uint8_t *desc = hull_guest_mem_ptr(mem, 0, 16ULL * HULL_VIRTQ_MAX_SIZE);
	size_t out = 0, in = 0;
	uint8_t probe[64];

	if (hull_virtq_parse_chain(mem, desc, size, head, &chain) < 0)
		return;
	CHECK(size > 0 && size <= HULL_VIRTQ_MAX_SIZE && head < size);
	CHECK(chain.n_out + chain.n_in <= size);
	for (size_t i = 0; i < chain.n_out; i++) {
		CHECK(chain.out[i].iov_len > 0 && in_ram(&chain.out[i]));
		out += chain.out[i].iov_len;
	}
	for (size_t i = 0; i < chain.n_in; i++) {
		CHECK(chain.in[i].iov_len > 0 && in_ram(&chain.in[i]));
		in += chain.in[i].iov_len;
	}
	CHECK(out == chain.out_len && in == chain.in_len);
	/* the stream helpers stay inside the chain */
	CHECK(hull_virtq_chain_read(&chain, out > 8 ? out - 8 : 0, probe, sizeof(probe)) <=
	      (out < 8 ? out : 8));
	CHECK(hull_virtq_chain_write(&chain, in > 3 ? in - 3 : 0, probe, sizeof(probe)) <=
	      (in < 3 ? in : 3));
}

static void wr(struct hull_virtio_mmio *t, uint64_t off, uint32_t v)
{
	v = htole32(v);
	hull_virtio_mmio_write(t, off, &v, 4);
}

static uint32_t rd(struct hull_virtio_mmio *t, uint64_t off)
{
	uint32_t v = 0;

	hull_virtio_mmio_read(t, off, &v, 4);
	return le32toh(v);
}

static void through_transport(uint16_t size)
{
	static struct hull_virtio_mmio *t;
	static int irq = -1;
	uint32_t st;

	if (!t) {
		struct hull_virtio_dev *dev = NULL;

		irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(irq >= 0);
		CHECK(hull_virtio_rng_new(&dev, NULL) == 0);
		CHECK(hull_virtio_mmio_new(dev, mem, irq, &t, NULL) == 0);
	}
	wr(t, HULL_VIRTIO_MMIO_STATUS, 0);
	wr(t, HULL_VIRTIO_MMIO_STATUS, HULL_VIRTIO_STATUS_ACKNOWLEDGE | HULL_VIRTIO_STATUS_DRIVER);
	wr(t, HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, HULL_VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(t, HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, HULL_VIRTIO_MMIO_DRIVER_FEATURES, 1U << HULL_VIRTIO_F_INDIRECT_DESC);
	wr(t, HULL_VIRTIO_MMIO_STATUS,
	   HULL_VIRTIO_STATUS_ACKNOWLEDGE | HULL_VIRTIO_STATUS_DRIVER |
		   HULL_VIRTIO_STATUS_FEATURES_OK);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_NUM, size);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x1000);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x2000);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_READY, 1);
	wr(t, HULL_VIRTIO_MMIO_STATUS,
	   HULL_VIRTIO_STATUS_ACKNOWLEDGE | HULL_VIRTIO_STATUS_DRIVER |
		   HULL_VIRTIO_STATUS_FEATURES_OK | HULL_VIRTIO_STATUS_DRIVER_OK);
	wr(t, HULL_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	st = rd(t, HULL_VIRTIO_MMIO_STATUS);
	/* a good queue was taken; a bad one put the device into NEEDS_RESET */
	CHECK(rd(t, HULL_VIRTIO_MMIO_QUEUE_READY) == 1 || (st & HULL_VIRTIO_STATUS_NEEDS_RESET));
	wr(t, HULL_VIRTIO_MMIO_INTERRUPT_ACK, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t qsize, head;
	size_t fill;

	if (!mem && hull_guest_mem_new(MEM_SIZE, &mem, NULL) < 0)
		abort();
	if (size < 5)
		return 0;
	qsize = (uint16_t)(data[1] | data[2] << 8);
	head = (uint16_t)(data[3] | data[4] << 8);
	fill = size - 5 < FILL_MAX ? size - 5 : FILL_MAX;
	memset(hull_guest_mem_ptr(mem, 0, FILL_MAX), 0, FILL_MAX);
	memcpy(hull_guest_mem_ptr(mem, 0, FILL_MAX), data + 5, fill);
	if (data[0] & 1)
		through_transport(qsize);
	else
		parse_only(qsize, head);
	return 0;
}
