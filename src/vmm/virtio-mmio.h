/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 register layout (virtio 1.2, 4.2.2):
 * one device in a HULL_VIRTIO_MMIO_SIZE window of guest-physical space.  The
 * VMM routes every vCPU access inside the window here, with the offset from its
 * base; the guest finds it through `virtio_mmio.device=4K@<base>:<irq>` on the
 * kernel command line.
 *
 * Only virtio 1.x is offered (VIRTIO_F_VERSION_1 must be negotiated, legacy
 * version 1 registers do not exist), with split rings and indirect descriptors.
 *
 * Accesses may come from any vCPU thread at once: the transport serialises them
 * with the device's mutex.  Interrupts: the transport sets InterruptStatus bits
 * (1 used buffer, 2 configuration change) and writes 1 to irq_eventfd, which the
 * VMM binds to the device's GSI with KVM_IRQFD; the driver clears the bits with
 * InterruptACK.
 */
#pragma once

#include <stdint.h>

#include "util/error.h"
#include "vmm/guest-mem.h"
#include "vmm/virtio-dev.h"

#define HULL_VIRTIO_MMIO_SIZE 0x1000

/* register offsets */
#define HULL_VIRTIO_MMIO_MAGIC_VALUE 0x000 /* "virt" */
#define HULL_VIRTIO_MMIO_VERSION 0x004	   /* 2 */
#define HULL_VIRTIO_MMIO_DEVICE_ID 0x008
#define HULL_VIRTIO_MMIO_VENDOR_ID 0x00c
#define HULL_VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define HULL_VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define HULL_VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define HULL_VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define HULL_VIRTIO_MMIO_QUEUE_SEL 0x030
#define HULL_VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define HULL_VIRTIO_MMIO_QUEUE_NUM 0x038
#define HULL_VIRTIO_MMIO_QUEUE_READY 0x044
#define HULL_VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define HULL_VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define HULL_VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define HULL_VIRTIO_MMIO_STATUS 0x070
#define HULL_VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define HULL_VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define HULL_VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define HULL_VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define HULL_VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define HULL_VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define HULL_VIRTIO_MMIO_SHM_SEL 0x0ac
#define HULL_VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define HULL_VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define HULL_VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define HULL_VIRTIO_MMIO_CONFIG 0x100

#define HULL_VIRTIO_MMIO_MAGIC 0x74726976
#define HULL_VIRTIO_MMIO_VENDOR 0x4c4c5548 /* "HULL" */

#define HULL_VIRTIO_INT_USED 1
#define HULL_VIRTIO_INT_CONFIG 2

struct hull_virtio_mmio;

/*
 * A transport for `dev`, which it takes (also on failure: it is freed then).
 * mem stays the caller's and must outlive the transport; so must irq_eventfd
 * (not closed here).
 */
int hull_virtio_mmio_new(struct hull_virtio_dev *dev, struct hull_guest_mem *mem, int irq_eventfd,
			 struct hull_virtio_mmio **ret, struct hull_error **reterr);
/* Frees the transport and its device; NULL is fine.  No access may be in flight. */
void hull_virtio_mmio_free(struct hull_virtio_mmio *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_virtio_mmio *, hull_virtio_mmio_free)

/*
 * A vCPU access at `offset` in the window, len 1, 2, 4 or 8 bytes (little
 * endian, as the guest sees it).  Registers below 0x100 take 32-bit accesses
 * only; others read as zero and are ignored when written, as are offsets
 * outside the window.  Never fails: a guest cannot make the VMM stop here.
 */
void hull_virtio_mmio_read(struct hull_virtio_mmio *t, uint64_t offset, void *data, uint32_t len);
void hull_virtio_mmio_write(struct hull_virtio_mmio *t, uint64_t offset, const void *data,
			    uint32_t len);

/* The device behind the transport (for its name, and for tests). */
struct hull_virtio_dev *hull_virtio_mmio_dev(struct hull_virtio_mmio *t);
