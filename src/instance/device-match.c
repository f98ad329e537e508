/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host device nodes a device stands for.  unix-char/unix-block name one
 * (a host node, or major/minor); gpu and usb devices are matched in sysfs:
 *   gpu: /sys/class/drm/{cardN,renderDN}, whose `device` link leads to the
 *        PCI device (its `vendor`, `device` and directory name, the PCI
 *        address); the node is /dev/dri/NAME with the number in `dev`.  An
 *        NVIDIA GPU (vendor 10de) also brings /dev/nvidiactl, nvidia-uvm,
 *        nvidia-uvm-tools, nvidia-modeset and /dev/nvidiaN when the host has them.
 *   usb: /sys/bus/usb/devices/NAME with idVendor/idProduct (USB devices, not
 *        their interfaces); the node is /dev/bus/usb/BUS/DEV.
 * $HULL_SYSFS_ROOT and $HULL_DEV_ROOT, used by tests only, replace /sys and
 * /dev, so matching runs against a tree a test made.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "instance/device-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static const char *sysfs_root(void)
{
	const char *s = getenv("HULL_SYSFS_ROOT");

	return s && *s ? s : "/sys";
}

static const char *dev_root(void)
{
	const char *s = getenv("HULL_DEV_ROOT");

	return s && *s ? s : "/dev";
}

/* The first line of dir/name (no newline) in buf; -errno when unreadable. */
static int read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* "MAJOR:MINOR" of dir/dev */
static int read_devnum(const char *dir, unsigned *ret_major, unsigned *ret_minor)
{
	char buf[32];
	int r = read_line(dir, "dev", buf, sizeof(buf));

	if (r < 0)
		return r;
	return sscanf(buf, "%u:%u", ret_major, ret_minor) == 2 ? 0 : -EBADMSG;
}

/* "0x10de" or "10de" against the user's "10DE" */
static bool id_matches(const char *want, const char *have)
{
	if (!want)
		return true;
	if (startswith(have, "0x"))
		have += 2;
	return strcasecmp(want, have) == 0;
}

struct node_list {
	struct device_node *v;
	size_t n;
};

static int node_push(struct node_list *l, const struct device_node *n)
{
	struct device_node *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[l->n++] = *n;
	l->v = v;
	return 0;
}

void instance_device_node_owner(const struct hull_instance_config *c, const char *dev,
				struct device_node *n)
{
	const char *uid = hull_instance_device_get(c, dev, "uid");
	const char *gid = hull_instance_device_get(c, dev, "gid");
	const char *mode = hull_instance_device_get(c, dev, "mode");

	n->uid = 0;
	n->gid = 0;
	n->mode = 0660;
	if (uid)
		hull_parse_u32(uid, &n->uid);
	if (gid)
		hull_parse_u32(gid, &n->gid);
	if (mode)
		n->mode = (mode_t)strtoul(mode, NULL, 8);
}

static int unix_nodes(const struct hull_instance_config *c, const char *dev, bool block,
		      struct node_list *l, struct hull_error **reterr)
{
	const char *source = hull_instance_device_get(c, dev, "source");
	const char *path = hull_instance_device_get(c, dev, "path");
	struct device_node n = { .type = block ? 'b' : 'c' };
	struct stat st;

	instance_device_node_owner(c, dev, &n);
	if (source) {
		if (stat(source, &st) < 0)
			return hull_error_errno(reterr, -errno, "source '%s'", source);
		if (block ? !S_ISBLK(st.st_mode) : !S_ISCHR(st.st_mode))
			return hull_error_set(reterr, -EINVAL, "source '%s' is not a %s device",
					      source, block ? "block" : "character");
		n.major = major(st.st_rdev);
		n.minor = minor(st.st_rdev);
	} else {
		hull_parse_u32(hull_instance_device_get(c, dev, "major"), &n.major);
		hull_parse_u32(hull_instance_device_get(c, dev, "minor"), &n.minor);
	}
	snprintf(n.path, sizeof(n.path), "%s", path ? path : source);
	return node_push(l, &n);
}

/* The NVIDIA nodes the host has (char devices under $HULL_DEV_ROOT). */
static int nvidia_nodes(const struct hull_instance_config *c, const char *dev, struct node_list *l)
{
	_cleanup_(closedirp) DIR *d = opendir(dev_root());
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct device_node n = { .type = 'c' };
		char path[PATH_MAX];
		struct stat st;
		int r;

		if (!startswith(e->d_name, "nvidia") || strchr(e->d_name, '.'))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dev_root(), e->d_name) >=
			    (int)sizeof(path) ||
		    snprintf(n.path, sizeof(n.path), "/dev/%s", e->d_name) >= (int)sizeof(n.path) ||
		    stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		instance_device_node_owner(c, dev, &n);
		n.major = major(st.st_rdev);
		n.minor = minor(st.st_rdev);
		r = node_push(l, &n);
		if (r < 0)
			return r;
	}
	return 0;
}

static int gpu_nodes(const struct hull_instance_config *c, const char *dev, struct node_list *l,
		     struct hull_error **reterr)
{
	const char *vendor = hull_instance_device_get(c, dev, "vendorid");
	const char *product = hull_instance_device_get(c, dev, "productid");
	const char *pci = hull_instance_device_get(c, dev, "pci");
	_cleanup_free_ char *drm = hull_strdup_printf("%s/class/drm", sysfs_root());
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *e;
	bool nvidia = false;
	int r;

	if (!drm)
		return -ENOMEM;
	d = opendir(drm);
	while (d && (e = readdir(d))) {
		char dir[PATH_MAX], link[PATH_MAX], real[PATH_MAX], v[32], p[32];
		struct device_node n = { .type = 'c' };
		const char *addr;

		if (!(startswith(e->d_name, "card") || startswith(e->d_name, "renderD")) ||
		    strchr(e->d_name, '-'))
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s", drm, e->d_name) >= (int)sizeof(dir) ||
		    snprintf(link, sizeof(link), "%s/device", dir) >= (int)sizeof(link) ||
		    snprintf(n.path, sizeof(n.path), "/dev/dri/%s", e->d_name) >=
			    (int)sizeof(n.path))
			continue;
		if (!realpath(link, real) || read_line(real, "vendor", v, sizeof(v)) < 0 ||
		    read_line(real, "device", p, sizeof(p)) < 0)
			continue;
		addr = strrchr(real, '/') + 1;
		if (!id_matches(vendor, v) || !id_matches(product, p) || (pci && !streq(pci, addr)))
			continue;
		if (read_devnum(dir, &n.major, &n.minor) < 0)
			continue;
		instance_device_node_owner(c, dev, &n);
		r = node_push(l, &n);
		if (r < 0)
			return r;
		nvidia = nvidia || id_matches("10de", v);
	}
	if (l->n == 0)
		return hull_error_set(reterr, -ENODEV, "gpu: no GPU%s%s%s%s%s%s matches in '%s'",
				      vendor ? " vendorid=" : "", vendor ? vendor : "",
				      product ? " productid=" : "", product ? product : "",
				      pci ? " pci=" : "", pci ? pci : "", drm);
	return nvidia ? nvidia_nodes(c, dev, l) : 0;
}

static int usb_nodes(const struct hull_instance_config *c, const char *dev, struct node_list *l)
{
	const char *vendor = hull_instance_device_get(c, dev, "vendorid");
	const char *product = hull_instance_device_get(c, dev, "productid");
	_cleanup_free_ char *bus = hull_strdup_printf("%s/bus/usb/devices", sysfs_root());
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *e;
	int r;

	if (!bus)
		return -ENOMEM;
	d = opendir(bus);
	while (d && (e = readdir(d))) {
		char dir[PATH_MAX], v[32], p[32], b[16], dn[16];
		struct device_node n = { .type = 'c' };
		unsigned busnum, devnum;

		if (e->d_name[0] == '.' || strchr(e->d_name, ':'))
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s", bus, e->d_name) >= (int)sizeof(dir))
			continue;
		if (read_line(dir, "idVendor", v, sizeof(v)) < 0 ||
		    read_line(dir, "idProduct", p, sizeof(p)) < 0 || !id_matches(vendor, v) ||
		    !id_matches(product, p))
			continue;
		if (read_line(dir, "busnum", b, sizeof(b)) < 0 ||
		    read_line(dir, "devnum", dn, sizeof(dn)) < 0 ||
		    hull_parse_u32(b, &busnum) < 0 || hull_parse_u32(dn, &devnum) < 0 ||
		    read_devnum(dir, &n.major, &n.minor) < 0)
			continue;
		instance_device_node_owner(c, dev, &n);
		snprintf(n.path, sizeof(n.path), "/dev/bus/usb/%03u/%03u", busnum, devnum);
		r = node_push(l, &n);
		if (r < 0)
			return r;
	}
	return 0;
}

int instance_device_nodes(const struct hull_instance_config *c, const char *dev,
			  struct device_node **ret, size_t *ret_n, struct hull_error **reterr)
{
	const char *type = hull_instance_device_get(c, dev, "type");
	struct node_list l = {};
	int r = 0;

	if (!type)
		return hull_error_set(reterr, -ENOENT, "no device '%s'", dev);
	if (streq(type, "unix-char") || streq(type, "unix-block"))
		r = unix_nodes(c, dev, streq(type, "unix-block"), &l, reterr);
	else if (streq(type, "gpu"))
		r = gpu_nodes(c, dev, &l, reterr);
	else if (streq(type, "usb"))
		r = usb_nodes(c, dev, &l);
	if (r < 0) {
		free(l.v);
		return r == -ENOMEM ? hull_error_errno(reterr, r, "device '%s'", dev) : r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

int instance_device_rules(const struct hull_instance_config *c, struct hull_oci_device_rule **ret,
			  size_t *ret_n, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **devs = instance_device_names(c);
	_cleanup_free_ struct hull_oci_device_rule *rules = NULL;
	size_t n = 0;

	if (!devs)
		return hull_error_errno(reterr, -ENOMEM, "device rules");
	hull_strv_foreach (dev, devs) {
		_cleanup_free_ struct device_node *nodes = NULL;
		const char *type = hull_instance_device_get(c, dev, "type");
		struct hull_oci_device_rule *more;
		size_t n_nodes = 0;
		int r;

		if (!type || streq(type, "nic") || streq(type, "disk") ||
		    !instance_device_type_known(type))
			continue;
		r = instance_device_nodes(c, dev, &nodes, &n_nodes, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "device '%s'", dev);
		more = realloc(rules, (n + n_nodes) * sizeof(*rules) + 1);
		if (!more)
			return hull_error_errno(reterr, -ENOMEM, "device rules");
		rules = more;
		for (size_t i = 0; i < n_nodes; i++)
			rules[n++] =
				(struct hull_oci_device_rule){ true, nodes[i].type, nodes[i].major,
							       nodes[i].minor, "rwm" };
	}
	*ret = TAKE_PTR(rules);
	*ret_n = n;
	return 0;
}

int instance_device_rules_json(const struct hull_instance_config *c, struct json_object *oci,
			       struct hull_error **reterr)
{
	_cleanup_free_ struct hull_oci_device_rule *rules = NULL;
	struct json_object *linux_, *res, *list;
	size_t n = 0;
	int r;

	r = instance_device_rules(c, &rules, &n, reterr);
	if (r < 0 || n == 0)
		return r;
	if (!json_object_object_get_ex(oci, "linux", &linux_) ||
	    !json_object_object_get_ex(linux_, "resources", &res))
		return hull_error_set(reterr, -EINVAL, "config.json: no linux.resources");
	list = json_object_new_array();
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char type[2] = { rules[i].type, '\0' };

		if (!o) {
			json_object_put(list);
			return -ENOMEM;
		}
		json_object_object_add(o, "allow", json_object_new_boolean(true));
		json_object_object_add(o, "type", json_object_new_string(type));
		json_object_object_add(o, "major", json_object_new_int64(rules[i].major));
		json_object_object_add(o, "minor", json_object_new_int64(rules[i].minor));
		json_object_object_add(o, "access", json_object_new_string("rwm"));
		json_object_array_add(list, o);
	}
	json_object_object_add(res, "devices", list);
	return 0;
}
