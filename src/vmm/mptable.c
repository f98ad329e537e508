/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Intel MultiProcessor Specification 1.4 tables that tell a guest without
 * ACPI how many CPUs it has and how ISA interrupts reach the IOAPIC.  Linux
 * scans the last KiB of base memory (0x9fc00) for the floating pointer.
 */
#include <string.h>

#include "vmm/vmm-internal.h"

#define MPC_SPEC 4
#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_INTSRC 3
#define MP_LINTSRC 4
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define MP_IRQ_INT 0
#define MP_IRQ_NMI 1
#define MP_IRQ_EXTINT 3
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define IOAPIC_PINS 24
#define CPU_STEPPING 0x600
#define CPU_FEATURES 0x201 /* FPU, APIC */

struct mpf {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "mpf");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc_table");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");
_Static_assert(sizeof(struct mpc_bus) == 8, "mpc_bus");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "mpc_ioapic");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc");

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

size_t hull_mptable_size(unsigned n_cpus)
{
	return sizeof(struct mpf) + sizeof(struct mpc_table) + n_cpus * sizeof(struct mpc_cpu) +
	       sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
	       (IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
}

int hull_mptable_write(void *buf, size_t buf_len, uint32_t addr, unsigned n_cpus)
{
	uint8_t *p = buf, *table;
	struct mpf mpf = { .signature = { '_', 'M', 'P', '_' } };
	struct mpc_table hdr = { .signature = { 'P', 'C', 'M', 'P' } };
	uint8_t ioapic_id = (uint8_t)(n_cpus + 1);
	size_t size = hull_mptable_size(n_cpus);

	if (n_cpus < 1 || n_cpus > HULL_VMM_MAX_CPUS)
		return -EINVAL;
	if (buf_len < size)
		return -ENOSPC;
	memset(p, 0, size);

	table = p + sizeof(mpf);
	p = table + sizeof(hdr);
	for (unsigned i = 0; i < n_cpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = APIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = CPU_STEPPING,
			.featureflag = CPU_FEATURES,
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}
	struct mpc_bus bus = { .type = MP_BUS,
			       .busid = 0,
			       .bustype = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = ioapic_id,
		.apicver = IOAPIC_VERSION,
		.flags = 1, /* enabled */
		.apicaddr = (uint32_t)HULL_IOAPIC_ADDR,
	};
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	for (unsigned irq = 0; irq < IOAPIC_PINS; irq++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC,
			.irqtype = MP_IRQ_INT,
			.srcbus = 0,
			.srcbusirq = (uint8_t)irq,
			.dstapic = ioapic_id,
			.dstirq = (uint8_t)irq,
		};
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}
	/* local interrupts of every LAPIC: LINT0 from the PIC, LINT1 as NMI */
	struct mpc_intsrc lint0 = {
		.type = MP_LINTSRC, .irqtype = MP_IRQ_EXTINT, .dstapic = 0xff, .dstirq = 0
	};
	struct mpc_intsrc lint1 = {
		.type = MP_LINTSRC, .irqtype = MP_IRQ_NMI, .dstapic = 0xff, .dstirq = 1
	};
	memcpy(p, &lint0, sizeof(lint0));
	p += sizeof(lint0);
	memcpy(p, &lint1, sizeof(lint1));
	p += sizeof(lint1);

	hdr.length = (uint16_t)(p - table);
	hdr.spec = MPC_SPEC;
	memcpy(hdr.oem, "HULL    ", 8);
	memcpy(hdr.productid, "HULL-VMM    ", 12);
	hdr.lapic = (uint32_t)HULL_LAPIC_ADDR;
	memcpy(table, &hdr, sizeof(hdr));
	table[offsetof(struct mpc_table, checksum)] = checksum(table, hdr.length);

	mpf.physptr = addr + (uint32_t)sizeof(mpf);
	mpf.length = 1;
	mpf.specification = MPC_SPEC;
	memcpy(buf, &mpf, sizeof(mpf));
	((uint8_t *)buf)[offsetof(struct mpf, checksum)] = checksum(buf, sizeof(mpf));
	return 0;
}
