/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull's firewall rules, through libnftables, all in hull's own table
 * `inet hull`: per network, a NAT chain (masquerade of the network's
 * subnet, when nat is on), chains that let DHCP/DNS from the bridge in
 * and its traffic through, and the DNAT chains of its forwards.  Nothing outside that table is
 * touched; the table goes when its last chain does.
 */
#pragma once

#include <stdbool.h>

#include "net/netlink.h"
#include "util/error.h"

struct hull_nft_network {
	const char *name;	       /* the network: chains are named <role>.<name> */
	const char *bridge;	       /* its bridge interface */
	const struct hull_ip *subnet4; /* the network's IPv4 subnet (address with host bits 0) */
	unsigned prefix4;
	const struct hull_ip *subnet6; /* NULL: no IPv6 */
	unsigned prefix6;
	bool nat;
	/* DNAT rules of the network's forwards ("ip daddr A tcp dport P dnat ip to B:Q"),
	 * put in its chains on prerouting and output; NULL or empty: none */
	char *const *dnat_rules;
};

/* Replaces the network's chains (if any) with the ones its settings ask for. */
int hull_nft_network_apply(const struct hull_nft_network *n, struct hull_error **reterr);

/* Removes the network's chains; a network without any is fine. */
int hull_nft_network_remove(const char *name, struct hull_error **reterr);

/* Whether the network has a masquerade rule now (for `show` and tests). */
int hull_nft_network_has_nat(const char *name);

/*
 * A nic's filters in hull's table `bridge hull` (chain nicf.<host_ifname>,
 * on the bridge's prerouting): frames from the nic's host end whose source
 * MAC is not `mac` (NULL: no MAC filter), and IPv4/ARP whose source address
 * is not `ipv4` (NULL: none; DHCP and ARP probes from 0.0.0.0 pass), are
 * dropped.  Replaces the nic's chain if there is one.
 */
int hull_nft_nic_filter_apply(const char *host_ifname, const char *mac, const char *ipv4,
			      struct hull_error **reterr);
/* Removes it (none is fine), and the table with its last chain. */
int hull_nft_nic_filter_remove(const char *host_ifname, struct hull_error **reterr);
