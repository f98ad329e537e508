/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "vmm/virtio-mmio.h"

struct hull_virtio_mmio {
	struct hull_virtio_dev *dev;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
};

static uint64_t offered_features(struct hull_virtio_dev *dev)
{
	uint64_t f = (1ULL << HULL_VIRTIO_F_VERSION_1) | (1ULL << HULL_VIRTIO_F_INDIRECT_DESC);

	if (dev->ops->features)
		f |= dev->ops->features(dev);
	return f;
}

int hull_virtio_mmio_new(struct hull_virtio_dev *dev, struct hull_guest_mem *mem, int irq_eventfd,
			 struct hull_virtio_mmio **ret, struct hull_error **reterr)
{
	_cleanup_(hull_virtio_dev_freep) struct hull_virtio_dev *d = dev;
	struct hull_virtio_mmio *t;
	uint16_t qmax = d->ops->queue_max_size;

	if (d->ops->n_queues > HULL_VIRTIO_MAX_QUEUES || qmax == 0 || qmax > HULL_VIRTQ_MAX_SIZE ||
	    (qmax & (qmax - 1)) != 0)
		return hull_error_set(reterr, -EINVAL, "%s: bad queue layout", d->ops->name);
	t = calloc(1, sizeof(*t));
	if (!t)
		return hull_error_errno(reterr, -ENOMEM, "%s", d->ops->name);
	d->mem = mem;
	d->irq_fd = irq_eventfd;
	t->dev = TAKE_PTR(d);
	*ret = t;
	return 0;
}

void hull_virtio_mmio_free(struct hull_virtio_mmio *t)
{
	if (!t)
		return;
	hull_virtio_dev_free(t->dev);
	free(t);
}

struct hull_virtio_dev *hull_virtio_mmio_dev(struct hull_virtio_mmio *t)
{
	return t->dev;
}

static struct hull_virtq *selected_queue(struct hull_virtio_mmio *t)
{
	if (t->queue_sel >= t->dev->ops->n_queues)
		return NULL;
	return &t->dev->queues[t->queue_sel];
}

static void device_reset(struct hull_virtio_mmio *t)
{
	struct hull_virtio_dev *dev = t->dev;

	dev->status = 0;
	dev->interrupt_status = 0;
	dev->driver_features = 0;
	for (size_t i = 0; i < HULL_VIRTIO_MAX_QUEUES; i++)
		hull_virtq_clear(&dev->queues[i]);
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

static uint32_t read_reg(struct hull_virtio_mmio *t, uint64_t offset)
{
	struct hull_virtio_dev *dev = t->dev;
	struct hull_virtq *vq = selected_queue(t);

	switch (offset) {
	case HULL_VIRTIO_MMIO_MAGIC_VALUE:
		return HULL_VIRTIO_MMIO_MAGIC;
	case HULL_VIRTIO_MMIO_VERSION:
		return 2;
	case HULL_VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case HULL_VIRTIO_MMIO_VENDOR_ID:
		return HULL_VIRTIO_MMIO_VENDOR;
	case HULL_VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(offered_features(dev) >> (32 * t->device_features_sel));
	case HULL_VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0;
	case HULL_VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case HULL_VIRTIO_MMIO_INTERRUPT_STATUS:
		return dev->interrupt_status;
	case HULL_VIRTIO_MMIO_STATUS:
		return dev->status;
	case HULL_VIRTIO_MMIO_SHM_LEN_LOW:
	case HULL_VIRTIO_MMIO_SHM_LEN_HIGH:
		return UINT32_MAX; /* no shared memory regions */
	case HULL_VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0;
	}
}

/* The driver sets FEATURES_OK: accept only a subset of what we offer, with VERSION_1. */
static bool features_acceptable(struct hull_virtio_dev *dev)
{
	uint64_t f = dev->driver_features;

	return (f & ~offered_features(dev)) == 0 && (f & (1ULL << HULL_VIRTIO_F_VERSION_1));
}

static void write_status(struct hull_virtio_mmio *t, uint32_t val)
{
	struct hull_virtio_dev *dev = t->dev;
	uint32_t old = dev->status & ~HULL_VIRTIO_STATUS_NEEDS_RESET;
	uint32_t added;

	if (val == 0) {
		device_reset(t);
		return;
	}
	val &= ~HULL_VIRTIO_STATUS_NEEDS_RESET; /* the device's bit, not the driver's */
	/* a driver never clears a bit except by writing 0 (3.1.1): ignore such writes */
	if ((old & ~val) != 0)
		return;
	added = val & ~old;
	if ((added & HULL_VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(dev))
		val &= ~HULL_VIRTIO_STATUS_FEATURES_OK;
	dev->status = val | (dev->status & HULL_VIRTIO_STATUS_NEEDS_RESET);
	if (added & HULL_VIRTIO_STATUS_DRIVER_OK) {
		if (!(val & HULL_VIRTIO_STATUS_FEATURES_OK)) {
			hull_virtio_dev_fail(dev, "DRIVER_OK without FEATURES_OK");
			return;
		}
		if (dev->ops->activate && dev->ops->activate(dev) < 0)
			hull_virtio_dev_fail(dev, "activation failed");
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static void write_queue_ready(struct hull_virtio_mmio *t, struct hull_virtq *vq, uint32_t val)
{
	struct hull_virtio_dev *dev = t->dev;

	if (val == 0) {
		uint16_t size = vq->size;
		uint64_t d = vq->desc_gpa, a = vq->avail_gpa, u = vq->used_gpa;

		/* forget the rings but keep what the driver wrote in the registers */
		hull_virtq_clear(vq);
		vq->size = size;
		vq->desc_gpa = d, vq->avail_gpa = a, vq->used_gpa = u;
		return;
	}
	if (vq->ready)
		return;
	if (!(dev->status & HULL_VIRTIO_STATUS_FEATURES_OK) || hull_virtq_setup(vq, dev->mem) < 0) {
		hull_debug("%s: queue %u: size %u desc 0x%llx avail 0x%llx used 0x%llx refused",
			   dev->ops->name, t->queue_sel, vq->size, (unsigned long long)vq->desc_gpa,
			   (unsigned long long)vq->avail_gpa, (unsigned long long)vq->used_gpa);
		hull_virtio_dev_fail(dev, "bad queue setup");
		return;
	}
	vq->ready = true;
}

static void write_reg(struct hull_virtio_mmio *t, uint64_t offset, uint32_t val)
{
	struct hull_virtio_dev *dev = t->dev;
	struct hull_virtq *vq = selected_queue(t);
	bool negotiating =
		(dev->status & (HULL_VIRTIO_STATUS_DRIVER | HULL_VIRTIO_STATUS_FEATURES_OK)) ==
		HULL_VIRTIO_STATUS_DRIVER;

	switch (offset) {
	case HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		return;
	case HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		return;
	case HULL_VIRTIO_MMIO_DRIVER_FEATURES:
		if (negotiating && t->driver_features_sel <= 1)
			set_half(&dev->driver_features, t->driver_features_sel == 1, val);
		return;
	case HULL_VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		return;
	case HULL_VIRTIO_MMIO_INTERRUPT_ACK:
		dev->interrupt_status &= ~val;
		return;
	case HULL_VIRTIO_MMIO_STATUS:
		write_status(t, val);
		return;
	case HULL_VIRTIO_MMIO_QUEUE_NOTIFY:
		if (hull_virtio_dev_running(dev) && val < dev->ops->n_queues &&
		    dev->queues[val].ready)
			dev->ops->notify(dev, val);
		return;
	default:
		break;
	}

	/* the rest configures the selected queue, which must exist and not be live */
	if (!vq)
		return;
	if (offset == HULL_VIRTIO_MMIO_QUEUE_READY) {
		write_queue_ready(t, vq, val);
		return;
	}
	if (vq->ready)
		return;
	switch (offset) {
	case HULL_VIRTIO_MMIO_QUEUE_NUM:
		/* checked against QueueNumMax when the queue becomes ready */
		vq->size = val > UINT16_MAX ? 0 : (uint16_t)val;
		return;
	case HULL_VIRTIO_MMIO_QUEUE_DESC_LOW:
	case HULL_VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&vq->desc_gpa, offset == HULL_VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		return;
	case HULL_VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case HULL_VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_half(&vq->avail_gpa, offset == HULL_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
		return;
	case HULL_VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case HULL_VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_half(&vq->used_gpa, offset == HULL_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
		return;
	default:
		return;
	}
}

static bool config_range(struct hull_virtio_mmio *t, uint64_t offset, uint32_t len, size_t *ret_off)
{
	size_t size = t->dev->ops->config_size;
	uint64_t off;

	if (offset < HULL_VIRTIO_MMIO_CONFIG || offset >= HULL_VIRTIO_MMIO_SIZE)
		return false;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return false;
	off = offset - HULL_VIRTIO_MMIO_CONFIG;
	if (off >= size || len > size - off)
		return false;
	*ret_off = (size_t)off;
	return true;
}

void hull_virtio_mmio_read(struct hull_virtio_mmio *t, uint64_t offset, void *data, uint32_t len)
{
	struct hull_virtio_dev *dev = t->dev;
	size_t cfg;

	if (len > 8)
		return; /* not an access any vCPU makes; nothing sensible to fill */
	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (offset < HULL_VIRTIO_MMIO_CONFIG) {
		if (len == 4 && offset % 4 == 0) {
			uint32_t v = htole32(read_reg(t, offset));

			memcpy(data, &v, sizeof(v));
		}
	} else if (config_range(t, offset, len, &cfg)) {
		dev->ops->read_config(dev, cfg, data, len);
	}
	pthread_mutex_unlock(&dev->lock);
}

void hull_virtio_mmio_write(struct hull_virtio_mmio *t, uint64_t offset, const void *data,
			    uint32_t len)
{
	struct hull_virtio_dev *dev = t->dev;
	size_t cfg;

	pthread_mutex_lock(&dev->lock);
	if (offset < HULL_VIRTIO_MMIO_CONFIG) {
		if (len == 4 && offset % 4 == 0) {
			uint32_t v;

			memcpy(&v, data, sizeof(v));
			write_reg(t, offset, le32toh(v));
		}
	} else if (config_range(t, offset, len, &cfg) && dev->ops->write_config) {
		dev->ops->write_config(dev, cfg, data, len);
	}
	pthread_mutex_unlock(&dev->lock);
}
