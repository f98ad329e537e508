/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: checking linux.resources before anything is written (one checker
 * per controller family, driven by a table; ranges as tables of fields), and
 * the conversions of v1 values for v2 that runc makes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux/cgroup-internal.h"
#include "util/str.h"

/* ---- conversions ------------------------------------------------------ */

uint64_t hull_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t hull_cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + (weight - 10) * 9999 / 990;
}

int hull_cgroup_swap_to_v2(const struct hull_oci_resources *res, char **ret,
			   struct hull_error **reterr)
{
	int64_t limit = res->memory.limit.set ? res->memory.limit.v : 0;
	int64_t swap = res->memory.swap.set ? res->memory.swap.v : 0;
	char *s;

	/* as on v1: an unlimited memory with no word on swap unlimits both */
	if (swap == -1 || (limit == -1 && swap == 0))
		s = strdup("max");
	else if (swap == 0)
		s = NULL;
	else if (limit <= 0)
		return hull_error_set(
			reterr, -EINVAL,
			"linux.resources.memory.swap: a swap limit needs memory.limit");
	else if (swap < limit)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.memory.swap: must be greater than or equal "
				      "to memory.limit");
	else
		s = hull_strdup_printf("%" PRId64, swap - limit);
	if ((swap != 0 || limit == -1) && !s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

bool hull_cgroup_unified_key_ok(const char *key)
{
	return key && *key && !strchr(key, '/') && !strstr(key, "..") && key[0] != '.';
}

/* ---- ranges ----------------------------------------------------------- */

/*
 * One optional number of linux.resources and the values it may take; 0
 * (unset in runc's model) is always fine.
 */
struct range {
	const char *field; /* "cpu.shares" */
	size_t offset;	   /* of a struct hull_ou64 or hull_oi64 in hull_oci_resources */
	bool is_signed;
	int64_t min, max;
	const char *expect; /* "between 2 and 262144" */
};

#define RANGE(name, member, sgn, lo, hi, what)                                       \
	{                                                                            \
		name, offsetof(struct hull_oci_resources, member), sgn, lo, hi, what \
	}

static const struct range memory_ranges[] = {
	RANGE("memory.limit", memory.limit, true, -1, INT64_MAX,
	      "-1 (unlimited) or a positive number"),
	RANGE("memory.reservation", memory.reservation, true, -1, INT64_MAX,
	      "-1 (unlimited) or a positive number"),
	RANGE("memory.swap", memory.swap, true, -1, INT64_MAX,
	      "-1 (unlimited) or a positive number"),
	RANGE("memory.kernel", memory.kernel, true, -1, INT64_MAX,
	      "-1 (unlimited) or a positive number"),
	RANGE("memory.kernelTCP", memory.kernel_tcp, true, -1, INT64_MAX,
	      "-1 (unlimited) or a positive number"),
};
static const struct range swappiness_range =
	RANGE("memory.swappiness", memory.swappiness, false, 0, 100, "between 0 and 100");
static const struct range shares_range =
	RANGE("cpu.shares", cpu.shares, false, 2, 262144, "between 2 and 262144");
static const struct range period_range =
	RANGE("cpu.period", cpu.period, false, 1000, 1000000, "between 1000 and 1000000");
static const struct range rt_runtime_range = RANGE("cpu.realtimeRuntime", cpu.realtime_runtime,
						   true, -1, INT64_MAX, "-1 or a positive number");
static const struct range idle_range = RANGE("cpu.idle", cpu.idle, true, 0, 1, "0 or 1");
static const struct range blkio_weight_ranges[] = {
	RANGE("blockIO.weight", block_io.weight, false, 10, 1000, "between 10 and 1000"),
	RANGE("blockIO.leafWeight", block_io.leaf_weight, false, 10, 1000, "between 10 and 1000"),
};

static int check_range(const struct hull_oci_resources *res, const struct range *r,
		       struct hull_error **reterr)
{
	const char *base = (const char *)res + r->offset;
	bool set, ok;
	int64_t v;

	if (r->is_signed) {
		const struct hull_oi64 *f = (const struct hull_oi64 *)(const void *)base;

		set = f->set;
		v = f->v;
		ok = v >= r->min && v <= r->max;
		if (!set || v == 0 || ok)
			return 0;
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.%s: must be %s, not %" PRId64, r->field,
				      r->expect, v);
	} else {
		const struct hull_ou64 *f = (const struct hull_ou64 *)(const void *)base;

		set = f->set;
		ok = f->v >= (uint64_t)r->min && f->v <= (uint64_t)r->max;
		if (!set || f->v == 0 || ok)
			return 0;
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.%s: must be %s, not %" PRIu64, r->field,
				      r->expect, f->v);
	}
}

static int check_ranges(const struct hull_oci_resources *res, const struct range *r, size_t n,
			struct hull_error **reterr)
{
	for (size_t i = 0; i < n; i++) {
		int k = check_range(res, &r[i], reterr);

		if (k < 0)
			return k;
	}
	return 0;
}

/* ---- one checker per controller family -------------------------------- */

struct validate_ctx {
	enum hull_cgroup_mode mode;
	bool have_unified;
};

static int check_memory(const struct hull_oci_resources *res, const struct validate_ctx *c,
			struct hull_error **reterr)
{
	_cleanup_free_ char *swap = NULL;
	int r;

	r = check_ranges(res, memory_ranges, ELEMENTSOF(memory_ranges), reterr);
	if (r < 0)
		return r;
	if (res->memory.swap.set && res->memory.swap.v > 0 && res->memory.limit.set &&
	    res->memory.limit.v > 0 && res->memory.swap.v < res->memory.limit.v)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.memory.swap: must be greater than or equal "
				      "to memory.limit");
	/* v2 writes swap alone: the conversion has its own conditions */
	if (c->mode == HULL_CGROUP_V2 && (r = hull_cgroup_swap_to_v2(res, &swap, reterr)) < 0)
		return r;
	return check_range(res, &swappiness_range, reterr);
}

static bool cpu_list_ok(const char *s)
{
	/* "0-3,5": digits, ranges and commas, as cpuset.cpus/mems take them */
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') && *s != ',' && *s != '-' && *s != ' ')
			return false;
	return true;
}

static int check_cpu(const struct hull_oci_resources *res, const struct validate_ctx *c,
		     struct hull_error **reterr)
{
	int r;

	if ((r = check_range(res, &shares_range, reterr)) < 0)
		return r;
	/* not a plain range: -1 is fine, -2 and 1..999 are not */
	if (res->cpu.quota.set && res->cpu.quota.v != 0 && res->cpu.quota.v != -1 &&
	    res->cpu.quota.v < 1000)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.quota: must be -1 (unlimited) or at "
				      "least 1000, not %" PRId64,
				      res->cpu.quota.v);
	if ((r = check_range(res, &period_range, reterr)) < 0)
		return r;
	if (res->cpu.burst.set && res->cpu.burst.v > 0 && res->cpu.quota.set &&
	    res->cpu.quota.v > 0 && res->cpu.burst.v > (uint64_t)res->cpu.quota.v)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.burst: must not be greater than "
				      "cpu.quota");
	if ((r = check_range(res, &rt_runtime_range, reterr)) < 0)
		return r;
	if (c->mode == HULL_CGROUP_V2 &&
	    ((res->cpu.realtime_runtime.set && res->cpu.realtime_runtime.v != 0) ||
	     (res->cpu.realtime_period.set && res->cpu.realtime_period.v != 0)))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.%s: real-time scheduling limits are "
				      "not supported on cgroup v2",
				      res->cpu.realtime_runtime.set ? "realtimeRuntime"
								    : "realtimePeriod");
	if ((r = check_range(res, &idle_range, reterr)) < 0)
		return r;
	if (res->cpu.cpus && !cpu_list_ok(res->cpu.cpus))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.cpus: invalid cpu list '%s'",
				      res->cpu.cpus);
	if (res->cpu.mems && !cpu_list_ok(res->cpu.mems))
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.cpu.mems: invalid memory node list '%s'",
				      res->cpu.mems);
	return 0;
}

static bool dev_ok(int64_t major, int64_t minor, int64_t lowest)
{
	return major >= lowest && minor >= lowest && major <= UINT32_MAX && minor <= UINT32_MAX;
}

static int check_weight(uint64_t w, bool set, const char *field, struct hull_error **reterr)
{
	if (set && w != 0 && (w < 10 || w > 1000))
		return hull_error_set(
			reterr, -EINVAL,
			"linux.resources.blockIO.%s: must be between 10 and 1000, not "
			"%" PRIu64,
			field, w);
	return 0;
}

static int check_block_io(const struct hull_oci_resources *res, const struct validate_ctx *c,
			  struct hull_error **reterr)
{
	static const char *const throttle_names[] = {
		"throttleReadBpsDevice",
		"throttleWriteBpsDevice",
		"throttleReadIOPSDevice",
		"throttleWriteIOPSDevice",
	};
	int r;

	r = check_ranges(res, blkio_weight_ranges, ELEMENTSOF(blkio_weight_ranges), reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < res->block_io.n_weight_device; i++) {
		const struct hull_oci_weight_device *d = &res->block_io.weight_device[i];
		char field[64];

		if (!dev_ok(d->major, d->minor, 0))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.blockIO.weightDevice[%zu]: invalid "
					      "device %" PRId64 ":%" PRId64,
					      i, d->major, d->minor);
		snprintf(field, sizeof(field), "weightDevice[%zu].weight", i);
		if ((r = check_weight(d->weight.v, d->weight.set, field, reterr)) < 0)
			return r;
		snprintf(field, sizeof(field), "weightDevice[%zu].leafWeight", i);
		if ((r = check_weight(d->leaf_weight.v, d->leaf_weight.set, field, reterr)) < 0)
			return r;
	}
	for (size_t k = 0; k < ELEMENTSOF(throttle_names); k++)
		for (size_t i = 0; i < res->block_io.n_throttle[k]; i++) {
			const struct hull_oci_throttle_device *d = &res->block_io.throttle[k][i];

			if (!dev_ok(d->major, d->minor, 0))
				return hull_error_set(reterr, -EINVAL,
						      "linux.resources.blockIO.%s[%zu]: invalid "
						      "device %" PRId64 ":%" PRId64,
						      throttle_names[k], i, d->major, d->minor);
		}
	return 0;
}

static bool page_size_ok(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0)
		return false;
	return (s[n] == 'K' || s[n] == 'M' || s[n] == 'G') && s[n + 1] == 'B' && !s[n + 2];
}

static int check_hugepages(const struct hull_oci_resources *res, const struct validate_ctx *c,
			   struct hull_error **reterr)
{
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const char *size = res->hugepage_limits[i].page_size;

		if (!size || !page_size_ok(size))
			return hull_error_set(
				reterr, -EINVAL,
				"linux.resources.hugepageLimits[%zu].pageSize: invalid "
				"page size '%s'",
				i, size ? size : "");
	}
	return 0;
}

static int check_devices(const struct hull_oci_resources *res, const struct validate_ctx *c,
			 struct hull_error **reterr)
{
	for (size_t i = 0; i < res->n_devices; i++) {
		const struct hull_oci_device_rule *d = &res->devices[i];

		if (d->type != 'a' && d->type != 'b' && d->type != 'c')
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu].type: must be 'a', 'b' "
					      "or 'c'",
					      i);
		/* -1 is the wildcard */
		if (!dev_ok(d->major, d->minor, -1))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu]: invalid device "
					      "%" PRId64 ":%" PRId64,
					      i, d->major, d->minor);
		if (strspn(d->access, "rwm") != strlen(d->access))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu].access: must be a "
					      "combination of 'r', 'w' and 'm'",
					      i);
	}
	return 0;
}

static int check_network(const struct hull_oci_resources *res, const struct validate_ctx *c,
			 struct hull_error **reterr)
{
	if (res->network.class_id.set && res->network.class_id.v > UINT32_MAX)
		return hull_error_set(reterr, -EINVAL,
				      "linux.resources.network.classID: must fit in 32 bits");
	for (char **p = res->network.priorities; p && p[0] && p[1]; p += 2) {
		uint32_t prio;

		if (!*p[0] || strchr(p[0], ' ') || strchr(p[0], '\n') ||
		    hull_parse_u32(p[1], &prio) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.network.priorities: invalid entry "
					      "'%s' = '%s'",
					      p[0], p[1]);
	}
	return 0;
}

static int check_unified(const struct hull_oci_resources *res, const struct validate_ctx *c,
			 struct hull_error **reterr)
{
	for (char **p = res->unified; p && p[0]; p += 2) {
		if (!hull_cgroup_unified_key_ok(p[0]))
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.unified: invalid key '%s'", p[0]);
		if (c->mode == HULL_CGROUP_V1 && !c->have_unified)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.unified: requires cgroup v2");
	}
	return 0;
}

typedef int (*checker_fn)(const struct hull_oci_resources *res, const struct validate_ctx *c,
			  struct hull_error **reterr);

/* In the order the fields are reported: the first problem wins. */
static const checker_fn checkers[] = {
	check_memory,  check_cpu,     check_block_io, check_hugepages,
	check_devices, check_network, check_unified,
};

int hull_cgroup_validate(const struct hull_oci_resources *res, enum hull_cgroup_mode mode,
			 bool have_unified, struct hull_error **reterr)
{
	const struct validate_ctx c = { .mode = mode, .have_unified = have_unified };
	int r;

	if (!res)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(checkers); i++)
		if ((r = checkers[i](res, &c, reterr)) < 0)
			return r;
	return 0;
}
