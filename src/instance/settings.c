/* SPDX-License-Identifier: Apache-2.0 */
/* hull config set|unset: one key of instance.json, limits applied live. */
#include <errno.h>
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

int hull_instance_config_update(struct hull_home *h, const char *name, const char *key,
				const char *value, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	_cleanup_free_ char *text = NULL;
	struct hull_oci_resources res = {};
	int r;

	if (value) {
		r = hull_instance_key_check(key, value, reterr);
		if (r < 0)
			return r;
	} else if (!startswith(key, "user.") && !streq(key, "limits.memory") &&
		   !streq(key, "limits.processes") && !streq(key, "limits.cpu") &&
		   !streq(key, "security.privileged")) {
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
	if (r < 0)
		return hull_error_wrap(reterr, r, "config '%s'", name);
	if (value)
		r = hull_instance_config_set(c, key, value);
	else if (!hull_instance_config_unset(c, key))
		return 0; /* not set: nothing to do */
	if (r < 0)
		return r;

	/* live first: a limit the kernel refuses is not recorded */
	r = limit_resources(key, value, &res);
	if (r < 0)
		return hull_error_set(reterr, -EINVAL, "%s: bad value '%s'", key, value);
	if (r > 0 && instance_monitor_alive(dfd)) {
		r = hull_container_update(&h->rt, name, &res, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "apply %s to '%s'", key, name);
	}
	text = hull_instance_config_format(c);
	if (!text)
		return -ENOMEM;
	r = hull_write_file_atomic_at(dfd, "instance.json", text, strlen(text), 0600,
				      HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "config '%s': write 'instance.json'", name);
	return 0;
}
