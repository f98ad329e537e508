/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb hot-plug: the monitor listens to the kernel's uevents
 * (NETLINK_KOBJECT_UEVENT, group 1) and passes a USB device that appears on
 * the host into the instance when one of its usb devices matches it, and
 * takes its node out when it goes.  A uevent is a datagram
 * "ACTION@DEVPATH\0KEY=VALUE\0..."; only those sent with uid 0's
 * credentials count (the kernel's; a process needs CAP_NET_ADMIN over the
 * monitor's network namespace to multicast on this family at all).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "instance/device-internal.h"
#include "util/log.h"
#include "util/str.h"

#define UEVENT_MAX 8192

int instance_uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd, one = 1;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

struct uevent {
	const char *action, *subsystem, *devtype, *product;
	unsigned busnum, devnum, major, minor;
	bool has_node;
};

/* Splits buf[0..n) (NUL-terminated by the caller) into its fields. */
static bool uevent_parse(char *buf, size_t n, struct uevent *u)
{
	char *at = strchr(buf, '@');
	unsigned have = 0;

	if (!at)
		return false;
	*at = '\0';
	u->action = buf;
	for (char *p = buf + strlen(buf) + 1 + strlen(at + 1) + 1; p < buf + n;
	     p += strlen(p) + 1) {
		const char *v;

		if ((v = startswith(p, "SUBSYSTEM=")))
			u->subsystem = v;
		else if ((v = startswith(p, "DEVTYPE=")))
			u->devtype = v;
		else if ((v = startswith(p, "PRODUCT=")))
			u->product = v;
		else if ((v = startswith(p, "BUSNUM=")))
			have |= (hull_parse_u32(v, &u->busnum) >= 0) << 0;
		else if ((v = startswith(p, "DEVNUM=")))
			have |= (hull_parse_u32(v, &u->devnum) >= 0) << 1;
		else if ((v = startswith(p, "MAJOR=")))
			have |= (hull_parse_u32(v, &u->major) >= 0) << 2;
		else if ((v = startswith(p, "MINOR=")))
			have |= (hull_parse_u32(v, &u->minor) >= 0) << 3;
	}
	u->has_node = have == 0xf && u->busnum < 1000 && u->devnum < 1000;
	return u->subsystem && streq(u->subsystem, "usb") && u->devtype &&
	       streq(u->devtype, "usb_device") && u->product && u->has_node;
}

/* PRODUCT is "vendor/product/bcd" in hex without leading zeros. */
static bool usb_matches(const struct hull_instance_config *c, const char *dev,
			const struct uevent *u)
{
	const char *vendor = hull_instance_device_get(c, dev, "vendorid");
	const char *product = hull_instance_device_get(c, dev, "productid");
	unsigned long v, p;
	char *end = NULL;

	v = strtoul(u->product, &end, 16);
	if (*end != '/')
		return false;
	p = strtoul(end + 1, &end, 16);
	if (*end != '/' && *end != '\0')
		return false;
	return vendor && strtoul(vendor, NULL, 16) == v &&
	       (!product || strtoul(product, NULL, 16) == p);
}

static void usb_event(struct hull_home *h, const char *name, const struct hull_instance_config *c,
		      pid_t pid, const struct uevent *u)
{
	_cleanup_strv_free_ char **devs = instance_device_names(c);
	bool add = streq(u->action, "add"), mapped = instance_own_userns(pid);

	if (!devs || (!add && !streq(u->action, "remove")))
		return;
	hull_strv_foreach (dev, devs) {
		_cleanup_error_ struct hull_error *err = NULL;
		const char *type = hull_instance_device_get(c, dev, "type");
		struct device_node n = { .type = 'c', .major = u->major, .minor = u->minor };
		int r;

		if (!type || !streq(type, "usb") || !usb_matches(c, dev, u))
			continue;
		instance_device_node_owner(c, dev, &n);
		snprintf(n.path, sizeof(n.path), "/dev/bus/usb/%03u/%03u", u->busnum, u->devnum);
		if (add) {
			r = instance_device_set_rules(h, name, c, &n, &err);
			if (r >= 0)
				r = instance_device_node_plug(&n, pid, mapped ? c->uid_base : 0,
							      mapped ? c->gid_base : 0, &err);
		} else {
			r = instance_device_node_unplug(&n, pid, &err);
			if (r >= 0)
				r = instance_device_set_rules(h, name, c, NULL, &err);
		}
		if (r < 0)
			hull_warn("device '%s': %s '%s': %s", dev, u->action, n.path,
				  err ? err->msg : strerror(-r));
		else
			hull_info("device '%s': %s '%s'", dev, add ? "passed" : "took out", n.path);
		return;
	}
}

void instance_uevent_handle(struct hull_home *h, int dfd, const char *name, pid_t pid, int fd)
{
	for (;;) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
		char buf[UEVENT_MAX + 1];
		char cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { .iov_base = buf, .iov_len = UEVENT_MAX };
		struct msghdr m = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm;
		struct uevent u = {};
		ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

		if (n <= 0)
			return;
		cm = CMSG_FIRSTHDR(&m);
		if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_CREDENTIALS ||
		    ((struct ucred *)CMSG_DATA(cm))->uid != 0 || (m.msg_flags & MSG_TRUNC))
			continue;
		buf[n] = '\0';
		if (!uevent_parse(buf, (size_t)n, &u))
			continue;
		if (instance_config_load(dfd, &c, NULL) < 0)
			continue;
		usb_event(h, name, c, pid, &u);
	}
}
