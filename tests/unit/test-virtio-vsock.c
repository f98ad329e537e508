/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock bridged to unix sockets: a host side made of real unix sockets
 * (CONNECT, listeners at <uds>_<port>) and a guest side played by the test
 * through the rings, as Linux's virtio_transport would: connection set-up both
 * ways, data both ways, credit, shutdown and resets, and packets a hostile
 * guest might send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/file.h"
#include "virtio-driver.h"
#include "vmm/virtio-dev.h"

#define RXQ 0
#define TXQ 1
#define GUEST_CID 3
#define RX_BUF 4096
#define HDR 44

enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct fix {
	char dir[64];
	char uds[128];
	struct drv d;
	uint64_t rx_gpa[DRV_QSIZE];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct hull_virtio_dev *dev = NULL;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hull-test-vsock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->uds, sizeof(f->uds), "%s/v.sock", f->dir);
	assert_int_equal(hull_virtio_vsock_new(GUEST_CID, f->uds, &dev, NULL), 0);
	drv_start(&f->d, dev, 3, 0);
	/* a ring's worth of receive buffers, one descriptor each as Linux 6.x posts them */
	for (int i = 0; i < DRV_QSIZE; i++) {
		uint64_t gpa = drv_alloc(&f->d, HDR + RX_BUF);
		uint16_t head =
			drv_add(&f->d, RXQ, (struct drv_seg[]){ { gpa, HDR + RX_BUF, true } }, 1);

		f->rx_gpa[head] = gpa;
	}
	drv_notify(&f->d, RXQ);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	drv_stop(&f->d);
	/* the device removed its own socket; the test's listeners are removed by the tests */
	assert_int_equal(access(f->uds, F_OK), -1);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* The next packet the device put in the rx queue; its buffer goes back to the ring. */
static void rx_next(struct fix *f, struct hdr *h, void *payload, size_t max)
{
	uint32_t id = 0, len = 0;

	assert_true(drv_wait_used(&f->d, RXQ, &id, &len));
	assert_true(id < DRV_QSIZE);
	assert_true(len >= HDR);
	memcpy(h, drv_ptr(&f->d, f->rx_gpa[id], HDR), HDR);
	assert_int_equal(len, HDR + h->len);
	assert_int_equal(h->src_cid, 2);
	assert_int_equal(h->dst_cid, GUEST_CID);
	assert_int_equal(h->type, 1);
	assert_true(h->len <= max);
	if (h->len)
		memcpy(payload, drv_ptr(&f->d, f->rx_gpa[id] + HDR, h->len), h->len);
	drv_publish(&f->d, RXQ, (uint16_t)id);
	drv_notify(&f->d, RXQ);
}

static void tx_raw(struct fix *f, const struct hdr *h, size_t hdr_len, const void *data, size_t len)
{
	uint64_t hg = drv_alloc(&f->d, HDR), pg = 0;
	uint32_t id, used;

	memcpy(drv_ptr(&f->d, hg, HDR), h, HDR);
	if (len) {
		pg = drv_alloc(&f->d, len);
		memcpy(drv_ptr(&f->d, pg, len), data, len);
		drv_add(&f->d, TXQ,
			(struct drv_seg[]){ { hg, (uint32_t)hdr_len, false },
					    { pg, (uint32_t)len, false } },
			2);
	} else {
		drv_add(&f->d, TXQ, (struct drv_seg[]){ { hg, (uint32_t)hdr_len, false } }, 1);
	}
	drv_notify(&f->d, TXQ);
	assert_true(drv_wait_used(&f->d, TXQ, &id, &used));
	assert_int_equal(used, 0);
}

/* The guest sends one packet from its port gport to host port hport. */
static void tx(struct fix *f, uint16_t op, uint32_t gport, uint32_t hport, const void *data,
	       uint32_t len, uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct hdr h = { GUEST_CID, 2, gport, hport, len, 1, op, flags, buf_alloc, fwd_cnt };

	tx_raw(f, &h, HDR, data, len);
}

static int host_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	/* a device that never answers fails the test instead of hanging it */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int host_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int host_accept(int lfd)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static void host_expect(int fd, const char *want)
{
	char buf[128] = { 0 };
	size_t n = strlen(want);

	assert_int_equal(hull_read_all(fd, buf, n), n);
	assert_string_equal(buf, want);
}

static void host_expect_eof(int fd)
{
	char c;

	assert_int_equal(read(fd, &c, 1), 0);
}

/* Closed by the device: EOF, or ECONNRESET when it closed with our bytes unread. */
static void host_expect_closed(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

/* Host connects to guest port gport and the guest accepts: returns the host fd. */
static int connect_from_host(struct fix *f, uint32_t gport, uint32_t *ret_local)
{
	int fd = host_connect(f->uds);
	char line[64];
	struct hdr h;

	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	assert_int_equal(hull_write_all(fd, line, strlen(line)), 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, REQUEST);
	assert_int_equal(h.dst_port, gport);
	assert_true(h.src_port >= (1U << 30));
	assert_int_equal(h.buf_alloc, 64 * 1024);
	tx(f, RESPONSE, gport, h.src_port, NULL, 0, 0, 65536, 0);
	snprintf(line, sizeof(line), "OK %u\n", h.src_port);
	host_expect(fd, line);
	*ret_local = h.src_port;
	return fd;
}

static void test_host_initiated(void **state)
{
	struct fix *f = *state;
	uint32_t local, lo = 0, hi = ~0U;
	uint64_t cid = 0;
	char buf[64];
	struct hdr h;
	int fd;

	/* the config space is the guest's cid, read whole or as two halves as Linux does */
	assert_int_equal(drv_r32(&f->d, HULL_VIRTIO_MMIO_DEVICE_ID), HULL_VIRTIO_ID_VSOCK);
	hull_virtio_mmio_read(f->d.t, HULL_VIRTIO_MMIO_CONFIG, &cid, 8);
	hull_virtio_mmio_read(f->d.t, HULL_VIRTIO_MMIO_CONFIG, &lo, 4);
	hull_virtio_mmio_read(f->d.t, HULL_VIRTIO_MMIO_CONFIG + 4, &hi, 4);
	assert_int_equal(le64toh(cid), GUEST_CID);
	assert_int_equal(le32toh(lo), GUEST_CID);
	assert_int_equal(hi, 0);

	fd = connect_from_host(f, 1234, &local);
	/* host -> guest */
	assert_int_equal(hull_write_all(fd, "ping", 4), 0);
	rx_next(f, &h, buf, sizeof(buf));
	assert_int_equal(h.op, RW);
	assert_int_equal(h.src_port, local);
	assert_int_equal(h.dst_port, 1234);
	assert_memory_equal(buf, "ping", 4);
	/* guest -> host */
	tx(f, RW, 1234, local, "pong", 4, 0, 65536, 4);
	host_expect(fd, "pong");
	/* asked for credit, the device tells what it forwarded */
	tx(f, CREDIT_REQUEST, 1234, local, NULL, 0, 0, 65536, 4);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 4);
	assert_int_equal(h.buf_alloc, 64 * 1024);
	/* the host is done sending: the guest hears SHUTDOWN(SEND) and may still send */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, SHUTDOWN);
	assert_int_equal(h.flags, 2);
	tx(f, RW, 1234, local, "late", 4, 0, 65536, 4);
	host_expect(fd, "late");
	/* the guest closes: RST back, the host sees EOF */
	tx(f, SHUTDOWN, 1234, local, NULL, 0, 3, 65536, 4);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, RST);
	assert_int_equal(h.dst_port, 1234);
	host_expect_eof(fd);
	close(fd);
	assert_false(drv_needs_reset(&f->d));
}

static void test_host_refused(void **state)
{
	struct fix *f = *state;
	struct hdr h;
	int fd = host_connect(f->uds);

	/* no listener in the guest: it answers RST, the host sees EOF and no OK */
	assert_int_equal(hull_write_all(fd, "CONNECT 52\n", 11), 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, REQUEST);
	tx(f, RST, 52, h.src_port, NULL, 0, 0, 0, 0);
	host_expect_eof(fd);
	close(fd);

	/* handshakes that are not "CONNECT <port>\n" */
	fd = host_connect(f->uds);
	assert_int_equal(hull_write_all(fd, "HELLO 1\n", 8), 0);
	host_expect_eof(fd);
	close(fd);
	fd = host_connect(f->uds);
	assert_int_equal(hull_write_all(fd, "CONNECT 99999999999\n", 20), 0);
	host_expect_eof(fd);
	close(fd);
	fd = host_connect(f->uds);
	assert_int_equal(hull_write_all(fd, "CONNECT 1 with a line far too long\n", 35), 0);
	host_expect_closed(fd);
	close(fd);
	assert_false(drv_needs_reset(&f->d));
}

static void test_guest_initiated(void **state)
{
	struct fix *f = *state;
	char path[160], buf[64];
	struct hdr h;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5000", f->uds);
	lfd = host_listen(path);
	tx(f, REQUEST, 7777, 5000, NULL, 0, 0, 65536, 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, RESPONSE);
	assert_int_equal(h.src_port, 5000);
	assert_int_equal(h.dst_port, 7777);
	fd = host_accept(lfd);
	tx(f, RW, 7777, 5000, "hello", 5, 0, 65536, 0);
	host_expect(fd, "hello");
	assert_int_equal(hull_write_all(fd, "world", 5), 0);
	rx_next(f, &h, buf, sizeof(buf));
	assert_int_equal(h.op, RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(buf, "world", 5);
	/* the guest resets: the host sees EOF, no answer to a RST */
	tx(f, RST, 7777, 5000, NULL, 0, 0, 65536, 0);
	host_expect_eof(fd);
	close(fd);

	/* nobody listens on port 5001: RST */
	tx(f, REQUEST, 7778, 5001, NULL, 0, 0, 65536, 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, RST);
	assert_int_equal(h.src_port, 5001);
	assert_int_equal(h.dst_port, 7778);
	close(lfd);
	unlink(path);
}

/* The device sends the guest no more than its credit, then asks for more. */
static void test_credit_to_guest(void **state)
{
	struct fix *f = *state;
	char path[160], buf[64];
	size_t got = 0;
	struct hdr h;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_6000", f->uds);
	lfd = host_listen(path);
	tx(f, REQUEST, 9000, 6000, NULL, 0, 0, 8, 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, RESPONSE);
	fd = host_accept(lfd);
	assert_int_equal(hull_write_all(fd, "0123456789abcdefghij", 20), 0);
	while (got < 8) {
		rx_next(f, &h, buf + got, sizeof(buf) - got);
		assert_int_equal(h.op, RW);
		got += h.len;
	}
	assert_int_equal(got, 8);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, CREDIT_REQUEST);
	/* the guest read those 8 bytes: 8 more may come */
	tx(f, CREDIT_UPDATE, 9000, 6000, NULL, 0, 0, 8, 8);
	while (got < 16) {
		rx_next(f, &h, buf + got, sizeof(buf) - got);
		assert_int_equal(h.op, RW);
		got += h.len;
	}
	assert_int_equal(got, 16);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	/* a bigger window lets the rest through */
	tx(f, CREDIT_UPDATE, 9000, 6000, NULL, 0, 0, 4096, 16);
	while (got < 20) {
		rx_next(f, &h, buf + got, sizeof(buf) - got);
		if (h.op == CREDIT_REQUEST)
			continue;
		assert_int_equal(h.op, RW);
		got += h.len;
	}
	assert_memory_equal(buf, "0123456789abcdefghij", 20);
	close(fd);
	close(lfd);
	unlink(path);
}

/* A guest that ignores the credit it was given: reset, not unbounded buffering. */
static void test_guest_overruns_credit(void **state)
{
	struct fix *f = *state;
	char path[160];
	uint64_t big;
	struct hdr h;
	int lfd, fd;
	bool reset = false;

	snprintf(path, sizeof(path), "%s_6001", f->uds);
	lfd = host_listen(path);
	tx(f, REQUEST, 9001, 6001, NULL, 0, 0, 65536, 0);
	rx_next(f, &h, NULL, 0);
	assert_int_equal(h.op, RESPONSE);
	fd = host_accept(lfd); /* and never read */
	big = drv_alloc(&f->d, 65536);
	/* 2.5 MiB against 64 KiB of credit and the host socket's buffer */
	for (int i = 0; i < 40; i++) {
		uint64_t hg = drv_alloc(&f->d, HDR);
		struct hdr p = { GUEST_CID, 2, 9001, 6001, 65536, 1, RW, 0, 65536, 0 };
		uint32_t id, used;

		memcpy(drv_ptr(&f->d, hg, HDR), &p, HDR);
		drv_add(&f->d, TXQ, (struct drv_seg[]){ { hg, HDR, false }, { big, 65536, false } },
			2);
		drv_notify(&f->d, TXQ);
		assert_true(drv_wait_used(&f->d, TXQ, &id, &used));
	}
	/* credit updates while the host socket took the data, then the reset */
	for (int i = 0; i < 64 && !reset; i++) {
		rx_next(f, &h, NULL, 0);
		if (h.op == RST)
			reset = true;
		else
			assert_int_equal(h.op, CREDIT_UPDATE);
	}
	assert_true(reset);
	assert_int_equal(h.dst_port, 9001);
	assert_false(drv_needs_reset(&f->d));
	close(fd);
	close(lfd);
	unlink(path);
}

/* Packets a hostile guest may send: dropped or answered RST, the device lives on. */
static void test_hostile_packets(void **state)
{
	struct fix *f = *state;
	struct hdr h = { GUEST_CID, 2, 1, 2, 0, 1, REQUEST, 0, 0, 0 };
	struct hdr r;

	/* a short header, a length beyond the buffer, a forged source cid, a bad type */
	tx_raw(f, &h, 10, NULL, 0);
	h.len = 100;
	tx_raw(f, &h, HDR, "abc", 3);
	h = (struct hdr){ 5, 2, 1, 2, 0, 1, REQUEST, 0, 0, 0 };
	tx_raw(f, &h, HDR, NULL, 0);
	h = (struct hdr){ GUEST_CID, 7, 1, 2, 0, 1, REQUEST, 0, 0, 0 };
	tx_raw(f, &h, HDR, NULL, 0);
	tx(f, RW, 1, 2, "x", 1, 0, 0, 0); /* data for no connection: RST */
	rx_next(f, &r, NULL, 0);
	assert_int_equal(r.op, RST);
	assert_int_equal(r.dst_port, 1);
	h = (struct hdr){ GUEST_CID, 2, 3, 4, 0, 2 /* seqpacket */, REQUEST, 0, 0, 0 };
	tx_raw(f, &h, HDR, NULL, 0);
	rx_next(f, &r, NULL, 0);
	assert_int_equal(r.op, RST);
	assert_int_equal(r.dst_port, 3);
	/* none of the dropped ones got an answer: the next is for port 11 */
	tx(f, CREDIT_UPDATE, 11, 12, NULL, 0, 0, 0, 0);
	rx_next(f, &r, NULL, 0);
	assert_int_equal(r.op, RST);
	assert_int_equal(r.dst_port, 11);
	assert_false(drv_needs_reset(&f->d));

	/* an rx buffer too small for a header is a broken driver */
	{
		struct fix *g = f;
		uint64_t tiny = drv_alloc(&g->d, 8);
		int fd;

		/* replace the whole rx supply by one tiny buffer */
		drv_w32(&g->d, HULL_VIRTIO_MMIO_STATUS, 0);
		memset(drv_ptr(&g->d, 0x10000, 0x40000), 0, 0x40000);
		for (size_t q = 0; q < 3; q++)
			drv_queue_layout(&g->d, q, DRV_QSIZE);
		drv_negotiate(&g->d, 1ULL << HULL_VIRTIO_F_VERSION_1);
		for (size_t q = 0; q < 3; q++)
			drv_queue_enable(&g->d, q);
		drv_driver_ok(&g->d);
		drv_add(&g->d, RXQ, (struct drv_seg[]){ { tiny, 8, true } }, 1);
		drv_notify(&g->d, RXQ);
		fd = host_connect(f->uds);
		assert_int_equal(hull_write_all(fd, "CONNECT 1\n", 10), 0);
		for (int i = 0; i < 500 && !drv_needs_reset(&g->d); i++)
			usleep(10000);
		assert_true(drv_needs_reset(&g->d));
		close(fd);
	}
}

/* A driver reset drops every connection: the host sides see EOF. */
static void test_reset_closes(void **state)
{
	struct fix *f = *state;
	uint32_t local;
	int fd = connect_from_host(f, 77, &local);

	drv_w32(&f->d, HULL_VIRTIO_MMIO_STATUS, 0);
	host_expect_eof(fd);
	close(fd);
}

static void test_bad_args(void **state)
{
	struct hull_virtio_dev *dev = NULL;
	char longpath[200];

	assert_int_equal(hull_virtio_vsock_new(2, "/tmp/x.sock", &dev, NULL), -EINVAL);
	assert_int_equal(hull_virtio_vsock_new(1ULL << 32, "/tmp/x.sock", &dev, NULL), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(hull_virtio_vsock_new(3, longpath, &dev, NULL), -ENAMETOOLONG);
	assert_int_equal(hull_virtio_vsock_new(3, "/nonexistent/dir/v.sock", &dev, NULL), -ENOENT);
	assert_null(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_initiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_initiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credit_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_overruns_credit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_closes, setup, teardown),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
