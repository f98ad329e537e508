/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-mkinitramfs: writes a VM initramfs with the library's writer
 * (vmm/initramfs.h), for tests and the lab:
 *
 *   hull-mkinitramfs [--gzip] AGENT OUT [ARCHIVE-PATH=HOST-FILE...]
 *
 * OUT is replaced atomically (written beside it, then renamed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/macro.h"
#include "util/str.h"
#include "vmm/initramfs.h"

#define MAX_EXTRA 256

int main(int argc, char **argv)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_initramfs_file extra[MAX_EXTRA];
	enum hull_initramfs_flags flags = 0;
	char tmp[4096];
	size_t n = 0;
	int i = 1, fd, r;

	if (i < argc && streq(argv[i], "--gzip")) {
		flags |= HULL_INITRAMFS_GZIP;
		i++;
	}
	if (argc - i < 2) {
		fputs("usage: hull-mkinitramfs [--gzip] AGENT OUT [ARCHIVE-PATH=HOST-FILE...]\n",
		      stderr);
		return 2;
	}
	for (int j = i + 2; j < argc; j++) {
		char *eq = strchr(argv[j], '=');

		if (!eq || n >= MAX_EXTRA) {
			fprintf(stderr, "hull-mkinitramfs: '%s': expected PATH=FILE\n", argv[j]);
			return 2;
		}
		*eq = 0;
		extra[n++] = (struct hull_initramfs_file){ .path = argv[j], .source = eq + 1 };
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp%d", argv[i + 1], (int)getpid()) >= (int)sizeof(tmp))
		return 2;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "hull-mkinitramfs: create '%s': %s\n", tmp, strerror(errno));
		return 1;
	}
	r = hull_initramfs_write(fd, argv[i], extra, n, flags, &err);
	if (r >= 0 && fsync(fd) < 0)
		r = hull_error_errno(&err, -errno, "fsync '%s'", tmp);
	close(fd);
	if (r >= 0 && rename(tmp, argv[i + 1]) < 0)
		r = hull_error_errno(&err, -errno, "rename to '%s'", argv[i + 1]);
	if (r < 0) {
		(void)unlink(tmp);
		fprintf(stderr, "hull-mkinitramfs: %s\n",
			err && err->msg ? err->msg : strerror(-r));
		return 1;
	}
	return 0;
}
