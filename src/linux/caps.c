/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capabilities: bounding set, capset(2) with the v3 structs, ambient set.
 * Capabilities the running kernel does not know are skipped (runc warns and
 * ignores them too), so one config works across kernels.
 */
#include "linux/process-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

/* The name for messages; the OCI table knows every capability up to 40. */
static const char *cap_label(int cap, char buf[static 16])
{
	const char *n = cap <= hull_cap_last() ? hull_cap_name(cap) : NULL;

	if (n)
		return n;
	snprintf(buf, 16, "%d", cap);
	return buf;
}

int hull_caps_last_kernel(void)
{
	static int cached = -1;
	int last;

	/*
	 * Asked of the kernel itself: the bounding set answers EINVAL past the
	 * last capability.  Never /proc/sys/kernel/cap_last_cap: inside a
	 * container that file may be whatever the container mounted there, and
	 * a larger number would keep capabilities in the bounding set.
	 */
	if (cached >= 0)
		return cached;
	for (last = 0; last < 63; last++)
		if (prctl(PR_CAPBSET_READ, (unsigned long)last + 1, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	cached = last;
	return last;
}

static uint64_t kernel_mask(void)
{
	int last = hull_caps_last_kernel();

	return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

int hull_caps_apply_bounding(const struct hull_oci_caps *c, struct hull_error **reterr)
{
	int last = hull_caps_last_kernel();

	for (int cap = 0; cap <= last; cap++) {
		char buf[16];
		int r;

		if (c->bounding & (UINT64_C(1) << cap))
			continue;
		r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
		if (r < 0)
			return hull_error_errno(reterr, negative_errno(),
						"prctl PR_CAPBSET_READ '%s'", cap_label(cap, buf));
		if (r == 0)
			continue; /* already gone: dropping needs no privilege then */
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0)
			return hull_error_errno(reterr, negative_errno(),
						"prctl PR_CAPBSET_DROP '%s'", cap_label(cap, buf));
	}
	return 0;
}

int hull_caps_apply(const struct hull_oci_caps *c, struct hull_error **reterr)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	uint64_t mask = kernel_mask();
	uint64_t eff = c->effective & mask, prm = c->permitted & mask;
	uint64_t inh = c->inheritable & mask, amb = c->ambient & mask;

	for (size_t i = 0; i < ELEMENTSOF(data); i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(prm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return hull_error_errno(reterr, negative_errno(), "capset");

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		/* EINVAL: a kernel without ambient capabilities (< 4.3) */
		if (errno != EINVAL || amb != 0)
			return hull_error_errno(reterr, negative_errno(),
						"prctl PR_CAP_AMBIENT_CLEAR_ALL");
		return 0;
	}
	for (int cap = 0; cap < 64; cap++) {
		char buf[16];

		if (!(amb & (UINT64_C(1) << cap)))
			continue;
		/*
		 * The kernel only raises an ambient cap that is also permitted and
		 * inheritable; runc's own default spec lists ambient caps without
		 * inheritable ones, and runc skips those, so hull does too.
		 */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0) {
			if (errno != EPERM)
				return hull_error_errno(reterr, negative_errno(),
							"prctl PR_CAP_AMBIENT_RAISE '%s'",
							cap_label(cap, buf));
			hull_debug("ambient capability '%s' not raised: not inheritable",
				   cap_label(cap, buf));
		}
	}
	hull_debug("capabilities: effective %#" PRIx64 " permitted %#" PRIx64
		   " inheritable %#" PRIx64 " ambient %#" PRIx64,
		   eff, prm, inh, amb);
	return 0;
}
