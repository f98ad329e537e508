/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink: bridges, veth pairs across namespaces, addresses and routes, on
 * real links in network namespaces this test makes (run as root).  The test
 * process moves into a new namespace first, so nothing it makes is seen by
 * the host and everything goes when it exits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/netlink.h"
#include "net/tc.h"
#include "util/error.h"

static int ns_a = -EBADF; /* the test's own namespace */
static int ns_b = -EBADF; /* a second one, for veth peers */

static int setup(void **state)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	ns_a = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	ns_b = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_a < 0 || ns_b < 0 || setns(ns_a, CLONE_NEWNET) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	ns_a = safe_close(ns_a);
	ns_b = safe_close(ns_b);
	return 0;
}

static struct hull_nl *open_nl(int netns_fd)
{
	struct hull_nl *nl = NULL;

	assert_int_equal(hull_nl_open(netns_fd, &nl, NULL), 0);
	return nl;
}

static void test_ip_parse(void **state)
{
	char buf[INET6_ADDRSTRLEN];
	struct hull_ip ip;
	unsigned len;

	assert_int_equal(hull_ip_parse_cidr("10.1.2.1/24", &ip, &len), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(len, 24);
	assert_string_equal(hull_ip_format(&ip, buf, sizeof(buf)), "10.1.2.1");
	assert_int_equal(hull_ip_parse_cidr("fd42::1/64", &ip, &len), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(len, 64);
	assert_string_equal(hull_ip_format(&ip, buf, sizeof(buf)), "fd42::1");

	assert_int_equal(hull_ip_parse_cidr("10.1.2.1", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse_cidr("10.1.2.1/33", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse_cidr("10.1.2.1/-1", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse_cidr("10.1.2/24", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse_cidr("/24", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse_cidr("10.1.2.1/", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse_cidr("fd42::1/129", &ip, &len), -EINVAL);
	assert_int_equal(hull_ip_parse("300.1.1.1", &ip), -EINVAL);
	assert_int_equal(hull_ip_parse(NULL, &ip), -EINVAL);
}

static void test_rate_parse(void **state)
{
	const char *bad[] = { "",
			      "fast",
			      "10",
			      "10MB",
			      "1.5Mbit",
			      "Mbit",
			      "-1Mbit",
			      "7bit",
			      "0Gbit",
			      "10 Mbit",
			      "99999999999999999999bit",
			      "99999999999Tbit" };
	uint64_t r = 0;

	(void)state;
	assert_int_equal(hull_tc_rate_parse("10Mbit", &r), 0);
	assert_int_equal(r, 1250000);
	assert_int_equal(hull_tc_rate_parse("500kbit", &r), 0);
	assert_int_equal(r, 62500);
	assert_int_equal(hull_tc_rate_parse("1gbit", &r), 0);
	assert_int_equal(r, 125000000);
	assert_int_equal(hull_tc_rate_parse("40Gbit", &r), 0);
	assert_int_equal(r, 5000000000ULL);
	assert_int_equal(hull_tc_rate_parse("8bit", &r), 0);
	assert_int_equal(r, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hull_tc_rate_parse(bad[i], &r), -EINVAL);
}

static void test_bridge(void **state)
{
	static const uint8_t mac[HULL_MAC_LEN] = { 0x02, 0x68, 0x75, 0x6c, 0x6c, 0x01 };
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_nl_ struct hull_nl *nl = open_nl(-1);
	uint8_t got[HULL_MAC_LEN];
	int ifindex;

	assert_int_equal(hull_link_index(nl, "tbr0", &ifindex), -ENODEV);
	assert_int_equal(hull_link_add_bridge(nl, "tbr0", mac, NULL), 0);
	assert_int_equal(hull_link_index(nl, "tbr0", &ifindex), 0);
	assert_true(ifindex > 0);
	assert_int_equal(hull_link_get_mac(nl, "tbr0", got), 0);
	assert_memory_equal(got, mac, HULL_MAC_LEN);
	assert_int_equal(hull_link_set_up(nl, "tbr0", true, NULL), 0);

	/* a second bridge of the same name: the error names it */
	assert_int_equal(hull_link_add_bridge(nl, "tbr0", NULL, &err), -EEXIST);
	assert_non_null(strstr(err->msg, "create bridge 'tbr0'"));
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_link_add_bridge(nl, "bad/name", NULL, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "'bad/name'"));
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_link_add_bridge(nl, "a-name-much-too-long", NULL, &err), -EINVAL);

	assert_int_equal(hull_link_del(nl, "tbr0", NULL), 0);
	assert_int_equal(hull_link_index(nl, "tbr0", &ifindex), -ENODEV);
	assert_int_equal(hull_link_del(nl, "tbr0", NULL), -ENODEV);
}

static int find_v4(const struct in_addr *a, unsigned prefixlen, void *userdata)
{
	const char *want = userdata;
	char buf[INET_ADDRSTRLEN + 4];

	snprintf(buf, sizeof(buf), "%s/%u", inet_ntoa(*a), prefixlen);
	return strcmp(buf, want) == 0 ? 1 : 0;
}

static int count_seen;

static int count_v4(const struct in_addr *a, unsigned prefixlen, void *userdata)
{
	if (find_v4(a, prefixlen, userdata))
		count_seen++;
	return 0;
}

static void test_veth_into_other_namespace(void **state)
{
	static const uint8_t mac[HULL_MAC_LEN] = { 0x02, 0x68, 0x75, 0x6c, 0x6c, 0x02 };
	_cleanup_nl_ struct hull_nl *nl = open_nl(-1);
	_cleanup_nl_ struct hull_nl *peer_nl = open_nl(ns_b);
	struct hull_ip ip, gw;
	uint8_t got[HULL_MAC_LEN];
	unsigned len;
	int ifindex;

	assert_int_equal(hull_link_add_bridge(nl, "tbr1", NULL, NULL), 0);
	assert_int_equal(hull_link_add_veth(nl, "tveth0", "eth7", ns_b, mac, NULL), 0);
	/* the peer is in the other namespace only */
	assert_int_equal(hull_link_index(nl, "eth7", &ifindex), -ENODEV);
	assert_int_equal(hull_link_get_mac(peer_nl, "eth7", got), 0);
	assert_memory_equal(got, mac, HULL_MAC_LEN);

	assert_int_equal(hull_link_set_master(nl, "tveth0", "tbr1", NULL), 0);
	assert_int_equal(hull_link_set_up(nl, "tveth0", true, NULL), 0);
	assert_int_equal(hull_link_set_up(nl, "tbr1", true, NULL), 0);
	assert_int_equal(hull_ip_parse_cidr("10.77.3.1/24", &gw, &len), 0);
	assert_int_equal(hull_addr_add(nl, "tbr1", &gw, len, NULL), 0);
	/* adding it twice is fine */
	assert_int_equal(hull_addr_add(nl, "tbr1", &gw, len, NULL), 0);

	assert_int_equal(hull_ip_parse_cidr("10.77.3.2/24", &ip, &len), 0);
	assert_int_equal(hull_link_set_up(peer_nl, "eth7", true, NULL), 0);
	assert_int_equal(hull_addr_add(peer_nl, "eth7", &ip, len, NULL), 0);
	assert_int_equal(hull_route_add_default(peer_nl, "eth7", &gw, NULL), 0);

	count_seen = 0;
	assert_int_equal(hull_addr_foreach_v4(nl, count_v4, (void *)"10.77.3.1/24", NULL), 0);
	assert_int_equal(count_seen, 1);
	count_seen = 0;
	assert_int_equal(hull_route_foreach_v4(nl, count_v4, (void *)"10.77.3.0/24", NULL), 0);
	assert_int_equal(count_seen, 1);
	count_seen = 0;
	assert_int_equal(hull_route_foreach_v4(peer_nl, count_v4, (void *)"0.0.0.0/0", NULL), 0);
	assert_int_equal(count_seen, 1);

	/* a callback's positive return is not an error: the walk goes on */
	assert_int_equal(hull_addr_foreach_v4(nl, find_v4, (void *)"10.77.3.1/24", NULL), 1);

	/* deleting one end of a veth pair removes the other */
	assert_int_equal(hull_link_del(nl, "tveth0", NULL), 0);
	assert_int_equal(hull_link_index(peer_nl, "eth7", &ifindex), -ENODEV);
	assert_int_equal(hull_link_del(nl, "tbr1", NULL), 0);
}

static int stop_walk(const struct in_addr *a, unsigned prefixlen, void *userdata)
{
	return -ECANCELED;
}

static void test_walk_stops(void **state)
{
	_cleanup_nl_ struct hull_nl *nl = open_nl(-1);
	struct hull_ip ip;
	unsigned len;

	assert_int_equal(hull_link_set_up(nl, "lo", true, NULL), 0);
	assert_int_equal(hull_ip_parse_cidr("127.0.0.1/8", &ip, &len), 0);
	assert_int_equal(hull_addr_add(nl, "lo", &ip, len, NULL), 0);
	assert_int_equal(hull_addr_foreach_v4(nl, stop_walk, NULL, NULL), -ECANCELED);
}

static void test_move_and_rename(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_nl_ struct hull_nl *nl = open_nl(-1);
	_cleanup_nl_ struct hull_nl *peer_nl = open_nl(ns_b);
	int ifindex;

	assert_int_equal(hull_link_add_veth(nl, "tmove0", "tmove1", -1, NULL, NULL), 0);
	assert_int_equal(hull_link_set_netns(nl, "tmove1", ns_b, "eth9", NULL), 0);
	assert_int_equal(hull_link_index(nl, "tmove1", &ifindex), -ENODEV);
	assert_int_equal(hull_link_index(peer_nl, "eth9", &ifindex), 0);
	/* and back under its old name */
	assert_int_equal(hull_link_set_netns(peer_nl, "eth9", ns_a, "tmove1", NULL), 0);
	assert_int_equal(hull_link_index(nl, "tmove1", &ifindex), 0);
	assert_int_equal(hull_link_del(nl, "tmove0", NULL), 0);

	assert_int_equal(hull_link_set_up(nl, "nosuchlink", true, &err), -ENODEV);
	assert_non_null(strstr(err->msg, "link 'nosuchlink'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_parse),   cmocka_unit_test(test_rate_parse),
		cmocka_unit_test(test_bridge),	   cmocka_unit_test(test_veth_into_other_namespace),
		cmocka_unit_test(test_walk_stops), cmocka_unit_test(test_move_and_rename),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
