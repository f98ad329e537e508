/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink through libmnl: links (bridges, veth pairs), addresses and routes
 * in one network namespace.
 *
 * A struct hull_nl is a NETLINK_ROUTE socket bound to the network namespace
 * it was opened in; every request on it acts there, whatever namespace the
 * calling thread is in later.  Requests are synchronous (request, then the
 * kernel's ack); a kernel error comes back as -errno with the operation and
 * the link named in *reterr.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define HULL_MAC_LEN 6

struct hull_nl;

/* Opens a socket in the namespace of netns_fd (a /proc/PID/ns/net or
 * /run/netns/NAME fd), or in the caller's own when netns_fd < 0. */
int hull_nl_open(int netns_fd, struct hull_nl **ret, struct hull_error **reterr);
void hull_nl_free(struct hull_nl *nl);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_nl *, hull_nl_free)
#define _cleanup_nl_ _cleanup_(hull_nl_freep)

/* The index of the link called `name`: -ENODEV when there is none. */
int hull_link_index(struct hull_nl *nl, const char *name, int *ret_ifindex);

/* Creates a bridge (down). mac may be NULL (the kernel picks one). */
int hull_link_add_bridge(struct hull_nl *nl, const char *name, const uint8_t *mac,
			 struct hull_error **reterr);

/*
 * Creates a veth pair: `name` here, `peer` in the namespace of peer_netns_fd
 * (here when < 0) with the MAC peer_mac (NULL: the kernel's).  Both down.
 */
int hull_link_add_veth(struct hull_nl *nl, const char *name, const char *peer, int peer_netns_fd,
		       const uint8_t *peer_mac, struct hull_error **reterr);

/*
 * Creates a macvlan (bridge mode) called `name` on the link `parent` of this
 * namespace, made directly in the namespace of netns_fd (here when < 0), with
 * the MAC mac (NULL: the kernel's).  Down.
 */
int hull_link_add_macvlan(struct hull_nl *nl, const char *name, const char *parent, int netns_fd,
			  const uint8_t *mac, struct hull_error **reterr);

/* Creates an ifb link (down): what a redirect from another link's ingress goes through. */
int hull_link_add_ifb(struct hull_nl *nl, const char *name, struct hull_error **reterr);

/* Sends one request built by the caller (flags and sequence are filled in) and waits for the
 * kernel's ack: -errno on a kernel error.  For requests netlink.c has no helper for (tc.c). */
struct nlmsghdr;
int hull_nl_request(struct hull_nl *nl, struct nlmsghdr *nlh);

/* Deletes a link by name; a missing link is -ENODEV (without an error object). */
int hull_link_del(struct hull_nl *nl, const char *name, struct hull_error **reterr);

int hull_link_set_up(struct hull_nl *nl, const char *name, bool up, struct hull_error **reterr);
/* Enslaves `name` to the bridge `master` (NULL: releases it). */
int hull_link_set_master(struct hull_nl *nl, const char *name, const char *master,
			 struct hull_error **reterr);
/* Moves `name` into the namespace of netns_fd, renaming it to new_name there (NULL: keeps it). */
int hull_link_set_netns(struct hull_nl *nl, const char *name, int netns_fd, const char *new_name,
			struct hull_error **reterr);
int hull_link_get_mac(struct hull_nl *nl, const char *name, uint8_t ret_mac[HULL_MAC_LEN]);

/* An address of either family: AF_INET (4 bytes) or AF_INET6 (16 bytes). */
struct hull_ip {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

/* Adds addr/prefixlen to a link; an address already there is fine. */
int hull_addr_add(struct hull_nl *nl, const char *name, const struct hull_ip *addr,
		  unsigned prefixlen, struct hull_error **reterr);

/* Calls fn for each IPv4 route of the main table (destination, prefix length). */
int hull_route_foreach_v4(struct hull_nl *nl,
			  int (*fn)(const struct in_addr *dst, unsigned prefixlen, void *userdata),
			  void *userdata, struct hull_error **reterr);

/* Calls fn for each IPv4 address on any link of the namespace. */
int hull_addr_foreach_v4(struct hull_nl *nl,
			 int (*fn)(const struct in_addr *addr, unsigned prefixlen, void *userdata),
			 void *userdata, struct hull_error **reterr);

/* Adds a default route of addr's family through gateway `gw` on link `name`. */
int hull_route_add_default(struct hull_nl *nl, const char *name, const struct hull_ip *gw,
			   struct hull_error **reterr);

/* Parses "a.b.c.d" or an IPv6 address; -EINVAL otherwise. */
int hull_ip_parse(const char *s, struct hull_ip *ret);
/* Parses "ADDR/NN"; -EINVAL when either part is bad. */
int hull_ip_parse_cidr(const char *s, struct hull_ip *ret, unsigned *ret_prefixlen);
/* Formats an address into buf (INET6_ADDRSTRLEN bytes at least). */
const char *hull_ip_format(const struct hull_ip *ip, char *buf, size_t len);

/* Parses "xx:xx:xx:xx:xx:xx"; -EINVAL otherwise. */
int hull_mac_parse(const char *s, uint8_t ret[HULL_MAC_LEN]);
