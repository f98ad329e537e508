/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The initramfs of a hull VM, written by hull itself: a cpio archive in the
 * "newc" format the kernel unpacks into its rootfs (Documentation/
 * driver-api/early-userspace/buffer-format.rst), uncompressed or gzip'd.
 *
 * It holds /init (the static hull-agent), the /dev/console node the kernel
 * opens for init's stdio before anything is mounted, the directories the
 * agent mounts on (dev proc sys run tmp), and any extra files (kernel
 * modules, for instance) with their parent directories.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct hull_initramfs_file {
	const char *path;   /* in the archive, relative ("lib/modules/x.ko"); no "..", no "//" */
	const char *source; /* a host file copied in; NULL: `data` below */
	const void *data;
	size_t len;
	mode_t mode; /* permission bits; 0: the source's, or 0644 for data */
};

enum hull_initramfs_flags {
	HULL_INITRAMFS_GZIP = 1 << 0, /* gzip the archive (zlib); the kernel takes either */
};

/*
 * Writes the archive to `fd` (at its current offset): /init from
 * `agent_path` (mode 0755), then `extra[0..n_extra)`.  Refuses an agent or
 * file that is not a regular file, an archive path that is absolute, empty,
 * has a ".." or "." component or names "init" or a base entry again.
 * Returns 0 or -errno with a message naming the file.
 */
int hull_initramfs_write(int fd, const char *agent_path, const struct hull_initramfs_file *extra,
			 size_t n_extra, enum hull_initramfs_flags flags,
			 struct hull_error **reterr);
