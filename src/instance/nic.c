/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An instance's nics at start: the ifupdown stanzas its distro reads
 * (written into the rootfs before the container starts) and the veths,
 * plugged into the container's fresh network namespace by a createRuntime
 * hook (`hull __nic-hook`), which runs in hull's own namespace while the
 * container waits.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "instance/instance-internal.h"
#include "linux/rootfs.h"
#include "net/network.h"
#include "net/nft.h"
#include "net/tc.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define IFUPDOWN_FILE "hull-nics"

/* The devices of c that are nics: their names (a strv). */
static char **nic_devices(const struct hull_instance_config *c)
{
	_cleanup_strv_free_ char **devs = calloc(1, sizeof(char *));

	if (!devs)
		return NULL;
	for (size_t i = 0; c->devices && c->devices[i]; i += 2) {
		size_t n = strlen(c->devices[i]);

		if (n > 5 && streq(c->devices[i] + n - 5, ".type") &&
		    streq(c->devices[i + 1], "nic")) {
			if (hull_strv_consume(&devs, strndup(c->devices[i], n - 5)) < 0)
				return NULL;
		}
	}
	return TAKE_PTR(devs);
}

bool instance_has_nics(const struct hull_instance_config *c)
{
	_cleanup_strv_free_ char **devs = nic_devices(c);

	return devs && devs[0];
}

int instance_nics_write_config(int dfd, const struct hull_instance_config *c, bool privileged,
			       struct hull_error **reterr)
{
	_cleanup_strv_free_ char **devs = nic_devices(c);
	_cleanup_close_ int root = -EBADF, dir = -EBADF, fd = -EBADF;
	_cleanup_free_ char *text =
		strdup("# written by hull at each start: the instance's nics\n");
	uid_t uid = privileged ? 0 : c->uid_base;
	gid_t gid = privileged ? 0 : c->gid_base;
	int r;

	if (!devs || !text)
		return -ENOMEM;
	root = openat(dfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return hull_error_errno(reterr, -errno, "open the rootfs");
	/* only where the distro uses ifupdown (Debian's images do) */
	dir = hull_open_in_root(root, "etc/network/interfaces.d", O_RDONLY | O_DIRECTORY, NULL);
	if (dir < 0)
		return 0;
	if (!devs[0]) {
		if (unlinkat(dir, IFUPDOWN_FILE, 0) < 0 && errno != ENOENT)
			return hull_error_errno(reterr, -errno, "remove the nic configuration");
		return 0;
	}
	hull_strv_foreach (dev, devs) {
		const char *ifname = hull_instance_device_get(c, dev, "name");
		char *more = hull_strdup_printf("%sauto %s\niface %s inet dhcp\n", text,
						ifname ? ifname : dev, ifname ? ifname : dev);

		if (!more)
			return -ENOMEM;
		free(text);
		text = more;
	}
	/* the directory is the instance's: whatever it left at the temporary name (a
	 * FIFO would block the open, a symlink would redirect it) is removed and the
	 * file made afresh */
	if (unlinkat(dir, ".hull-nics.tmp", 0) < 0 && errno != ENOENT && errno != EISDIR)
		return hull_error_errno(reterr, -errno, "write the nic configuration");
	fd = openat(dir, ".hull-nics.tmp",
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "write the nic configuration");
	r = hull_write_all(fd, text, strlen(text));
	if (r >= 0 && (fchown(fd, uid, gid) < 0 || fchmod(fd, 0644) < 0))
		r = -errno;
	if (r >= 0 && renameat(dir, ".hull-nics.tmp", dir, IFUPDOWN_FILE) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir, ".hull-nics.tmp", 0);
		return hull_error_errno(reterr, r, "write the nic configuration");
	}
	return 0;
}

static bool key_true(const struct hull_instance_config *c, const char *dev, const char *key)
{
	const char *v = hull_instance_device_get(c, dev, key);

	return v && streq(v, "true");
}

/* The nic's anti-spoofing filters (security.mac_filtering, security.ipv4_filtering). */
static int nic_filter(const struct hull_instance_config *c, const char *dev, const char *host,
		      const char *hwaddr, struct hull_error **reterr)
{
	bool mac = key_true(c, dev, "security.mac_filtering");
	bool ip4 = key_true(c, dev, "security.ipv4_filtering");

	if (!mac && !ip4)
		return hull_nft_nic_filter_remove(host, reterr);
	return hull_nft_nic_filter_apply(
		host, mac ? hwaddr : NULL,
		ip4 ? hull_instance_device_get(c, dev, "ipv4.address") : NULL, reterr);
}

/* The nic's bandwidth limits (limits.ingress, limits.egress) on its host veth. */
static int nic_limits(const struct hull_instance_config *c, const char *dev, const char *host,
		      struct hull_error **reterr)
{
	const char *in = hull_instance_device_get(c, dev, "limits.ingress");
	const char *out = hull_instance_device_get(c, dev, "limits.egress");
	uint64_t ingress = 0, egress = 0;

	/* checked when the device was added: a bad value here was written by hand */
	if (in && hull_tc_rate_parse(in, &ingress) < 0)
		return hull_error_set(reterr, -EINVAL, "limits.ingress: bad rate '%s'", in);
	if (out && hull_tc_rate_parse(out, &egress) < 0)
		return hull_error_set(reterr, -EINVAL, "limits.egress: bad rate '%s'", out);
	return hull_tc_nic_limits(host, ingress, egress, reterr);
}

/* A macvlan on the host's `parent`, made in the container's namespace and brought up. */
static int macvlan_attach(const struct hull_instance_config *c, const char *dev, int netns,
			  const char *ifname, const char *hwaddr, struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL, *inner = NULL;
	const char *parent = hull_instance_device_get(c, dev, "parent");
	uint8_t m[HULL_MAC_LEN];
	int r;

	if (!parent || !hwaddr || hull_mac_parse(hwaddr, m) < 0)
		return hull_error_set(reterr, -EINVAL, "no parent or hwaddr");
	r = hull_nl_open(-1, &nl, reterr);
	if (r >= 0)
		r = hull_nl_open(netns, &inner, reterr);
	if (r >= 0)
		r = hull_link_add_macvlan(nl, ifname, parent, netns, m, reterr);
	if (r >= 0)
		r = hull_link_set_up(inner, ifname, true, reterr);
	return r;
}

/* The host's interface `parent` moved into the container's namespace as `ifname`, up. */
static int physical_attach(const struct hull_instance_config *c, const char *dev, int netns,
			   const char *ifname, struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL, *inner = NULL;
	const char *parent = hull_instance_device_get(c, dev, "parent");
	int r;

	if (!parent)
		return hull_error_set(reterr, -EINVAL, "no parent");
	r = hull_nl_open(-1, &nl, reterr);
	if (r >= 0)
		r = hull_nl_open(netns, &inner, reterr);
	if (r >= 0)
		r = hull_link_set_netns(nl, parent, netns, ifname, reterr);
	if (r >= 0)
		r = hull_link_set_up(inner, ifname, true, reterr);
	return r;
}

int instance_nics_return(const struct hull_instance_config *c, int netns_fd,
			 struct hull_error **reterr)
{
	_cleanup_strv_free_ char **devs = nic_devices(c);
	_cleanup_nl_ struct hull_nl *inner = NULL;
	_cleanup_close_ int self = -EBADF;
	int r, ret = 0;

	if (!devs)
		return -ENOMEM;
	hull_strv_foreach (dev, devs) {
		const char *parent = hull_instance_device_get(c, dev, "parent");
		const char *ifname = hull_instance_device_get(c, dev, "name");

		if (!streq_ptr(hull_instance_device_get(c, dev, "nictype"), "physical") || !parent)
			continue;
		if (!inner) {
			self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
			if (self < 0)
				return hull_error_errno(reterr, -errno, "open the own namespace");
			r = hull_nl_open(netns_fd, &inner, reterr);
			if (r < 0)
				return r;
		}
		/* down first: it comes back as the host left it, not as the instance did */
		(void)hull_link_set_up(inner, ifname ? ifname : dev, false, NULL);
		r = hull_link_set_netns(inner, ifname ? ifname : dev, self, parent, reterr);
		if (r < 0 && ret == 0)
			ret = hull_error_wrap(reterr, r, "give '%s' back", parent);
	}
	return ret;
}

void instance_nics_stopped(const struct hull_instance_config *c)
{
	_cleanup_strv_free_ char **devs = nic_devices(c);

	hull_strv_foreach (dev, devs) {
		char host[16];

		hull_network_host_ifname(c->name, dev, host);
		(void)hull_nft_nic_filter_remove(host, NULL);
		hull_tc_nic_limits_remove(host);
	}
}

int hull_instance_nic_hook(const char *state_json, size_t len, struct hull_error **reterr)
{
	_cleanup_(hull_home_freep) struct hull_home *h = NULL;
	_cleanup_free_ char *bundle_owned = NULL;
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_strv_free_ char **devs = NULL;
	_cleanup_close_ int dfd = -EBADF, netns = -EBADF;
	char bundle[PATH_MAX], state_dir[PATH_MAX], path[64];
	const char *name;
	int r, pid;

	r = instance_hook_state(state_json, len, &pid, &bundle_owned, reterr);
	if (r < 0)
		return r;
	if (snprintf(bundle, sizeof(bundle), "%s", bundle_owned) >= (int)sizeof(bundle))
		return hull_error_set(reterr, -EINVAL, "state.bundle: too long");
	/* the bundle is <state>/instances/NAME */
	name = strrchr(bundle, '/');
	if (!name || name == bundle)
		return hull_error_set(reterr, -EINVAL, "state.bundle: '%s' is no instance", bundle);
	name++;
	snprintf(state_dir, sizeof(state_dir), "%.*s", (int)(name - 1 - bundle), bundle);
	r = hull_home_open(dirname(state_dir), &h, reterr);
	if (r < 0)
		return r;
	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	r = instance_config_load(dfd, &c, reterr);
	if (r < 0)
		return r;
	devs = nic_devices(c);
	if (!devs)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	netns = open(path, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", path);
	hull_strv_foreach (dev, devs) {
		const char *network = hull_instance_device_get(c, dev, "network");
		const char *hwaddr = hull_instance_device_get(c, dev, "hwaddr");
		const char *ifname = hull_instance_device_get(c, dev, "name");
		char host[16];

		if (streq_ptr(hull_instance_device_get(c, dev, "nictype"), "physical")) {
			r = physical_attach(c, dev, netns, ifname ? ifname : dev, reterr);
			if (r < 0)
				return hull_error_wrap(reterr, r, "device '%s'", dev);
			continue;
		}
		if (streq_ptr(hull_instance_device_get(c, dev, "nictype"), "macvlan")) {
			r = macvlan_attach(c, dev, netns, ifname ? ifname : dev, hwaddr, reterr);
			if (r < 0)
				return hull_error_wrap(reterr, r, "device '%s'", dev);
			continue;
		}
		if (!network || !hwaddr)
			return hull_error_set(reterr, -EINVAL, "device '%s': no network or hwaddr",
					      dev);
		hull_network_host_ifname(name, dev, host);
		r = hull_network_host_add(h->fd, network, hwaddr, name,
					  hull_instance_device_get(c, dev, "ipv4.address"), reterr);
		if (r >= 0)
			r = hull_network_nic_attach(h->fd, network, netns, host,
						    ifname ? ifname : dev, hwaddr, reterr);
		if (r >= 0)
			r = nic_filter(c, dev, host, hwaddr, reterr);
		if (r >= 0)
			r = nic_limits(c, dev, host, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "device '%s'", dev);
	}
	return 0;
}
