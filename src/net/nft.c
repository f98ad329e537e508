/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull's table `inet hull` through libnftables.  See nft.h.
 *
 * The rules are written in nft's own language and run as one transaction:
 * a network's chains are replaced atomically, and a failure leaves the
 * ruleset as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/nft.h"
#include "net/nft-dl.h"
#include "util/str.h"

#define TABLE "inet hull"

static const char *const chain_roles[] = { "pstrt", "fwd", "in", "dnat", "dnato" };

struct nft {
	struct nft_ctx *ctx;
};

static void nft_done(struct nft *n)
{
	if (n->ctx)
		nft_ctx_free(n->ctx);
}

static int nft_init(struct nft *n, struct hull_error **reterr)
{
	int r = hull_nft_load(reterr);

	if (r < 0)
		return r;
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(n->ctx) < 0 || nft_ctx_buffer_error(n->ctx) < 0)
		return -ENOMEM;
	return 0;
}

/* Runs cmds as one transaction; on failure the first line of nft's error is in *reterr. */
static int nft_run(struct nft *n, const char *cmds, const char *what, struct hull_error **reterr)
{
	const char *msg;
	size_t len;

	if (nft_run_cmd_from_buffer(n->ctx, cmds) == 0)
		return 0;
	msg = nft_ctx_get_error_buffer(n->ctx);
	len = msg ? strcspn(msg, "\n") : 0;
	return hull_error_set(reterr, -EIO, "%s: nftables: %.*s", what, (int)len,
			      len ? msg : "failed");
}

/* nft's listing of one chain, or NULL when it does not exist. */
static char *chain_listing(struct nft *n, const char *role, const char *name)
{
	_cleanup_free_ char *cmd = hull_strdup_printf("list chain " TABLE " %s.%s", role, name);
	const char *out;

	if (!cmd || nft_run_cmd_from_buffer(n->ctx, cmd) != 0)
		return NULL;
	out = nft_ctx_get_output_buffer(n->ctx);
	return strdup(out ? out : "");
}

static int network_name_ok(const char *name)
{
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return -EINVAL;
	return *name ? 0 : -EINVAL;
}

/* The flush-and-delete of each existing chain of the network, appended to *cmds. */
static int append_removal(struct nft *n, const char *name, char **cmds)
{
	for (size_t i = 0; i < ELEMENTSOF(chain_roles); i++) {
		_cleanup_free_ char *listing = chain_listing(n, chain_roles[i], name);
		char *more;

		if (!listing)
			continue;
		more = hull_strdup_printf("%sflush chain " TABLE " %s.%s\n"
					  "delete chain " TABLE " %s.%s\n",
					  *cmds, chain_roles[i], name, chain_roles[i], name);
		if (!more)
			return -ENOMEM;
		free(*cmds);
		*cmds = more;
	}
	return 0;
}

int hull_nft_network_apply(const struct hull_nft_network *nw, struct hull_error **reterr)
{
	_cleanup_(nft_done) struct nft n = {};
	_cleanup_free_ char *cmds = NULL, *nat = NULL, *nat6 = NULL, *all = NULL;
	char s4[INET6_ADDRSTRLEN], s6[INET6_ADDRSTRLEN];
	int r;

	if (network_name_ok(nw->name) < 0 || network_name_ok(nw->bridge) < 0)
		return hull_error_set(reterr, -EINVAL, "bad network or bridge name '%s'", nw->name);
	r = nft_init(&n, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "nftables");
	cmds = strdup("add table " TABLE "\n");
	if (!cmds)
		return -ENOMEM;
	r = append_removal(&n, nw->name, &cmds);
	if (r < 0)
		return hull_error_errno(reterr, r, "nftables");

	hull_ip_format(nw->subnet4, s4, sizeof(s4));
	if (nw->nat)
		nat = hull_strdup_printf("add rule " TABLE " pstrt.%s ip saddr %s/%u "
					 "ip daddr != %s/%u masquerade\n",
					 nw->name, s4, nw->prefix4, s4, nw->prefix4);
	if (nw->nat && nw->subnet6)
		nat6 = hull_strdup_printf("add rule " TABLE
					  " pstrt.%s ip6 saddr %s/%u ip6 daddr != %s/%u "
					  "masquerade\n",
					  nw->name, hull_ip_format(nw->subnet6, s6, sizeof(s6)),
					  nw->prefix6, s6, nw->prefix6);
	all = hull_strdup_printf(
		"%s"
		"add chain " TABLE " pstrt.%s { type nat hook postrouting priority 100; "
		"policy accept; }\n"
		"%s%s"
		"add chain " TABLE " fwd.%s { type filter hook forward priority 0; "
		"policy accept; }\n"
		"add rule " TABLE " fwd.%s iifname \"%s\" accept\n"
		"add rule " TABLE " fwd.%s oifname \"%s\" accept\n"
		"add chain " TABLE " in.%s { type filter hook input priority 0; "
		"policy accept; }\n"
		"add rule " TABLE " in.%s iifname \"%s\" udp dport { 53, 67, 547 } accept\n"
		"add rule " TABLE " in.%s iifname \"%s\" tcp dport 53 accept\n",
		cmds, nw->name, nat ? nat : "", nat6 ? nat6 : "", nw->name, nw->name, nw->bridge,
		nw->name, nw->bridge, nw->name, nw->name, nw->bridge, nw->name, nw->bridge);
	if (!all)
		return -ENOMEM;
	if (nw->dnat_rules && nw->dnat_rules[0]) {
		/* forwards: from outside (prerouting) and from the host itself (output) */
		char *more = hull_strdup_printf(
			"%sadd chain " TABLE " dnat.%s { type nat hook prerouting priority -100; "
			"policy accept; }\n"
			"add chain " TABLE " dnato.%s { type nat hook output priority -100; "
			"policy accept; }\n",
			all, nw->name, nw->name);

		free(all);
		all = more;
		for (size_t i = 0; all && nw->dnat_rules[i]; i++) {
			more = hull_strdup_printf("%sadd rule " TABLE " dnat.%s %s\n"
						  "add rule " TABLE " dnato.%s %s\n",
						  all, nw->name, nw->dnat_rules[i], nw->name,
						  nw->dnat_rules[i]);
			free(all);
			all = more;
		}
		if (!all)
			return -ENOMEM;
	}
	return nft_run(&n, all, nw->name, reterr);
}

int hull_nft_network_remove(const char *name, struct hull_error **reterr)
{
	_cleanup_(nft_done) struct nft n = {};
	_cleanup_free_ char *cmds = NULL, *table = NULL;
	const char *out;
	int r;

	if (network_name_ok(name) < 0)
		return hull_error_set(reterr, -EINVAL, "bad network name '%s'", name);
	r = nft_init(&n, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "nftables");
	cmds = strdup("");
	if (!cmds)
		return -ENOMEM;
	r = append_removal(&n, name, &cmds);
	if (r < 0)
		return hull_error_errno(reterr, r, "nftables");
	if (*cmds) {
		r = nft_run(&n, cmds, name, reterr);
		if (r < 0)
			return r;
	}
	/* the table goes with its last chain */
	if (nft_run_cmd_from_buffer(n.ctx, "list table " TABLE) != 0)
		return 0;
	out = nft_ctx_get_output_buffer(n.ctx);
	if (out && !strstr(out, "chain "))
		return nft_run(&n, "delete table " TABLE "\n", name, reterr);
	return 0;
}

int hull_nft_network_has_nat(const char *name)
{
	_cleanup_(nft_done) struct nft n = {};
	_cleanup_free_ char *listing = NULL;

	if (network_name_ok(name) < 0 || nft_init(&n, NULL) < 0)
		return -EINVAL;
	listing = chain_listing(&n, "pstrt", name);
	return listing && strstr(listing, "masquerade") ? 1 : 0;
}

/* A nic's anti-spoofing chain, in hull's own bridge-family table. */
#define BRIDGE_TABLE "bridge hull"

int hull_nft_nic_filter_apply(const char *host_ifname, const char *mac, const char *ipv4,
			      struct hull_error **reterr)
{
	_cleanup_(nft_done) struct nft n = {};
	_cleanup_free_ char *cmds = NULL, *macr = NULL, *ipr = NULL;
	uint8_t m[HULL_MAC_LEN];
	struct hull_ip ip;
	int r;

	if (network_name_ok(host_ifname) < 0 || (mac && hull_mac_parse(mac, m) < 0) ||
	    (ipv4 && (hull_ip_parse(ipv4, &ip) < 0 || ip.family != AF_INET)))
		return hull_error_set(reterr, -EINVAL, "nic filter for '%s': bad settings",
				      host_ifname);
	r = nft_init(&n, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "nftables");
	if (mac)
		macr = hull_strdup_printf(
			"add rule " BRIDGE_TABLE " nicf.%s iifname \"%s\" ether saddr != %s drop\n"
			"add rule " BRIDGE_TABLE " nicf.%s iifname \"%s\" arp saddr ether != %s "
			"drop\n",
			host_ifname, host_ifname, mac, host_ifname, host_ifname, mac);
	/* DHCP's discover and ARP's address probe come from 0.0.0.0 */
	if (ipv4)
		ipr = hull_strdup_printf(
			"add rule " BRIDGE_TABLE " nicf.%s iifname \"%s\" ip saddr 0.0.0.0 "
			"udp dport 67 accept\n"
			"add rule " BRIDGE_TABLE " nicf.%s iifname \"%s\" arp saddr ip 0.0.0.0 "
			"accept\n"
			"add rule " BRIDGE_TABLE " nicf.%s iifname \"%s\" ip saddr != %s drop\n"
			"add rule " BRIDGE_TABLE
			" nicf.%s iifname \"%s\" arp saddr ip != %s drop\n",
			host_ifname, host_ifname, host_ifname, host_ifname, host_ifname,
			host_ifname, ipv4, host_ifname, host_ifname, ipv4);
	cmds = hull_strdup_printf("add table " BRIDGE_TABLE "\n"
				  "add chain " BRIDGE_TABLE " nicf.%s { type filter hook "
				  "prerouting priority 0; policy accept; }\n"
				  "flush chain " BRIDGE_TABLE " nicf.%s\n%s%s",
				  host_ifname, host_ifname, macr ? macr : "", ipr ? ipr : "");
	if (!cmds)
		return -ENOMEM;
	return nft_run(&n, cmds, host_ifname, reterr);
}

int hull_nft_nic_filter_remove(const char *host_ifname, struct hull_error **reterr)
{
	_cleanup_(nft_done) struct nft n = {};
	_cleanup_free_ char *cmd = NULL;
	const char *out;
	int r;

	if (network_name_ok(host_ifname) < 0)
		return hull_error_set(reterr, -EINVAL, "bad interface name '%s'", host_ifname);
	r = nft_init(&n, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "nftables");
	cmd = hull_strdup_printf("list chain " BRIDGE_TABLE " nicf.%s", host_ifname);
	if (!cmd)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(n.ctx, cmd) != 0)
		return 0;			/* none */
	(void)nft_ctx_get_output_buffer(n.ctx); /* drained: the table's listing comes next */
	free(cmd);
	cmd = hull_strdup_printf("delete chain " BRIDGE_TABLE " nicf.%s\n", host_ifname);
	if (!cmd)
		return -ENOMEM;
	r = nft_run(&n, cmd, host_ifname, reterr);
	if (r < 0)
		return r;
	/* the table goes with its last chain */
	if (nft_run_cmd_from_buffer(n.ctx, "list table " BRIDGE_TABLE) != 0)
		return 0;
	out = nft_ctx_get_output_buffer(n.ctx);
	if (out && !strstr(out, "chain "))
		return nft_run(&n, "delete table " BRIDGE_TABLE "\n", host_ifname, reterr);
	return 0;
}
