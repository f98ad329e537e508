/* SPDX-License-Identifier: Apache-2.0 */
/*
 * security.privileged: an instance without a user namespace, its root the
 * host's root.  Its upper directory then holds host ids (0..65535) instead
 * of the instance's range; instance.json's "storage_host_ids" records which
 * of the two the files on disk use, and a start whose effective
 * security.privileged differs shifts them first (as LXD does when an
 * instance's idmap changed since its last start).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "storage/storage.h"
#include "util/file.h"
#include "util/str.h"

bool instance_privileged(const struct hull_instance_config *c)
{
	const char *v = hull_instance_config_get(c, "security.privileged");

	return v && streq(v, "true");
}

int instance_storage_align(struct hull_home *h, int dfd, struct hull_instance_config *own,
			   bool privileged, struct hull_error **reterr)
{
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	struct hull_storage_idshift shift = { .count = own->id_count };
	static const char tmp[] = "upper.shift-tmp";
	int r;

	if (own->storage_host_ids == privileged)
		return 0;
	if (instance_count_snapshots(dfd) > 0)
		return hull_error_set(reterr, -EBUSY,
				      "security.privileged changed to '%s' but the instance has "
				      "snapshots, whose files belong to the old ids (delete them, "
				      "or set security.privileged back)",
				      privileged ? "true" : "false");
	if (privileged) {
		shift.from_uid = own->uid_base;
		shift.from_gid = own->gid_base;
	} else {
		shift.to_uid = own->uid_base;
		shift.to_gid = own->gid_base;
	}
	hull_rm_rf_at(dfd, tmp);
	if (mkdirat(dfd, tmp, 0755) < 0)
		return hull_error_errno(reterr, -errno, "create '%s'", tmp);
	dst = openat(dfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	src = openat(dfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0 || src < 0) {
		r = hull_error_errno(reterr, -errno, "open 'upper'");
		goto fail;
	}
	r = hull_storage_copy(src, dst, &shift, reterr);
	if (r < 0)
		goto fail;
	/* the swap: the old ids or the new ones, never a mix */
	if (renameat2(dfd, tmp, dfd, "upper", RENAME_EXCHANGE) < 0) {
		r = hull_error_errno(reterr, -errno, "swap 'upper'");
		goto fail;
	}
	fsync(dfd);
	own->storage_host_ids = privileged;
	r = instance_config_save(dfd, own, reterr);
	if (r < 0) {
		/* put the old tree back: instance.json still names its ids */
		renameat2(dfd, tmp, dfd, "upper", RENAME_EXCHANGE);
		own->storage_host_ids = !privileged;
		goto fail;
	}
	/* a shifted copy of the image made for the old ids is of no use now */
	hull_rm_rf_at(dfd, "lower-shifted");
	hull_rm_rf_at(dfd, tmp);
	return 0;
fail:
	hull_rm_rf_at(dfd, tmp);
	return hull_error_wrap(reterr, r, "shift the files of '%s' to %s ids", own->name,
			       privileged ? "host" : "its own");
}
