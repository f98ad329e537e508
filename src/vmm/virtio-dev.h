/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio devices and their virtqueues (virtio 1.x, split rings), independent of
 * the transport (virtio-mmio.h).
 *
 * A device (virtio-blk.c, virtio-rng.c, virtio-vsock.c) embeds a struct
 * hull_virtio_dev as its first member and fills a struct hull_virtio_dev_ops, as
 * kvmtool's devices do.  The transport owns the register state and calls the
 * ops; the device pops request chains with hull_virtq_pop(), answers them with
 * hull_virtq_push() and raises the interrupt with hull_virtq_signal().
 *
 * The guest is hostile.  Every ring address is checked once, when the driver
 * sets QueueReady (the whole ring, size and alignment, must be RAM); every
 * descriptor address is checked together with its length; a chain is at most
 * queue-size descriptors long (loops end there), indirect tables are followed
 * with the same checks and never nested; an avail index that runs more than the
 * queue size ahead is refused.  A guest that breaks these rules puts the device
 * into DEVICE_NEEDS_RESET (hull_virtio_dev_fail()): it stops processing until
 * the driver resets it, and the VMM carries on.
 *
 * Locking: dev->lock (a mutex) guards the register state, the queues and the
 * device's own state.  The transport takes it around every register access and
 * calls every op with it held; a device thread (virtio-vsock) takes it before it
 * touches a queue and checks hull_virtio_dev_running() first.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"
#include "vmm/guest-mem.h"

/* device ids (virtio 1.2, 5) */
#define HULL_VIRTIO_ID_BLOCK 2
#define HULL_VIRTIO_ID_RNG 4
#define HULL_VIRTIO_ID_VSOCK 19

/* transport feature bits (virtio 1.2, 6) */
#define HULL_VIRTIO_F_INDIRECT_DESC 28
#define HULL_VIRTIO_F_VERSION_1 32

/* device status bits (virtio 1.2, 2.1) */
#define HULL_VIRTIO_STATUS_ACKNOWLEDGE 1
#define HULL_VIRTIO_STATUS_DRIVER 2
#define HULL_VIRTIO_STATUS_DRIVER_OK 4
#define HULL_VIRTIO_STATUS_FEATURES_OK 8
#define HULL_VIRTIO_STATUS_NEEDS_RESET 64
#define HULL_VIRTIO_STATUS_FAILED 128

/* the largest queue any hull device offers, and so the longest chain */
#define HULL_VIRTQ_MAX_SIZE 256
#define HULL_VIRTIO_MAX_QUEUES 4

/* split-ring layout (virtio 1.2, 2.7) */
#define HULL_VIRTQ_DESC_F_NEXT 1
#define HULL_VIRTQ_DESC_F_WRITE 2
#define HULL_VIRTQ_DESC_F_INDIRECT 4
#define HULL_VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct hull_virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct hull_virtio_dev;

/* One virtqueue: what the driver configured, and where the device is in it. */
struct hull_virtq {
	/* registers, as the driver wrote them */
	uint16_t size; /* QueueNum */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* checked host views of the rings, set when the queue becomes ready */
	uint8_t *desc;	     /* size descriptors of 16 bytes */
	uint8_t *avail;	     /* flags, idx, ring[size] */
	uint8_t *used;	     /* flags, idx, ring[size] of {id, len} */
	uint16_t last_avail; /* next avail entry the device takes */
	uint16_t used_idx;   /* next used entry the device writes */
	uint16_t max_size;   /* QueueNumMax */
};

/* One descriptor chain, gathered and checked: host iovecs into guest memory. */
struct hull_virtq_chain {
	uint16_t head;	/* what goes back in the used ring */
	size_t n_out;	/* device-readable segments (driver -> device) */
	size_t n_in;	/* device-writable segments (device -> driver) */
	size_t out_len; /* bytes in the readable segments */
	size_t in_len;	/* bytes in the writable segments */
	struct iovec out[HULL_VIRTQ_MAX_SIZE];
	struct iovec in[HULL_VIRTQ_MAX_SIZE];
};

struct hull_virtio_dev_ops {
	const char *name; /* for messages: "virtio-blk" */
	uint32_t device_id;
	size_t n_queues;
	uint16_t queue_max_size; /* a power of 2, at most HULL_VIRTQ_MAX_SIZE */
	/* Device feature bits offered beside VERSION_1 and INDIRECT_DESC. */
	uint64_t (*features)(struct hull_virtio_dev *dev);
	/* Device config space; offset + len <= config_size, checked by the transport. */
	size_t config_size;
	void (*read_config)(struct hull_virtio_dev *dev, size_t offset, void *data, size_t len);
	/* Optional; NULL: the config space is read-only. */
	void (*write_config)(struct hull_virtio_dev *dev, size_t offset, const void *data,
			     size_t len);
	/* The driver set DRIVER_OK: every queue is set up; a failure means NEEDS_RESET. */
	int (*activate)(struct hull_virtio_dev *dev);
	/* The driver notified queue q (ready, device running). */
	void (*notify)(struct hull_virtio_dev *dev, size_t q);
	/* Back to the initial state (status 0 written); the queues are already cleared. */
	void (*reset)(struct hull_virtio_dev *dev);
	/* Stops the device's threads and frees it; called without dev->lock held. */
	void (*free)(struct hull_virtio_dev *dev);
};

/* The part every device embeds first. */
struct hull_virtio_dev {
	const struct hull_virtio_dev_ops *ops;
	pthread_mutex_t lock;
	/* set by the transport when it takes the device */
	struct hull_guest_mem *mem;
	int irq_fd;
	/* register state, guarded by lock */
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint64_t driver_features;
	struct hull_virtq queues[HULL_VIRTIO_MAX_QUEUES];
};

/* Fills the common part (ops, the mutex); devices call it from their _new(). */
int hull_virtio_dev_init(struct hull_virtio_dev *dev, const struct hull_virtio_dev_ops *ops);
/* Releases the common part (the mutex); devices call it last in their ops->free. */
void hull_virtio_dev_done(struct hull_virtio_dev *dev);
/* Frees a device not (yet) handed to a transport; NULL is fine. */
void hull_virtio_dev_free(struct hull_virtio_dev *dev);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_virtio_dev *, hull_virtio_dev_free)

const char *hull_virtio_dev_name(const struct hull_virtio_dev *dev);

/* DRIVER_OK is set and NEEDS_RESET is not: queues may be processed.  Lock held. */
bool hull_virtio_dev_running(const struct hull_virtio_dev *dev);
/* The driver negotiated feature `bit`.  Lock held. */
bool hull_virtio_dev_has_feature(const struct hull_virtio_dev *dev, unsigned bit);

/*
 * The guest broke the rules: sets DEVICE_NEEDS_RESET, and tells the driver with
 * a configuration-change interrupt.  `why` goes to the debug log.  Lock held.
 */
void hull_virtio_dev_fail(struct hull_virtio_dev *dev, const char *why);

/* Sets interrupt status bits and writes the irq eventfd.  Lock held. */
void hull_virtio_dev_interrupt(struct hull_virtio_dev *dev, uint32_t bits);

/*
 * Checks a queue's rings when the driver sets QueueReady: size a power of 2 up
 * to max_size, each ring wholly in RAM and aligned.  -EINVAL otherwise (the
 * transport then fails the device).  Lock held.
 */
int hull_virtq_setup(struct hull_virtq *vq, struct hull_guest_mem *mem);
void hull_virtq_clear(struct hull_virtq *vq);

/*
 * Takes the next available chain of vq into *chain.  Returns 1 with a chain, 0
 * when the driver has made none available, or -EINVAL/-EFAULT for a hostile
 * chain or ring (the caller then calls hull_virtio_dev_fail()).  Lock held.
 */
int hull_virtq_pop(struct hull_virtio_dev *dev, struct hull_virtq *vq,
		   struct hull_virtq_chain *chain);
/* Gives back the chain just popped, unused (nothing was pushed since). */
void hull_virtq_unpop(struct hull_virtq *vq);
/* True when the driver has made a chain available. */
bool hull_virtq_has_avail(const struct hull_virtq *vq);

/* Returns a chain to the driver: `written` bytes were written into its writable part. */
void hull_virtq_push(struct hull_virtq *vq, uint16_t head, uint32_t written);
/* Raises the used-buffer interrupt unless the driver suppressed it.  Lock held. */
void hull_virtq_signal(struct hull_virtio_dev *dev, struct hull_virtq *vq);

/*
 * The pure parser under hull_virtq_pop(), for the fuzz target: walks the chain
 * starting at descriptor `head` of the table `desc` (size entries), checking
 * everything against mem.  0 or -EINVAL/-EFAULT.
 */
int hull_virtq_parse_chain(struct hull_guest_mem *mem, const uint8_t *desc, uint16_t size,
			   uint16_t head, struct hull_virtq_chain *chain);

/*
 * Copies between a chain's segments, seen as one byte stream, and buf: reads
 * from the readable part, writes into the writable part, starting `offset`
 * bytes in.  Return the number of bytes copied (short at the end of the part).
 */
size_t hull_virtq_chain_read(const struct hull_virtq_chain *chain, size_t offset, void *buf,
			     size_t len);
size_t hull_virtq_chain_write(const struct hull_virtq_chain *chain, size_t offset, const void *buf,
			      size_t len);
/*
 * Fills out[] (at most max entries) with the part of iov[0..n) from byte `offset`
 * for up to `len` bytes; returns the number of entries used.
 */
size_t hull_iov_slice(const struct iovec *iov, size_t n, size_t offset, size_t len,
		      struct iovec *out, size_t max);

/* The devices. */
int hull_virtio_blk_new(const char *path, bool readonly, struct hull_virtio_dev **ret,
			struct hull_error **reterr);
int hull_virtio_rng_new(struct hull_virtio_dev **ret, struct hull_error **reterr);
int hull_virtio_vsock_new(uint64_t guest_cid, const char *uds_path, struct hull_virtio_dev **ret,
			  struct hull_error **reterr);
