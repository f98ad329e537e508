/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File helpers.  Every fd they open is O_CLOEXEC; all return -errno.
 */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* write(2)/read(2) until done, retrying EINTR; read_all returns bytes read (short at EOF). */
int hull_write_all(int fd, const void *buf, size_t len);
ssize_t hull_read_all(int fd, void *buf, size_t len);

/* Opens dirfd/path O_WRONLY (no O_CREAT) and writes `len` bytes in one write(2). */
int hull_write_file_at(int dirfd, const char *path, const void *data, size_t len);
int hull_write_string_at(int dirfd, const char *path, const char *s);

/* Reads the whole of dirfd/path into a NUL-terminated buffer; ret_len may be NULL. */
int hull_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len);
/* Reads the whole of an open fd from its current offset. */
int hull_read_fd(int fd, char **ret, size_t *ret_len);

enum hull_atomic_flags {
	HULL_ATOMIC_SYNC = 1 << 0, /* fsync the file before the rename, and the dir after */
};

/* Writes dirfd/name by writing a temp file beside it and renaming it over. */
int hull_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			      mode_t mode, enum hull_atomic_flags flags);

/* mkdir -p relative to dirfd; existing directories are fine. */
int hull_mkdir_p_at(int dirfd, const char *path, mode_t mode);

/* A DIR stream over a duplicate of fd (fd stays the caller's to close). */
int hull_opendir_dup(int fd, DIR **ret);

/* Removes dirfd/name recursively without crossing mount points; missing is fine. */
int hull_rm_rf_at(int dirfd, const char *name);

/* Closes every fd >= `from` except those in keep[0..n_keep). */
int hull_close_fds_from(int from, const int *keep, size_t n_keep);

/* Sets or clears FD_CLOEXEC. */
int hull_fd_set_cloexec(int fd, bool cloexec);

/*
 * flock(fd, op) (LOCK_EX or LOCK_SH) waiting at most timeout_ms: the holder
 * may be stuck for good, so this polls with backoff instead of blocking.
 * -EBUSY when the time runs out.
 */
int hull_flock_bounded(int fd, int op, unsigned timeout_ms);
