/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (virtio 1.2, 5.4): one queue of device-writable buffers that the
 * device fills from getrandom(2).  Runs on the notifying vCPU thread.
 */
#include <stdlib.h>
#include <sys/random.h>

#include "vmm/virtio-dev.h"

/* a bound on one chain, so one notify cannot keep a vCPU busy for long */
#define RNG_MAX_PER_CHAIN (64 * 1024)

struct virtio_rng {
	struct hull_virtio_dev dev;
	struct hull_virtq_chain chain;
};

static size_t fill(const struct hull_virtq_chain *c)
{
	size_t done = 0;

	for (size_t i = 0; i < c->n_in && done < RNG_MAX_PER_CHAIN; i++) {
		uint8_t *p = c->in[i].iov_base;
		size_t want = c->in[i].iov_len;

		if (want > RNG_MAX_PER_CHAIN - done)
			want = RNG_MAX_PER_CHAIN - done;
		while (want > 0) {
			ssize_t n = getrandom(p, want, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return done;
			}
			p += n;
			want -= (size_t)n;
			done += (size_t)n;
		}
	}
	return done;
}

static void rng_notify(struct hull_virtio_dev *dev, size_t q)
{
	struct virtio_rng *rng = (struct virtio_rng *)dev;
	struct hull_virtq *vq = &dev->queues[0];
	bool pushed = false;
	int r;

	while ((r = hull_virtq_pop(dev, vq, &rng->chain)) > 0) {
		hull_virtq_push(vq, rng->chain.head, (uint32_t)fill(&rng->chain));
		pushed = true;
	}
	if (r < 0)
		hull_virtio_dev_fail(dev, "bad request chain");
	if (pushed)
		hull_virtq_signal(dev, vq);
}

static void rng_free(struct hull_virtio_dev *dev)
{
	hull_virtio_dev_done(dev);
	free(dev);
}

static const struct hull_virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = HULL_VIRTIO_ID_RNG,
	.n_queues = 1,
	.queue_max_size = 256,
	.notify = rng_notify,
	.free = rng_free,
};

int hull_virtio_rng_new(struct hull_virtio_dev **ret, struct hull_error **reterr)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int r;

	if (!rng)
		return hull_error_errno(reterr, -ENOMEM, "virtio-rng");
	r = hull_virtio_dev_init(&rng->dev, &rng_ops);
	if (r < 0) {
		free(rng);
		return hull_error_errno(reterr, r, "virtio-rng");
	}
	*ret = &rng->dev;
	return 0;
}
