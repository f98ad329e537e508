/* SPDX-License-Identifier: Apache-2.0 */
/* libarchive readers the image room opens the same way everywhere. */
#include <errno.h>

#include "image/archive-dl.h"
#include "image/image-internal.h"

void image_archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

struct archive *image_tar_reader_new(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	return a;
}

int image_raw_open_fd(struct archive *raw, int fd)
{
	struct archive_entry *e;

	archive_read_support_filter_all(raw);
	archive_read_support_format_raw(raw);
	if (archive_read_open_fd(raw, fd, 64 * 1024) != ARCHIVE_OK ||
	    archive_read_next_header(raw, &e) != ARCHIVE_OK)
		return -EINVAL;
	return 0;
}
