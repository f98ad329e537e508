/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.2, 2.7), read by a device that trusts nothing in
 * them.  The ring addresses are checked once, whole, when the queue becomes
 * ready; each descriptor is copied out of guest memory once and then checked,
 * so a guest rewriting it meanwhile changes nothing we act on.
 */
#include <endian.h>
#include <string.h>

#include "vmm/virtio-dev.h"

static uint16_t load_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static void store_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

/* The avail index, read before any entry it covers (acquire pairs with the driver's barrier). */
static uint16_t avail_idx(const struct hull_virtq *vq)
{
	return le16toh(__atomic_load_n((const uint16_t *)(vq->avail + 2), __ATOMIC_ACQUIRE));
}

static void *ring_ptr(struct hull_guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t align)
{
	if (gpa % align != 0)
		return NULL;
	return hull_guest_mem_ptr(mem, gpa, len);
}

int hull_virtq_setup(struct hull_virtq *vq, struct hull_guest_mem *mem)
{
	uint64_t n = vq->size;

	if (n == 0 || n > vq->max_size || (n & (n - 1)) != 0)
		return -EINVAL;
	vq->desc = ring_ptr(mem, vq->desc_gpa, 16 * n, 16);
	vq->avail = ring_ptr(mem, vq->avail_gpa, 6 + 2 * n, 2);
	vq->used = ring_ptr(mem, vq->used_gpa, 6 + 8 * n, 4);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = vq->avail = vq->used = NULL;
		return -EFAULT;
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	return 0;
}

void hull_virtq_clear(struct hull_virtq *vq)
{
	uint16_t max = vq->max_size;

	*vq = (struct hull_virtq){ .max_size = max };
}

static void read_desc(const uint8_t *table, uint32_t i, struct hull_virtq_desc *d)
{
	struct hull_virtq_desc raw;

	memcpy(&raw, table + (size_t)i * 16, sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

int hull_virtq_parse_chain(struct hull_guest_mem *mem, const uint8_t *desc, uint16_t size,
			   uint16_t head, struct hull_virtq_chain *chain)
{
	const uint8_t *table = desc;
	uint32_t limit = size; /* entries in the table being walked */
	uint32_t count = 0, idx = head;
	bool indirect = false;

	chain->head = head;
	chain->n_out = chain->n_in = 0;
	chain->out_len = chain->in_len = 0;
	if (size == 0 || size > HULL_VIRTQ_MAX_SIZE || head >= size)
		return -EINVAL;

	for (;;) {
		struct hull_virtq_desc d;

		/* a chain visits each entry of its table at most once: more is a loop */
		if (count++ >= limit)
			return -EINVAL;
		read_desc(table, idx, &d);

		if (d.flags & HULL_VIRTQ_DESC_F_INDIRECT) {
			/* one table, not nested, not chained on, and the whole chain */
			if (indirect || (d.flags & HULL_VIRTQ_DESC_F_NEXT) ||
			    chain->n_out + chain->n_in > 0)
				return -EINVAL;
			if (d.len == 0 || d.len % 16 != 0 || d.len / 16 > size)
				return -EINVAL;
			table = hull_guest_mem_ptr(mem, d.addr, d.len);
			if (!table)
				return -EFAULT;
			indirect = true;
			limit = d.len / 16;
			count = 0;
			idx = 0;
			continue;
		}

		if (d.len > 0) {
			void *p = hull_guest_mem_ptr(mem, d.addr, d.len);

			if (!p)
				return -EFAULT;
			if (d.flags & HULL_VIRTQ_DESC_F_WRITE) {
				chain->in[chain->n_in++] = (struct iovec){ p, d.len };
				chain->in_len += d.len;
			} else {
				/* readable buffers come first (2.7.4.2) */
				if (chain->n_in > 0)
					return -EINVAL;
				chain->out[chain->n_out++] = (struct iovec){ p, d.len };
				chain->out_len += d.len;
			}
		}
		if (!(d.flags & HULL_VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= limit)
			return -EINVAL;
		idx = d.next;
	}
}

bool hull_virtq_has_avail(const struct hull_virtq *vq)
{
	return vq->ready && avail_idx(vq) != vq->last_avail;
}

int hull_virtq_pop(struct hull_virtio_dev *dev, struct hull_virtq *vq,
		   struct hull_virtq_chain *chain)
{
	uint16_t pending, head;
	int r;

	if (!vq->ready)
		return 0;
	pending = (uint16_t)(avail_idx(vq) - vq->last_avail);
	if (pending == 0)
		return 0;
	/* the driver cannot have more chains available than the ring holds */
	if (pending > vq->size)
		return -EINVAL;
	head = load_le16(vq->avail + 4 + 2 * (size_t)(vq->last_avail % vq->size));
	r = hull_virtq_parse_chain(dev->mem, vq->desc, vq->size, head, chain);
	if (r < 0)
		return r;
	vq->last_avail++;
	return 1;
}

void hull_virtq_unpop(struct hull_virtq *vq)
{
	vq->last_avail--;
}

void hull_virtq_push(struct hull_virtq *vq, uint16_t head, uint32_t written)
{
	uint8_t *e;

	if (!vq->ready)
		return;
	e = vq->used + 4 + 8 * (size_t)(vq->used_idx % vq->size);
	store_le32(e, head);
	store_le32(e + 4, written);
	vq->used_idx++;
	/* the entry is visible before the index that covers it */
	__atomic_store_n((uint16_t *)(vq->used + 2), htole16(vq->used_idx), __ATOMIC_RELEASE);
}

void hull_virtq_signal(struct hull_virtio_dev *dev, struct hull_virtq *vq)
{
	if (!vq->ready)
		return;
	/* order the used index before reading the driver's flags (2.7.7.2) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load_le16(vq->avail) & HULL_VIRTQ_AVAIL_F_NO_INTERRUPT)
		return;
	hull_virtio_dev_interrupt(dev, 1);
}

size_t hull_iov_slice(const struct iovec *iov, size_t n, size_t offset, size_t len,
		      struct iovec *out, size_t max)
{
	size_t used = 0;

	for (size_t i = 0; i < n && len > 0 && used < max; i++) {
		size_t take;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - offset;
		if (take > len)
			take = len;
		out[used++] = (struct iovec){ (uint8_t *)iov[i].iov_base + offset, take };
		len -= take;
		offset = 0;
	}
	return used;
}

size_t hull_virtq_chain_read(const struct hull_virtq_chain *chain, size_t offset, void *buf,
			     size_t len)
{
	struct iovec part[HULL_VIRTQ_MAX_SIZE];
	size_t n = hull_iov_slice(chain->out, chain->n_out, offset, len, part, ELEMENTSOF(part));
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy((uint8_t *)buf + done, part[i].iov_base, part[i].iov_len);
		done += part[i].iov_len;
	}
	return done;
}

size_t hull_virtq_chain_write(const struct hull_virtq_chain *chain, size_t offset, const void *buf,
			      size_t len)
{
	struct iovec part[HULL_VIRTQ_MAX_SIZE];
	size_t n = hull_iov_slice(chain->in, chain->n_in, offset, len, part, ELEMENTSOF(part));
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy(part[i].iov_base, (const uint8_t *)buf + done, part[i].iov_len);
		done += part[i].iov_len;
	}
	return done;
}
