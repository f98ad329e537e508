/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 backend's freezer: freezer.state (or cgroup.freeze of a
 * hybrid host's cgroup2 when no v1 freezer is mounted), every wait for a
 * state bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

/* The freezer to use: v1's, else cgroup.freeze of a hybrid unified hierarchy. */
int hull_cgroup_v1_freezer_dir(const struct hull_cgroup *cg, bool *ret_v2)
{
	int i = hull_cgroup_layout_find(cg->layout, "freezer"), fd;

	if (i >= 0 && !cg->skipped[i]) {
		*ret_v2 = false;
		return hull_cgroup_open_dir(cg->dirs[i]);
	}
	i = hull_cgroup_layout_unified(cg->layout);
	if (i < 0 || cg->skipped[i])
		return -EOPNOTSUPP;
	fd = hull_cgroup_open_dir(cg->dirs[i]);
	if (fd < 0)
		return fd;
	if (!hull_cgroup_file_exists(fd, "cgroup.freeze")) {
		close(fd);
		return -EOPNOTSUPP;
	}
	*ret_v2 = true;
	return fd;
}

static int freezer_state(int dfd, char **ret)
{
	return hull_cgroup_read(dfd, "freezer.state", ret);
}

int hull_cgroup_v1_freeze_dir(int dfd, bool frozen, struct hull_error **reterr)
{
	int r = 0;

	if (!frozen) {
		r = hull_cgroup_write(dfd, "freezer.state", "THAWED", reterr);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < 1000; i++) {
			_cleanup_free_ char *s = NULL;

			r = freezer_state(dfd, &s);
			if (r < 0)
				return hull_error_errno(reterr, r, "read 'freezer.state'");
			if (streq(s, "THAWED"))
				return 0;
			hull_cgroup_sleep_ms(1);
		}
		return hull_error_set(reterr, -ETIMEDOUT, "thaw: 'freezer.state' stays '%s'",
				      "FREEZING");
	}

	/*
	 * v1 can get stuck in FREEZING while tasks keep forking: write FROZEN
	 * again and again, thawing now and then so stragglers settle, as runc
	 * does (bounded: about 10 s in the worst case).
	 */
	for (unsigned i = 0; i < 1000; i++) {
		_cleanup_free_ char *s = NULL;

		if (i % 50 == 49) {
			(void)hull_write_string_at(dfd, "freezer.state", "THAWED");
			hull_cgroup_sleep_ms(10);
		}
		r = hull_cgroup_write(dfd, "freezer.state", "FROZEN", reterr);
		if (r < 0)
			goto undo;
		if (i % 25 == 24)
			hull_cgroup_sleep_ms(1);
		if (i % 200 == 199)
			hull_cgroup_sleep_ms(100u << (i / 200));
		r = freezer_state(dfd, &s);
		if (r < 0) {
			r = hull_error_errno(reterr, r, "read 'freezer.state'");
			goto undo;
		}
		if (streq(s, "FROZEN"))
			return 0;
		if (!streq(s, "FREEZING")) {
			r = hull_error_set(reterr, -EIO, "freeze: unexpected 'freezer.state' '%s'",
					   s);
			goto undo;
		}
	}
	r = hull_error_set(reterr, -EBUSY, "freeze: 'freezer.state' stays 'FREEZING'");
undo:
	/* never leave a half-frozen cgroup behind */
	(void)hull_write_string_at(dfd, "freezer.state", "THAWED");
	return r;
}

int hull_cgroup_v1_is_frozen_dir(int dfd, bool *ret)
{
	for (unsigned i = 0; i < 1000; i++) {
		_cleanup_free_ char *s = NULL, *self = NULL;
		int r;

		r = freezer_state(dfd, &s);
		if (r < 0)
			return r;
		if (streq(s, "THAWED")) {
			*ret = false;
			return 0;
		}
		if (streq(s, "FROZEN")) {
			/* frozen through an ancestor is not "paused" for us */
			if (hull_cgroup_read(dfd, "freezer.self_freezing", &self) >= 0)
				*ret = streq(self, "1");
			else
				*ret = true;
			return 0;
		}
		hull_cgroup_sleep_ms(1); /* FREEZING: wait for a stable state */
	}
	return -EBUSY;
}

int hull_cgroup_v1_freeze(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	bool v2 = false;
	int r = 0;

	dfd = hull_cgroup_v1_freezer_dir(cg, &v2);
	if (dfd == -EOPNOTSUPP)
		return hull_error_set(reterr, dfd,
				      "%s cgroup '%s': no freezer cgroup hierarchy is mounted",
				      frozen ? "freeze" : "thaw", cg->path);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open the freezer cgroup of '%s'", cg->path);
	r = v2 ? hull_cgroup_v2_freeze_dir(dfd, frozen, reterr)
	       : hull_cgroup_v1_freeze_dir(dfd, frozen, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "cgroup '%s'", cg->path);
	return 0;
}

/*
 * Frozen in any way (itself, or through an ancestor: a cgroup made under a
 * frozen parent starts FROZEN, and so would the container)?
 */
int hull_cgroup_v1_check_join(const struct hull_cgroup *cg, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *s = NULL;
	bool v2 = false, frozen = false;
	uint64_t v = 0;
	int r;

	dfd = hull_cgroup_v1_freezer_dir(cg, &v2);
	if (dfd == -EOPNOTSUPP)
		return hull_cgroup_check_join(cg, false, reterr);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open the freezer cgroup of '%s'", cg->path);
	if (v2) {
		r = hull_cgroup_read_keyed(dfd, "cgroup.events", "frozen", &v);
		frozen = r >= 0 && v == 1;
		if (hull_cgroup_read_u64(dfd, "cgroup.freeze", &v) >= 0 && v == 1)
			frozen = true;
	} else {
		r = freezer_state(dfd, &s);
		if (r < 0)
			return hull_error_errno(reterr, r, "read 'freezer.state' of '%s'",
						cg->path);
		frozen = !streq(s, "THAWED");
	}
	return hull_cgroup_check_join(cg, frozen, reterr);
}

int hull_cgroup_v1_is_frozen(const struct hull_cgroup *cg, bool *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	bool v2 = false;

	dfd = hull_cgroup_v1_freezer_dir(cg, &v2);
	if (dfd == -EOPNOTSUPP || dfd == -ENOENT) {
		*ret = false;
		return 0;
	}
	if (dfd < 0)
		return dfd;
	return v2 ? hull_cgroup_v2_is_frozen_dir(dfd, ret) : hull_cgroup_v1_is_frozen_dir(dfd, ret);
}
