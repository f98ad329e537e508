/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bringing a network up and down in the current network namespace; its
 * hosts (DHCP reservations and names) and leases.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "net/net-internal.h"
#include "util/crypto-dl.h"
#include "util/file.h"
#include "util/str.h"

void net_hash(const char *what, const char *a, const char *b, unsigned char ret[32])
{
	unsigned char md[EVP_MAX_MD_SIZE] = {};
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		EVP_DigestUpdate(ctx, what, strlen(what) + 1);
		EVP_DigestUpdate(ctx, a, strlen(a) + 1);
		EVP_DigestUpdate(ctx, b, strlen(b));
		EVP_DigestFinal_ex(ctx, md, &len);
	}
	EVP_MD_CTX_free(ctx);
	memcpy(ret, md, 32);
}

void hull_network_mac(const char *instance, const char *device, char ret[18])
{
	unsigned char md[32];

	net_hash("mac", instance, device, md);
	/* 0a: locally administered, unicast */
	snprintf(ret, 18, "0a:%02x:%02x:%02x:%02x:%02x", md[0], md[1], md[2], md[3], md[4]);
}

static int write_sysctl(const char *path, const char *value, struct hull_error **reterr)
{
	int r = hull_write_string_at(AT_FDCWD, path, value);

	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s'", path);
	return 0;
}

int hull_network_up(int state_fd, const struct hull_network *n, struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	_cleanup_strv_free_ char **dnat = NULL;
	struct hull_nft_network fw = {
		.name = n->name,
		.bridge = n->name,
		.nat = n->nat4,
	};
	struct hull_ip sub4 = n->addr4, sub6 = n->addr6;
	uint8_t mac[HULL_MAC_LEN];
	char text[18];
	int ifindex, r;

	r = hull_nl_open(-1, &nl, reterr);
	if (r < 0)
		return r;
	if (hull_link_index(nl, n->name, &ifindex) == -ENODEV) {
		hull_network_mac(n->name, "bridge", text);
		(void)hull_mac_parse(text, mac);
		r = hull_link_add_bridge(nl, n->name, mac, reterr);
		if (r < 0)
			return r;
	}
	if (n->has4)
		r = hull_addr_add(nl, n->name, &n->addr4, n->prefix4, reterr);
	if (r >= 0 && n->has6)
		r = hull_addr_add(nl, n->name, &n->addr6, n->prefix6, reterr);
	if (r >= 0)
		r = hull_link_set_up(nl, n->name, true, reterr);
	/* NAT needs forwarding; so do instances reaching each other's other networks */
	if (r >= 0 && n->has4)
		r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1", reterr);
	if (r >= 0 && n->has6)
		r = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1", reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "network '%s'", n->name);

	if (n->has4) {
		uint32_t mask = ~0u << (32 - n->prefix4);

		sub4.v4.s_addr = htonl(ntohl(n->addr4.v4.s_addr) & mask);
		fw.subnet4 = &sub4;
		fw.prefix4 = n->prefix4;
	} else {
		fw.nat = false;
		fw.subnet4 = &sub4;
	}
	if (n->has6) {
		for (unsigned i = n->prefix6; i < 128; i++)
			sub6.v6.s6_addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		if (n->nat6) {
			fw.subnet6 = &sub6;
			fw.prefix6 = n->prefix6;
		}
	}
	r = net_forward_rules(state_fd, n->name, &dnat);
	if (r < 0)
		return hull_error_errno(reterr, r, "network '%s': forwards", n->name);
	fw.dnat_rules = dnat;
	r = hull_nft_network_apply(&fw, reterr);
	if (r >= 0)
		r = net_dnsmasq_start(state_fd, n, reterr);
	return r;
}

int hull_network_down(int state_fd, const char *name, struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	int r;

	r = net_dnsmasq_stop(state_fd, name, reterr);
	if (r >= 0)
		r = hull_nft_network_remove(name, reterr);
	if (r >= 0)
		r = hull_nl_open(-1, &nl, reterr);
	if (r >= 0) {
		r = hull_link_del(nl, name, reterr);
		if (r == -ENODEV)
			r = 0;
	}
	return r;
}

bool hull_network_is_up(int state_fd, const struct hull_network *n)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	int ifindex;

	return hull_nl_open(-1, &nl, NULL) >= 0 && hull_link_index(nl, n->name, &ifindex) >= 0 &&
	       net_dnsmasq_pid(state_fd, n->name) > 0;
}

/* Rewrites <net>/dnsmasq.hosts without mac's line, plus `line` if not NULL; HUPs dnsmasq. */
static int hosts_update(int state_fd, const char *network, const char *mac, const char *line,
			struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL, *old = NULL, *out = NULL;
	_cleanup_close_ int lock = -EBADF, dir = -EBADF;
	size_t used = 0, cap;
	pid_t pid;
	int r;

	r = net_name_check(network, reterr);
	if (r >= 0)
		r = net_lock(state_fd, &lock, reterr);
	if (r < 0)
		return r;
	path = hull_strdup_printf("networks/%s", network);
	if (!path)
		return -ENOMEM;
	dir = openat(state_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return hull_error_set(reterr, -ENOENT, "network '%s' does not exist", network);
	r = hull_read_file_at(dir, "dnsmasq.hosts", &old, NULL);
	if (r == -ENOENT)
		r = 0;
	if (r < 0)
		return hull_error_errno(reterr, r, "read hosts of network '%s'", network);
	cap = (old ? strlen(old) : 0) + (line ? strlen(line) : 0) + 2;
	out = calloc(1, cap);
	if (!out)
		return -ENOMEM;
	for (char *p = old, *nl; p && *p; p = nl) {
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		nl = nl ? nl + 1 : p + len;
		if (len > strlen(mac) && strncasecmp(p, mac, strlen(mac)) == 0 &&
		    p[strlen(mac)] == ',')
			continue;
		memcpy(out + used, p, len);
		used += len;
		out[used++] = '\n';
	}
	if (line)
		used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
	r = hull_write_file_atomic_at(dir, "dnsmasq.hosts", out, used, 0644, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "write hosts of network '%s'", network);
	pid = net_dnsmasq_pid(state_fd, network);
	if (pid > 0)
		kill(pid, SIGHUP);
	return 0;
}

static int hostname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-')
		return -EINVAL;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return -EINVAL;
	return 0;
}

int hull_network_host_add(int state_fd, const char *network, const char *mac, const char *hostname,
			  const char *ipv4, struct hull_error **reterr)
{
	_cleanup_free_ char *line = NULL;
	uint8_t m[HULL_MAC_LEN];
	struct hull_ip ip;

	if (hull_mac_parse(mac, m) < 0)
		return hull_error_set(reterr, -EINVAL, "bad MAC address '%s'", mac);
	/* a name dnsmasq cannot serve is left out of DNS, not refused */
	if (hostname && hostname_ok(hostname) < 0)
		hostname = NULL;
	if (ipv4 && (hull_ip_parse(ipv4, &ip) < 0 || ip.family != AF_INET))
		return hull_error_set(reterr, -EINVAL, "ipv4.address: bad address '%s'", ipv4);
	line = hull_strdup_printf("%s%s%s%s%s", mac, ipv4 ? "," : "", ipv4 ? ipv4 : "",
				  hostname ? "," : "", hostname ? hostname : "");
	if (!line)
		return -ENOMEM;
	return hosts_update(state_fd, network, mac, line, reterr);
}

int hull_network_host_remove(int state_fd, const char *network, const char *mac,
			     struct hull_error **reterr)
{
	return hosts_update(state_fd, network, mac, NULL, reterr);
}

int hull_network_lease_ipv4(int state_fd, const char *network, const char *mac, char **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int r;

	if (net_name_check(network, NULL) < 0)
		return -EINVAL;
	path = hull_strdup_printf("networks/%s/dnsmasq.leases", network);
	if (!path)
		return -ENOMEM;
	r = hull_read_file_at(state_fd, path, &text, NULL);
	if (r < 0)
		return r;
	/* "<expiry> <mac> <ip> <hostname> <client-id>" a line */
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char lmac[32], ip[64];

		if (sscanf(line, "%*s %31s %63s", lmac, ip) == 2 && strcasecmp(lmac, mac) == 0 &&
		    !strchr(ip, ':')) {
			char *s = strdup(ip);

			if (!s)
				return -ENOMEM;
			*ret = s;
			return 0;
		}
	}
	return -ENOENT;
}
