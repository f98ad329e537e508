/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/sync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/socket.h"

int sync_send(int sock, enum sync_type type, int value, const char *text, int fd)
{
	struct sync_msg m = { .type = type, .value = value };
	size_t len = offsetof(struct sync_msg, text);

	if (text) {
		size_t n = strnlen(text, sizeof(m.text) - 1);

		memcpy(m.text, text, n);
		m.text[n] = '\0';
		len += n + 1;
	}
	return hull_socket_send_fd(sock, fd, &m, len);
}

int sync_recv(int sock, struct sync_msg *ret, int *ret_fd)
{
	int fd = -EBADF;
	ssize_t n;

	memset(ret, 0, sizeof(*ret));
	n = hull_socket_recv_fd(sock, &fd, ret, sizeof(*ret) - 1);
	/*
	 * The peer is gone either way: EOF, or ECONNRESET when it died with a
	 * message of ours still unread (a container process OOM-killed before
	 * it read SYNC_GO); callers explain an early exit on -EPIPE.
	 */
	if (n == 0 || n == -ECONNRESET)
		return -EPIPE;
	if (n < 0)
		return (int)n;
	if ((size_t)n < offsetof(struct sync_msg, text)) {
		if (fd >= 0)
			close(fd);
		return -EBADMSG;
	}
	if (ret_fd)
		*ret_fd = fd;
	else if (fd >= 0)
		close(fd);
	return 0;
}

int sync_expect(int sock, enum sync_type type, struct sync_msg *ret, int *ret_fd,
		struct hull_error **reterr)
{
	struct sync_msg m;
	int r;

	r = sync_recv(sock, &m, ret_fd);
	if (r == -EPIPE)
		return hull_error_set(reterr, -EPIPE, "container process exited during setup");
	if (r < 0)
		return hull_error_errno(reterr, r, "sync with container process");
	if (m.type == SYNC_ERROR)
		return hull_error_set(reterr, m.value < 0 ? m.value : -EIO, "%s", m.text);
	if (m.type != type)
		return hull_error_set(reterr, -EBADMSG, "sync: unexpected message %u (wanted %u)",
				      m.type, (unsigned)type);
	if (ret)
		*ret = m;
	return 0;
}

void sync_send_error(int sock, int code, const struct hull_error *err)
{
	char buf[256];
	const char *msg = err && err->msg ? err->msg : NULL;

	if (!msg) {
		snprintf(buf, sizeof(buf), "container setup: %s", strerror(code < 0 ? -code : EIO));
		msg = buf;
	}
	sync_send(sock, SYNC_ERROR, code, msg, -EBADF);
}
