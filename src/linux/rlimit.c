/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.rlimits through prlimit(2) on the calling process.
 */
#include "linux/process-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

#include "util/log.h"
#include "util/macro.h"

static const char *rlimit_label(int resource, char buf[static 16])
{
	const char *n = hull_rlimit_name(resource);

	if (n)
		return n;
	snprintf(buf, 16, "%d", resource);
	return buf;
}

static const char *limit_text(uint64_t v, char buf[static 24])
{
	if (v == (uint64_t)RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, 24, "%" PRIu64, v);
	return buf;
}

int hull_rlimits_validate(const struct hull_oci_process *p, struct hull_error **reterr)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct hull_oci_rlimit *l = &p->rlimits[i];
		char name[16], soft[24], hard[24];

		if (l->resource < 0 || l->resource >= RLIM_NLIMITS)
			return hull_error_set(reterr, -EINVAL,
					      "process.rlimits[%zu].type: unknown rlimit %d", i,
					      l->resource);
		if (l->soft > l->hard)
			return hull_error_set(
				reterr, -EINVAL,
				"process.rlimits[%zu]: soft limit %s of '%s' is greater "
				"than the hard limit %s",
				i, limit_text(l->soft, soft), rlimit_label(l->resource, name),
				limit_text(l->hard, hard));
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == l->resource)
				return hull_error_set(
					reterr, -EINVAL,
					"process.rlimits[%zu].type: duplicate rlimit '%s'", i,
					rlimit_label(l->resource, name));
	}
	return 0;
}

int hull_rlimits_apply(const struct hull_oci_process *p, struct hull_error **reterr)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct hull_oci_rlimit *l = &p->rlimits[i];
		struct rlimit rl = { .rlim_cur = (rlim_t)l->soft, .rlim_max = (rlim_t)l->hard };
		char name[16], soft[24], hard[24];

		if (prlimit(0, (__rlimit_resource_t)l->resource, &rl, NULL) < 0)
			return hull_error_errno(reterr, negative_errno(),
						"process.rlimits: setrlimit '%s' soft %s hard %s",
						rlimit_label(l->resource, name),
						limit_text(l->soft, soft),
						limit_text(l->hard, hard));
		hull_debug("rlimit %s: soft %s hard %s", rlimit_label(l->resource, name),
			   limit_text(l->soft, soft), limit_text(l->hard, hard));
	}
	return 0;
}
