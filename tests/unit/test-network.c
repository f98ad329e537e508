/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Managed networks from the library: stable names and MACs, and a nic from a
 * network's bridge into another namespace, on real links in namespaces this
 * test makes (run as root; dnsmasq from Debian's dnsmasq-base).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/network.h"
#include "util/file.h"

static int ns_b = -EBADF;
static int state_fd = -EBADF;
static char state_dir[] = "/tmp/hull-test-network-XXXXXX";

static int setup(void **state)
{
	_cleanup_close_ int ns_a = -EBADF;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	ns_a = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	ns_b = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_a < 0 || ns_b < 0 || setns(ns_a, CLONE_NEWNET) < 0)
		return -1;
	if (!mkdtemp(state_dir))
		return -1;
	state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return state_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)hull_network_delete(state_fd, "tnet0", NULL);
	(void)hull_rm_rf_at(AT_FDCWD, state_dir);
	state_fd = safe_close(state_fd);
	ns_b = safe_close(ns_b);
	return 0;
}

static void test_names_are_stable(void **state)
{
	char a[18], b[18], i1[16], i2[16];

	hull_network_mac("web", "eth0", a);
	hull_network_mac("web", "eth0", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 17);
	assert_memory_equal(a, "0a:", 3);
	hull_network_mac("web", "eth1", b);
	assert_string_not_equal(a, b);
	/* the separator keeps ("ab","c") and ("a","bc") apart */
	hull_network_mac("ab", "c", a);
	hull_network_mac("a", "bc", b);
	assert_string_not_equal(a, b);

	hull_network_host_ifname("web", "eth0", i1);
	hull_network_host_ifname("web", "eth0", i2);
	assert_string_equal(i1, i2);
	assert_int_equal(strlen(i1), 14);
	hull_network_host_ifname("db", "eth0", i2);
	assert_string_not_equal(i1, i2);
}

static void test_nic_attach(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_nl_ struct hull_nl *nl = NULL, *inner = NULL;
	char *const settings[] = { (char *)"ipv4.address=10.71.1.1/24", NULL };
	uint8_t mac[HULL_MAC_LEN], want[HULL_MAC_LEN];
	char macs[18], host[16], path[64];
	int ifindex, master_index;

	assert_int_equal(hull_network_create(state_fd, "tnet0", settings, NULL), 0);
	hull_network_mac("c1", "eth0", macs);
	hull_network_host_ifname("c1", "eth0", host);
	assert_int_equal(hull_network_nic_attach(state_fd, "tnet0", ns_b, host, "eth0", macs, NULL),
			 0);
	assert_int_equal(hull_nl_open(-1, &nl, NULL), 0);
	assert_int_equal(hull_nl_open(ns_b, &inner, NULL), 0);
	assert_int_equal(hull_link_get_mac(inner, "eth0", mac), 0);
	assert_int_equal(hull_mac_parse(macs, want), 0);
	assert_memory_equal(mac, want, HULL_MAC_LEN);
	/* the host end is on the bridge */
	assert_int_equal(hull_link_index(nl, "tnet0", &master_index), 0);
	/* (sysfs shows the namespace it was mounted in: ask ip(8), which uses netlink) */
	snprintf(path, sizeof(path), "ip -o link show %s", host);
	{
		FILE *p = popen(path, "r");
		char line[512] = "";

		assert_non_null(p);
		assert_non_null(fgets(line, sizeof(line), p));
		pclose(p);
		assert_non_null(strstr(line, "master tnet0"));
		assert_non_null(strstr(line, ",UP"));
	}

	/* attaching again (a start after a crash) replaces the old pair */
	assert_int_equal(hull_network_nic_attach(state_fd, "tnet0", ns_b, host, "eth1", macs, NULL),
			 0);
	assert_int_equal(hull_link_index(inner, "eth0", &ifindex), -ENODEV);
	assert_int_equal(hull_link_index(inner, "eth1", &ifindex), 0);

	assert_int_equal(hull_network_nic_attach(state_fd, "nonet", ns_b, host, "eth0", macs, &err),
			 -ENOENT);
	assert_non_null(strstr(err->msg, "network 'nonet' does not exist"));
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_network_nic_attach(state_fd, "tnet0", ns_b, host, "eth0", "zz", &err),
			 -EINVAL);
	assert_non_null(strstr(err->msg, "'zz'"));

	assert_int_equal(hull_link_del(nl, host, NULL), 0);
	assert_int_equal(hull_network_delete(state_fd, "tnet0", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_are_stable),
		cmocka_unit_test(test_nic_attach),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
