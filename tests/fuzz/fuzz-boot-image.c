/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the kernel loaders with an untrusted kernel file: the bzImage setup
 * header (sizes, protocol version, pref_address, init_size) and the ELF
 * vmlinux (program headers, segment ranges, PVH notes).  A load either
 * succeeds with an entry inside guest RAM or fails with a message; nothing
 * is read outside the input or written outside guest memory (ASan).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/error.h"
#include "vmm/guest-mem.h"
#include "vmm/vmm-internal.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hull_guest_mem *mem;
	static const uint8_t initrd[4096] = { 1, 2, 3 };
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_boot_entry e = {};
	struct hull_boot_input in = {
		.kernel = data,
		.kernel_len = size,
		/* the input's length picks whether there is an initrd and how many vCPUs */
		.initrd = size % 2 ? initrd : NULL,
		.initrd_len = size % 2 ? sizeof(initrd) : 0,
		.cmdline = "console=ttyS0 reboot=k panic=-1",
		.n_cpus = 1 + (unsigned)(size % 4),
	};
	int r;

	if (!mem && hull_guest_mem_new(48ULL << 20, &mem, NULL) < 0)
		abort();
	r = hull_boot_load(mem, &in, &e, &err);
	if (r < 0) {
		CHECK(err && err->msg && !strchr(err->msg, '\n'));
		return 0;
	}
	CHECK(!err);
	CHECK(e.mode == HULL_BOOT_LINUX64 || e.mode == HULL_BOOT_PVH);
	CHECK(hull_guest_mem_ptr(mem, e.rip, 1) != NULL);
	return 0;
}
