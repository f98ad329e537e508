/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink requests through libmnl.  See netlink.h.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/netlink.h"
#include "util/log.h"
#include "util/str.h"

struct hull_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* Dumps of routes and addresses come in multi-part messages of up to a page or so each. */
#define NL_BUFFER_SIZE 32768
/* requests are a few attributes each */
#define NL_MSG_SIZE 1024

void hull_nl_free(struct hull_nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

int hull_nl_open(int netns_fd, struct hull_nl **ret, struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	_cleanup_close_ int self = -EBADF;
	int r = 0;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return hull_error_errno(reterr, -ENOMEM, "netlink");
	/* a netlink socket belongs to the namespace it was made in: make it there */
	if (netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0)
			return hull_error_errno(reterr, negative_errno(),
						"open own network namespace");
		if (setns(netns_fd, CLONE_NEWNET) < 0)
			return hull_error_errno(reterr, negative_errno(),
						"enter network namespace");
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		r = negative_errno();
	if (netns_fd >= 0 && setns(self, CLONE_NEWNET) < 0) {
		/* a thread left in the wrong namespace would act on the wrong links */
		hull_log(HULL_LOG_ERROR, "cannot return to own network namespace: %m");
		abort();
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "netlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return hull_error_errno(reterr, negative_errno(), "bind netlink socket");
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)getpid();
	*ret = TAKE_PTR(nl);
	return 0;
}

/*
 * Sends nlh and runs cb over the replies until done: a dump ends with
 * NLMSG_DONE, any other request with the kernel's ack (asked for here).
 * NLM_F_DUMP shares its bits with NLM_F_EXCL, hence the explicit `dump`.
 */
static int nl_exchange(struct hull_nl *nl, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *data)
{
	_cleanup_free_ char *buf = NULL;
	uint32_t seq = ++nl->seq;
	ssize_t n;
	int r;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return negative_errno();
	buf = malloc(NL_BUFFER_SIZE);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, NL_BUFFER_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		r = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0)
			return negative_errno();
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

static int name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n < IFNAMSIZ && !strchr(name, '/') && !strchr(name, ' ') ? 0 : -EINVAL;
}

struct link_reply {
	int ifindex;
	uint8_t mac[HULL_MAC_LEN];
	bool has_mac;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_reply *lr = data;

	if (mnl_attr_get_type(attr) == IFLA_ADDRESS &&
	    mnl_attr_get_payload_len(attr) == HULL_MAC_LEN) {
		memcpy(lr->mac, mnl_attr_get_payload(attr), HULL_MAC_LEN);
		lr->has_mac = true;
	}
	return MNL_CB_OK;
}

static int link_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_reply *lr = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	lr->ifindex = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, lr);
	return MNL_CB_OK;
}

static int link_get(struct hull_nl *nl, const char *name, struct link_reply *ret)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	struct link_reply lr = {};
	int r;

	if (name_ok(name) < 0)
		return -EINVAL;
	nlh = link_msg(buf, RTM_GETLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	r = nl_exchange(nl, nlh, false, link_reply_cb, &lr);
	if (r < 0)
		return r;
	if (lr.ifindex <= 0)
		return -ENODEV;
	*ret = lr;
	return 0;
}

int hull_link_index(struct hull_nl *nl, const char *name, int *ret_ifindex)
{
	struct link_reply lr;
	int r = link_get(nl, name, &lr);

	if (r < 0)
		return r;
	*ret_ifindex = lr.ifindex;
	return 0;
}

int hull_link_get_mac(struct hull_nl *nl, const char *name, uint8_t ret_mac[HULL_MAC_LEN])
{
	struct link_reply lr;
	int r = link_get(nl, name, &lr);

	if (r < 0)
		return r;
	if (!lr.has_mac)
		return -ENODATA;
	memcpy(ret_mac, lr.mac, HULL_MAC_LEN);
	return 0;
}

static int link_index_err(struct hull_nl *nl, const char *name, int *ret_ifindex,
			  struct hull_error **reterr)
{
	int r = hull_link_index(nl, name, ret_ifindex);

	if (r == -EINVAL)
		return hull_error_set(reterr, r, "bad interface name '%s'", name ? name : "");
	if (r < 0)
		return hull_error_errno(reterr, r, "link '%s'", name);
	return 0;
}

int hull_nl_request(struct hull_nl *nl, struct nlmsghdr *nlh)
{
	return nl_exchange(nl, nlh, false, NULL, NULL);
}

int hull_link_add_ifb(struct hull_nl *nl, const char *name, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info;
	int r;

	if (name_ok(name) < 0)
		return hull_error_set(reterr, -EINVAL, "bad ifb name '%s'", name ? name : "");
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ifb");
	mnl_attr_nest_end(nlh, info);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "create ifb '%s'", name);
	return 0;
}

int hull_link_add_bridge(struct hull_nl *nl, const char *name, const uint8_t *mac,
			 struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *info;
	int r;

	if (name_ok(name) < 0)
		return hull_error_set(reterr, -EINVAL, "bad bridge name '%s'", name ? name : "");
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, HULL_MAC_LEN, mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "create bridge '%s'", name);
	return 0;
}

int hull_link_add_veth(struct hull_nl *nl, const char *name, const char *peer, int peer_netns_fd,
		       const uint8_t *peer_mac, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlattr *info, *data, *peer_nest;
	struct ifinfomsg *pifi;
	struct nlmsghdr *nlh;
	int r;

	if (name_ok(name) < 0 || name_ok(peer) < 0)
		return hull_error_set(reterr, -EINVAL, "bad veth names '%s' and '%s'",
				      name ? name : "", peer ? peer : "");
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* the peer's attributes follow an ifinfomsg of its own */
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, HULL_MAC_LEN, peer_mac);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_nest);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "create veth '%s' (peer '%s')", name, peer);
	return 0;
}

int hull_link_add_macvlan(struct hull_nl *nl, const char *name, const char *parent, int netns_fd,
			  const uint8_t *mac, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlattr *info, *data;
	struct nlmsghdr *nlh;
	int ifindex, r;

	if (name_ok(name) < 0)
		return hull_error_set(reterr, -EINVAL, "bad macvlan name '%s'", name ? name : "");
	r = link_index_err(nl, parent, &ifindex, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "macvlan '%s'", name);
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)ifindex);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, HULL_MAC_LEN, mac);
	/* made right in the container's namespace; its parent stays here */
	if (netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "create macvlan '%s' on '%s'", name, parent);
	return 0;
}

int hull_link_del(struct hull_nl *nl, const char *name, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	int ifindex, r;

	r = hull_link_index(nl, name, &ifindex);
	if (r == -ENODEV)
		return r;
	if (r < 0)
		return hull_error_errno(reterr, r, "delete link '%s'", name);
	nlh = link_msg(buf, RTM_DELLINK, 0, ifindex);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r == -ENODEV)
		return r;
	if (r < 0)
		return hull_error_errno(reterr, r, "delete link '%s'", name);
	return 0;
}

int hull_link_set_up(struct hull_nl *nl, const char *name, bool up, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ifindex, r;

	r = link_index_err(nl, name, &ifindex, reterr);
	if (r < 0)
		return r;
	nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "set link '%s' %s", name, up ? "up" : "down");
	return 0;
}

int hull_link_set_master(struct hull_nl *nl, const char *name, const char *master,
			 struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	int ifindex, master_index = 0, r;

	r = link_index_err(nl, name, &ifindex, reterr);
	if (r >= 0 && master)
		r = link_index_err(nl, master, &master_index, reterr);
	if (r < 0)
		return r;
	nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master_index);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "attach '%s' to bridge '%s'", name,
					master ? master : "(none)");
	return 0;
}

int hull_link_set_netns(struct hull_nl *nl, const char *name, int netns_fd, const char *new_name,
			struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh;
	int ifindex, r;

	if (new_name && name_ok(new_name) < 0)
		return hull_error_set(reterr, -EINVAL, "bad interface name '%s'", new_name);
	r = link_index_err(nl, name, &ifindex, reterr);
	if (r < 0)
		return r;
	nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (new_name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, new_name);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "move link '%s' to another namespace", name);
	return 0;
}

static size_t ip_len(const struct hull_ip *ip)
{
	return ip->family == AF_INET6 ? 16 : 4;
}

int hull_addr_add(struct hull_nl *nl, const char *name, const struct hull_ip *addr,
		  unsigned prefixlen, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE], text[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ifindex, r;

	if (prefixlen > ip_len(addr) * 8)
		return hull_error_set(reterr, -EINVAL, "bad prefix length %u", prefixlen);
	r = link_index_err(nl, name, &ifindex, reterr);
	if (r < 0)
		return r;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_index = (uint32_t)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, ip_len(addr), addr->bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, ip_len(addr), addr->bytes);
	/* a gateway's address must be usable at once: no duplicate address detection */
	if (addr->family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "add address %s/%u to '%s'",
					hull_ip_format(addr, text, sizeof(text)), prefixlen, name);
	return 0;
}

struct v4_walk {
	int (*fn)(const struct in_addr *a, unsigned prefixlen, void *userdata);
	void *userdata;
	int r;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= RTA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int route_v4_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = {};
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct v4_walk *w = data;
	struct in_addr dst = {};
	uint32_t table = rtm->rtm_table;

	if (w->r < 0 || rtm->rtm_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
	if (tb[RTA_TABLE])
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL)
		return MNL_CB_OK;
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == 4)
		memcpy(&dst, mnl_attr_get_payload(tb[RTA_DST]), 4);
	w->r = w->fn(&dst, rtm->rtm_dst_len, w->userdata);
	return MNL_CB_OK;
}

int hull_route_foreach_v4(struct hull_nl *nl,
			  int (*fn)(const struct in_addr *dst, unsigned prefixlen, void *userdata),
			  void *userdata, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct v4_walk w = { fn, userdata, 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int r;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	r = nl_exchange(nl, nlh, true, route_v4_cb, &w);
	if (r < 0)
		return hull_error_errno(reterr, r, "list routes");
	return w.r;
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= IFA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_v4_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = {};
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct v4_walk *w = data;
	struct in_addr addr;

	if (w->r < 0 || ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != 4)
		return MNL_CB_OK;
	memcpy(&addr, mnl_attr_get_payload(a), 4);
	w->r = w->fn(&addr, ifa->ifa_prefixlen, w->userdata);
	return MNL_CB_OK;
}

int hull_addr_foreach_v4(struct hull_nl *nl,
			 int (*fn)(const struct in_addr *addr, unsigned prefixlen, void *userdata),
			 void *userdata, struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE];
	struct v4_walk w = { fn, userdata, 0 };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int r;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	r = nl_exchange(nl, nlh, true, addr_v4_cb, &w);
	if (r < 0)
		return hull_error_errno(reterr, r, "list addresses");
	return w.r;
}

int hull_route_add_default(struct hull_nl *nl, const char *name, const struct hull_ip *gw,
			   struct hull_error **reterr)
{
	char buf[NL_MSG_SIZE], text[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ifindex, r;

	r = link_index_err(nl, name, &ifindex, reterr);
	if (r < 0)
		return r;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)gw->family;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, ip_len(gw), gw->bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	r = nl_exchange(nl, nlh, false, NULL, NULL);
	if (r < 0)
		return hull_error_errno(reterr, r, "add default route via %s",
					hull_ip_format(gw, text, sizeof(text)));
	return 0;
}

int hull_ip_parse(const char *s, struct hull_ip *ret)
{
	struct hull_ip ip = {};

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &ip.v4) == 1)
		ip.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &ip.v6) == 1)
		ip.family = AF_INET6;
	else
		return -EINVAL;
	*ret = ip;
	return 0;
}

int hull_ip_parse_cidr(const char *s, struct hull_ip *ret, unsigned *ret_prefixlen)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	struct hull_ip ip;
	uint32_t len;
	size_t n;

	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (hull_ip_parse(addr, &ip) < 0 || hull_parse_u32(slash + 1, &len) < 0 ||
	    len > ip_len(&ip) * 8)
		return -EINVAL;
	*ret = ip;
	*ret_prefixlen = len;
	return 0;
}

const char *hull_ip_format(const struct hull_ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family, ip->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int hull_mac_parse(const char *s, uint8_t ret[HULL_MAC_LEN])
{
	unsigned v[HULL_MAC_LEN];
	char tail;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			 &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < HULL_MAC_LEN; i++)
		ret[i] = (uint8_t)v[i];
	return 0;
}
