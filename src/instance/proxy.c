/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy devices: `listen=tcp:ADDR:PORT connect=tcp:ADDR:PORT`.  The monitor
 * listens in its own network namespace (the host's) and, for each client,
 * connects from inside the instance's network namespace: the socket is made
 * after setns() into it and keeps that namespace for its life, so the
 * monitor (single-threaded) steps in only for socket() and out again.
 *
 * Nothing the client or the instance does may block the monitor: every
 * socket is non-blocking, driven by one epoll set the monitor polls with its
 * console; each direction of a connection has one bounded buffer (a side is
 * read only when the other side took what was read before), and the number
 * of connections per device is bounded (more are accepted and closed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "util/log.h"
#include "util/str.h"

#define PROXY_BUF (16u * 1024)
#define PROXY_MAX_CONNS 256 /* per device */

enum { OUTSIDE, INSIDE };

struct conn;

/* What an epoll event points at: a listener, or one end of a connection. */
struct ep_ref {
	struct listener *l; /* set for a listener */
	struct conn *c;	    /* set for a connection end */
	int side;
};

struct conn {
	struct listener *l;
	struct conn *next;
	int fd[2];
	struct ep_ref ref[2];
	uint32_t events[2];	/* what each fd is registered for now */
	char buf[2][PROXY_BUF]; /* buf[i]: read from fd[i], to be written to fd[!i] */
	size_t off[2], len[2];
	bool eof[2], armed[2], connecting;
};

struct listener {
	struct instance_proxy *px;
	char *dev;
	int fd;
	struct ep_ref ref;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	struct conn *conns;
	size_t n_conns;
};

static bool is_proxy_type(const char *key, const char *value)
{
	size_t n = strlen(key);

	return n > 5 && streq(key + n - 5, ".type") && streq(value, "proxy");
}

struct instance_proxy {
	int epfd, netns, self_netns;
	struct listener *l;
	size_t n;
};

/* "tcp:ADDR:PORT" ("tcp:[V6]:PORT") into a socket address. */
int instance_proxy_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *hp, *colon;
	size_t hl;
	uint32_t port;

	if (!startswith(s, "tcp:"))
		return -EPROTONOSUPPORT;
	hp = s + 4;
	colon = strrchr(hp, ':');
	if (!colon || hull_parse_u32(colon + 1, &port) < 0 || port == 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - hp);
	if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']') {
		hp++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ret)->sin_addr) == 1) {
		((struct sockaddr_in *)ret)->sin_family = AF_INET;
		((struct sockaddr_in *)ret)->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ret)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ret)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ret)->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

static void conn_free(struct conn *c)
{
	struct conn **p;

	for (p = &c->l->conns; *p && *p != c; p = &(*p)->next)
		;
	if (*p)
		*p = c->next;
	c->l->n_conns--;
	/* closing an fd takes it out of the epoll set */
	safe_close(c->fd[OUTSIDE]);
	safe_close(c->fd[INSIDE]);
	free(c);
}

/*
 * Registers each end for what it can do now; an end with nothing to do is
 * taken out of the set (a hung-up socket would report EPOLLHUP again and
 * again otherwise).  False when the connection is done or epoll failed.
 */
static bool conn_arm(struct conn *c)
{
	int epfd = c->l->px->epfd;

	for (int i = 0; i < 2; i++) {
		int o = !i, op;
		uint32_t ev = 0;

		if (i == INSIDE && c->connecting)
			ev = EPOLLOUT;
		else {
			if (!c->eof[i] && c->len[i] == 0 && !(i == OUTSIDE && c->connecting))
				ev |= EPOLLIN;
			if (c->len[o] > c->off[o])
				ev |= EPOLLOUT;
		}
		if (ev == c->events[i] && (ev || !c->armed[i]))
			continue;
		struct epoll_event e = { .events = ev, .data.ptr = &c->ref[i] };
		op = !ev ? EPOLL_CTL_DEL : c->armed[i] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
		if (epoll_ctl(epfd, op, c->fd[i], &e) < 0)
			return false;
		c->events[i] = ev;
		c->armed[i] = ev != 0;
	}
	/* both sides said EOF and everything read was written */
	return !(c->eof[0] && c->eof[1] && c->len[0] == 0 && c->len[1] == 0);
}

/* Reads from side i into its buffer; false on an error. */
static bool conn_read(struct conn *c, int i)
{
	ssize_t n = read(c->fd[i], c->buf[i], PROXY_BUF);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0) {
		c->eof[i] = true;
		/* pass the half-close on */
		if (shutdown(c->fd[!i], SHUT_WR) < 0 && errno != ENOTCONN)
			return false;
		return true;
	}
	c->off[i] = 0;
	c->len[i] = (size_t)n;
	return true;
}

/* Writes the other side's buffer to side i; false on an error. */
static bool conn_write(struct conn *c, int i)
{
	int o = !i;
	ssize_t n = send(c->fd[i], c->buf[o] + c->off[o], c->len[o] - c->off[o],
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->off[o] += (size_t)n;
	if (c->off[o] == c->len[o])
		c->off[o] = c->len[o] = 0;
	return true;
}

static void conn_event(struct conn *c, int side, uint32_t ev)
{
	bool ok = true;

	if (side == INSIDE && c->connecting) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(c->fd[INSIDE], SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			hull_debug("proxy '%s': connect: %s", c->l->dev,
				   strerror(err ? err : errno));
			conn_free(c);
			return;
		}
		c->connecting = false;
	} else {
		if (ok && (ev & EPOLLOUT))
			ok = conn_write(c, side);
		if (ok && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->len[side] == 0 &&
		    !c->eof[side])
			ok = conn_read(c, side);
		if (ok && (ev & EPOLLERR))
			ok = false;
	}
	if (!ok || !conn_arm(c))
		conn_free(c);
}

/* A socket made inside the instance's network namespace. */
static int socket_inside(struct instance_proxy *px, int family)
{
	int fd, err;

	if (setns(px->netns, CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	err = errno;
	if (setns(px->self_netns, CLONE_NEWNET) < 0) {
		/* staying in the instance's namespace would listen there next time */
		hull_err("proxy: cannot return to the monitor's network namespace: %s",
			 strerror(errno));
		abort();
	}
	return fd < 0 ? -err : fd;
}

static void listener_accept(struct listener *l)
{
	_cleanup_close_ int cfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	_cleanup_close_ int ifd = -EBADF;
	struct conn *c;

	if (cfd < 0)
		return;
	if (l->n_conns >= PROXY_MAX_CONNS) {
		hull_debug("proxy '%s': %d connections already: refused", l->dev, PROXY_MAX_CONNS);
		return;
	}
	ifd = socket_inside(l->px, l->dst.ss_family);
	if (ifd < 0) {
		hull_debug("proxy '%s': socket: %s", l->dev, strerror(-ifd));
		return;
	}
	if (connect(ifd, (struct sockaddr *)&l->dst, l->dst_len) < 0 && errno != EINPROGRESS) {
		hull_debug("proxy '%s': connect: %s", l->dev, strerror(errno));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->l = l;
	c->connecting = true;
	c->fd[OUTSIDE] = TAKE_FD(cfd);
	c->fd[INSIDE] = TAKE_FD(ifd);
	for (int i = 0; i < 2; i++)
		c->ref[i] = (struct ep_ref){ .c = c, .side = i };
	c->next = l->conns;
	l->conns = c;
	l->n_conns++;
	if (!conn_arm(c))
		conn_free(c);
}

void instance_proxy_free(struct instance_proxy *px)
{
	if (!px)
		return;
	for (size_t i = 0; i < px->n; i++) {
		while (px->l[i].conns)
			conn_free(px->l[i].conns);
		safe_close(px->l[i].fd);
		free(px->l[i].dev);
	}
	free(px->l);
	safe_close(px->epfd);
	safe_close(px->netns);
	safe_close(px->self_netns);
	free(px);
}

int instance_proxy_fd(const struct instance_proxy *px)
{
	return px ? px->epfd : -EBADF;
}

void instance_proxy_dispatch(struct instance_proxy *px)
{
	struct epoll_event ev[32];
	int n;

	if (!px)
		return;
	n = epoll_wait(px->epfd, ev, ELEMENTSOF(ev), 0);
	for (int i = 0; i < n; i++) {
		struct ep_ref *ref = ev[i].data.ptr;
		bool live = false;

		if (ref->l)
			continue;
		/* an earlier event of this round may have freed the connection */
		for (size_t k = 0; k < px->n && !live; k++)
			for (struct conn *c = px->l[k].conns; c && !live; c = c->next)
				live = c == ref->c;
		if (live)
			conn_event(ref->c, ref->side, ev[i].events);
	}
	/* new connections last: none may take the place of one freed this round */
	for (int i = 0; i < n; i++) {
		struct ep_ref *ref = ev[i].data.ptr;

		if (ref->l)
			listener_accept(ref->l);
	}
}

static int listener_open(struct instance_proxy *px, struct listener *l, const char *listen_on,
			 struct hull_error **reterr)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	int one = 1;

	if (instance_proxy_parse(listen_on, &sa, &sl) < 0)
		return hull_error_set(reterr, -EINVAL, "proxy '%s': bad listen address '%s'",
				      l->dev, listen_on);
	l->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return hull_error_errno(reterr, -errno, "proxy '%s': socket", l->dev);
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&sa, sl) < 0 || listen(l->fd, 64) < 0)
		return hull_error_errno(reterr, -errno, "proxy '%s': listen on '%s'", l->dev,
					listen_on + 4);
	l->ref = (struct ep_ref){ .l = l };
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &l->ref };
	if (epoll_ctl(px->epfd, EPOLL_CTL_ADD, l->fd, &e) < 0)
		return hull_error_errno(reterr, -errno, "proxy '%s': epoll", l->dev);
	return 0;
}

int instance_proxy_start(const struct hull_instance_config *c, pid_t init_pid,
			 struct instance_proxy **ret, struct hull_error **reterr)
{
	struct instance_proxy *px = NULL;
	char path[64];
	size_t n = 0;
	int r;

	*ret = NULL;
	for (size_t i = 0; c->devices && c->devices[i]; i += 2)
		if (is_proxy_type(c->devices[i], c->devices[i + 1]))
			n++;
	if (n == 0)
		return 0;
	px = calloc(1, sizeof(*px));
	if (!px)
		return -ENOMEM;
	px->epfd = px->netns = px->self_netns = -EBADF;
	px->l = calloc(n, sizeof(*px->l));
	if (!px->l) {
		free(px);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)init_pid);
	px->epfd = epoll_create1(EPOLL_CLOEXEC);
	px->netns = open(path, O_RDONLY | O_CLOEXEC);
	px->self_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (px->epfd < 0 || px->netns < 0 || px->self_netns < 0) {
		r = hull_error_errno(reterr, -errno, "proxy: set up");
		goto fail;
	}
	for (size_t i = 0; c->devices && c->devices[i]; i += 2) {
		struct listener *l = &px->l[px->n];
		const char *listen_on, *connect_to;

		if (!is_proxy_type(c->devices[i], c->devices[i + 1]))
			continue;
		l->px = px;
		l->fd = -EBADF;
		l->dev = strndup(c->devices[i], strlen(c->devices[i]) - 5);
		if (!l->dev) {
			r = -ENOMEM;
			goto fail;
		}
		px->n++;
		listen_on = hull_instance_device_get(c, l->dev, "listen");
		connect_to = hull_instance_device_get(c, l->dev, "connect");
		if (!listen_on || !connect_to ||
		    instance_proxy_parse(connect_to, &l->dst, &l->dst_len) < 0) {
			r = hull_error_set(reterr, -EINVAL, "proxy '%s': bad or missing connect",
					   l->dev);
			goto fail;
		}
		r = listener_open(px, l, listen_on, reterr);
		if (r < 0)
			goto fail;
	}
	*ret = px;
	return 0;
fail:
	instance_proxy_free(px);
	return r;
}
