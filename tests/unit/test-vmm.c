/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's parts that need no /dev/kvm: boot layout (bzImage zero page, e820,
 * command line, initrd; PVH start info), the MP table, CPUID filtering, the
 * boot MSRs, the 8250 and i8042 models, the MMIO bus, and the seccomp filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/guest-mem.h"
#include "vmm/vmm-internal.h"
#include "vmm/vmm.h"

#define MIB (1ULL << 20)

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* ---- MP table */

static void test_mptable(void **state)
{
	for (unsigned n = 1; n <= HULL_VMM_MAX_CPUS; n = n * 2 + 1) {
		size_t size = hull_mptable_size(n);
		uint8_t *buf = calloc(1, size);
		uint32_t physptr;
		uint16_t len;
		unsigned cpus = 0, bsp = 0, intsrc = 0;
		const uint8_t *t, *p;

		assert_non_null(buf);
		assert_int_equal(hull_mptable_write(buf, size, 0x9fc00, n), 0);
		assert_memory_equal(buf, "_MP_", 4);
		assert_int_equal(sum8(buf, 16), 0);
		memcpy(&physptr, buf + 4, 4);
		assert_int_equal(physptr, 0x9fc00 + 16);
		t = buf + 16;
		assert_memory_equal(t, "PCMP", 4);
		memcpy(&len, t + 4, 2);
		assert_int_equal(16 + len, size);
		assert_int_equal(sum8(t, len), 0);
		for (p = t + 44; p < t + len;) {
			if (p[0] == 0) {
				assert_int_equal(p[1], cpus); /* APIC ids in order */
				cpus++;
				bsp += !!(p[3] & 2);
				p += 20;
			} else {
				if (p[0] == 2)
					assert_int_equal(p[1], n + 1); /* IOAPIC id */
				if (p[0] == 3)
					intsrc++;
				p += 8;
			}
		}
		assert_ptr_equal(p, t + len);
		assert_int_equal(cpus, n);
		assert_int_equal(bsp, 1);
		assert_int_equal(intsrc, 24);
		/* a byte flipped breaks the checksum the guest verifies */
		buf[20] ^= 1;
		assert_int_not_equal(sum8(t, len), 0);
		free(buf);
	}
	{
		uint8_t small[64];

		assert_int_equal(hull_mptable_write(small, sizeof(small), 0, 1), -ENOSPC);
		assert_int_equal(hull_mptable_write(small, sizeof(small), 0, 0), -EINVAL);
		assert_int_equal(hull_mptable_write(small, sizeof(small), 0, 65), -EINVAL);
	}
}

/* ---- CPUID */

static void test_cpuid_filter(void **state)
{
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 1, .ebx = 0xff0f0800, .ecx = (1U << 15) | 1, .edx = 1U << 28 },
		{ .function = 0xa, .eax = 0x07300403, .ebx = 1, .edx = 0x603 },
		{ .function = 0xb, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100 },
		{ .function = 0xb, .index = 1, .eax = 4, .ebx = 16, .ecx = 0x201 },
		{ .function = 0xb, .index = 2 },
		{ .function = 0x80000001, .ecx = (1U << 23) | (1U << 24) | (1U << 28) | 1 },
		{ .function = 0x80000008, .ecx = 0x7007 },
		{ .function = 0x80000022, .eax = 7, .ebx = 6 },
		{ .function = 0x40000001, .eax = 0x1234 },
	};

	hull_cpuid_filter(e, ELEMENTSOF(e), 2, 4);
	assert_int_equal(e[0].ebx >> 24, 2);				/* APIC id */
	assert_int_equal((e[0].ebx >> 16) & 0xff, 4);			/* logical processors */
	assert_int_equal(e[0].ebx & 0xffff, 0x0800);			/* CLFLUSH size kept */
	assert_true(e[0].ecx & (1U << 31));				/* hypervisor */
	assert_false(e[0].ecx & (1U << 15));				/* no PDCM */
	assert_true(e[0].ecx & 1);					/* the rest kept */
	assert_true(e[0].edx & (1U << 28));				/* HTT with 4 CPUs */
	assert_int_equal(e[1].eax | e[1].ebx | e[1].ecx | e[1].edx, 0); /* no arch PMU */
	assert_int_equal(e[2].edx, 2);
	assert_int_equal(e[2].ebx, 1);
	assert_int_equal(e[3].eax, 2); /* log2(4) */
	assert_int_equal(e[3].ebx, 4);
	assert_int_equal(e[3].ecx, 0x201);
	assert_int_equal(e[4].ebx, 0);
	assert_int_equal(e[5].ecx & ((1U << 23) | (1U << 24) | (1U << 28)), 0);
	assert_true(e[5].ecx & 1);
	assert_int_equal(e[6].ecx & 0xff, 3);
	assert_int_equal((e[6].ecx >> 12) & 0xf, 2);
	assert_int_equal(e[7].eax | e[7].ebx, 0);
	assert_int_equal(e[8].eax, 0x1234); /* KVM's paravirt leaves untouched */

	hull_cpuid_filter(e, ELEMENTSOF(e), 0, 1);
	assert_false(e[0].edx & (1U << 28)); /* one CPU: no HTT */
	assert_int_equal(e[0].ebx >> 24, 0);
	assert_int_equal(e[3].eax, 0);
}

/* ---- MSRs */

static void test_msr_list(void **state)
{
	struct hull_msr m[32];
	size_t n = hull_msr_boot_list(m, ELEMENTSOF(m));
	bool mtrr = false, lstar = false;

	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		if (m[i].index == 0x2ff) {
			mtrr = true;
			assert_int_equal(m[i].value, (1 << 11) | 6); /* enabled, write-back */
		}
		lstar |= m[i].index == 0xc0000082;
	}
	assert_true(mtrr && lstar);
	assert_int_equal(hull_msr_boot_list(m, 2), 2);
}

/* ---- 8250 */

struct out_buf {
	char data[256];
	size_t len;
};

static void collect(void *opaque, uint8_t b)
{
	struct out_buf *o = opaque;

	if (o->len < sizeof(o->data))
		o->data[o->len++] = (char)b;
}

static void test_serial_output_and_thri(void **state)
{
	struct out_buf o = {};
	struct hull_serial s;
	uint8_t v;

	hull_serial_init(&s, collect, &o);
	/* no interrupt enabled: the line stays low while the guest prints */
	assert_false(hull_serial_write(&s, 0, 'h'));
	assert_false(hull_serial_write(&s, 0, 'i'));
	assert_int_equal(o.len, 2);
	assert_memory_equal(o.data, "hi", 2);
	hull_serial_read(&s, 5, &v);
	assert_int_equal(v & 0x60, 0x60); /* THRE + TEMT: ready */
	assert_int_equal(v & 1, 0);	  /* no data */
	hull_serial_read(&s, 2, &v);
	assert_int_equal(v & 0x0f, 1); /* no interrupt pending */

	/* enabling THRI with an empty transmitter raises it; reading IIR acknowledges it */
	assert_true(hull_serial_write(&s, 1, 0x02));
	assert_false(hull_serial_read(&s, 2, &v)); /* the line after the read: low */
	assert_int_equal(v & 0x0f, 2);
	assert_false(hull_serial_irq(&s));
	/* each byte written raises it again */
	assert_true(hull_serial_write(&s, 0, '!'));
	assert_false(hull_serial_write(&s, 1, 0)); /* masked */
}

static void test_serial_dlab_scratch_loopback(void **state)
{
	struct out_buf o = {};
	struct hull_serial s;
	uint8_t v;

	hull_serial_init(&s, collect, &o);
	/* divisor latch: writes to 0/1 are the divisor, not data or IER */
	hull_serial_write(&s, 3, 0x80);
	hull_serial_write(&s, 0, 0x01);
	hull_serial_write(&s, 1, 0x00);
	hull_serial_write(&s, 3, 0x03);
	assert_int_equal(o.len, 0);
	hull_serial_read(&s, 1, &v);
	assert_int_equal(v, 0);
	hull_serial_write(&s, 3, 0x83);
	hull_serial_read(&s, 0, &v);
	assert_int_equal(v, 1);
	hull_serial_write(&s, 3, 0x03);

	hull_serial_write(&s, 7, 0x5a);
	hull_serial_read(&s, 7, &v);
	assert_int_equal(v, 0x5a);

	/* loopback as the 8250 driver's probe uses it: MCR outputs show in MSR, data comes back */
	hull_serial_write(&s, 4, 0x10 | 0x0a);
	hull_serial_read(&s, 6, &v);
	assert_int_equal(v & 0xf0, 0x90);
	hull_serial_write(&s, 0, 'x');
	assert_int_equal(o.len, 0);
	hull_serial_read(&s, 5, &v);
	assert_true(v & 1);
	hull_serial_read(&s, 0, &v);
	assert_int_equal(v, 'x');
	hull_serial_write(&s, 4, 0x0b);
	hull_serial_read(&s, 6, &v);
	assert_int_equal(v & 0xb0, 0xb0); /* modem present: DCD, DSR, CTS */
}

static void test_serial_input(void **state)
{
	struct hull_serial s;
	uint8_t big[HULL_SERIAL_FIFO + 10], v;

	hull_serial_init(&s, NULL, NULL);
	/* the driver is not listening yet: nothing taken, nothing lost */
	assert_int_equal(hull_serial_input(&s, (const uint8_t *)"ab", 2), 0);
	assert_false(hull_serial_write(&s, 1, 0x01)); /* RDI on, FIFO empty: line low */
	assert_int_equal(hull_serial_input(&s, (const uint8_t *)"ab", 2), 2);
	assert_true(hull_serial_irq(&s));
	hull_serial_read(&s, 2, &v);
	assert_int_equal(v & 0x0f, 4);
	assert_true(hull_serial_read(&s, 0, &v));
	assert_int_equal(v, 'a');
	assert_false(hull_serial_read(&s, 0, &v));
	assert_int_equal(v, 'b');
	/* an empty FIFO reads 0 and stays empty */
	hull_serial_read(&s, 0, &v);
	assert_int_equal(v, 0);
	hull_serial_read(&s, 5, &v);
	assert_int_equal(v & 1, 0);
	/* the FIFO is bounded: the rest stays with the caller */
	memset(big, 'z', sizeof(big));
	assert_int_equal(hull_serial_input(&s, big, sizeof(big)), HULL_SERIAL_FIFO);
	assert_int_equal(hull_serial_input(&s, big, 1), 0);
	/* FCR "clear receive FIFO" */
	hull_serial_write(&s, 2, 0x03);
	hull_serial_read(&s, 5, &v);
	assert_int_equal(v & 1, 0);
	hull_serial_read(&s, 2, &v);
	assert_int_equal(v & 0xc0, 0xc0); /* FIFOs enabled */
	/* every offset is one of eight registers, whatever the guest passes */
	for (unsigned off = 0; off < 64; off++) {
		hull_serial_write(&s, off, 0xff);
		hull_serial_read(&s, off, &v);
	}
}

/* ---- i8042 */

static void test_i8042(void **state)
{
	struct hull_i8042 k;

	hull_i8042_init(&k);
	/* reboot=k: input buffer empty (bit 1 clear), then 0xfe resets */
	assert_int_equal(hull_i8042_read(&k, 0x64) & 0x03, 0);
	assert_false(hull_i8042_write(&k, 0x64, 0xd1));
	assert_false(hull_i8042_write(&k, 0x60, 0xfe)); /* data, not a command */
	assert_true(hull_i8042_write(&k, 0x64, 0xfe));

	/* Linux's probe: read the CTR, write it back changed, self-test */
	assert_false(hull_i8042_write(&k, 0x64, 0x20));
	assert_int_equal(hull_i8042_read(&k, 0x64) & 0x01, 1);
	assert_int_equal(hull_i8042_read(&k, 0x60), 0x25);
	assert_int_equal(hull_i8042_read(&k, 0x64) & 0x01, 0);
	hull_i8042_write(&k, 0x64, 0x60);
	hull_i8042_write(&k, 0x60, 0x47);
	hull_i8042_write(&k, 0x64, 0x20);
	assert_int_equal(hull_i8042_read(&k, 0x60), 0x47);
	hull_i8042_write(&k, 0x64, 0xad);
	hull_i8042_write(&k, 0x64, 0x20);
	assert_int_equal(hull_i8042_read(&k, 0x60), 0x57);
	hull_i8042_write(&k, 0x64, 0xaa);
	assert_int_equal(hull_i8042_read(&k, 0x60), 0x55);
	/* nothing attached answers device commands */
	hull_i8042_write(&k, 0x60, 0xf2);
	assert_int_equal(hull_i8042_read(&k, 0x64) & 0x01, 0);
	assert_int_equal(hull_i8042_read(&k, 0x60), 0);
}

/* ---- MMIO bus */

struct mmio_dev {
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_val;
};

static void dev_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct mmio_dev *d = opaque;

	d->last_off = off;
	d->last_len = len;
	memset(data, 0x42, len);
}

static void dev_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct mmio_dev *d = opaque;

	d->last_off = off;
	d->last_len = len;
	d->last_val = *(const uint8_t *)data;
}

static void test_mmio_bus(void **state)
{
	struct hull_mmio_bus bus = {};
	struct mmio_dev a = {}, b = {};
	uint32_t v = 0;
	uint8_t w = 7;

	assert_int_equal(hull_mmio_bus_add(&bus, 0xd0000000, 0x1000, dev_read, dev_write, &a), 0);
	assert_int_equal(hull_mmio_bus_add(&bus, 0xd0001000, 0x1000, dev_read, dev_write, &b), 0);
	assert_int_equal(hull_mmio_bus_add(&bus, 0xd0000800, 0x1000, dev_read, dev_write, &b),
			 -EEXIST);
	assert_int_equal(hull_mmio_bus_add(&bus, UINT64_MAX - 10, 0x1000, dev_read, dev_write, &b),
			 -EINVAL);

	assert_true(hull_mmio_bus_read(&bus, 0xd0001070, &v, 4));
	assert_int_equal(v, 0x42424242);
	assert_int_equal(b.last_off, 0x70);
	assert_true(hull_mmio_bus_write(&bus, 0xd0000050, &w, 1));
	assert_int_equal(a.last_off, 0x50);
	assert_int_equal(a.last_val, 7);
	/* an access straddling two devices, or past the end, reaches none */
	b.last_len = 0;
	assert_false(hull_mmio_bus_read(&bus, 0xd0000ffe, &v, 4));
	assert_int_equal(v, 0xffffffff);
	assert_false(hull_mmio_bus_read(&bus, 0xd0001ffe, &v, 4));
	assert_false(hull_mmio_bus_write(&bus, UINT64_MAX - 1, &v, 4));
	assert_false(hull_mmio_bus_read(&bus, 0x1000, &v, 4));
	assert_int_equal(b.last_len, 0);
}

/* ---- command line */

static void test_cmdline(void **state)
{
	char *s = NULL;

	assert_int_equal(hull_vmm_cmdline(NULL, 0, &s), 0);
	assert_string_equal(s, HULL_VMM_DEFAULT_CMDLINE);
	free(s);
	assert_int_equal(hull_vmm_cmdline("console=ttyS0", 2, &s), 0);
	assert_string_equal(s, "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 "
			       "virtio_mmio.device=4K@0xd0001000:6");
	free(s);
	assert_int_equal(hull_vmm_cmdline("x", HULL_VIRTIO_MAX_DEVICES + 1, &s), -E2BIG);
}

/* ---- boot: synthetic kernels */

#define SETUP_SECTS 4

/* A minimal bzImage: a setup header that passes, and `payload` bytes of kernel. */
static uint8_t *make_bzimage(size_t payload, size_t *ret_len)
{
	size_t len = (SETUP_SECTS + 1) * 512 + payload;
	uint8_t *k = calloc(1, len);
	uint16_t version = 0x020f, xlf = 1;
	uint32_t cmdline_size = 2047, initrd_max = 0x7fffffff, init_size = 4 * MIB;
	uint64_t pref = 16 * MIB;

	uint32_t syssize = (uint32_t)(payload / 16);

	k[0x1f1] = SETUP_SECTS;
	memcpy(k + 0x1f4, &syssize, 4);
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x200] = 0xeb;
	k[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(k + 0x202, "HdrS", 4);
	memcpy(k + 0x206, &version, 2);
	k[0x211] = 0x01; /* LOADED_HIGH */
	memcpy(k + 0x22c, &initrd_max, 4);
	memcpy(k + 0x236, &xlf, 2);
	memcpy(k + 0x238, &cmdline_size, 4);
	memcpy(k + 0x258, &pref, 8);
	memcpy(k + 0x260, &init_size, 4);
	for (size_t i = 0; i < payload; i++)
		k[(SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 7);
	*ret_len = len;
	return k;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void test_boot_bzimage(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *mem = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ uint8_t *k = NULL;
	uint8_t initrd[10000];
	struct hull_boot_entry e;
	size_t len;
	const uint8_t *bp, *kern;
	uint32_t initrd_addr;

	k = make_bzimage(8192, &len);
	memset(initrd, 0xab, sizeof(initrd));
	assert_int_equal(hull_guest_mem_new(64 * MIB, &mem, NULL), 0);
	struct hull_boot_input in = {
		.kernel = k,
		.kernel_len = len,
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
		.cmdline = "console=ttyS0 quiet",
		.n_cpus = 2,
	};
	assert_int_equal(hull_boot_load(mem, &in, &e, &err), 0);
	assert_int_equal(e.mode, HULL_BOOT_LINUX64);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(e.rsi, HULL_BOOT_ZERO_PAGE);

	kern = hull_guest_mem_ptr(mem, HULL_BOOT_KERNEL, 8192);
	assert_memory_equal(kern, k + (SETUP_SECTS + 1) * 512, 8192);
	bp = hull_guest_mem_ptr(mem, HULL_BOOT_ZERO_PAGE, 4096);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(bp[0x210], 0xff);	     /* type_of_loader */
	assert_int_equal(bp[0x211] & 0x81, 0x81);    /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(rd32(bp + 0x228), 0x20000); /* cmd_line_ptr */
	assert_string_equal((const char *)hull_guest_mem_ptr(mem, 0x20000, 20),
			    "console=ttyS0 quiet");
	initrd_addr = rd32(bp + 0x218);
	assert_int_equal(rd32(bp + 0x21c), sizeof(initrd));
	assert_int_equal(initrd_addr & 0xfff, 0);
	assert_true(initrd_addr >= 16 * MIB + 4 * MIB); /* above the decompression area */
	assert_true(initrd_addr + sizeof(initrd) <= 64 * MIB);
	assert_memory_equal(hull_guest_mem_ptr(mem, initrd_addr, sizeof(initrd)), initrd,
			    sizeof(initrd));
	/* e820: base RAM, the EBDA/BIOS hole reserved, the rest RAM */
	assert_int_equal(bp[0x1e8], 3);
	assert_int_equal(rd64(bp + 0x2d0), 0);
	assert_int_equal(rd64(bp + 0x2d0 + 8), 0x9fc00);
	assert_int_equal(rd32(bp + 0x2d0 + 16), 1);
	assert_int_equal(rd32(bp + 0x2d0 + 20 + 16), 2);
	assert_int_equal(rd64(bp + 0x2d0 + 40), 0x100000);
	assert_int_equal(rd64(bp + 0x2d0 + 40 + 8), 64 * MIB - 0x100000);
	/* the MP floating pointer where Linux scans */
	assert_memory_equal(hull_guest_mem_ptr(mem, 0x9fc00, 4), "_MP_", 4);
	/* page tables: identity, 2 MiB pages */
	assert_int_equal(rd64(hull_guest_mem_ptr(mem, HULL_BOOT_PML4, 8)), HULL_BOOT_PDPT | 3);
	assert_int_equal(rd64(hull_guest_mem_ptr(mem, HULL_BOOT_PD + 8 * 5, 8)),
			 (5ULL << 21) | 0x83);
	/* GDT: 64-bit code at 0x10 */
	assert_int_equal(rd64(hull_guest_mem_ptr(mem, HULL_BOOT_GDT + 0x10, 8)),
			 0x00af9b000000ffffULL);
	assert_int_equal(rd64(hull_guest_mem_ptr(mem, HULL_BOOT_GDT + 0x18, 8)),
			 0x00cf93000000ffffULL);
}

static void test_boot_bzimage_refusals(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *mem = NULL;
	_cleanup_free_ uint8_t *k = NULL;
	char longline[3000];
	struct hull_boot_entry e = { .rip = 12345 };
	size_t len;
	struct hull_boot_input in = { .cmdline = "", .n_cpus = 1 };

#define REFUSED(code, substr)                                                \
	do {                                                                 \
		_cleanup_error_ struct hull_error *err_ = NULL;              \
		assert_int_equal(hull_boot_load(mem, &in, &e, &err_), code); \
		assert_non_null(err_);                                       \
		if (!strstr(err_->msg, substr))                              \
			fail_msg("'%s' lacks '%s'", err_->msg, substr);      \
		assert_int_equal(e.rip, 12345);                              \
	} while (0)

	k = make_bzimage(4096, &len);
	in.kernel = k;
	in.kernel_len = len;
	assert_int_equal(hull_guest_mem_new(64 * MIB, &mem, NULL), 0);

	/* command line longer than the kernel's cmdline_size */
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	in.cmdline = longline;
	REFUSED(-E2BIG, "command line is 2999 bytes, the kernel takes at most 2047");
	longline[4500 % sizeof(longline)] = 0;
	in.cmdline = "";

	in.n_cpus = 0;
	REFUSED(-EINVAL, "vCPUs");
	in.n_cpus = 1;

	k[0x203] = 'x';
	REFUSED(-ENOEXEC, "not a bzImage");
	k[0x203] = 'd';
	k[0x206] = 0x0b; /* 2.11 */
	REFUSED(-ENOEXEC, "boot protocol 2.11 is too old");
	k[0x206] = 0x0f;
	k[0x236] = 0;
	REFUSED(-ENOEXEC, "not a 64-bit kernel");
	k[0x236] = 1;
	k[0x1f1] = 200; /* setup larger than the file */
	REFUSED(-ENOEXEC, "truncated bzImage");
	k[0x1f1] = SETUP_SECTS;
	/* a file cut short after its header: syssize says more */
	in.kernel_len = len - 100;
	REFUSED(-ENOEXEC, "truncated bzImage: 4096 bytes of kernel expected, 3996 present");
	in.kernel_len = len;
	k[0x201] = 0x10; /* header too short to hold init_size */
	REFUSED(-ENOEXEC, "bad setup header length");
	k[0x201] = 0x6a;
	/* a kernel that needs more memory than the VM has */
	{
		uint32_t huge = 100 * MIB;

		memcpy(k + 0x260, &huge, 4);
		REFUSED(-ENOMEM, "kernel needs 116 MiB of memory to decompress, the VM has 64");
		huge = 4 * MIB;
		memcpy(k + 0x260, &huge, 4);
	}
	/* an initrd that does not fit */
	{
		static uint8_t big[60 << 20];

		in.initrd = big;
		in.initrd_len = sizeof(big);
		REFUSED(-ENOMEM, "initrd of 62914560 bytes does not fit");
		in.initrd = NULL;
		in.initrd_len = 0;
	}
	/* truncated files of every length up to the header never read past their end */
	for (size_t l = 0; l < 0x400; l++) {
		uint8_t *t = malloc(l ? l : 1);

		memcpy(t, k, l);
		in.kernel = t;
		in.kernel_len = l;
		assert_true(hull_boot_load(mem, &in, &e, NULL) < 0);
		free(t);
	}
	in.kernel = k;
	in.kernel_len = len;
	assert_int_equal(hull_boot_load(mem, &in, &e, NULL), 0);
#undef REFUSED
}

/* A minimal ELF64 vmlinux: one PT_LOAD at 16 MiB and a PT_NOTE with the PVH entry. */
static uint8_t *make_vmlinux(size_t *ret_len, bool with_note, uint32_t descsz)
{
	size_t code = 4096, notes_off = 0x200, load_off = 0x1000;
	size_t len = load_off + code;
	uint8_t *k = calloc(1, len);
	Elf64_Ehdr eh = {
		.e_ident = { 0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 2,
	};
	Elf64_Phdr load = { .p_type = PT_LOAD,
			    .p_offset = load_off,
			    .p_paddr = 16 * MIB,
			    .p_filesz = code,
			    .p_memsz = code + 8192 };
	Elf64_Phdr note = { .p_type = PT_NOTE, .p_offset = notes_off };
	Elf64_Nhdr other = { .n_namesz = 4, .n_descsz = 4, .n_type = 1 };
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = descsz, .n_type = 18 };
	uint64_t entry = 16 * MIB + 0x40;
	uint8_t *p = k + notes_off;

	/* a GNU note first, so the parser has to walk */
	memcpy(p, &other, sizeof(other));
	memcpy(p + 12, "GNU", 4);
	p += 12 + 4 + 4;
	memcpy(p, &nh, sizeof(nh));
	memcpy(p + 12, with_note ? "Xen" : "Xem", 4);
	memcpy(p + 16, &entry, descsz <= 8 ? descsz : 8);
	p += 16 + ((descsz + 3) & ~3U);
	note.p_filesz = (uint64_t)(p - (k + notes_off));
	memcpy(k, &eh, sizeof(eh));
	memcpy(k + sizeof(eh), &load, sizeof(load));
	memcpy(k + sizeof(eh) + sizeof(load), &note, sizeof(note));
	for (size_t i = 0; i < code; i++)
		k[load_off + i] = (uint8_t)(i * 13 + 1);
	*ret_len = len;
	return k;
}

static void test_boot_pvh(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *mem = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ uint8_t *k = NULL;
	uint8_t initrd[5000];
	struct hull_boot_entry e;
	size_t len;
	const uint8_t *si, *mod, *mm, *bss;

	memset(initrd, 0x5a, sizeof(initrd));
	k = make_vmlinux(&len, true, 8);
	assert_int_equal(hull_guest_mem_new(64 * MIB, &mem, NULL), 0);
	/* a dirty page where the segment's bss goes: the loader zeroes it */
	memset(hull_guest_mem_ptr(mem, 16 * MIB + 4096, 8192), 0xee, 8192);
	struct hull_boot_input in = {
		.kernel = k,
		.kernel_len = len,
		.initrd = initrd,
		.initrd_len = sizeof(initrd),
		.cmdline = "console=ttyS0",
		.n_cpus = 1,
	};
	assert_int_equal(hull_boot_load(mem, &in, &e, &err), 0);
	assert_int_equal(e.mode, HULL_BOOT_PVH);
	assert_int_equal(e.rip, 16 * MIB + 0x40);
	assert_int_equal(e.rbx, HULL_BOOT_PVH_INFO);
	assert_memory_equal(hull_guest_mem_ptr(mem, 16 * MIB, 4096), k + 0x1000, 4096);
	bss = hull_guest_mem_ptr(mem, 16 * MIB + 4096, 8192);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(bss[i], 0);

	si = hull_guest_mem_ptr(mem, HULL_BOOT_PVH_INFO, 56);
	assert_int_equal(rd32(si), 0x336ec578);
	assert_int_equal(rd32(si + 4), 1); /* version with memmap */
	assert_int_equal(rd32(si + 12), 1);
	assert_int_equal(rd64(si + 24), HULL_BOOT_CMDLINE);
	mod = hull_guest_mem_ptr(mem, rd64(si + 16), 32);
	assert_int_equal(rd64(mod + 8), sizeof(initrd));
	assert_memory_equal(hull_guest_mem_ptr(mem, rd64(mod), sizeof(initrd)), initrd,
			    sizeof(initrd));
	assert_true(rd64(mod) >= 16 * MIB + 4096 + 8192);
	assert_int_equal(rd32(si + 48), 3);
	mm = hull_guest_mem_ptr(mem, rd64(si + 40), 3 * 24);
	assert_int_equal(rd64(mm + 8), 0x9fc00);
	assert_int_equal(rd32(mm + 24 + 16), 2);
	assert_int_equal(rd64(mm + 48 + 8), 64 * MIB - 0x100000);
	/* GDT: 32-bit code at 0x10 for the protected-mode entry */
	assert_int_equal(rd64(hull_guest_mem_ptr(mem, HULL_BOOT_GDT + 0x10, 8)),
			 0x00cf9b000000ffffULL);

	/* a 4-byte descriptor works too */
	free(k);
	k = make_vmlinux(&len, true, 4);
	in.kernel = k;
	in.kernel_len = len;
	assert_int_equal(hull_boot_load(mem, &in, &e, NULL), 0);
	assert_int_equal(e.rip, 16 * MIB + 0x40);
}

static void test_boot_pvh_refusals(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *mem = NULL;
	_cleanup_free_ uint8_t *k = NULL;
	struct hull_boot_entry e;
	size_t len;
	Elf64_Phdr ph;
	struct hull_boot_input in = { .cmdline = "", .n_cpus = 1 };

	assert_int_equal(hull_guest_mem_new(32 * MIB, &mem, NULL), 0);
#define REFUSED(code, substr)                                                \
	do {                                                                 \
		_cleanup_error_ struct hull_error *err_ = NULL;              \
		assert_int_equal(hull_boot_load(mem, &in, &e, &err_), code); \
		if (!strstr(err_->msg, substr))                              \
			fail_msg("'%s' lacks '%s'", err_->msg, substr);      \
	} while (0)

	k = make_vmlinux(&len, false, 8);
	in.kernel = k;
	in.kernel_len = len;
	REFUSED(-ENOEXEC, "no PVH entry");
	free(k);

	k = make_vmlinux(&len, true, 6);
	in.kernel = k;
	REFUSED(-ENOEXEC, "malformed ELF note");
	free(k);

	k = make_vmlinux(&len, true, 8);
	in.kernel = k;
	/* program headers past the end of the file */
	((Elf64_Ehdr *)k)->e_phnum = 60000;
	REFUSED(-ENOEXEC, "bad ELF program header table");
	((Elf64_Ehdr *)k)->e_phnum = 2;
	/* a segment whose file range wraps around */
	memcpy(&ph, k + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_offset = UINT64_MAX - 10;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	REFUSED(-ENOEXEC, "ELF segment 0 outside the file");
	ph.p_offset = 0x1000;
	/* a segment past guest memory, or wrapping around */
	ph.p_paddr = 32 * MIB - 4096;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	REFUSED(-ENOMEM, "does not fit in 32 MiB of memory");
	ph.p_paddr = UINT64_MAX - 100;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	REFUSED(-ENOMEM, "does not fit");
	ph.p_paddr = 0x1000;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	REFUSED(-ENOEXEC, "below 1 MiB");
	ph.p_paddr = 16 * MIB;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	/* a note whose size runs past its segment */
	memcpy(&ph, k + sizeof(Elf64_Ehdr) + sizeof(ph), sizeof(ph));
	{
		uint32_t namesz = 0xfffffff0;

		memcpy(k + ph.p_offset, &namesz, 4);
		REFUSED(-ENOEXEC, "malformed ELF note");
	}
	/* 32-bit ELF */
	k[EI_CLASS] = ELFCLASS32;
	REFUSED(-ENOEXEC, "not an x86_64");
	/* truncation at every length */
	for (size_t l = 0; l < 0x300; l++) {
		in.kernel_len = l;
		assert_true(hull_boot_load(mem, &in, &e, NULL) < 0);
	}
#undef REFUSED
}

static void test_e820_high_memory(void **state)
{
	_cleanup_(hull_guest_mem_freep) struct hull_guest_mem *mem = NULL;
	struct hull_e820_entry e[HULL_E820_MAX];
	size_t n;

	/* 3.5 GiB: RAM under the hole, then from 4 GiB */
	assert_int_equal(hull_guest_mem_new(3584 * MIB, &mem, NULL), 0);
	n = hull_e820_build(mem, e, ELEMENTSOF(e));
	assert_int_equal(n, 4);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].addr + e[2].size, 3ULL << 30);
	assert_int_equal(e[3].addr, 4ULL << 30);
	assert_int_equal(e[3].size, 512 * MIB);
	assert_int_equal(e[3].type, HULL_E820_RAM);
	assert_int_equal(hull_e820_build(mem, e, 2), 2);
}

/* ---- seccomp: the filter really denies (in a child, so the test process stays free) */

static void test_seccomp_denies(void **state)
{
	for (int role = HULL_VMM_THREAD_VCPU; role <= HULL_VMM_THREAD_MAIN; role++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			char *argv[] = { (char *)"/bin/true", NULL };
			int fds[2];

			if (hull_vmm_seccomp_apply(role) < 0)
				_exit(10);
			/* allowed: writing to an fd it holds */
			if (write(STDERR_FILENO, "", 0) < 0)
				_exit(11);
			/* denied: a new file, a new program, an inet socket, a new process */
			if (open("/etc/hostname", O_RDONLY | O_CLOEXEC) >= 0 || errno != EPERM)
				_exit(12);
			execve(argv[0], argv, NULL);
			if (errno != EPERM)
				_exit(13);
			if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
				_exit(14);
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) >= 0)
				_exit(15);
			if (fork() >= 0)
				_exit(16);
			/* a unix socket is allowed, for the vsock bridge */
			if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
				_exit(17);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* ---- hull_vmm_run: bad input fails with one line before /dev/kvm is touched */

static void test_run_bad_input(void **state)
{
	char path[] = "/tmp/hull-test-vmm-XXXXXX";
	int fd = mkstemp(path);
	enum hull_vmm_end end;
	struct hull_vmm_config c = {
		.kernel = "/nonexistent/bzImage",
		.cpus = 1,
		.memory_mib = 64,
		.console_out = -1,
		.console_in = -1,
		.stop_fd = -1,
	};

	assert_true(fd >= 0);
	{
		_cleanup_error_ struct hull_error *err = NULL;

		assert_int_equal(hull_vmm_run(&c, &end, &err), -ENOENT);
		assert_string_equal(err->msg,
				    "kernel '/nonexistent/bzImage': No such file or directory");
	}
	{
		_cleanup_error_ struct hull_error *err = NULL;

		assert_int_equal(write(fd, "garbage", 7), 7);
		c.kernel = path;
		assert_int_equal(hull_vmm_run(&c, &end, &err), -ENOEXEC);
		assert_non_null(strstr(err->msg, "not a bzImage"));
		assert_null(strchr(err->msg, '\n'));
	}
	{
		_cleanup_error_ struct hull_error *err = NULL;

		c.memory_mib = 1ULL << 30;
		assert_int_equal(hull_vmm_run(&c, &end, &err), -ENOMEM);
		assert_non_null(strstr(err->msg, "more than the host has"));
		c.memory_mib = 64;
	}
	{
		_cleanup_error_ struct hull_error *err = NULL;

		c.cpus = 65;
		assert_int_equal(hull_vmm_run(&c, &end, &err), -EINVAL);
		c.cpus = 1;
	}
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_cpuid_filter),
		cmocka_unit_test(test_msr_list),
		cmocka_unit_test(test_serial_output_and_thri),
		cmocka_unit_test(test_serial_dlab_scratch_loopback),
		cmocka_unit_test(test_serial_input),
		cmocka_unit_test(test_i8042),
		cmocka_unit_test(test_mmio_bus),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_boot_bzimage),
		cmocka_unit_test(test_boot_bzimage_refusals),
		cmocka_unit_test(test_boot_pvh),
		cmocka_unit_test(test_boot_pvh_refusals),
		cmocka_unit_test(test_e820_high_memory),
		cmocka_unit_test(test_seccomp_denies),
		cmocka_unit_test(test_run_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
