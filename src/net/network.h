/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Managed networks: a Linux bridge with hull's addresses on it, one dnsmasq
 * for DHCP and DNS, and NAT in hull's nftables table.
 *
 * A network's settings live in <state>/networks/NAME/config.json (LXD's
 * keys: ipv4.address, ipv4.nat, ipv6.address, ipv6.nat, dns.domain,
 * description); its dnsmasq's pid, leases and static hosts beside it.  The
 * bridge and everything on it live in the network namespace hull runs in:
 * hull_network_up() (re)creates whatever of it is missing, so a host that
 * rebooted gets its networks back when an instance on them starts.
 */
#pragma once

#include <stdbool.h>

#include "net/netlink.h"
#include "util/error.h"

#define HULL_DEFAULT_NETWORK "hullbr0"

struct hull_network {
	char *name; /* also its bridge's name */
	char *description;
	char *dns_domain;
	bool has4, has6;
	struct hull_ip addr4, addr6; /* the bridge's own addresses (the gateway) */
	unsigned prefix4, prefix6;
	bool nat4, nat6;
};

void hull_network_free(struct hull_network *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_network *, hull_network_free)

/*
 * Creates network `name` from settings given as "key=value" strings (NULL:
 * the defaults, ipv4.address=auto), and brings it up.  "auto" picks a free
 * 10.x.y.0/24 (or a random fd00::/64 ULA) that no route or address of this
 * namespace and no other hull network uses.  Nothing is left on failure.
 */
int hull_network_create(int state_fd, const char *name, char *const *settings,
			struct hull_error **reterr);

/* Loads a network's settings: -ENOENT (with an error naming it) when there is none. */
int hull_network_load(int state_fd, const char *name, struct hull_network **ret,
		      struct hull_error **reterr);

/* The names of all networks, sorted (a NULL-terminated strv). */
int hull_network_names(int state_fd, char ***ret, struct hull_error **reterr);

/* Brings the network up, making what is missing (idempotent). */
int hull_network_up(int state_fd, const struct hull_network *n, struct hull_error **reterr);

/* Takes it down: dnsmasq, firewall chains, bridge (all missing is fine). */
int hull_network_down(int state_fd, const char *name, struct hull_error **reterr);

/* Takes it down and removes its settings. Whether instances use it is the caller's check. */
int hull_network_delete(int state_fd, const char *name, struct hull_error **reterr);

/* Changes one setting ("" value: back to the default) and re-applies it if the network is up. */
int hull_network_set(int state_fd, const char *name, const char *key, const char *value,
		     struct hull_error **reterr);

/* The value of one setting as `show` prints it (a new string). */
int hull_network_get(const struct hull_network *n, const char *key, char **ret,
		     struct hull_error **reterr);

/* The network's settings as a JSON object string (for show/list). */
char *hull_network_to_json(const struct hull_network *n);

/* Renames a network (down, rename, up). */
int hull_network_rename(int state_fd, const char *name, const char *new_name,
			struct hull_error **reterr);

/* Whether the network's bridge and dnsmasq are there now. */
bool hull_network_is_up(int state_fd, const struct hull_network *n);

/*
 * Registers a host on the network for DHCP and DNS: its MAC, its name, and
 * (optionally) a fixed IPv4 address.  hull_network_host_remove() undoes it.
 */
int hull_network_host_add(int state_fd, const char *network, const char *mac, const char *hostname,
			  const char *ipv4, struct hull_error **reterr);
int hull_network_host_remove(int state_fd, const char *network, const char *mac,
			     struct hull_error **reterr);

/* The IPv4 address dnsmasq leased to `mac` on the network (a new string), or -ENOENT. */
int hull_network_lease_ipv4(int state_fd, const char *network, const char *mac, char **ret);

/* A stable, locally administered MAC for (instance, device): "0a:xx:xx:xx:xx:xx". */
void hull_network_mac(const char *instance, const char *device, char ret[18]);

/*
 * Puts a container on the network: a veth pair whose host end `host_ifname`
 * is enslaved to the network's bridge (here) and whose other end appears in
 * the namespace of netns_fd as `ifname` with the MAC `mac`, both up.  The
 * network is brought up first if it is down.  Nothing is left on failure;
 * the pair goes by itself when the container's namespace does.
 */
int hull_network_nic_attach(int state_fd, const char *network, int netns_fd,
			    const char *host_ifname, const char *ifname, const char *mac,
			    struct hull_error **reterr);

/* A host-side interface name for (instance, device): "hv" + 12 hex digits. */
void hull_network_host_ifname(const char *instance, const char *device, char ret[16]);

/*
 * Forwards (DNAT in hull's table): `listen` "IPV4:PORT" of the host to `target`
 * "IPV4:PORT" on the network, for proto "tcp" or "udp".  Stored with the
 * network and applied at once when it is up; a refused change leaves the
 * stored forwards and the rules as they were.
 */
int hull_network_forward_add(int state_fd, const char *name, const char *proto,
			     const char *listen_on, const char *target, struct hull_error **reterr);
int hull_network_forward_remove(int state_fd, const char *name, const char *proto,
				const char *listen_on, struct hull_error **reterr);
/* "tcp 10.0.0.1:8080 -> 10.78.4.20:80" lines. */
int hull_network_forward_list(int state_fd, const char *name, char ***ret,
			      struct hull_error **reterr);
