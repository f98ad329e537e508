/* SPDX-License-Identifier: Apache-2.0 */
/* The snapshots of an instance copied along with it (`hull copy`, as LXD's). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "storage/storage.h"
#include "util/file.h"

/* snapshots/<snap> of src into dst_sfd: upper (shifted) and snapshot.json with its mtime. */
static int copy_one(int src_sfd, int dst_sfd, const char *snap,
		    const struct hull_storage_idshift *shift, struct hull_error **reterr)
{
	_cleanup_close_ int s = -EBADF, d = -EBADF, su = -EBADF, du = -EBADF;
	_cleanup_free_ char *text = NULL;
	struct timespec times[2];
	struct stat st;
	size_t len = 0;
	int r;

	s = openat(src_sfd, snap, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0)
		return hull_error_errno(reterr, -errno, "open snapshot '%s'", snap);
	if (mkdirat(dst_sfd, snap, 0700) < 0)
		return hull_error_errno(reterr, -errno, "create snapshot '%s'", snap);
	d = openat(dst_sfd, snap, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0 || mkdirat(d, "upper", 0700) < 0)
		return hull_error_errno(reterr, -errno, "create snapshot '%s'", snap);
	su = openat(s, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	du = openat(d, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (su < 0 || du < 0)
		return hull_error_errno(reterr, -errno, "open the upper of snapshot '%s'", snap);
	r = hull_storage_copy(su, du, shift, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "snapshot '%s'", snap);
	r = hull_read_file_at(s, "snapshot.json", &text, &len);
	if (r >= 0)
		r = hull_write_file_atomic_at(d, "snapshot.json", text, len, 0600,
					      HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "snapshot '%s': copy 'snapshot.json'", snap);
	/* snapshots are listed by when snapshot.json was written: keep the order */
	if (fstatat(s, "snapshot.json", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		times[0] = st.st_atim;
		times[1] = st.st_mtim;
		if (utimensat(d, "snapshot.json", times, AT_SYMLINK_NOFOLLOW) < 0)
			return hull_error_errno(reterr, -errno, "snapshot '%s': set its time",
						snap);
	}
	return 0;
}

int instance_copy_snapshots(int src_dfd, int dst_dfd, const struct hull_storage_idshift *shift,
			    struct hull_error **reterr)
{
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	struct dirent *de;
	DIR *dir = NULL;
	int r = 0;

	src = openat(src_dfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 && errno == ENOENT)
		return 0;
	if (src < 0)
		return hull_error_errno(reterr, -errno, "open 'snapshots'");
	if (mkdirat(dst_dfd, "snapshots", 0700) < 0 && errno != EEXIST)
		return hull_error_errno(reterr, -errno, "create 'snapshots'");
	dst = openat(dst_dfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return hull_error_errno(reterr, -errno, "open 'snapshots'");
	r = hull_opendir_dup(src, &dir);
	if (r < 0)
		return hull_error_errno(reterr, r, "read 'snapshots'");
	while (r >= 0 && (de = readdir(dir)))
		/* .tmp-* are snapshots being made (or left by a crash) */
		if (de->d_name[0] != '.' && hull_snapshot_name_check(de->d_name, NULL) >= 0)
			r = copy_one(src, dst, de->d_name, shift, reterr);
	closedir(dir);
	if (r >= 0)
		fsync(dst);
	return r;
}
