/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KVM_EXIT_MMIO dispatch: a short fixed array of [base, base + size) windows,
 * filled before the vCPUs start and read-only afterwards.  An access must lie
 * wholly inside one window (the address and length come from the guest).
 */
#include <string.h>
#include <sys/types.h>

#include "vmm/vmm-internal.h"

int hull_mmio_bus_add(struct hull_mmio_bus *bus, uint64_t base, uint64_t size,
		      hull_mmio_read_fn read, hull_mmio_write_fn write, void *opaque)
{
	if (size == 0 || base + size < base)
		return -EINVAL;
	for (size_t i = 0; i < bus->n; i++)
		if (base < bus->dev[i].base + bus->dev[i].size && bus->dev[i].base < base + size)
			return -EEXIST;
	if (bus->n >= HULL_MMIO_BUS_MAX)
		return -ENOSPC;
	bus->dev[bus->n].base = base;
	bus->dev[bus->n].size = size;
	bus->dev[bus->n].read = read;
	bus->dev[bus->n].write = write;
	bus->dev[bus->n].opaque = opaque;
	bus->n++;
	return 0;
}

static ssize_t find(const struct hull_mmio_bus *bus, uint64_t addr, uint32_t len)
{
	if (len == 0 || addr + len < addr)
		return -1;
	for (size_t i = 0; i < bus->n; i++)
		if (addr >= bus->dev[i].base && addr - bus->dev[i].base < bus->dev[i].size &&
		    len <= bus->dev[i].size - (addr - bus->dev[i].base))
			return (ssize_t)i;
	return -1;
}

bool hull_mmio_bus_read(const struct hull_mmio_bus *bus, uint64_t addr, void *data, uint32_t len)
{
	ssize_t i = find(bus, addr, len);

	if (i < 0) {
		memset(data, 0xff, len);
		return false;
	}
	bus->dev[i].read(bus->dev[i].opaque, addr - bus->dev[i].base, data, len);
	return true;
}

bool hull_mmio_bus_write(const struct hull_mmio_bus *bus, uint64_t addr, const void *data,
			 uint32_t len)
{
	ssize_t i = find(bus, addr, len);

	if (i < 0)
		return false;
	bus->dev[i].write(bus->dev[i].opaque, addr - bus->dev[i].base, data, len);
	return true;
}
