/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device cgroup rules every container gets, as runc adds them: mknod of
 * any node (the cgroup still gates opening it), the standard devices, the
 * pty devices and /dev/net/tun.  They come after the config's own rules, so
 * the config cannot lock a container out of /dev/null.  linux.devices get no
 * rule of their own: as with runc, the config allows what it wants opened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime-internal.h"

static const struct hull_oci_device_rule defaults[] = {
	{ true, 'c', -1, -1, "m" },    { true, 'b', -1, -1, "m" }, /* mknod anything */
	{ true, 'c', 1, 3, "rwm" },    { true, 'c', 1, 8, "rwm" }, /* null, random */
	{ true, 'c', 1, 7, "rwm" },    { true, 'c', 5, 0, "rwm" }, /* full, tty */
	{ true, 'c', 1, 5, "rwm" },    { true, 'c', 1, 9, "rwm" }, /* zero, urandom */
	{ true, 'c', 136, -1, "rwm" }, { true, 'c', 5, 2, "rwm" }, /* pts, ptmx */
	{ true, 'c', 10, 200, "rwm" },				   /* tun */
};

static int cmp_rule(const void *a, const void *b)
{
	const struct hull_oci_device_rule *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->major != y->major)
		return x->major < y->major ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor < y->minor ? -1 : 1;
	return 0;
}

int runtime_add_default_device_rules(struct hull_oci_config *c)
{
	struct hull_oci_linux *lc = c->linux_config;
	struct hull_oci_resources *res;
	struct hull_oci_device_rule *rules;
	bool only_allows = true;
	size_t n;

	if (!lc->resources) {
		lc->resources = calloc(1, sizeof(*lc->resources));
		if (!lc->resources)
			return -ENOMEM;
	}
	res = lc->resources;
	n = res->n_devices + ELEMENTSOF(defaults);
	rules = realloc(res->devices, n * sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	memcpy(rules + res->n_devices, defaults, sizeof(defaults));
	res->devices = rules;
	res->n_devices = n;
	/*
	 * "deny everything, then allow these" (what engines send) is a set, not a
	 * sequence: write it sorted like runc, so devices.list reads the same.
	 */
	for (size_t i = 1; i < n; i++)
		if (!rules[i].allow)
			only_allows = false;
	if (only_allows && !rules[0].allow && rules[0].type == 'a')
		qsort(rules + 1, n - 1, sizeof(*rules), cmp_rule);
	return 0;
}
