/* SPDX-License-Identifier: Apache-2.0 */
/* hull config set|unset: one key of instance.json, limits applied live. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance/instance-internal.h"
#include "oci/config.h"
#include "util/file.h"
#include "util/str.h"

/* The cgroup change for `key` set to `value` (NULL: unlimited). */
static int limit_resources(const char *key, const char *value, struct hull_oci_resources *res)
{
	uint64_t v = 0;

	if (streq(key, "limits.memory")) {
		struct hull_instance_config one = { .config = (char *[]){ (char *)key,
									  (char *)value, NULL } };

		res->memory.limit.set = true;
		res->memory.limit.v = value ? (int64_t)instance_memory_limit(&one) : -1;
		if (res->memory.limit.v == 0)
			return -EINVAL;
		return 1;
	}
	if (streq(key, "limits.processes")) {
		if (value && hull_parse_u64(value, &v) < 0)
			return -EINVAL;
		res->pids.limit.set = true;
		res->pids.limit.v = value ? (int64_t)v : 0; /* 0: unlimited ("max") */
		return 1;
	}
	if (streq(key, "limits.cpu")) {
		if (value && instance_parse_cpus(value, &v) < 0)
			return -EINVAL;
		res->cpu.period.set = true;
		res->cpu.period.v = INSTANCE_CPU_PERIOD_US;
		res->cpu.quota.set = true;
		res->cpu.quota.v = value ? (int64_t)(v * INSTANCE_CPU_PERIOD_US / 1000) : -1;
		return 1;
	}
	return 0;
}

static const char *const live_keys[] = { "limits.memory", "limits.processes", "limits.cpu" };

int instance_apply_live(struct hull_home *h, int dirfd, const char *name,
			const struct hull_instance_config *old_eff,
			const struct hull_instance_config *new_eff, struct hull_error **reterr)
{
	struct hull_oci_resources res = {};
	char keys[64] = "";
	int r;

	if (!instance_monitor_alive(dirfd))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(live_keys); i++) {
		const char *a = hull_instance_config_get(old_eff, live_keys[i]);
		const char *b = hull_instance_config_get(new_eff, live_keys[i]);

		if ((!a && !b) || (a && b && streq(a, b)))
			continue;
		r = limit_resources(live_keys[i], b, &res);
		if (r < 0)
			return hull_error_set(reterr, -EINVAL, "%s: bad value '%s'", live_keys[i],
					      b);
		/* the keys changed, for the message: "limits.memory, limits.cpu" */
		snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s",
			 keys[0] ? ", " : "", live_keys[i]);
	}
	if (!keys[0])
		return 0;
	r = hull_container_update(&h->rt, name, &res, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "apply %s to '%s'", keys, name);
	return 0;
}

int hull_instance_config_update(struct hull_home *h, const char *name, const char *key,
				const char *value, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL, *old = NULL,
									  *new = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	int r;

	if (value) {
		r = hull_instance_key_check(key, value, reterr);
		if (r < 0)
			return r;
	} else if (!hull_instance_key_known(key)) {
		/* the same message as for set */
		return hull_instance_key_check(key, "", reterr);
	}
	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return hull_error_wrap(reterr, lock, "config '%s'", name);
	r = instance_config_load(dfd, &c, reterr);
	if (r >= 0)
		r = hull_instance_config_expand(h, c, &old, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "config '%s'", name);
	if (value)
		r = hull_instance_config_set(c, key, value);
	else if (!hull_instance_config_unset(c, key))
		return 0; /* not set: nothing to do */
	if (r < 0)
		return r;
	/* live first: a limit the kernel refuses is not recorded; an own key
	 * removed falls back to what the profiles say */
	r = hull_instance_config_expand(h, c, &new, reterr);
	if (r >= 0)
		r = instance_apply_live(h, dfd, name, old, new, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "config '%s'", name);
	return instance_config_save(dfd, c, reterr);
}
