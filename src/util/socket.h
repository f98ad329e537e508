/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix sockets: passing fds with SCM_RIGHTS.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Sends `len` bytes (at least one) and, when fd >= 0, the fd. */
int hull_socket_send_fd(int sock, int fd, const void *data, size_t len);
/*
 * Receives up to `len` bytes and an fd when one came (*ret_fd = -EBADF
 * otherwise).  Returns the byte count (0 at EOF).  Received fds are O_CLOEXEC.
 */
ssize_t hull_socket_recv_fd(int sock, int *ret_fd, void *data, size_t len);
/* Connects a SOCK_STREAM unix socket to `path` (O_CLOEXEC). */
int hull_socket_connect_unix(const char *path);
