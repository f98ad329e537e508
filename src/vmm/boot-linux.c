/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Direct boot of a bzImage through the 64-bit boot protocol
 * (Documentation/x86/boot.rst): the protected-mode kernel at 1 MiB, a zero
 * page (struct boot_params) holding a copy of the image's setup header, the
 * e820 map, the command line and the initrd, and entry at load address +
 * 0x200 in long mode with rsi pointing at the zero page.
 *
 * The image is untrusted: every field read from it is bounded against the
 * file length before use.
 */
#include <string.h>

#include "vmm/vmm-internal.h"

/* offsets in the image and in struct boot_params (the header sits at the same place) */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 4096

#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define MIN_VERSION 0x020c /* xloadflags, the 64-bit entry */

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

int hull_boot_linux_load(struct hull_guest_mem *mem, const struct hull_boot_input *in,
			 struct hull_boot_entry *ret, struct hull_error **reterr)
{
	const uint8_t *k = in->kernel;
	size_t len = in->kernel_len, setup_size, hdr_end, kernel_size, cmdline_len;
	struct hull_e820_entry e820[HULL_E820_MAX];
	uint8_t bp[BP_SIZE] = {};
	uint64_t need, initrd_addr = 0, init_size, pref;
	uint32_t cmdline_max, initrd_max;
	size_t n_e820;
	uint16_t version;
	unsigned setup_sects;

	if (len < HDR_MAGIC + 4 + 0x70 || le16(k + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(k + HDR_MAGIC, "HdrS", 4) != 0)
		return hull_error_set(reterr, -ENOEXEC,
				      "not a bzImage (no 'HdrS' setup header) nor an ELF vmlinux");
	version = le16(k + HDR_VERSION);
	if (version < MIN_VERSION)
		return hull_error_set(
			reterr, -ENOEXEC,
			"boot protocol %u.%02u is too old (2.12 needed for the 64-bit "
			"entry)",
			version >> 8, version & 0xff);
	if (!(le16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return hull_error_set(reterr, -ENOEXEC, "not a 64-bit kernel (no XLF_KERNEL_64)");
	if (!(k[HDR_LOADFLAGS] & LOADED_HIGH))
		return hull_error_set(reterr, -ENOEXEC, "kernel does not load high (zImage)");

	setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	setup_size = (setup_sects + 1) * 512;
	if (setup_size >= len)
		return hull_error_set(reterr, -ENOEXEC,
				      "truncated bzImage: %zu setup bytes of a %zu-byte file",
				      setup_size, len);
	kernel_size = len - setup_size;
	/* syssize: the protected-mode code in 16-byte paragraphs; a cut file has less */
	if ((uint64_t)le32(k + HDR_SYSSIZE) * 16 > kernel_size)
		return hull_error_set(
			reterr, -ENOEXEC,
			"truncated bzImage: %llu bytes of kernel expected, %zu present",
			(unsigned long long)le32(k + HDR_SYSSIZE) * 16, kernel_size);
	/* the header ends at 0x202 + the jump's 8-bit displacement */
	hdr_end = 0x202 + (size_t)k[HDR_JUMP + 1];
	if (hdr_end > setup_size || hdr_end > BP_E820_TABLE || hdr_end < HDR_INIT_SIZE + 4)
		return hull_error_set(reterr, -ENOEXEC, "bad setup header length %zu",
				      hdr_end - HDR_START);

	init_size = le32(k + HDR_INIT_SIZE);
	pref = le64(k + HDR_PREF_ADDRESS);
	if (pref > HULL_GUEST_MEM_LOW_END)
		return hull_error_set(reterr, -ENOEXEC, "bad pref_address 0x%llx",
				      (unsigned long long)pref);
	if (init_size < kernel_size)
		init_size = kernel_size;
	/* the decompressor runs at max(load address, pref_address) over init_size bytes */
	need = (pref > HULL_BOOT_KERNEL ? pref : HULL_BOOT_KERNEL) + init_size;
	if (!hull_guest_mem_ptr(mem, HULL_BOOT_KERNEL, need - HULL_BOOT_KERNEL))
		return hull_error_set(
			reterr, -ENOMEM,
			"kernel needs %llu MiB of memory to decompress, the VM has %llu",
			(unsigned long long)((need + (1 << 20) - 1) >> 20),
			(unsigned long long)(hull_guest_mem_size(mem) >> 20));
	if (hull_guest_mem_write(mem, HULL_BOOT_KERNEL, k + setup_size, kernel_size) < 0)
		return hull_error_set(reterr, -ENOMEM, "kernel does not fit in memory");

	cmdline_max = le32(k + HDR_CMDLINE_SIZE);
	cmdline_len = strlen(in->cmdline);
	if (cmdline_len > cmdline_max)
		return hull_error_set(reterr, -E2BIG,
				      "command line is %zu bytes, the kernel takes at most %u",
				      cmdline_len, cmdline_max);

	memcpy(bp + HDR_START, k + HDR_START, hdr_end - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	bp[HDR_HEAP_END_PTR] = 0x00;
	bp[HDR_HEAP_END_PTR + 1] = 0xfe; /* 0xfe00 */
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)HULL_BOOT_CMDLINE);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);

	if (in->initrd && in->initrd_len > 0) {
		initrd_max = le32(k + HDR_INITRD_ADDR_MAX);
		if (initrd_max == 0)
			initrd_max = 0x37ffffff; /* the protocol's default for old kernels */
		if (in->initrd_len > UINT32_MAX ||
		    hull_boot_initrd_addr(mem, need, (uint64_t)initrd_max + 1, in->initrd_len,
					  &initrd_addr) < 0)
			return hull_error_set(reterr, -ENOMEM,
					      "initrd of %zu bytes does not fit in memory above "
					      "the kernel",
					      in->initrd_len);
		if (hull_guest_mem_write(mem, initrd_addr, in->initrd, in->initrd_len) < 0)
			return hull_error_set(reterr, -ENOMEM, "initrd does not fit in memory");
		put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
		put32(bp + HDR_RAMDISK_SIZE, (uint32_t)in->initrd_len);
		put32(bp + BP_EXT_RAMDISK_IMAGE, 0);
		put32(bp + BP_EXT_RAMDISK_SIZE, 0);
	} else {
		put32(bp + HDR_RAMDISK_IMAGE, 0);
		put32(bp + HDR_RAMDISK_SIZE, 0);
	}

	n_e820 = hull_e820_build(mem, e820, ELEMENTSOF(e820));
	bp[BP_E820_ENTRIES] = (uint8_t)n_e820;
	for (size_t i = 0; i < n_e820 && i < BP_E820_MAX; i++) {
		uint8_t *p = bp + BP_E820_TABLE + i * 20;

		memcpy(p, &e820[i].addr, 8);
		memcpy(p + 8, &e820[i].size, 8);
		memcpy(p + 16, &e820[i].type, 4);
	}
	if (hull_guest_mem_write(mem, HULL_BOOT_ZERO_PAGE, bp, sizeof(bp)) < 0)
		return hull_error_set(reterr, -ENOMEM, "zero page does not fit in memory");

	*ret = (struct hull_boot_entry){
		.mode = HULL_BOOT_LINUX64,
		.rip = HULL_BOOT_KERNEL + 0x200,
		.rsi = HULL_BOOT_ZERO_PAGE,
	};
	return 0;
}
