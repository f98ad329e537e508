/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Both ends of a vsock round trip for tests/integration/vm/test_virtio.py,
 * built static by the test (the L2 guest has only busybox):
 *   guest-echo PORT         (in the guest) accept one vsock connection on PORT,
 *                           answer the line it sends with "echo:<line>"
 *   guest-connect PORT MSG  (in the guest) connect to the host (cid 2) on PORT,
 *                           send MSG + "\n", print the answer line
 *   host-serve PATH         (on the host) accept one unix connection on PATH,
 *                           answer its line with "pong:<line>"
 *   host-connect UDS PORT MSG (on the host) the Firecracker handshake on UDS
 *                           ("CONNECT PORT\n" -> "OK <n>\n"), send MSG + "\n",
 *                           print the answer line
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int die(const char *what)
{
	fprintf(stderr, "vsock-probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Reads one line (without the newline) into buf. */
static void read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t k = read(fd, buf + n, 1);

		if (k <= 0) {
			errno = k == 0 ? ECONNRESET : errno;
			die("read");
		}
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
}

static void write_str(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t k = write(fd, s, len);

		if (k <= 0)
			die("write");
		s += k;
		len -= (size_t)k;
	}
}

static void answer(int fd, const char *prefix)
{
	char line[256], out[300];

	read_line(fd, line, sizeof(line));
	snprintf(out, sizeof(out), "%s%s\n", prefix, line);
	write_str(fd, out);
}

int main(int argc, char **argv)
{
	char line[256];
	int fd, c;

	if (argc == 3 && strcmp(argv[1], "guest-echo") == 0) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
					  .svm_cid = VMADDR_CID_ANY,
					  .svm_port = (unsigned)atoi(argv[2]) };

		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
			die("vsock listen");
		printf("listening\n");
		fflush(stdout);
		c = accept(fd, NULL, NULL);
		if (c < 0)
			die("accept");
		answer(c, "echo:");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "guest-connect") == 0) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
					  .svm_cid = VMADDR_CID_HOST,
					  .svm_port = (unsigned)atoi(argv[2]) };

		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("vsock connect");
		write_str(fd, argv[3]);
		write_str(fd, "\n");
		read_line(fd, line, sizeof(line));
		printf("%s\n", line);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "host-serve") == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
			die("unix listen");
		c = accept(fd, NULL, NULL);
		if (c < 0)
			die("accept");
		answer(c, "pong:");
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "host-connect") == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char hello[64];

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("unix connect");
		snprintf(hello, sizeof(hello), "CONNECT %s\n", argv[3]);
		write_str(fd, hello);
		read_line(fd, line, sizeof(line)); /* EOF here: the guest refused */
		if (strncmp(line, "OK ", 3) != 0) {
			fprintf(stderr, "vsock-probe: handshake answer '%s'\n", line);
			return 1;
		}
		write_str(fd, argv[4]);
		write_str(fd, "\n");
		read_line(fd, line, sizeof(line));
		printf("%s\n", line);
		return 0;
	}
	fprintf(stderr, "usage: vsock-probe guest-echo PORT | guest-connect PORT MSG | "
			"host-serve PATH | host-connect UDS PORT MSG\n");
	return 2;
}
