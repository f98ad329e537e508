/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc qdiscs and filters through libmnl.  See tc.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/netlink.h"
#include "net/tc.h"
#include "util/str.h"

#define TC_MSG_SIZE 2048
/* the smallest bucket: a GSO burst is segmented by TBF, so a few full frames suffice */
#define TBF_MIN_BURST 16384

int hull_tc_rate_parse(const char *s, uint64_t *ret_bytes_per_sec)
{
	static const struct {
		const char *unit;
		uint64_t factor;
	} units[] = { { "bit", 1 },
		      { "kbit", 1000 },
		      { "mbit", 1000000 },
		      { "gbit", 1000000000 },
		      { "tbit", 1000000000000 } };
	uint64_t n = 0;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > UINT64_MAX / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (strcasecmp(p, units[i].unit) == 0) {
			if (n > UINT64_MAX / units[i].factor || n * units[i].factor < 8)
				return -EINVAL;
			*ret_bytes_per_sec = n * units[i].factor / 8;
			return 0;
		}
	return -EINVAL;
}

void hull_tc_ifb_name(const char *host_ifname, char ret[16])
{
	snprintf(ret, 16, "hb%s", host_ifname + (strlen(host_ifname) > 2 ? 2 : 0));
}

static struct nlmsghdr *tc_msg(char *buf, uint16_t type, uint16_t flags, int ifindex,
			       uint32_t handle, uint32_t parent, uint32_t info)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *t;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	t->tcm_handle = handle;
	t->tcm_parent = parent;
	t->tcm_info = info;
	return nlh;
}

/* A TBF qdisc at the root of ifindex: `rate` bytes per second, with a bucket of 100ms of it
 * and a queue of 50ms more. */
static int tbf_add(struct hull_nl *nl, int ifindex, uint64_t rate)
{
	char buf[TC_MSG_SIZE];
	struct tc_tbf_qopt q = {};
	uint64_t burst = rate / 10, limit;
	struct nlmsghdr *nlh;
	struct nlattr *opts;

	if (burst < TBF_MIN_BURST)
		burst = TBF_MIN_BURST;
	if (burst > UINT32_MAX / 2)
		burst = UINT32_MAX / 2;
	limit = burst + rate / 20;
	if (limit > UINT32_MAX)
		limit = UINT32_MAX;
	q.rate.rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	/* a known link layer: the kernel then needs no rate table */
	q.rate.linklayer = TC_LINKLAYER_ETHERNET;
	q.limit = (uint32_t)limit;
	nlh = tc_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex,
		     TC_H_MAKE(1U << 16, 0), TC_H_ROOT, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "tbf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(q), &q);
	if (rate > UINT32_MAX)
		mnl_attr_put_u64(nlh, TCA_TBF_RATE64, rate);
	mnl_attr_put_u32(nlh, TCA_TBF_BURST, (uint32_t)burst);
	mnl_attr_nest_end(nlh, opts);
	return hull_nl_request(nl, nlh);
}

/* The ingress qdisc of ifindex and a u32 match-all filter redirecting all to ifb_index. */
static int redirect_add(struct hull_nl *nl, int ifindex, int ifb_index)
{
	char buf[TC_MSG_SIZE], sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)] = {};
	struct tc_u32_sel *s = (struct tc_u32_sel *)sel;
	struct tc_mirred m = {
		.action = TC_ACT_STOLEN,
		.eaction = TCA_EGRESS_REDIR,
		.ifindex = (uint32_t)ifb_index,
	};
	struct nlattr *opts, *acts, *act, *aopts;
	struct nlmsghdr *nlh;
	int r;

	nlh = tc_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex,
		     TC_H_MAKE(TC_H_INGRESS, 0), TC_H_INGRESS, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	r = hull_nl_request(nl, nlh);
	if (r < 0)
		return r;
	/* one key matching every packet (mask 0) */
	s->flags = TC_U32_TERMINAL;
	s->nkeys = 1;
	nlh = tc_msg(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, 0,
		     TC_H_MAKE(TC_H_INGRESS, 0), TC_H_MAKE(1U << 16, htons(ETH_P_ALL)));
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), sel);
	acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	act = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	return hull_nl_request(nl, nlh);
}

static int egress_limit(struct hull_nl *nl, const char *host, int ifindex, uint64_t rate,
			struct hull_error **reterr)
{
	char ifb[16];
	int ifb_index, r;

	hull_tc_ifb_name(host, ifb);
	(void)hull_link_del(nl, ifb, NULL);
	r = hull_link_add_ifb(nl, ifb, reterr);
	if (r < 0)
		return r;
	r = hull_link_index(nl, ifb, &ifb_index);
	if (r >= 0)
		r = hull_link_set_up(nl, ifb, true, reterr);
	if (r >= 0)
		r = tbf_add(nl, ifb_index, rate);
	if (r >= 0)
		r = redirect_add(nl, ifindex, ifb_index);
	if (r < 0) {
		(void)hull_link_del(nl, ifb, NULL);
		return hull_error_errno(reterr, r, "limits.egress on '%s'", host);
	}
	return 0;
}

int hull_tc_nic_limits(const char *host_ifname, uint64_t ingress, uint64_t egress,
		       struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	int ifindex, r;

	if (!ingress && !egress)
		return 0;
	r = hull_nl_open(-1, &nl, reterr);
	if (r < 0)
		return r;
	r = hull_link_index(nl, host_ifname, &ifindex);
	if (r < 0)
		return hull_error_errno(reterr, r, "find link '%s'", host_ifname);
	if (ingress) {
		r = tbf_add(nl, ifindex, ingress);
		if (r < 0)
			return hull_error_errno(reterr, r, "limits.ingress on '%s'", host_ifname);
	}
	if (egress)
		return egress_limit(nl, host_ifname, ifindex, egress, reterr);
	return 0;
}

void hull_tc_nic_limits_remove(const char *host_ifname)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	char ifb[16];

	hull_tc_ifb_name(host_ifname, ifb);
	if (hull_nl_open(-1, &nl, NULL) >= 0)
		(void)hull_link_del(nl, ifb, NULL);
}
