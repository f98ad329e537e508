/* SPDX-License-Identifier: Apache-2.0 */
/* The order of `hull start --all [--autostart]` (boot.autostart.* keys, as LXD has them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "instance/instance-internal.h"
#include "util/str.h"

struct entry {
	const char *name;
	int priority;
	unsigned delay;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

int hull_instance_autostart_order(struct hull_home *h, bool autostart_only, char ***ret_names,
				  unsigned **ret_delays, struct hull_error **reterr)
{
	struct hull_instance_info **l = NULL;
	_cleanup_free_ struct entry *e = NULL;
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ unsigned *delays = NULL;
	size_t n = 0, k = 0;
	int r = hull_instance_list(h, &l, &n, reterr);

	if (r < 0)
		return r;
	e = calloc(n + 1, sizeof(*e));
	delays = calloc(n + 1, sizeof(*delays));
	names = calloc(n + 1, sizeof(char *));
	if (!e || !delays || !names) {
		hull_instance_info_list_free(l, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
		const char *v;
		uint32_t d = 0;

		/* the effective config: profiles, then the instance's own keys */
		if (hull_instance_config_expand(h, l[i]->config, &c, NULL) < 0)
			continue;
		v = hull_instance_config_get(c, "boot.autostart");
		if (autostart_only && !(v && streq(v, "true")))
			continue;
		e[k].name = l[i]->config->name;
		v = hull_instance_config_get(c, "boot.autostart.priority");
		if (autostart_only && v)
			hull_parse_int(v, &e[k].priority);
		v = hull_instance_config_get(c, "boot.autostart.delay");
		if (v && hull_parse_u32(v, &d) >= 0)
			e[k].delay = d;
		k++;
	}
	qsort(e, k, sizeof(*e), cmp_entry);
	for (size_t i = 0; i < k; i++) {
		names[i] = strdup(e[i].name);
		delays[i] = e[i].delay;
		if (!names[i]) {
			hull_instance_info_list_free(l, n);
			return -ENOMEM;
		}
	}
	hull_instance_info_list_free(l, n);
	*ret_names = TAKE_PTR(names);
	*ret_delays = TAKE_PTR(delays);
	return 0;
}
