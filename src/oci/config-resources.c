/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources, also parsed alone for `update --resources`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config-internal.h"
#include "oci/config.h"
#include "util/json.h"
#include "util/str.h"

/* An optional signed value that must be -1 (unlimited/unset) or more. */
static int parse_oi64_min1(const char *path, struct json_object *v, void *field,
			   struct hull_error **reterr)
{
	struct hull_oi64 *o = field;
	int64_t x;
	int r;

	r = hull_json_get_i64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x < -1)
		return hull_error_set(reterr, -ERANGE, "%s: must be -1 or greater", path);
	o->v = x;
	o->set = true;
	return 0;
}

static int parse_ou64_max(const char *path, struct json_object *v, uint64_t max,
			  struct hull_ou64 *o, struct hull_error **reterr)
{
	uint64_t x;
	int r;

	r = hull_json_get_u64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x > max)
		return hull_error_set(reterr, -ERANGE, "%s: must be between 0 and %" PRIu64, path,
				      max);
	o->v = x;
	o->set = true;
	return 0;
}

static int parse_ou16(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	return parse_ou64_max(path, v, UINT16_MAX, field, reterr);
}

static int parse_ou32(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	return parse_ou64_max(path, v, UINT32_MAX, field, reterr);
}

/* ---- devices (cgroup device rules) ------------------------------------ */

static int parse_rule_type(const char *path, struct json_object *v, void *field,
			   struct hull_error **reterr)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	s = json_object_get_string(v);
	if (strlen(s) != 1 || !strchr("acb", s[0]))
		return hull_error_set(reterr, -EINVAL,
				      "%s: unknown device type '%s' (must be a, c or b)", path, s);
	*(char *)field = s[0];
	return 0;
}

static int parse_rule_number(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	int64_t x;
	int r;

	r = hull_json_get_i64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x < -1 || x > UINT32_MAX)
		return hull_error_set(reterr, -ERANGE, "%s: must be -1 (any) or a device number",
				      path);
	*(int64_t *)field = x;
	return 0;
}

static int parse_rule_access(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	char *access = field;
	bool r = false, w = false, m = false;
	const char *s;
	size_t n = 0;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	s = json_object_get_string(v);
	for (const char *c = s; *c; c++) {
		switch (*c) {
		case 'r':
			r = true;
			break;
		case 'w':
			w = true;
			break;
		case 'm':
			m = true;
			break;
		default:
			return hull_error_set(reterr, -EINVAL,
					      "%s: invalid access '%s' (only 'r', 'w' and 'm')",
					      path, s);
		}
	}
	if (!r && !w && !m)
		r = w = m = true; /* empty means everything */
	/* canonical order, each letter once: fits access[4] whatever the input was */
	if (r)
		access[n++] = 'r';
	if (w)
		access[n++] = 'w';
	if (m)
		access[n++] = 'm';
	access[n] = '\0';
	return 0;
}

static const struct hull_json_field device_rule_table[] = {
	{ "allow", hull_json_parse_bool, offsetof(struct hull_oci_device_rule, allow), true },
	{ "type", parse_rule_type, offsetof(struct hull_oci_device_rule, type) },
	{ "major", parse_rule_number, offsetof(struct hull_oci_device_rule, major) },
	{ "minor", parse_rule_number, offsetof(struct hull_oci_device_rule, minor) },
	{ "access", parse_rule_access, offsetof(struct hull_oci_device_rule, access) },
	{},
};

static int parse_device_rule(const char *path, struct json_object *v, void *elem,
			     struct hull_error **reterr)
{
	struct hull_oci_device_rule *d = elem;

	d->type = 'a';
	d->major = d->minor = -1;
	strcpy(d->access, "rwm");
	return hull_json_dispatch(path, v, device_rule_table, d, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_device_rules, struct hull_oci_resources, devices, n_devices,
			    struct hull_oci_device_rule, parse_device_rule, NULL)

/* ---- memory ---------------------------------------------------------- */

static int parse_swappiness(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	struct hull_ou64 *o = field;
	uint64_t x;
	int r;

	r = hull_json_get_u64(path, v, &x, reterr);
	if (r < 0)
		return r;
	/* runc reads uint64(-1) as "kernel default" */
	if (x == UINT64_MAX) {
		o->set = false;
		return 0;
	}
	if (x > 100)
		return hull_error_set(reterr, -ERANGE, "%s: must be between 0 and 100", path);
	o->v = x;
	o->set = true;
	return 0;
}

static int parse_disable_oom_killer(const char *path, struct json_object *v, void *field,
				    struct hull_error **reterr)
{
	struct hull_oci_resources *res =
		container_of(field, struct hull_oci_resources, memory.disable_oom_killer);
	int r = hull_json_parse_bool(path, v, field, reterr);

	if (r < 0)
		return r;
	res->memory.disable_oom_killer_set = true;
	return 0;
}

static int parse_use_hierarchy(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	struct hull_oci_resources *res =
		container_of(field, struct hull_oci_resources, memory.use_hierarchy);
	int r = hull_json_parse_bool(path, v, field, reterr);

	if (r < 0)
		return r;
	res->memory.use_hierarchy_set = true;
	return 0;
}

#define MEM(f) offsetof(struct hull_oci_resources, memory.f)
static const struct hull_json_field memory_table[] = {
	{ "limit", parse_oi64_min1, MEM(limit) },
	{ "reservation", parse_oi64_min1, MEM(reservation) },
	{ "swap", parse_oi64_min1, MEM(swap) },
	{ "kernel", parse_oi64_min1, MEM(kernel) },
	{ "kernelTCP", parse_oi64_min1, MEM(kernel_tcp) },
	{ "swappiness", parse_swappiness, MEM(swappiness) },
	{ "disableOOMKiller", parse_disable_oom_killer, MEM(disable_oom_killer) },
	{ "useHierarchy", parse_use_hierarchy, MEM(use_hierarchy) },
	{ "checkBeforeUpdate", hull_json_parse_bool, MEM(check_before_update) },
	{},
};
#undef MEM

static int parse_memory(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	struct hull_oci_resources *res = container_of(field, struct hull_oci_resources, memory);

	return hull_json_dispatch(path, v, memory_table, res, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- cpu ------------------------------------------------------------- */

static int parse_cpu_idle(const char *path, struct json_object *v, void *field,
			  struct hull_error **reterr)
{
	struct hull_oi64 *o = field;
	int64_t x;
	int r;

	r = hull_json_get_i64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x != 0 && x != 1)
		return hull_error_set(reterr, -ERANGE, "%s: must be 0 or 1", path);
	o->v = x;
	o->set = true;
	return 0;
}

#define CPU(f) offsetof(struct hull_oci_resources, cpu.f)
static const struct hull_json_field cpu_table[] = {
	{ "shares", hull_oci_parse_ou64, CPU(shares) },
	{ "quota", parse_oi64_min1, CPU(quota) },
	{ "burst", hull_oci_parse_ou64, CPU(burst) },
	{ "period", hull_oci_parse_ou64, CPU(period) },
	{ "realtimeRuntime", parse_oi64_min1, CPU(realtime_runtime) },
	{ "realtimePeriod", hull_oci_parse_ou64, CPU(realtime_period) },
	{ "cpus", hull_json_parse_string, CPU(cpus) },
	{ "mems", hull_json_parse_string, CPU(mems) },
	{ "idle", parse_cpu_idle, CPU(idle) },
	{},
};
#undef CPU

static int parse_cpu(const char *path, struct json_object *v, void *field,
		     struct hull_error **reterr)
{
	struct hull_oci_resources *res = container_of(field, struct hull_oci_resources, cpu);

	return hull_json_dispatch(path, v, cpu_table, res, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- pids ------------------------------------------------------------ */

static const struct hull_json_field pids_table[] = {
	{ "limit", hull_oci_parse_oi64, offsetof(struct hull_oci_resources, pids.limit), true },
	{},
};

static int parse_pids(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	struct hull_oci_resources *res = container_of(field, struct hull_oci_resources, pids);

	return hull_json_dispatch(path, v, pids_table, res, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- blockIO --------------------------------------------------------- */

static const struct hull_json_field weight_device_table[] = {
	{ "major", hull_oci_parse_dev_major, offsetof(struct hull_oci_weight_device, major), true },
	{ "minor", hull_oci_parse_dev_minor, offsetof(struct hull_oci_weight_device, minor), true },
	{ "weight", parse_ou16, offsetof(struct hull_oci_weight_device, weight) },
	{ "leafWeight", parse_ou16, offsetof(struct hull_oci_weight_device, leaf_weight) },
	{},
};

static int parse_weight_device(const char *path, struct json_object *v, void *elem,
			       struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, weight_device_table, elem, HULL_JSON_ALLOW_UNKNOWN,
				  reterr);
}

static const struct hull_json_field throttle_device_table[] = {
	{ "major", hull_oci_parse_dev_major, offsetof(struct hull_oci_throttle_device, major),
	  true },
	{ "minor", hull_oci_parse_dev_minor, offsetof(struct hull_oci_throttle_device, minor),
	  true },
	{ "rate", hull_json_parse_u64, offsetof(struct hull_oci_throttle_device, rate), true },
	{},
};

static int parse_throttle_device(const char *path, struct json_object *v, void *elem,
				 struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, throttle_device_table, elem, HULL_JSON_ALLOW_UNKNOWN,
				  reterr);
}

static int parse_weight_devices(const char *path, struct json_object *v, void *field,
				struct hull_error **reterr)
{
	struct hull_oci_resources *res =
		container_of(field, struct hull_oci_resources, block_io.weight_device);

	return hull_oci_parse_array(
		path, v, sizeof(struct hull_oci_weight_device), parse_weight_device, NULL,
		(void **)&res->block_io.weight_device, &res->block_io.n_weight_device, reterr);
}

#define DEFINE_THROTTLE_FIELD(fn, kind)                                                          \
	static int fn(const char *path, struct json_object *v, void *field,                      \
		      struct hull_error **reterr)                                                \
	{                                                                                        \
		struct hull_oci_resources *res =                                                 \
			container_of(field, struct hull_oci_resources, block_io.throttle[kind]); \
		return hull_oci_parse_array(path, v, sizeof(struct hull_oci_throttle_device),    \
					    parse_throttle_device, NULL,                         \
					    (void **)&res->block_io.throttle[kind],              \
					    &res->block_io.n_throttle[kind], reterr);            \
	}

DEFINE_THROTTLE_FIELD(parse_throttle_read_bps, HULL_THROTTLE_READ_BPS)
DEFINE_THROTTLE_FIELD(parse_throttle_write_bps, HULL_THROTTLE_WRITE_BPS)
DEFINE_THROTTLE_FIELD(parse_throttle_read_iops, HULL_THROTTLE_READ_IOPS)
DEFINE_THROTTLE_FIELD(parse_throttle_write_iops, HULL_THROTTLE_WRITE_IOPS)

#define BLKIO(f) offsetof(struct hull_oci_resources, block_io.f)
static const struct hull_json_field block_io_table[] = {
	{ "weight", parse_ou16, BLKIO(weight) },
	{ "leafWeight", parse_ou16, BLKIO(leaf_weight) },
	{ "weightDevice", parse_weight_devices, BLKIO(weight_device) },
	{ "throttleReadBpsDevice", parse_throttle_read_bps,
	  BLKIO(throttle[HULL_THROTTLE_READ_BPS]) },
	{ "throttleWriteBpsDevice", parse_throttle_write_bps,
	  BLKIO(throttle[HULL_THROTTLE_WRITE_BPS]) },
	{ "throttleReadIOPSDevice", parse_throttle_read_iops,
	  BLKIO(throttle[HULL_THROTTLE_READ_IOPS]) },
	{ "throttleWriteIOPSDevice", parse_throttle_write_iops,
	  BLKIO(throttle[HULL_THROTTLE_WRITE_IOPS]) },
	{},
};
#undef BLKIO

static int parse_block_io(const char *path, struct json_object *v, void *field,
			  struct hull_error **reterr)
{
	struct hull_oci_resources *res = container_of(field, struct hull_oci_resources, block_io);

	return hull_json_dispatch(path, v, block_io_table, res, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- hugepageLimits -------------------------------------------------- */

/* "<number><unit>B" as the spec writes it: 64KB, 2MB, 1GB */
static bool page_size_valid(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	if (digits == 0 || digits > 10 || s[0] == '0')
		return false;
	s += digits;
	if (*s && strchr("KMGTP", *s))
		s++;
	return streq(s, "B");
}

static int parse_page_size(const char *path, struct json_object *v, void *field,
			   struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (!page_size_valid(json_object_get_string(v)))
		return hull_error_set(reterr, -EINVAL, "%s: invalid page size '%s'", path,
				      json_object_get_string(v));
	return hull_json_parse_string(path, v, field, reterr);
}

static const struct hull_json_field hugepage_table[] = {
	{ "pageSize", parse_page_size, offsetof(struct hull_oci_hugepage_limit, page_size), true },
	{ "limit", hull_json_parse_u64, offsetof(struct hull_oci_hugepage_limit, limit), true },
	{},
};

static int parse_hugepage_limit(const char *path, struct json_object *v, void *elem,
				struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, hugepage_table, elem, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

static void hugepage_limit_done(void *elem)
{
	free(((struct hull_oci_hugepage_limit *)elem)->page_size);
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_hugepage_limits, struct hull_oci_resources, hugepage_limits,
			    n_hugepage_limits, struct hull_oci_hugepage_limit, parse_hugepage_limit,
			    hugepage_limit_done)

/* ---- network --------------------------------------------------------- */

struct priority {
	char *name;
	uint32_t priority;
};

static const struct hull_json_field priority_table[] = {
	{ "name", hull_json_parse_string, offsetof(struct priority, name), true },
	{ "priority", hull_json_parse_u32, offsetof(struct priority, priority), true },
	{},
};

/* [{name, priority}] becomes a strv of alternating name, priority as text */
static int parse_priorities(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	char ***out = field;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return hull_json_type_error(path, "an array", reterr);
	hull_strv_free(*out);
	*out = calloc(1, sizeof(char *));
	if (!*out)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *sub = hull_json_path_index(path, i);
		struct priority p = {};
		char num[16];
		int r;

		if (!sub)
			return hull_error_errno(reterr, -ENOMEM, "%s", path);
		r = hull_json_dispatch(sub, json_object_array_get_idx(v, i), priority_table, &p,
				       HULL_JSON_ALLOW_UNKNOWN, reterr);
		if (r >= 0) {
			snprintf(num, sizeof(num), "%" PRIu32, p.priority);
			if (hull_strv_consume(out, p.name) < 0)
				r = hull_error_errno(reterr, -ENOMEM, "%s", path);
			else
				p.name = NULL;
			if (r >= 0 && hull_strv_push(out, num) < 0)
				r = hull_error_errno(reterr, -ENOMEM, "%s", path);
		}
		free(p.name);
		if (r < 0)
			return r;
	}
	return 0;
}

#define NET(f) offsetof(struct hull_oci_resources, network.f)
static const struct hull_json_field network_table[] = {
	{ "classID", parse_ou32, NET(class_id) },
	{ "priorities", parse_priorities, NET(priorities) },
	{},
};
#undef NET

static int parse_network(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	struct hull_oci_resources *res = container_of(field, struct hull_oci_resources, network);

	return hull_json_dispatch(path, v, network_table, res, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- the resources object -------------------------------------------- */

static const struct hull_json_field resources_table[] = {
	{ "devices", parse_device_rules, offsetof(struct hull_oci_resources, devices) },
	{ "memory", parse_memory, offsetof(struct hull_oci_resources, memory) },
	{ "cpu", parse_cpu, offsetof(struct hull_oci_resources, cpu) },
	{ "pids", parse_pids, offsetof(struct hull_oci_resources, pids) },
	{ "blockIO", parse_block_io, offsetof(struct hull_oci_resources, block_io) },
	{ "hugepageLimits", parse_hugepage_limits,
	  offsetof(struct hull_oci_resources, hugepage_limits) },
	{ "network", parse_network, offsetof(struct hull_oci_resources, network) },
	{ "unified", hull_json_parse_string_map, offsetof(struct hull_oci_resources, unified) },
	{},
};

void hull_oci_resources_free(struct hull_oci_resources *r)
{
	if (!r)
		return;
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	for (size_t k = 0; k < ELEMENTSOF(r->block_io.throttle); k++)
		free(r->block_io.throttle[k]);
	hull_oci_free_array(r->hugepage_limits, r->n_hugepage_limits,
			    sizeof(struct hull_oci_hugepage_limit), hugepage_limit_done);
	hull_strv_free(r->network.priorities);
	hull_strv_free(r->unified);
	free(r);
}

int hull_oci_parse_resources_field(const char *path, struct json_object *v, void *field,
				   struct hull_error **reterr)
{
	struct hull_oci_resources **rp = field;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(*path ? path : "document", "an object", reterr);
	hull_oci_resources_free(*rp);
	*rp = calloc(1, sizeof(**rp));
	if (!*rp)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	return hull_json_dispatch(path, v, resources_table, *rp, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

int hull_oci_resources_parse(const char *text, size_t len, struct hull_oci_resources **ret,
			     struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *obj = NULL;
	_cleanup_(hull_oci_resources_freep) struct hull_oci_resources *res = NULL;
	int r;

	r = hull_json_parse(text, len, "resources", &obj, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	/* paths are relative to the object itself: "memory.limit" */
	r = hull_oci_parse_resources_field("", obj, &res, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	*ret = TAKE_PTR(res);
	return 0;
}
