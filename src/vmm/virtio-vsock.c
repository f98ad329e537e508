/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.2, 5.10) in user space, bridged to unix sockets on
 * the host as Firecracker does (its docs/vsock.md), so no vhost module is needed:
 *
 *  - host-initiated: the host connects to uds_path and writes "CONNECT <port>\n";
 *    the device sends the guest a REQUEST from a local port of its own (from
 *    2^30 up) and, when the guest answers RESPONSE, writes "OK <local port>\n"
 *    to the host socket, which then carries the stream; a RST (or no answer in
 *    CONNECT_TIMEOUT_MS) closes it.
 *  - guest-initiated: a REQUEST to host port P connects to "<uds_path>_<P>";
 *    RESPONSE on success, RST otherwise.
 *
 * Stream flow control is credit based (5.10.6.3): the device advertises
 * BUF_ALLOC bytes of buffer per connection and counts what it forwarded to the
 * host (fwd_cnt); a guest sending beyond that credit gets its connection reset,
 * so a connection never buffers more than BUF_ALLOC bytes.  Towards the guest
 * the device reads from a host socket only as much as the guest's credit allows.
 * At most MAX_CONNS connections exist at once.
 *
 * Threading: one device thread owns the host sockets; it starts when the driver
 * first sets DRIVER_OK (so it inherits that vCPU thread's seccomp filter), and
 * until then host connections wait in the listen backlog.  It waits in epoll on the
 * listening socket, every connection's socket and an eventfd ("kick") that the
 * vCPU thread writes when the driver notifies a queue (so a notify costs the
 * vCPU one write(2)); then it takes dev->lock and does all the work: TX queue,
 * host sockets, RX queue.  Everything in struct virtio_vsock is guarded by
 * dev->lock; epoll events name a connection by slot and generation, so an event
 * for a connection a reset closed meanwhile is recognised and dropped.
 * Syscalls the thread makes: epoll_wait/epoll_ctl, accept4, socket, connect,
 * recvmsg, sendmsg, read/write (eventfds), shutdown, close, clock_gettime, futex.
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "util/log.h"
#include "vmm/virtio-dev.h"

#define VSOCK_HOST_CID 2
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define QUEUE_SIZE 256

#define MAX_CONNS 64
#define BUF_ALLOC (64 * 1024)	    /* per connection, guest -> host */
#define MAX_PKT_PAYLOAD (64 * 1024) /* what one packet may carry */
#define CONNECT_TIMEOUT_MS 5000
#define LOCAL_PORT_START (1U << 30)
#define RSTQ_SIZE 128
#define CONNECT_LINE_MAX 32

#define TYPE_STREAM 1

enum {
	OP_INVALID,
	OP_REQUEST,
	OP_RESPONSE,
	OP_RST,
	OP_SHUTDOWN,
	OP_RW,
	OP_CREDIT_UPDATE,
	OP_CREDIT_REQUEST,
};

#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));
_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes");

enum conn_state {
	CONN_FREE,
	CONN_HANDSHAKE,	 /* host connected, "CONNECT <port>\n" not read yet */
	CONN_CONNECTING, /* REQUEST for the guest queued or sent, no answer yet */
	CONN_ESTABLISHED,
};

enum {
	PEND_REQUEST = 1 << 0,
	PEND_RESPONSE = 1 << 1,
	PEND_CREDIT_UPDATE = 1 << 2,
	PEND_CREDIT_REQUEST = 1 << 3,
};

struct conn {
	enum conn_state state;
	uint32_t gen;
	int fd;
	uint32_t epoll_mask;
	bool in_epoll;
	uint32_t local_port; /* the host side's port */
	uint32_t peer_port;  /* the guest's */
	unsigned pending;
	uint64_t deadline_ms; /* 0: none */
	char line[CONNECT_LINE_MAX];
	size_t line_len;
	/* guest -> host */
	uint8_t *txbuf; /* BUF_ALLOC + CONNECT_LINE_MAX bytes, allocated when first needed */
	size_t tx_len;
	uint32_t recv_cnt;	/* bytes the guest sent us */
	uint32_t fwd_cnt;	/* of which forwarded to the host socket */
	uint32_t last_fwd_sent; /* the fwd_cnt the guest last heard */
	bool peer_shut_send, peer_shut_rcv;
	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt; /* bytes sent to the guest */
	bool readable;	 /* the host socket has data or EOF for us */
	bool host_eof;
	bool hup;
	bool credit_requested;
};

struct virtio_vsock {
	struct hull_virtio_dev dev;
	uint64_t guest_cid;
	char *uds_path;
	int listen_fd, epoll_fd, kick_fd;
	pthread_t thread;
	bool thread_started;
	bool stop;
	uint32_t next_local_port;
	size_t rr; /* round-robin start for rx delivery */
	struct conn conns[MAX_CONNS];
	struct {
		uint32_t local_port, peer_port;
	} rstq[RSTQ_SIZE];
	size_t rstq_head, rstq_len;
	struct hull_virtq_chain chain;
	struct iovec iov[HULL_VIRTQ_MAX_SIZE];
	uint64_t config_cid; /* little endian */
};

#define EV_LISTEN UINT64_C(0xffffffff)
#define EV_KICK UINT64_C(0xfffffffe)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void kick(struct virtio_vsock *v)
{
	uint64_t one = 1;

	(void)!write(v->kick_fd, &one, sizeof(one));
}

/* --- connections --- */

static struct conn *conn_find(struct virtio_vsock *v, uint32_t local_port, uint32_t peer_port)
{
	for (size_t i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];

		if (c->state != CONN_FREE && c->state != CONN_HANDSHAKE &&
		    c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

static struct conn *conn_alloc(struct virtio_vsock *v, int fd)
{
	for (size_t i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];
		uint32_t gen = c->gen + 1;

		if (c->state != CONN_FREE)
			continue;
		*c = (struct conn){ .gen = gen, .fd = fd };
		return c;
	}
	return NULL;
}

static void conn_close(struct virtio_vsock *v, struct conn *c)
{
	if (c->in_epoll)
		(void)epoll_ctl(v->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	safe_close(c->fd);
	free(c->txbuf);
	*c = (struct conn){ .gen = c->gen, .fd = -EBADF };
}

static void queue_rst(struct virtio_vsock *v, uint32_t local_port, uint32_t peer_port)
{
	size_t i;

	if (v->rstq_len == RSTQ_SIZE)
		return; /* the guest times the connection out instead */
	i = (v->rstq_head + v->rstq_len++) % RSTQ_SIZE;
	v->rstq[i].local_port = local_port;
	v->rstq[i].peer_port = peer_port;
}

/* Ends a connection the guest knows of, telling it so. */
static void conn_reset(struct virtio_vsock *v, struct conn *c)
{
	queue_rst(v, c->local_port, c->peer_port);
	conn_close(v, c);
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void maybe_credit_update(struct conn *c)
{
	/* tell the guest when what it believes it may send is half gone, and we have freed more */
	uint32_t believed_free = BUF_ALLOC - (c->recv_cnt - c->last_fwd_sent);

	if (c->fwd_cnt != c->last_fwd_sent && believed_free < BUF_ALLOC / 2)
		c->pending |= PEND_CREDIT_UPDATE;
}

static ssize_t send_iov(int fd, struct iovec *iov, size_t n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t k = RETRY_EINTR(sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));

	if (k < 0)
		return errno == EAGAIN ? 0 : -errno;
	return k;
}

/* Writes what is buffered for the host; -errno when the host socket is gone. */
static int conn_flush(struct conn *c)
{
	struct iovec iov;
	ssize_t k;

	if (c->tx_len == 0)
		return 0;
	iov = (struct iovec){ c->txbuf, c->tx_len };
	k = send_iov(c->fd, &iov, 1);
	if (k < 0)
		return (int)k;
	memmove(c->txbuf, c->txbuf + k, c->tx_len - (size_t)k);
	c->tx_len -= (size_t)k;
	return 0;
}

static int conn_buffer(struct conn *c, const struct iovec *iov, size_t n, size_t skip)
{
	if (!c->txbuf) {
		c->txbuf = malloc(BUF_ALLOC + CONNECT_LINE_MAX);
		if (!c->txbuf)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = iov[i].iov_len;
		const uint8_t *p = iov[i].iov_base;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		if (len > BUF_ALLOC + CONNECT_LINE_MAX - c->tx_len)
			return -ENOBUFS;
		memcpy(c->txbuf + c->tx_len, p, len);
		c->tx_len += len;
	}
	return 0;
}

/* After the guest has shut both directions and everything reached the host: RST, close. */
static bool conn_finished(struct virtio_vsock *v, struct conn *c)
{
	if (c->peer_shut_send && c->tx_len == 0)
		(void)shutdown(c->fd, SHUT_WR);
	if (c->peer_shut_send && c->peer_shut_rcv && c->tx_len == 0) {
		conn_reset(v, c);
		return true;
	}
	return false;
}

/* --- guest -> host --- */

/* Payload of an RW packet for an established connection. */
static void conn_from_guest(struct virtio_vsock *v, struct conn *c, uint32_t len)
{
	size_t n = hull_iov_slice(v->chain.out, v->chain.n_out, sizeof(struct vsock_hdr), len,
				  v->iov, ELEMENTSOF(v->iov));
	ssize_t k = 0;

	if (c->peer_shut_send || (uint32_t)(c->recv_cnt - c->fwd_cnt) + len > BUF_ALLOC) {
		/* sending after SHUTDOWN, or beyond the credit we gave: a broken peer */
		conn_reset(v, c);
		return;
	}
	c->recv_cnt += len;
	if (c->tx_len == 0) {
		k = send_iov(c->fd, v->iov, n);
		if (k < 0) {
			conn_reset(v, c);
			return;
		}
	}
	c->fwd_cnt += (uint32_t)k;
	if ((size_t)k < len && conn_buffer(c, v->iov, n, (size_t)k) < 0) {
		conn_reset(v, c);
		return;
	}
	maybe_credit_update(c);
}

static void guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -EBADF;
	struct conn *c;
	int n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds_path, h->dst_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto refuse;
	c = conn_alloc(v, fd);
	if (!c)
		goto refuse;
	TAKE_FD(fd);
	c->state = CONN_ESTABLISHED;
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending = PEND_RESPONSE;
	return;
refuse:
	queue_rst(v, h->dst_port, h->src_port);
}

static void tx_packet(struct virtio_vsock *v)
{
	const struct hull_virtq_chain *ch = &v->chain;
	struct vsock_hdr h;
	struct conn *c;

	/* malformed packets are dropped, as a network would */
	if (hull_virtq_chain_read(ch, 0, &h, sizeof(h)) != sizeof(h))
		return;
	h.src_cid = le64toh(h.src_cid);
	h.dst_cid = le64toh(h.dst_cid);
	h.src_port = le32toh(h.src_port);
	h.dst_port = le32toh(h.dst_port);
	h.len = le32toh(h.len);
	h.type = le16toh(h.type);
	h.op = le16toh(h.op);
	h.flags = le32toh(h.flags);
	h.buf_alloc = le32toh(h.buf_alloc);
	h.fwd_cnt = le32toh(h.fwd_cnt);
	if (h.src_cid != v->guest_cid || h.dst_cid != VSOCK_HOST_CID)
		return;
	if (h.len > MAX_PKT_PAYLOAD || h.len > ch->out_len - sizeof(h))
		return;
	if (h.op != OP_RW)
		h.len = 0;

	c = conn_find(v, h.dst_port, h.src_port);
	if (h.type != TYPE_STREAM) {
		if (h.op != OP_RST)
			queue_rst(v, h.dst_port, h.src_port);
		if (c)
			conn_close(v, c);
		return;
	}
	if (!c) {
		if (h.op == OP_REQUEST)
			guest_connect(v, &h);
		else if (h.op != OP_RST)
			queue_rst(v, h.dst_port, h.src_port);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	c->credit_requested = false;

	if (c->state == CONN_CONNECTING) {
		if (h.op == OP_RESPONSE && !(c->pending & PEND_REQUEST)) {
			char ok[CONNECT_LINE_MAX];
			struct iovec iov = { ok, 0 };

			iov.iov_len = (size_t)snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
			c->state = CONN_ESTABLISHED;
			c->deadline_ms = 0;
			if (conn_buffer(c, &iov, 1, 0) < 0 || conn_flush(c) < 0)
				conn_reset(v, c);
		} else if (h.op == OP_RST) {
			conn_close(v, c);
		} else {
			conn_reset(v, c);
		}
		return;
	}

	switch (h.op) {
	case OP_RW:
		conn_from_guest(v, c, h.len);
		return;
	case OP_CREDIT_UPDATE:
		return;
	case OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT_UPDATE;
		return;
	case OP_SHUTDOWN:
		c->peer_shut_rcv |= !!(h.flags & SHUTDOWN_RCV);
		c->peer_shut_send |= !!(h.flags & SHUTDOWN_SEND);
		(void)conn_finished(v, c);
		return;
	case OP_RST:
		conn_close(v, c);
		return;
	default: /* REQUEST on a live connection, RESPONSE out of turn, unknown ops */
		conn_reset(v, c);
		return;
	}
}

static void process_tx(struct virtio_vsock *v)
{
	struct hull_virtq *vq = &v->dev.queues[TXQ];
	bool pushed = false;
	int r = 0;

	for (unsigned i = 0; i < vq->size; i++) {
		r = hull_virtq_pop(&v->dev, vq, &v->chain);
		if (r <= 0)
			break;
		tx_packet(v);
		hull_virtq_push(vq, v->chain.head, 0);
		pushed = true;
	}
	if (r < 0)
		hull_virtio_dev_fail(&v->dev, "bad tx chain");
	else if (r > 0)
		kick(v); /* more than a ring's worth: come back after the rx side had a turn */
	if (pushed)
		hull_virtq_signal(&v->dev, vq);
}

/* --- host -> guest --- */

static void fill_hdr(struct virtio_vsock *v, struct conn *c, struct vsock_hdr *h, uint16_t op,
		     uint32_t len, uint32_t flags)
{
	*h = (struct vsock_hdr){
		.src_cid = htole64(VSOCK_HOST_CID),
		.dst_cid = htole64(v->guest_cid),
		.src_port = htole32(c->local_port),
		.dst_port = htole32(c->peer_port),
		.len = htole32(len),
		.type = htole16(TYPE_STREAM),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(BUF_ALLOC),
		.fwd_cnt = htole32(c->fwd_cnt),
	};
	c->last_fwd_sent = c->fwd_cnt;
}

/*
 * Puts one packet for c into the popped rx chain; returns the bytes written, 0
 * when c had nothing to send after all (the chain is then given back).
 */
static size_t conn_to_guest(struct virtio_vsock *v, struct conn *c)
{
	const struct hull_virtq_chain *ch = &v->chain;
	struct vsock_hdr h;
	size_t room = ch->in_len - sizeof(h), want, n;
	struct msghdr mh = { 0 };
	ssize_t k;
	uint16_t op = 0;

	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		c->deadline_ms = now_ms() + CONNECT_TIMEOUT_MS;
		op = OP_REQUEST;
	} else if (c->pending & PEND_RESPONSE) {
		c->pending &= ~PEND_RESPONSE;
		op = OP_RESPONSE;
	} else if (c->pending & PEND_CREDIT_UPDATE) {
		c->pending &= ~PEND_CREDIT_UPDATE;
		op = OP_CREDIT_UPDATE;
	} else if (c->pending & PEND_CREDIT_REQUEST) {
		c->pending &= ~PEND_CREDIT_REQUEST;
		op = OP_CREDIT_REQUEST;
	}
	if (op) {
		fill_hdr(v, c, &h, op, 0, 0);
		hull_virtq_chain_write(ch, 0, &h, sizeof(h));
		return sizeof(h);
	}

	/* data, as much as fits the buffer and the guest's credit */
	want = peer_credit(c);
	if (want > room)
		want = room;
	if (want > MAX_PKT_PAYLOAD)
		want = MAX_PKT_PAYLOAD;
	if (want == 0)
		return 0;
	n = hull_iov_slice(ch->in, ch->n_in, sizeof(h), want, v->iov, ELEMENTSOF(v->iov));
	mh.msg_iov = v->iov;
	mh.msg_iovlen = n;
	k = RETRY_EINTR(recvmsg(c->fd, &mh, MSG_DONTWAIT));
	if (k < 0 && errno == EAGAIN) {
		c->readable = false;
		return 0;
	}
	if (k < 0) {
		conn_reset(v, c);
		return 0;
	}
	if (k == 0) {
		/* the host will send no more; it may still read what the guest sends */
		c->readable = false;
		c->host_eof = true;
		fill_hdr(v, c, &h, OP_SHUTDOWN, 0, SHUTDOWN_SEND);
		hull_virtq_chain_write(ch, 0, &h, sizeof(h));
		return sizeof(h);
	}
	c->rx_cnt += (uint32_t)k;
	fill_hdr(v, c, &h, OP_RW, (uint32_t)k, 0);
	hull_virtq_chain_write(ch, 0, &h, sizeof(h));
	return sizeof(h) + (size_t)k;
}

static bool conn_wants_rx(struct conn *c)
{
	if (c->state != CONN_CONNECTING && c->state != CONN_ESTABLISHED)
		return false;
	if (c->pending)
		return true;
	if (c->state != CONN_ESTABLISHED || !c->readable || c->peer_shut_rcv)
		return false;
	if (peer_credit(c) == 0) {
		/* stalled on the guest's credit: ask once, then wait for its update */
		if (!c->credit_requested) {
			c->credit_requested = true;
			c->pending |= PEND_CREDIT_REQUEST;
			return true;
		}
		return false;
	}
	return true;
}

/* Pops an rx chain: 1, 0 (none), or -1 (the device failed). */
static int rx_pop(struct virtio_vsock *v)
{
	int r = hull_virtq_pop(&v->dev, &v->dev.queues[RXQ], &v->chain);

	if (r > 0 && v->chain.in_len < sizeof(struct vsock_hdr) + 1) {
		r = -EINVAL;
	}
	if (r < 0) {
		hull_virtio_dev_fail(&v->dev, "bad rx chain");
		return -1;
	}
	return r;
}

static void deliver_rx(struct virtio_vsock *v)
{
	struct hull_virtq *vq = &v->dev.queues[RXQ];
	bool pushed = false, progress = true;

	while (progress) {
		progress = false;
		while (v->rstq_len > 0) {
			struct conn tmp = { .local_port = v->rstq[v->rstq_head].local_port,
					    .peer_port = v->rstq[v->rstq_head].peer_port };
			struct vsock_hdr h;

			if (rx_pop(v) <= 0)
				goto out;
			fill_hdr(v, &tmp, &h, OP_RST, 0, 0);
			hull_virtq_chain_write(&v->chain, 0, &h, sizeof(h));
			hull_virtq_push(vq, v->chain.head, sizeof(h));
			pushed = true;
			v->rstq_head = (v->rstq_head + 1) % RSTQ_SIZE;
			v->rstq_len--;
		}
		for (size_t i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &v->conns[(v->rr + i) % MAX_CONNS];
			size_t n;

			if (!conn_wants_rx(c))
				continue;
			if (rx_pop(v) <= 0)
				goto out;
			/* each call changes c (a packet, EAGAIN, EOF or a reset): the loop ends */
			progress = true;
			n = conn_to_guest(v, c);
			if (n == 0) {
				hull_virtq_unpop(vq);
				continue;
			}
			hull_virtq_push(vq, v->chain.head, (uint32_t)n);
			pushed = true;
		}
		v->rr = (v->rr + 1) % MAX_CONNS;
	}
out:
	if (pushed)
		hull_virtq_signal(&v->dev, vq);
}

/* --- host sockets --- */

static void conn_epoll_update(struct virtio_vsock *v, size_t slot)
{
	struct conn *c = &v->conns[slot];
	struct epoll_event ev = { .data.u64 = ((uint64_t)c->gen << 32) | slot };
	uint32_t want = 0;

	if (c->state == CONN_FREE || c->hup)
		return;
	if (c->state == CONN_HANDSHAKE)
		want = EPOLLIN;
	if (c->state == CONN_ESTABLISHED) {
		if (!c->readable && !c->host_eof && !c->peer_shut_rcv && peer_credit(c) > 0)
			want |= EPOLLIN;
		if (c->tx_len > 0)
			want |= EPOLLOUT;
	}
	if (c->in_epoll && want == c->epoll_mask)
		return;
	ev.events = want;
	if (epoll_ctl(v->epoll_fd, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_close(v, c);
		return;
	}
	c->in_epoll = true;
	c->epoll_mask = want;
}

static void host_accept(struct virtio_vsock *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		c = conn_alloc(v, fd);
		if (!c) {
			close(fd); /* too many connections: the host sees EOF */
			continue;
		}
		c->state = CONN_HANDSHAKE;
		c->deadline_ms = now_ms() + CONNECT_TIMEOUT_MS;
	}
}

static bool local_port_used(struct virtio_vsock *v, uint32_t port)
{
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (v->conns[i].state != CONN_FREE && v->conns[i].local_port == port)
			return true;
	return false;
}

/* Reads "CONNECT <port>\n" byte by byte (never past the newline: data may follow). */
static void host_handshake(struct virtio_vsock *v, struct conn *c)
{
	char *end;
	unsigned long port;

	for (;;) {
		char ch;
		ssize_t k = RETRY_EINTR(read(c->fd, &ch, 1));

		if (k < 0 && errno == EAGAIN)
			return;
		if (k <= 0 || c->line_len == sizeof(c->line) - 1) {
			conn_close(v, c);
			return;
		}
		if (ch == '\n')
			break;
		c->line[c->line_len++] = ch;
	}
	c->line[c->line_len] = 0;
	if (strncmp(c->line, "CONNECT ", 8) != 0 || c->line[8] < '0' || c->line[8] > '9') {
		conn_close(v, c);
		return;
	}
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (errno || *end || port > UINT32_MAX) {
		conn_close(v, c);
		return;
	}
	/* at most MAX_CONNS ports are taken, so this ends quickly */
	for (;;) {
		if (v->next_local_port < LOCAL_PORT_START)
			v->next_local_port = LOCAL_PORT_START; /* wrapped */
		if (!local_port_used(v, v->next_local_port))
			break;
		v->next_local_port++;
	}
	c->local_port = v->next_local_port++;
	c->peer_port = (uint32_t)port;
	c->state = CONN_CONNECTING;
	c->pending = PEND_REQUEST;
	c->deadline_ms = 0; /* counts from when the guest gets the request */
	c->peer_buf_alloc = 0;
}

static void host_event(struct virtio_vsock *v, uint64_t data, uint32_t events)
{
	size_t slot = (size_t)(data & 0xffffffff);
	struct conn *c;

	if (slot >= MAX_CONNS)
		return;
	c = &v->conns[slot];
	if (c->state == CONN_FREE || c->gen != (uint32_t)(data >> 32))
		return; /* closed since the event was queued */
	if (c->state == CONN_HANDSHAKE) {
		host_handshake(v, c);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* always reported: stop watching, read what is left, then EOF */
		c->hup = true;
		(void)epoll_ctl(v->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		c->in_epoll = false;
		if (c->state != CONN_ESTABLISHED) {
			conn_reset(v, c);
			return;
		}
		c->readable = true;
	}
	if (events & EPOLLIN)
		c->readable = true;
	if (c->state == CONN_ESTABLISHED && c->tx_len > 0) {
		if (conn_flush(c) < 0) {
			conn_reset(v, c);
			return;
		}
		maybe_credit_update(c);
		(void)conn_finished(v, c);
	}
}

static void expire(struct virtio_vsock *v, uint64_t now)
{
	for (size_t i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];

		if (c->state == CONN_FREE || c->deadline_ms == 0 || c->deadline_ms > now)
			continue;
		if (c->state == CONN_CONNECTING)
			conn_reset(v, c);
		else
			conn_close(v, c);
	}
}

static int next_timeout(struct virtio_vsock *v)
{
	uint64_t now = now_ms(), first = 0;

	for (size_t i = 0; i < MAX_CONNS; i++) {
		uint64_t d = v->conns[i].deadline_ms;

		if (v->conns[i].state != CONN_FREE && d && (!first || d < first))
			first = d;
	}
	if (!first)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

static void *vsock_thread(void *arg)
{
	struct virtio_vsock *v = arg;
	struct epoll_event evs[32];
	int timeout;

	pthread_mutex_lock(&v->dev.lock);
	timeout = next_timeout(v);
	pthread_mutex_unlock(&v->dev.lock);
	for (;;) {
		int n = epoll_wait(v->epoll_fd, evs, ELEMENTSOF(evs), timeout);

		pthread_mutex_lock(&v->dev.lock);
		if (v->stop) {
			pthread_mutex_unlock(&v->dev.lock);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint64_t data = evs[i].data.u64;

			if (data == EV_KICK) {
				uint64_t val;

				(void)!read(v->kick_fd, &val, sizeof(val));
			} else if (data == EV_LISTEN) {
				host_accept(v);
			} else {
				host_event(v, data, evs[i].events);
			}
		}
		if (hull_virtio_dev_running(&v->dev)) {
			process_tx(v);
			deliver_rx(v);
		}
		expire(v, now_ms());
		for (size_t i = 0; i < MAX_CONNS; i++)
			conn_epoll_update(v, i);
		timeout = next_timeout(v);
		pthread_mutex_unlock(&v->dev.lock);
	}
}

/* --- ops --- */

static void vsock_read_config(struct hull_virtio_dev *dev, size_t offset, void *data, size_t len)
{
	struct virtio_vsock *v = (struct virtio_vsock *)dev;

	memcpy(data, (const uint8_t *)&v->config_cid + offset, len);
}

static int vsock_activate(struct hull_virtio_dev *dev)
{
	struct virtio_vsock *v = (struct virtio_vsock *)dev;
	sigset_t all, old;
	int r;

	if (!v->thread_started) {
		/*
		 * Started here, by the vCPU thread that set DRIVER_OK, not at _new():
		 * a thread inherits its creator's seccomp filter, so the device thread
		 * runs under the vCPU's.  It takes no signals (they are for the vCPUs).
		 */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&v->thread, NULL, vsock_thread, v);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r != 0)
			return -r;
		v->thread_started = true;
	}
	kick(v);
	return 0;
}

static void vsock_notify(struct hull_virtio_dev *dev, size_t q)
{
	kick((struct virtio_vsock *)dev);
}

static void vsock_reset(struct hull_virtio_dev *dev)
{
	struct virtio_vsock *v = (struct virtio_vsock *)dev;

	/* the guest forgot every connection: so do we (the host sides see EOF) */
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (v->conns[i].state != CONN_FREE)
			conn_close(v, &v->conns[i]);
	v->rstq_len = 0;
}

static void vsock_free(struct hull_virtio_dev *dev)
{
	struct virtio_vsock *v = (struct virtio_vsock *)dev;

	if (v->thread_started) {
		pthread_mutex_lock(&dev->lock);
		v->stop = true;
		kick(v);
		pthread_mutex_unlock(&dev->lock);
		pthread_join(v->thread, NULL);
	}
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (v->conns[i].state != CONN_FREE)
			conn_close(v, &v->conns[i]);
	if (v->listen_fd >= 0 && v->uds_path)
		(void)unlink(v->uds_path);
	safe_close(v->listen_fd);
	safe_close(v->epoll_fd);
	safe_close(v->kick_fd);
	free(v->uds_path);
	hull_virtio_dev_done(dev);
	free(v);
}

static const struct hull_virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = HULL_VIRTIO_ID_VSOCK,
	.n_queues = 3,
	.queue_max_size = QUEUE_SIZE,
	.config_size = sizeof(uint64_t),
	.read_config = vsock_read_config,
	.activate = vsock_activate,
	.notify = vsock_notify,
	.reset = vsock_reset,
	.free = vsock_free,
};

static int vsock_listen(struct virtio_vsock *v, struct hull_error **reterr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };

	/* room for the longest "<path>_<port>" of a guest-initiated connection too */
	if (strlen(v->uds_path) + 11 >= sizeof(sa.sun_path))
		return hull_error_set(reterr, -ENAMETOOLONG, "vsock socket '%s': path too long",
				      v->uds_path);
	strcpy(sa.sun_path, v->uds_path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return hull_error_errno(reterr, -errno, "vsock socket '%s'", v->uds_path);
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		v->listen_fd = safe_close(v->listen_fd); /* not ours to unlink */
		return hull_error_errno(reterr, r, "vsock socket '%s': bind", v->uds_path);
	}
	if (listen(v->listen_fd, MAX_CONNS) < 0)
		return hull_error_errno(reterr, -errno, "vsock socket '%s': listen", v->uds_path);
	ev.data.u64 = EV_LISTEN;
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->listen_fd, &ev) < 0)
		return hull_error_errno(reterr, -errno, "vsock: epoll");
	return 0;
}

int hull_virtio_vsock_new(uint64_t guest_cid, const char *uds_path, struct hull_virtio_dev **ret,
			  struct hull_error **reterr)
{
	struct virtio_vsock *v;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_KICK };
	int r;

	/* 0-2 are reserved, and above 32 bits Linux cannot address it */
	if (guest_cid < 3 || guest_cid > UINT32_MAX - 1)
		return hull_error_set(reterr, -EINVAL, "vsock: guest cid %llu out of range",
				      (unsigned long long)guest_cid);
	v = calloc(1, sizeof(*v));
	if (!v)
		return hull_error_errno(reterr, -ENOMEM, "vsock");
	v->listen_fd = v->epoll_fd = v->kick_fd = -EBADF;
	r = hull_virtio_dev_init(&v->dev, &vsock_ops);
	if (r < 0) {
		free(v);
		return hull_error_errno(reterr, r, "vsock");
	}
	for (size_t i = 0; i < MAX_CONNS; i++)
		v->conns[i].fd = -EBADF;
	v->guest_cid = guest_cid;
	v->config_cid = htole64(guest_cid);
	v->next_local_port = LOCAL_PORT_START;
	v->uds_path = strdup(uds_path);
	if (!v->uds_path) {
		r = hull_error_errno(reterr, -ENOMEM, "vsock");
		goto fail;
	}
	v->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	v->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->epoll_fd < 0 || v->kick_fd < 0 ||
	    epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->kick_fd, &ev) < 0) {
		r = hull_error_errno(reterr, -errno, "vsock");
		goto fail;
	}
	r = vsock_listen(v, reterr);
	if (r < 0)
		goto fail;
	*ret = &v->dev;
	return 0;
fail:
	vsock_free(&v->dev);
	return r;
}
