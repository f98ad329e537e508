/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Direct boot of an uncompressed ELF vmlinux through its PVH entry point: the
 * PT_LOAD segments at their physical addresses, entry at the address of the
 * XEN_ELFNOTE_PHYS32_ENTRY note in 32-bit protected mode with paging off and
 * ebx pointing at a struct hvm_start_info (version 1: with a memory map).  The
 * initrd is module 0.
 *
 * The ELF file is untrusted: header, program headers and notes are bounded
 * against the file length (overflow-safe) before anything is read.
 */
#include <elf.h>
#include <string.h>

#include "vmm/vmm-internal.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578U
#define PVH_CMDLINE_MAX 2048 /* x86 COMMAND_LINE_SIZE */

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(HULL_BOOT_PVH_INFO + sizeof(struct hvm_start_info) <= HULL_BOOT_PVH_MODLIST,
	       "start info overlaps module list");
_Static_assert(HULL_BOOT_PVH_MODLIST + sizeof(struct hvm_modlist_entry) <= HULL_BOOT_PVH_MEMMAP,
	       "module list overlaps memory map");

/* Is [off, off + size) inside a file of len bytes? */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

/* Looks for the PHYS32_ENTRY note in one PT_NOTE segment; 1 found, 0 not, <0 malformed. */
static int find_entry_note(const uint8_t *p, uint64_t size, uint64_t *ret)
{
	uint64_t off = 0;

	while (size - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, p + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + (((uint64_t)nh.n_namesz + 3) & ~3ULL);
		next = desc_off + (((uint64_t)nh.n_descsz + 3) & ~3ULL);
		if (desc_off > size || next > size || next <= off)
			return -ENOEXEC;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(p + name_off, "Xen", 4) == 0) {
			uint64_t entry = 0;

			if (nh.n_descsz == 4) {
				uint32_t e32;

				memcpy(&e32, p + desc_off, 4);
				entry = e32;
			} else if (nh.n_descsz == 8) {
				memcpy(&entry, p + desc_off, 8);
			} else {
				return -ENOEXEC;
			}
			*ret = entry;
			return 1;
		}
		off = next;
	}
	return 0;
}

int hull_boot_pvh_load(struct hull_guest_mem *mem, const struct hull_boot_input *in,
		       struct hull_boot_entry *ret, struct hull_error **reterr)
{
	const uint8_t *k = in->kernel;
	size_t len = in->kernel_len;
	struct hull_e820_entry e820[HULL_E820_MAX];
	struct hvm_start_info si = {};
	struct hvm_modlist_entry mod = {};
	Elf64_Ehdr eh;
	uint64_t entry = 0, kernel_end = 0, initrd_addr = 0;
	bool have_entry = false;
	size_t n_e820;
	int r;

	if (len < sizeof(eh))
		return hull_error_set(reterr, -ENOEXEC, "truncated ELF header");
	memcpy(&eh, k, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return hull_error_set(reterr, -ENOEXEC,
				      "not an x86_64 little-endian ELF64 vmlinux");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return hull_error_set(reterr, -ENOEXEC, "bad ELF program header table");

	/* first pass: the entry note, checked before anything is copied */
	for (unsigned i = 0; i < eh.e_phnum && !have_entry; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, k + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, len))
			return hull_error_set(reterr, -ENOEXEC,
					      "ELF note segment %u outside the file", i);
		r = find_entry_note(k + ph.p_offset, ph.p_filesz, &entry);
		if (r < 0)
			return hull_error_set(reterr, -ENOEXEC, "malformed ELF note in segment %u",
					      i);
		have_entry = r > 0;
	}
	if (!have_entry)
		return hull_error_set(reterr, -ENOEXEC,
				      "ELF vmlinux has no PVH entry (XEN_ELFNOTE_PHYS32_ENTRY; "
				      "CONFIG_PVH)");
	if (entry >= HULL_GUEST_MEM_LOW_END)
		return hull_error_set(reterr, -ENOEXEC, "PVH entry 0x%llx is not below 3 GiB",
				      (unsigned long long)entry);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		void *dst;

		memcpy(&ph, k + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, len) || ph.p_filesz > ph.p_memsz)
			return hull_error_set(reterr, -ENOEXEC, "ELF segment %u outside the file",
					      i);
		if (ph.p_paddr < HULL_BOOT_HIMEM)
			return hull_error_set(reterr, -ENOEXEC,
					      "ELF segment %u at 0x%llx is below 1 MiB", i,
					      (unsigned long long)ph.p_paddr);
		dst = hull_guest_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return hull_error_set(
				reterr, -ENOMEM,
				"kernel segment at 0x%llx (%llu bytes) does not fit in "
				"%llu MiB of memory",
				(unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
				(unsigned long long)(hull_guest_mem_size(mem) >> 20));
		memcpy(dst, k + ph.p_offset, ph.p_filesz);
		memset((uint8_t *)dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > kernel_end)
			kernel_end = ph.p_paddr + ph.p_memsz;
	}
	if (kernel_end == 0)
		return hull_error_set(reterr, -ENOEXEC, "ELF vmlinux has no loadable segment");

	if (strlen(in->cmdline) >= PVH_CMDLINE_MAX)
		return hull_error_set(reterr, -E2BIG,
				      "command line is %zu bytes, the kernel takes at most %d",
				      strlen(in->cmdline), PVH_CMDLINE_MAX - 1);

	si.magic = HVM_START_MAGIC;
	si.version = 1;
	si.cmdline_paddr = HULL_BOOT_CMDLINE;
	if (in->initrd && in->initrd_len > 0) {
		if (hull_boot_initrd_addr(mem, (kernel_end + 0xfff) & ~0xfffULL,
					  HULL_GUEST_MEM_LOW_END, in->initrd_len,
					  &initrd_addr) < 0 ||
		    hull_guest_mem_write(mem, initrd_addr, in->initrd, in->initrd_len) < 0)
			return hull_error_set(reterr, -ENOMEM,
					      "initrd of %zu bytes does not fit in memory above "
					      "the kernel",
					      in->initrd_len);
		mod.paddr = initrd_addr;
		mod.size = in->initrd_len;
		si.nr_modules = 1;
		si.modlist_paddr = HULL_BOOT_PVH_MODLIST;
	}

	n_e820 = hull_e820_build(mem, e820, ELEMENTSOF(e820));
	si.memmap_paddr = HULL_BOOT_PVH_MEMMAP;
	si.memmap_entries = (uint32_t)n_e820;
	for (size_t i = 0; i < n_e820; i++) {
		struct hvm_memmap_table_entry me = {
			.addr = e820[i].addr,
			.size = e820[i].size,
			.type = e820[i].type,
		};

		if (hull_guest_mem_write(mem, HULL_BOOT_PVH_MEMMAP + i * sizeof(me), &me,
					 sizeof(me)) < 0)
			return hull_error_set(reterr, -ENOMEM, "memory map does not fit");
	}
	if (hull_guest_mem_write(mem, HULL_BOOT_PVH_MODLIST, &mod, sizeof(mod)) < 0 ||
	    hull_guest_mem_write(mem, HULL_BOOT_PVH_INFO, &si, sizeof(si)) < 0)
		return hull_error_set(reterr, -ENOMEM, "start info does not fit");

	*ret = (struct hull_boot_entry){
		.mode = HULL_BOOT_PVH,
		.rip = entry,
		.rbx = HULL_BOOT_PVH_INFO,
	};
	return 0;
}
