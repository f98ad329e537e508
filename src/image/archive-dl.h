/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarchive.so.13, loaded on first use (util/dl.h): only unpacking layers and image archives needs
 * it (with its compression and XML/ICU stack). Include this instead of the library's header; the
 * functions below are the ones hull calls, each named as its slot in the loaded table.
 * hull_archive_load() is what an entry point calls first, for a clean error
 * when the library is missing.
 */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "util/dl.h"

#define HULL_ARCHIVE_SYMBOLS(X)               \
	X(archive_entry_atime)                \
	X(archive_entry_atime_is_set)         \
	X(archive_entry_atime_nsec)           \
	X(archive_entry_filetype)             \
	X(archive_entry_free)                 \
	X(archive_entry_gid)                  \
	X(archive_entry_hardlink)             \
	X(archive_entry_mtime)                \
	X(archive_entry_mtime_is_set)         \
	X(archive_entry_mtime_nsec)           \
	X(archive_entry_new)                  \
	X(archive_entry_pathname)             \
	X(archive_entry_perm)                 \
	X(archive_entry_rdev)                 \
	X(archive_entry_set_filetype)         \
	X(archive_entry_set_pathname)         \
	X(archive_entry_set_perm)             \
	X(archive_entry_set_size)             \
	X(archive_entry_size)                 \
	X(archive_entry_symlink)              \
	X(archive_entry_uid)                  \
	X(archive_entry_xattr_next)           \
	X(archive_entry_xattr_reset)          \
	X(archive_error_string)               \
	X(archive_read_data)                  \
	X(archive_read_data_block)            \
	X(archive_read_data_skip)             \
	X(archive_read_free)                  \
	X(archive_read_new)                   \
	X(archive_read_next_header)           \
	X(archive_read_open)                  \
	X(archive_read_open_fd)               \
	X(archive_read_open_filename)         \
	X(archive_read_support_filter_all)    \
	X(archive_read_support_format_gnutar) \
	X(archive_read_support_format_raw)    \
	X(archive_read_support_format_tar)    \
	X(archive_set_error)                  \
	X(archive_write_close)                \
	X(archive_write_data)                 \
	X(archive_write_free)                 \
	X(archive_write_header)               \
	X(archive_write_new)                  \
	X(archive_write_open_fd)              \
	X(archive_write_set_format_pax_restricted)

struct hull_archive_api {
	HULL_ARCHIVE_SYMBOLS(HULL_DL_SLOT)
};

extern struct hull_dl hull_archive_dl;
int hull_archive_load(struct hull_error **reterr);

#ifndef HULL_DL_NO_ALIASES
#define HULL_ARCHIVE_API ((const struct hull_archive_api *)hull_dl_table(&hull_archive_dl))
#define archive_entry_atime (HULL_ARCHIVE_API->archive_entry_atime)
#define archive_entry_atime_is_set (HULL_ARCHIVE_API->archive_entry_atime_is_set)
#define archive_entry_atime_nsec (HULL_ARCHIVE_API->archive_entry_atime_nsec)
#define archive_entry_filetype (HULL_ARCHIVE_API->archive_entry_filetype)
#define archive_entry_free (HULL_ARCHIVE_API->archive_entry_free)
#define archive_entry_gid (HULL_ARCHIVE_API->archive_entry_gid)
#define archive_entry_hardlink (HULL_ARCHIVE_API->archive_entry_hardlink)
#define archive_entry_mtime (HULL_ARCHIVE_API->archive_entry_mtime)
#define archive_entry_mtime_is_set (HULL_ARCHIVE_API->archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec (HULL_ARCHIVE_API->archive_entry_mtime_nsec)
#define archive_entry_new (HULL_ARCHIVE_API->archive_entry_new)
#define archive_entry_pathname (HULL_ARCHIVE_API->archive_entry_pathname)
#define archive_entry_perm (HULL_ARCHIVE_API->archive_entry_perm)
#define archive_entry_rdev (HULL_ARCHIVE_API->archive_entry_rdev)
#define archive_entry_set_filetype (HULL_ARCHIVE_API->archive_entry_set_filetype)
#define archive_entry_set_pathname (HULL_ARCHIVE_API->archive_entry_set_pathname)
#define archive_entry_set_perm (HULL_ARCHIVE_API->archive_entry_set_perm)
#define archive_entry_set_size (HULL_ARCHIVE_API->archive_entry_set_size)
#define archive_entry_size (HULL_ARCHIVE_API->archive_entry_size)
#define archive_entry_symlink (HULL_ARCHIVE_API->archive_entry_symlink)
#define archive_entry_uid (HULL_ARCHIVE_API->archive_entry_uid)
#define archive_entry_xattr_next (HULL_ARCHIVE_API->archive_entry_xattr_next)
#define archive_entry_xattr_reset (HULL_ARCHIVE_API->archive_entry_xattr_reset)
#define archive_error_string (HULL_ARCHIVE_API->archive_error_string)
#define archive_read_data (HULL_ARCHIVE_API->archive_read_data)
#define archive_read_data_block (HULL_ARCHIVE_API->archive_read_data_block)
#define archive_read_data_skip (HULL_ARCHIVE_API->archive_read_data_skip)
#define archive_read_free (HULL_ARCHIVE_API->archive_read_free)
#define archive_read_new (HULL_ARCHIVE_API->archive_read_new)
#define archive_read_next_header (HULL_ARCHIVE_API->archive_read_next_header)
#define archive_read_open (HULL_ARCHIVE_API->archive_read_open)
#define archive_read_open_fd (HULL_ARCHIVE_API->archive_read_open_fd)
#define archive_read_open_filename (HULL_ARCHIVE_API->archive_read_open_filename)
#define archive_read_support_filter_all (HULL_ARCHIVE_API->archive_read_support_filter_all)
#define archive_read_support_format_gnutar (HULL_ARCHIVE_API->archive_read_support_format_gnutar)
#define archive_read_support_format_raw (HULL_ARCHIVE_API->archive_read_support_format_raw)
#define archive_read_support_format_tar (HULL_ARCHIVE_API->archive_read_support_format_tar)
#define archive_set_error (HULL_ARCHIVE_API->archive_set_error)
#define archive_write_close (HULL_ARCHIVE_API->archive_write_close)
#define archive_write_data (HULL_ARCHIVE_API->archive_write_data)
#define archive_write_free (HULL_ARCHIVE_API->archive_write_free)
#define archive_write_header (HULL_ARCHIVE_API->archive_write_header)
#define archive_write_new (HULL_ARCHIVE_API->archive_write_new)
#define archive_write_open_fd (HULL_ARCHIVE_API->archive_write_open_fd)
#define archive_write_set_format_pax_restricted \
	(HULL_ARCHIVE_API->archive_write_set_format_pax_restricted)
#endif
