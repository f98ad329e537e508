/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AppArmor profiles and SELinux labels: both are set on the process through
 * /proc/self/attr and take effect at the next execve().
 */
#include "linux/process-internal.h"
#include "linux/process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/vfs.h>

#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

#define SELINUX_FS_MAGIC 0xf97cff8c

bool hull_apparmor_enabled(void)
{
	_cleanup_free_ char *text = NULL;

	if (hull_read_file_at(AT_FDCWD, "/sys/module/apparmor/parameters/enabled", &text, NULL) < 0)
		return false;
	return text[0] == 'Y';
}

bool hull_selinux_enabled(void)
{
	struct statfs sfs;

	/* selinuxfs is mounted on /sys/fs/selinux when the policy is loaded */
	if (statfs("/sys/fs/selinux", &sfs) < 0)
		return false;
	return (unsigned long)sfs.f_type == (unsigned long)SELINUX_FS_MAGIC;
}

int hull_lsm_validate(const struct hull_oci_process *p, struct hull_error **reterr)
{
	if (p->apparmor_profile && p->apparmor_profile[0] != '\0' && !hull_apparmor_enabled())
		return hull_error_set(
			reterr, -EOPNOTSUPP,
			"process.apparmorProfile: apparmor is not enabled on this host");
	if (p->selinux_label && p->selinux_label[0] != '\0' && !hull_selinux_enabled())
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "process.selinuxLabel: selinux is not enabled on this host");
	return 0;
}

int hull_lsm_apply(const struct hull_oci_process *p, struct hull_error **reterr)
{
	int r;

	if (p->apparmor_profile && p->apparmor_profile[0] != '\0') {
		_cleanup_free_ char *value = hull_strdup_printf("exec %s", p->apparmor_profile);

		if (!value)
			return hull_error_errno(reterr, -ENOMEM, "apparmor");
		/* the per-LSM directory exists since Linux 5.8; older kernels have only attr/exec
		 */
		r = hull_procfs_write("/proc/self/attr/apparmor/exec", value);
		if (r == -ENOENT)
			r = hull_procfs_write("/proc/self/attr/exec", value);
		if (r < 0)
			return hull_error_errno(reterr, r, "set apparmor profile '%s'",
						p->apparmor_profile);
		hull_debug("apparmor profile '%s' on exec", p->apparmor_profile);
	}
	if (p->selinux_label && p->selinux_label[0] != '\0') {
		r = hull_procfs_write("/proc/self/attr/exec", p->selinux_label);
		if (r < 0)
			return hull_error_errno(reterr, r, "set selinux label '%s'",
						p->selinux_label);
		hull_debug("selinux label '%s' on exec", p->selinux_label);
	}
	return 0;
}
