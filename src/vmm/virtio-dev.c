/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/virtio-dev.h"

int hull_virtio_dev_init(struct hull_virtio_dev *dev, const struct hull_virtio_dev_ops *ops)
{
	int r;

	dev->ops = ops;
	dev->irq_fd = -EBADF;
	r = pthread_mutex_init(&dev->lock, NULL);
	if (r != 0)
		return -r;
	for (size_t i = 0; i < HULL_VIRTIO_MAX_QUEUES; i++)
		dev->queues[i].max_size = i < ops->n_queues ? ops->queue_max_size : 0;
	return 0;
}

void hull_virtio_dev_done(struct hull_virtio_dev *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

void hull_virtio_dev_free(struct hull_virtio_dev *dev)
{
	if (dev)
		dev->ops->free(dev);
}

const char *hull_virtio_dev_name(const struct hull_virtio_dev *dev)
{
	return dev->ops->name;
}

bool hull_virtio_dev_running(const struct hull_virtio_dev *dev)
{
	return (dev->status & (HULL_VIRTIO_STATUS_DRIVER_OK | HULL_VIRTIO_STATUS_NEEDS_RESET)) ==
	       HULL_VIRTIO_STATUS_DRIVER_OK;
}

bool hull_virtio_dev_has_feature(const struct hull_virtio_dev *dev, unsigned bit)
{
	return bit < 64 && (dev->driver_features & (1ULL << bit));
}

void hull_virtio_dev_interrupt(struct hull_virtio_dev *dev, uint32_t bits)
{
	uint64_t one = 1;

	dev->interrupt_status |= bits;
	/* a full eventfd counter (EAGAIN) still means an interrupt is pending */
	if (dev->irq_fd >= 0)
		(void)!write(dev->irq_fd, &one, sizeof(one));
}

void hull_virtio_dev_fail(struct hull_virtio_dev *dev, const char *why)
{
	if (dev->status & HULL_VIRTIO_STATUS_NEEDS_RESET)
		return;
	hull_debug("%s: device needs reset: %s", dev->ops->name, why);
	dev->status |= HULL_VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: a device that sets NEEDS_RESET after DRIVER_OK notifies a config change */
	if (dev->status & HULL_VIRTIO_STATUS_DRIVER_OK)
		hull_virtio_dev_interrupt(dev, 2);
}
