/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Instance devices (hull config device add|remove).  A `nic` is a veth from
 * a hull network's bridge, plugged in by a createRuntime hook at each start
 * (see nic.c); nics change on stopped instances only.  disk, unix-char,
 * unix-block, gpu and usb devices (device-check.c, device-match.c,
 * device-plug.c) are plugged by the monitor at each start and into a
 * running instance at once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance/device-internal.h"
#include "instance/instance-internal.h"
#include "net/network.h"
#include "net/tc.h"
#include "util/str.h"

static const char *const nic_keys[] = { "network",
					"name",
					"hwaddr",
					"ipv4.address",
					"security.mac_filtering",
					"security.ipv4_filtering",
					"nictype",
					"parent",
					"limits.ingress",
					"limits.egress" };

const char *hull_instance_device_get(const struct hull_instance_config *c, const char *dev,
				     const char *key)
{
	size_t dl = strlen(dev);

	for (size_t i = 0; c->devices && c->devices[i]; i += 2)
		if (strncmp(c->devices[i], dev, dl) == 0 && c->devices[i][dl] == '.' &&
		    streq(c->devices[i] + dl + 1, key))
			return c->devices[i + 1];
	return NULL;
}

static int device_name_check(const char *dev, struct hull_error **reterr)
{
	size_t n = strlen(dev);

	if (n == 0 || n > 15)
		return hull_error_set(reterr, -EINVAL, "bad device name '%s': 1 to 15 characters",
				      dev);
	for (const char *p = dev; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return hull_error_set(reterr, -EINVAL,
					      "bad device name '%s': a-z, 0-9, '-' and '_' only",
					      dev);
	return 0;
}

static int set_pair(char ***kv, const char *dev, const char *key, const char *value)
{
	int r = hull_strv_consume(kv, hull_strdup_printf("%s.%s", dev, key));

	return r < 0 ? r : hull_strv_push(kv, value);
}

/*
 * A nic on the host interface `parent`: a macvlan (bridge mode) on it, or
 * (physical) the interface itself, moved in (it keeps its own MAC).
 */
static int parent_settings(const char *instance, const char *dev, const char *nictype,
			   bool bridged_keys, const char *parent, const char *ifname,
			   const char *hwaddr, char ***kv, struct hull_error **reterr)
{
	bool physical = streq(nictype, "physical");
	uint8_t m[HULL_MAC_LEN];
	char mac[18];
	int r;

	if (bridged_keys || (physical && hwaddr))
		return hull_error_set(reterr, -EINVAL, "nic: nictype=%s takes parent, name%s only",
				      nictype, physical ? "" : " and hwaddr");
	if (!parent)
		return hull_error_set(reterr, -EINVAL, "nic: missing parent=INTERFACE");
	r = device_name_check(parent, reterr);
	if (r >= 0)
		r = device_name_check(ifname, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "nic");
	if (hwaddr && (hull_mac_parse(hwaddr, m) < 0 || (m[0] & 1)))
		return hull_error_set(reterr, -EINVAL, "nic: hwaddr: bad unicast MAC '%s'", hwaddr);
	if (!hwaddr) {
		hull_network_mac(instance, dev, mac);
		hwaddr = mac;
	}
	r = set_pair(kv, dev, "type", "nic");
	if (r >= 0)
		r = set_pair(kv, dev, "nictype", nictype);
	if (r >= 0)
		r = set_pair(kv, dev, "parent", parent);
	if (r >= 0)
		r = set_pair(kv, dev, "name", ifname);
	if (r >= 0 && !physical)
		r = set_pair(kv, dev, "hwaddr", hwaddr);
	return r;
}

/* Checks a nic's settings and fills in the defaults; appends them to *kv. */
static int nic_settings(struct hull_home *h, const char *instance, const char *dev,
			char *const *settings, char ***kv, struct hull_error **reterr)
{
	const char *network = NULL, *ifname = dev, *hwaddr = NULL, *ipv4 = NULL;
	const char *filter[2] = {}; /* security.mac_filtering, security.ipv4_filtering */
	const char *nictype = "bridged", *parent = NULL;
	const char *limits[2] = {}; /* limits.ingress, limits.egress */
	uint64_t rate;
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	char mac[18];
	uint8_t m[HULL_MAC_LEN];
	struct hull_ip ip;
	int r;

	hull_strv_foreach (s, settings) {
		const char *eq = strchr(s, '=');
		bool known = false;

		if (!eq)
			return hull_error_set(reterr, -EINVAL, "expected KEY=VALUE, got '%s'", s);
		for (size_t i = 0; i < ELEMENTSOF(nic_keys); i++)
			if (strlen(nic_keys[i]) == (size_t)(eq - s) &&
			    strncmp(s, nic_keys[i], (size_t)(eq - s)) == 0)
				known = true;
		if (!known)
			return hull_error_set(reterr, -EINVAL,
					      "nic: unknown key '%.*s' (known: network, name, "
					      "hwaddr, ipv4.address, security.mac_filtering, "
					      "security.ipv4_filtering, nictype, parent, "
					      "limits.ingress, limits.egress)",
					      (int)(eq - s), s);
		if (startswith(s, "network="))
			network = eq + 1;
		else if (startswith(s, "name="))
			ifname = eq + 1;
		else if (startswith(s, "hwaddr="))
			hwaddr = eq + 1;
		else if (startswith(s, "nictype="))
			nictype = eq + 1;
		else if (startswith(s, "parent="))
			parent = eq + 1;
		else if (startswith(s, "limits."))
			limits[startswith(s, "limits.egress") ? 1 : 0] = eq + 1;
		else if (startswith(s, "security."))
			filter[startswith(s, "security.ipv4") ? 1 : 0] = eq + 1;
		else
			ipv4 = eq + 1;
	}
	for (int i = 0; i < 2; i++)
		if (filter[i] && !streq(filter[i], "true") && !streq(filter[i], "false"))
			return hull_error_set(reterr, -EINVAL,
					      "nic: security.%s_filtering: expected 'true' or "
					      "'false', got '%s'",
					      i ? "ipv4" : "mac", filter[i]);
	for (int i = 0; i < 2; i++)
		if (limits[i] && hull_tc_rate_parse(limits[i], &rate) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "nic: limits.%s: expected a bit rate like 10Mbit "
					      "(bit, kbit, Mbit, Gbit, Tbit), got '%s'",
					      i ? "egress" : "ingress", limits[i]);
	if (filter[1] && streq(filter[1], "true") && !ipv4)
		return hull_error_set(reterr, -EINVAL,
				      "nic: security.ipv4_filtering needs ipv4.address (the one "
				      "address the nic may use)");
	if (streq(nictype, "macvlan") || streq(nictype, "physical"))
		return parent_settings(instance, dev, nictype,
				       network || ipv4 || filter[0] || filter[1] || limits[0] ||
					       limits[1],
				       parent, ifname, hwaddr, kv, reterr);
	if (!streq(nictype, "bridged"))
		return hull_error_set(
			reterr, -EINVAL,
			"nic: nictype: expected bridged, macvlan or physical, got '%s'", nictype);
	if (parent)
		return hull_error_set(reterr, -EINVAL,
				      "nic: parent is for nictype=macvlan or physical");
	if (!network)
		return hull_error_set(reterr, -EINVAL, "nic: missing network=NETWORK");
	r = hull_network_load(h->fd, network, &n, reterr);
	if (r < 0)
		return r;
	r = device_name_check(ifname, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "nic: name");
	if (hwaddr && (hull_mac_parse(hwaddr, m) < 0 || (m[0] & 1)))
		return hull_error_set(reterr, -EINVAL, "nic: hwaddr: bad unicast MAC '%s'", hwaddr);
	if (ipv4 && (hull_ip_parse(ipv4, &ip) < 0 || ip.family != AF_INET))
		return hull_error_set(reterr, -EINVAL, "nic: ipv4.address: bad address '%s'", ipv4);
	if (!hwaddr) {
		hull_network_mac(instance, dev, mac);
		hwaddr = mac;
	}
	r = set_pair(kv, dev, "type", "nic");
	if (r >= 0)
		r = set_pair(kv, dev, "network", network);
	if (r >= 0)
		r = set_pair(kv, dev, "name", ifname);
	if (r >= 0)
		r = set_pair(kv, dev, "hwaddr", hwaddr);
	if (r >= 0 && ipv4)
		r = set_pair(kv, dev, "ipv4.address", ipv4);
	if (r >= 0 && filter[0])
		r = set_pair(kv, dev, "security.mac_filtering", filter[0]);
	if (r >= 0 && filter[1])
		r = set_pair(kv, dev, "security.ipv4_filtering", filter[1]);
	if (r >= 0 && limits[0])
		r = set_pair(kv, dev, "limits.ingress", limits[0]);
	if (r >= 0 && limits[1])
		r = set_pair(kv, dev, "limits.egress", limits[1]);
	return r;
}

/* Checks a proxy's listen= and connect= (both tcp:ADDR:PORT); appends them to *kv. */
static int proxy_settings(const char *dev, char *const *settings, char ***kv,
			  struct hull_error **reterr)
{
	const char *listen_on = NULL, *connect_to = NULL;
	struct sockaddr_storage sa;
	socklen_t sl;
	int r;

	hull_strv_foreach (s, settings) {
		const char *v = strchr(s, '=');

		if (startswith(s, "listen="))
			listen_on = v + 1;
		else if (startswith(s, "connect="))
			connect_to = v + 1;
		else
			return hull_error_set(
				reterr, -EINVAL,
				"proxy: unknown setting '%s' (known: listen, connect)", s);
	}
	if (!listen_on || !connect_to)
		return hull_error_set(reterr, -EINVAL, "proxy: missing %s=tcp:ADDR:PORT",
				      listen_on ? "connect" : "listen");
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "connect" : "listen", *v = i ? connect_to : listen_on;

		r = instance_proxy_parse(v, &sa, &sl);
		if (r == -EPROTONOSUPPORT)
			return hull_error_set(
				reterr, -EINVAL,
				"proxy: %s: only tcp:ADDR:PORT is supported, got '%s'", what, v);
		if (r < 0)
			return hull_error_set(reterr, -EINVAL,
					      "proxy: %s: expected tcp:ADDR:PORT, got '%s'", what,
					      v);
	}
	r = set_pair(kv, dev, "type", "proxy");
	if (r >= 0)
		r = set_pair(kv, dev, "listen", listen_on);
	if (r >= 0)
		r = set_pair(kv, dev, "connect", connect_to);
	return r;
}

/*
 * Opens, locks and loads an instance for a device change; *ret_running says
 * whether it runs (nics change on stopped instances only).
 */
static int open_locked(struct hull_home *h, const char *name, bool nic, int *ret_dfd, int *ret_lock,
		       bool *ret_running, struct hull_instance_config **ret,
		       struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	int r;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return lock;
	*ret_running = instance_monitor_alive(dfd);
	if (*ret_running && nic)
		return hull_error_set(reterr, -EBUSY,
				      "instance '%s' is running: stop it to change its nics", name);
	r = instance_config_load(dfd, ret, reterr);
	if (r < 0)
		return r;
	*ret_dfd = TAKE_FD(dfd);
	*ret_lock = TAKE_FD(lock);
	return 0;
}

/* The settings of a device other than a nic, checked against the host (a gpu must match). */
static int other_settings(struct hull_instance_config *c, const char *dev, const char *type,
			  char *const *settings, char ***kv, struct hull_error **reterr)
{
	_cleanup_free_ struct device_node *nodes = NULL;
	char **saved = c->devices;
	size_t n = 0;
	int r;

	r = instance_device_settings(c, dev, type, settings, kv, reterr);
	if (r < 0 || !streq(type, "gpu"))
		return r;
	c->devices = *kv;
	r = instance_device_nodes(c, dev, &nodes, &n, reterr);
	c->devices = saved;
	return r;
}

int hull_instance_device_add(struct hull_home *h, const char *name, const char *dev,
			     const char *type, char *const *settings, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *old = NULL;
	_cleanup_strv_free_ char **kv = NULL;
	bool nic = streq(type, "nic"), proxy = streq(type, "proxy"), running = false;
	const char *ifname;
	int r;

	r = device_name_check(dev, reterr);
	if (r < 0)
		return r;
	if (!nic && !proxy && !instance_device_type_known(type))
		return hull_error_set(
			reterr, -EOPNOTSUPP,
			"unknown device type '%s' (known: nic, proxy, disk, unix-char, "
			"unix-block, gpu, usb)",
			type);
	r = open_locked(h, name, nic, &dfd, &lock, &running, &c, reterr);
	if (r >= 0 && running && proxy)
		return hull_error_set(
			reterr, -EBUSY,
			"instance '%s' is running: stop it to change its proxy devices", name);
	if (r < 0)
		return r;
	if (hull_instance_device_get(c, dev, "type"))
		return hull_error_set(reterr, -EEXIST, "instance '%s' already has a device '%s'",
				      name, dev);
	kv = hull_strv_copy(c->devices ? c->devices : (char *[]){ NULL });
	if (!kv)
		return -ENOMEM;
	if (proxy) {
		r = proxy_settings(dev, settings, &kv, reterr);
		if (r < 0)
			return r;
		hull_strv_free(c->devices);
		c->devices = TAKE_PTR(kv);
		return instance_config_save(dfd, c, reterr);
	}
	if (!nic) {
		r = other_settings(c, dev, type, settings, &kv, reterr);
		if (r < 0)
			return r;
		old = instance_config_dup(c);
		if (!old)
			return -ENOMEM;
		hull_strv_free(c->devices);
		c->devices = TAKE_PTR(kv);
		/* plugged first: a device that cannot be is not recorded */
		if (running) {
			r = instance_device_live_add(h, name, old, c, dev, reterr);
			if (r < 0)
				return r;
		}
		r = instance_config_save(dfd, c, reterr);
		if (r < 0 && running)
			(void)instance_device_live_remove(h, name, c, old, dev, NULL);
		return r;
	}
	r = nic_settings(h, name, dev, settings, &kv, reterr);
	if (r < 0)
		return r;
	/* two nics of one instance may not share an inside name */
	ifname = hull_instance_device_get(&(struct hull_instance_config){ .devices = kv }, dev,
					  "name");
	for (size_t i = 0; c->devices && c->devices[i]; i += 2) {
		const char *dot = strchr(c->devices[i], '.');

		if (dot && streq(dot + 1, "name") && streq(c->devices[i + 1], ifname))
			return hull_error_set(reterr, -EEXIST,
					      "instance '%s' already has an interface '%s'", name,
					      ifname);
	}
	hull_strv_free(c->devices);
	c->devices = TAKE_PTR(kv);
	return instance_config_save(dfd, c, reterr);
}

int hull_instance_device_remove(struct hull_home *h, const char *name, const char *dev,
				struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *old = NULL;
	_cleanup_strv_free_ char **kv = calloc(1, sizeof(char *));
	const char *network, *hwaddr, *type;
	size_t dl = strlen(dev);
	bool running = false;
	int r;

	if (!kv)
		return -ENOMEM;
	r = open_locked(h, name, false, &dfd, &lock, &running, &c, reterr);
	if (r < 0)
		return r;
	type = hull_instance_device_get(c, dev, "type");
	if (!type)
		return hull_error_set(reterr, -ENOENT, "instance '%s' has no device '%s'", name,
				      dev);
	if (running && (streq(type, "nic") || streq(type, "proxy")))
		return hull_error_set(reterr, -EBUSY,
				      "instance '%s' is running: stop it to change its %s", name,
				      streq(type, "nic") ? "nics" : "proxy devices");
	old = instance_config_dup(c);
	if (!old)
		return -ENOMEM;
	network = hull_instance_device_get(c, dev, "network");
	hwaddr = hull_instance_device_get(c, dev, "hwaddr");
	if (network && hwaddr)
		(void)hull_network_host_remove(h->fd, network, hwaddr, NULL);
	for (size_t i = 0; c->devices[i]; i += 2) {
		if (strncmp(c->devices[i], dev, dl) == 0 && c->devices[i][dl] == '.')
			continue;
		r = hull_strv_push(&kv, c->devices[i]);
		if (r >= 0)
			r = hull_strv_push(&kv, c->devices[i + 1]);
		if (r < 0)
			return r;
	}
	hull_strv_free(c->devices);
	c->devices = TAKE_PTR(kv);
	if (running) {
		r = instance_device_live_remove(h, name, old, c, dev, reterr);
		if (r < 0)
			return r;
	}
	return instance_config_save(dfd, c, reterr);
}

int hull_instance_network_user(struct hull_home *h, const char *network, char **ret_name)
{
	_cleanup_strv_free_ char **names = NULL;
	int r;

	r = instance_list_names(h, &names, NULL);
	if (r < 0)
		return r;
	hull_strv_foreach (n, names) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
		_cleanup_close_ int dfd = instance_open(h, n, NULL);

		if (dfd < 0 || instance_config_load(dfd, &c, NULL) < 0)
			continue;
		for (size_t i = 0; c->devices && c->devices[i]; i += 2) {
			const char *dot = strchr(c->devices[i], '.');

			if (dot && streq(dot + 1, "network") && streq(c->devices[i + 1], network)) {
				*ret_name = strdup(n);
				return *ret_name ? 1 : -ENOMEM;
			}
		}
	}
	return 0;
}

char **hull_instance_ipv4(struct hull_home *h, const struct hull_instance_config *c)
{
	_cleanup_strv_free_ char **out = calloc(1, sizeof(char *));

	if (!out)
		return NULL;
	for (size_t i = 0; c->devices && c->devices[i]; i += 2) {
		size_t n = strlen(c->devices[i]);
		_cleanup_free_ char *dev = NULL, *addr = NULL;
		const char *network, *hwaddr, *ifname;

		if (n <= 5 || !streq(c->devices[i] + n - 5, ".type") ||
		    !streq(c->devices[i + 1], "nic"))
			continue;
		dev = strndup(c->devices[i], n - 5);
		if (!dev)
			return NULL;
		network = hull_instance_device_get(c, dev, "network");
		hwaddr = hull_instance_device_get(c, dev, "hwaddr");
		ifname = hull_instance_device_get(c, dev, "name");
		if (!network || !hwaddr ||
		    hull_network_lease_ipv4(h->fd, network, hwaddr, &addr) < 0)
			continue;
		if (hull_strv_consume(
			    &out, hull_strdup_printf("%s (%s)", addr, ifname ? ifname : dev)) < 0)
			return NULL;
	}
	return TAKE_PTR(out);
}
