/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A nic's bandwidth limits (limits.ingress, limits.egress) through tc over
 * rtnetlink, all on the host's side of the veth, where the instance's root
 * cannot reach them:
 *   - ingress (traffic into the instance): a TBF qdisc at the root of the
 *     host's veth end (what it sends is what the instance receives);
 *   - egress (traffic from the instance): the ingress qdisc of the host's
 *     veth end with a u32 match-all filter whose mirred action redirects
 *     everything to an ifb link, shaped there by a TBF qdisc.  (Kernels
 *     without act_police, like the one hull is tested on, have mirred.)
 * The TBF qdiscs go with the veth when the instance's namespace dies; the
 * ifb is hull's and is deleted when the instance stops.
 */
#pragma once

#include <stdint.h>

#include "util/error.h"

/* Parses a bit rate: an integer with a unit bit, kbit, Mbit, Gbit or Tbit (decimal; the
 * prefix in either case), into bytes per second.  -EINVAL for anything else, 0, or a rate
 * below 8bit. */
int hull_tc_rate_parse(const char *s, uint64_t *ret_bytes_per_sec);

/* The ifb that shapes the egress of the host veth `host_ifname` ("hb" + its hash). */
void hull_tc_ifb_name(const char *host_ifname, char ret[16]);

/* Applies the limits (bytes per second; 0: none) on the host veth `host_ifname`. */
int hull_tc_nic_limits(const char *host_ifname, uint64_t ingress, uint64_t egress,
		       struct hull_error **reterr);

/* Deletes the ifb of `host_ifname`, if there is one. */
void hull_tc_nic_limits_remove(const char *host_ifname);
