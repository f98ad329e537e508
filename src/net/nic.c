/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bridged nic: a veth pair from a network's bridge into a container's
 * network namespace.
 */
#include <stdio.h>
#include <string.h>

#include "net/net-internal.h"

void hull_network_host_ifname(const char *instance, const char *device, char ret[16])
{
	unsigned char md[32];

	net_hash("ifname", instance, device, md);
	snprintf(ret, 16, "hv%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3], md[4], md[5]);
}

int hull_network_nic_attach(int state_fd, const char *network, int netns_fd,
			    const char *host_ifname, const char *ifname, const char *mac,
			    struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_nl_ struct hull_nl *nl = NULL, *inner = NULL;
	uint8_t m[HULL_MAC_LEN];
	int r;

	if (hull_mac_parse(mac, m) < 0)
		return hull_error_set(reterr, -EINVAL, "bad MAC address '%s'", mac);
	r = hull_network_load(state_fd, network, &n, reterr);
	if (r >= 0 && !hull_network_is_up(state_fd, n))
		r = hull_network_up(state_fd, n, reterr);
	if (r >= 0)
		r = hull_nl_open(-1, &nl, reterr);
	if (r >= 0)
		r = hull_nl_open(netns_fd, &inner, reterr);
	if (r < 0)
		return r;
	/* a pair left by a crashed start of the same instance goes first */
	(void)hull_link_del(nl, host_ifname, NULL);
	r = hull_link_add_veth(nl, host_ifname, ifname, netns_fd, m, reterr);
	if (r < 0)
		return r;
	r = hull_link_set_master(nl, host_ifname, network, reterr);
	if (r >= 0)
		r = hull_link_set_up(nl, host_ifname, true, reterr);
	if (r >= 0)
		r = hull_link_set_up(inner, ifname, true, reterr);
	if (r < 0) {
		(void)hull_link_del(nl, host_ifname, NULL);
		return hull_error_wrap(reterr, r, "nic on network '%s'", network);
	}
	return 0;
}
