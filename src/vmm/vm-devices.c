/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-mmio devices: device i at HULL_VIRTIO_MMIO_BASE + i * 4 KiB,
 * its interrupt an eventfd bound with KVM_IRQFD to GSI 5 + i, its registers
 * served from the vCPU threads through the MMIO bus (the transport locks
 * itself).  Built without the virtio room, a VM can have no devices.
 */
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "vmm/vmm-internal.h"
#include "vmm/vmm.h"
#ifdef HULL_VMM_HAVE_VIRTIO
#include "vmm/virtio-dev.h"
#include "vmm/virtio-mmio.h"

/* The devices in their order on the bus (and on the command line). */
static void mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	hull_virtio_mmio_read(opaque, offset, data, len);
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	hull_virtio_mmio_write(opaque, offset, data, len);
}

int hull_vm_make_devices(struct hull_vm *vm, const struct hull_vmm_config *c,
			 struct hull_error **reterr)
{
	size_t n = c->n_disks + (c->rng ? 1 : 0) + (c->vsock_cid ? 1 : 0);

	for (size_t i = 0; i < n; i++) {
		struct hull_virtio_dev *dev = NULL;
		_cleanup_close_ int efd = -EBADF;
		int r;

		if (i < c->n_disks)
			r = hull_virtio_blk_new(c->disks[i].path, c->disks[i].readonly, &dev,
						reterr);
		else if (c->rng && i == c->n_disks)
			r = hull_virtio_rng_new(&dev, reterr);
		else
			r = hull_virtio_vsock_new(c->vsock_cid, c->vsock_uds, &dev, reterr);
		if (r < 0)
			return r;
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efd < 0) {
			hull_virtio_dev_free(dev);
			return hull_error_errno(reterr, negative_errno(), "eventfd");
		}
		r = hull_virtio_mmio_new(dev, vm->mem, efd, &vm->virtio[i], reterr);
		if (r < 0)
			return r;
		vm->virtio_irqfd[i] = TAKE_FD(efd);
		vm->n_virtio = i + 1;
		r = hull_mmio_bus_add(&vm->bus, HULL_VIRTIO_MMIO_BASE + i * HULL_VIRTIO_MMIO_SIZE,
				      HULL_VIRTIO_MMIO_SIZE, mmio_read, mmio_write, vm->virtio[i]);
		if (r < 0)
			return hull_error_errno(reterr, r, "mmio bus");
	}
	return 0;
}

int hull_vm_connect_devices(struct hull_vm *vm, struct hull_error **reterr)
{
	for (size_t i = 0; i < vm->n_virtio; i++) {
		struct kvm_irqfd irqfd = {
			.fd = (uint32_t)vm->virtio_irqfd[i],
			.gsi = (uint32_t)(HULL_VIRTIO_MMIO_GSI + i),
		};

		if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
			return hull_error_errno(reterr, negative_errno(), "KVM_IRQFD gsi %u",
						irqfd.gsi);
	}
	return 0;
}

void hull_vm_free_devices(struct hull_vm *vm)
{
	for (size_t i = 0; i < vm->n_virtio; i++) {
		hull_virtio_mmio_free(vm->virtio[i]);
		vm->virtio[i] = NULL;
		vm->virtio_irqfd[i] = safe_close(vm->virtio_irqfd[i]);
	}
	vm->n_virtio = 0;
}
#else
int hull_vm_make_devices(struct hull_vm *vm, const struct hull_vmm_config *c,
			 struct hull_error **reterr)
{
	if (c->n_disks > 0 || c->rng || c->vsock_cid)
		return hull_error_set(reterr, -ENOTSUP, "virtio devices are not built in");
	return 0;
}

int hull_vm_connect_devices(struct hull_vm *vm, struct hull_error **reterr)
{
	return 0;
}

void hull_vm_free_devices(struct hull_vm *vm)
{
}
#endif
