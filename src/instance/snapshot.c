/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots, restores and copies of instances.  A snapshot is a copy of the
 * instance's overlay upper directory (the image below is shared and never
 * changes), kept in <instance>/snapshots/<snap>/upper with a snapshot.json;
 * it is made under a temp name and renamed when complete.  A restore copies
 * the snapshot's upper beside the instance's and swaps the two with one
 * renameat2(RENAME_EXCHANGE), so a crash leaves the old or the new upper,
 * never a mix.  A copy is a new instance with its own id range whose upper
 * is the source's, its owners shifted to the new range.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "storage/storage.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

int hull_snapshot_name_check(const char *snap, struct hull_error **reterr)
{
	size_t len = snap ? strlen(snap) : 0;

	if (len == 0 || len > 63 ||
	    !((snap[0] >= 'a' && snap[0] <= 'z') || (snap[0] >= 'A' && snap[0] <= 'Z') ||
	      (snap[0] >= '0' && snap[0] <= '9')))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		char ch = snap[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			goto bad;
	}
	return 0;
bad:
	return hull_error_set(reterr, -EINVAL,
			      "snapshot name '%s': expected 1-63 of [a-zA-Z0-9._-] starting "
			      "with a letter or digit",
			      snap ? snap : "");
}

void hull_snapshot_info_list_free(struct hull_snapshot_info *l, size_t n)
{
	for (size_t i = 0; l && i < n; i++) {
		free(l[i].name);
		free(l[i].created);
	}
	free(l);
}

/* Opens (creating it with mkdir_ok) <instance>/snapshots. */
static int snapshots_open(int dfd, bool create, struct hull_error **reterr)
{
	int fd;

	if (create && mkdirat(dfd, "snapshots", 0700) < 0 && errno != EEXIST)
		return hull_error_errno(reterr, -errno, "create 'snapshots'");
	fd = openat(dfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return hull_error_errno(reterr, -errno, "open 'snapshots'");
	return fd < 0 ? -ENOENT : fd;
}

/*
 * Runs fn while the instance's processes are frozen (when it runs), so the
 * upper directory is not changed under the copy.
 */
static int with_frozen(struct hull_home *h, int dfd, const char *name,
		       int (*fn)(void *userdata, struct hull_error **reterr), void *userdata,
		       struct hull_error **reterr)
{
	_cleanup_error_ struct hull_error *ignored = NULL;
	bool paused = false;
	int r;

	if (instance_monitor_alive(dfd)) {
		r = hull_container_pause(&h->rt, name, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "freeze '%s' for the copy", name);
		paused = true;
	}
	r = fn(userdata, reterr);
	if (paused)
		hull_container_resume(&h->rt, name, &ignored);
	return r;
}

struct snap_job {
	int src, dst; /* upper/, the new snapshot's upper/ */
	const struct hull_storage_idshift *shift;
};

static int copy_job(void *userdata, struct hull_error **reterr)
{
	struct snap_job *j = userdata;

	return hull_storage_copy(j->src, j->dst, j->shift, reterr);
}

static int next_auto_name(int sfd, char ret[32])
{
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(ret, 32, "snap%u", i);
		if (faccessat(sfd, ret, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			return 0;
	}
	return -ENOSPC;
}

int hull_instance_snapshot_create(struct hull_home *h, const char *name, const char *snap,
				  char **ret_snap, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, sfd = -EBADF, tfd = -EBADF, upper = -EBADF,
			    src = -EBADF;
	_cleanup_json_ struct json_object *o = NULL;
	char tmp[128], autoname[32], created[32];
	struct snap_job job;
	const char *text;
	int r;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return hull_error_wrap(reterr, lock, "snapshot '%s'", name);
	sfd = snapshots_open(dfd, true, reterr);
	if (sfd < 0)
		return hull_error_wrap(reterr, sfd, "snapshot '%s'", name);
	if (!snap) {
		if (next_auto_name(sfd, autoname) < 0)
			return hull_error_set(reterr, -ENOSPC, "snapshot '%s': no free name", name);
		snap = autoname;
	}
	r = hull_snapshot_name_check(snap, reterr);
	if (r < 0)
		return r;
	if (faccessat(sfd, snap, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return hull_error_set(reterr, -EEXIST, "snapshot '%s' of '%s' already exists", snap,
				      name);

	snprintf(tmp, sizeof(tmp), ".tmp-%s-%d", snap, (int)getpid());
	hull_rm_rf_at(sfd, tmp);
	if (mkdirat(sfd, tmp, 0700) < 0)
		return hull_error_errno(reterr, -errno, "snapshot '%s': create '%s'", name, tmp);
	tfd = openat(sfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0 || mkdirat(tfd, "upper", 0700) < 0) {
		r = hull_error_errno(reterr, -errno, "snapshot '%s'", name);
		goto fail;
	}
	upper = openat(tfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	src = openat(dfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (upper < 0 || src < 0) {
		r = hull_error_errno(reterr, -errno, "snapshot '%s': open 'upper'", name);
		goto fail;
	}
	job = (struct snap_job){ src, upper, NULL };
	r = with_frozen(h, dfd, name, copy_job, &job, reterr);
	if (r < 0)
		goto fail;

	o = json_object_new_object();
	if (!o) {
		r = -ENOMEM;
		goto fail;
	}
	instance_now(created);
	json_object_object_add(o, "name", json_object_new_string(snap));
	json_object_object_add(o, "created", json_object_new_string(created));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = hull_write_file_atomic_at(tfd, "snapshot.json", text, strlen(text), 0600,
				      HULL_ATOMIC_SYNC);
	if (r < 0) {
		hull_error_errno(reterr, r, "snapshot '%s': write 'snapshot.json'", name);
		goto fail;
	}
	if (renameat2(sfd, tmp, sfd, snap, RENAME_NOREPLACE) < 0) {
		r = hull_error_errno(reterr, -errno, "snapshot '%s': rename to '%s'", name, snap);
		goto fail;
	}
	fsync(sfd);
	if (ret_snap) {
		*ret_snap = strdup(snap);
		if (!*ret_snap)
			return -ENOMEM;
	}
	return 0;
fail:
	hull_rm_rf_at(sfd, tmp);
	return hull_error_wrap(reterr, r, "snapshot '%s'", name);
}

static const struct hull_json_field snap_fields[] = {
	{ "name", hull_json_parse_string, offsetof(struct hull_snapshot_info, name), true },
	{ "created", hull_json_parse_string, offsetof(struct hull_snapshot_info, created), false },
	{},
};

static int cmp_snap(const void *a, const void *b)
{
	const struct hull_snapshot_info *x = a, *y = b;
	if (x->made_ns != y->made_ns)
		return x->made_ns < y->made_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

int hull_instance_snapshot_list(struct hull_home *h, const char *name,
				struct hull_snapshot_info **ret, size_t *ret_n,
				struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, sfd = -EBADF;
	struct hull_snapshot_info *l = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	sfd = snapshots_open(dfd, false, reterr);
	if (sfd == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (sfd < 0)
		return sfd;
	d = fdopendir(TAKE_FD(sfd));
	if (!d)
		return hull_error_errno(reterr, -errno, "read the snapshots of '%s'", name);
	while ((de = readdir(d))) {
		_cleanup_json_ struct json_object *o = NULL;
		_cleanup_free_ char *text = NULL;
		_cleanup_close_ int fd = -EBADF;
		struct hull_snapshot_info s = {}, *nl;
		struct stat st;
		size_t len = 0;

		if (de->d_name[0] == '.' || hull_snapshot_name_check(de->d_name, NULL) < 0)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || hull_read_file_at(fd, "snapshot.json", &text, &len) < 0 ||
		    hull_json_parse(text, len, "snapshot.json", &o, NULL) < 0 ||
		    hull_json_dispatch("", o, snap_fields, &s, HULL_JSON_ALLOW_UNKNOWN, NULL) < 0) {
			free(s.name);
			free(s.created);
			continue;
		}
		if (fstatat(fd, "snapshot.json", &st, AT_SYMLINK_NOFOLLOW) == 0)
			s.made_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u +
				    (uint64_t)st.st_mtim.tv_nsec;
		/* the directory's name is the snapshot's */
		free(s.name);
		s.name = strdup(de->d_name);
		nl = reallocarray(l, n + 1, sizeof(*l));
		if (!s.name || !nl) {
			free(s.name);
			free(s.created);
			closedir(d);
			hull_snapshot_info_list_free(nl ? nl : l, n);
			return -ENOMEM;
		}
		l = nl;
		l[n++] = s;
	}
	closedir(d);
	if (n)
		qsort(l, n, sizeof(*l), cmp_snap);
	*ret = l;
	*ret_n = n;
	return 0;
}

static int snapshot_open(int dfd, const char *name, const char *snap, int *ret_sfd,
			 struct hull_error **reterr)
{
	int sfd, fd, r = hull_snapshot_name_check(snap, reterr);

	if (r < 0)
		return r;
	sfd = snapshots_open(dfd, false, reterr);
	if (sfd == -ENOENT)
		return hull_error_set(reterr, -ENOENT, "unknown snapshot '%s' of '%s'", snap, name);
	if (sfd < 0)
		return sfd;
	fd = openat(sfd, snap, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? hull_error_set(reterr, -ENOENT,
						     "unknown snapshot '%s' of '%s'", snap, name)
				    : hull_error_errno(reterr, -errno, "open snapshot '%s'", snap);
		close(sfd);
		return r;
	}
	*ret_sfd = sfd;
	return fd;
}

/*
 * Opens instance 'name', takes its lock and opens its snapshot 'snap':
 * returns the snapshot's fd, with the instance's directory, its lock and the
 * snapshots directory in ret_dfd, ret_lock and ret_sfd.  A lock that cannot
 * be taken is reported under "<what> '<subject>'".
 */
static int snapshot_open_locked(struct hull_home *h, const char *name, const char *snap,
				const char *what, const char *subject, int *ret_dfd, int *ret_lock,
				int *ret_sfd, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	int fd;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return hull_error_wrap(reterr, lock, "%s '%s'", what, subject);
	fd = snapshot_open(dfd, name, snap, ret_sfd, reterr);
	if (fd < 0)
		return fd;
	*ret_dfd = TAKE_FD(dfd);
	*ret_lock = TAKE_FD(lock);
	return fd;
}

int hull_instance_snapshot_delete(struct hull_home *h, const char *name, const char *snap,
				  struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, sfd = -EBADF, fd = -EBADF;
	char tmp[128];
	int r;

	fd = snapshot_open_locked(h, name, snap, "delete snapshot", snap, &dfd, &lock, &sfd,
				  reterr);
	if (fd < 0)
		return fd;
	snprintf(tmp, sizeof(tmp), ".tmp-delete-%s-%d", snap, (int)getpid());
	if (renameat(sfd, snap, sfd, tmp) < 0)
		return hull_error_errno(reterr, -errno, "delete snapshot '%s' of '%s'", snap, name);
	r = hull_rm_rf_at(sfd, tmp);
	if (r < 0)
		return hull_error_errno(reterr, r, "delete snapshot '%s' of '%s'", snap, name);
	return 0;
}

int hull_instance_restore(struct hull_home *h, const char *name, const char *snap,
			  struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, sfd = -EBADF, fd = -EBADF, src = -EBADF,
			    dst = -EBADF;
	char tmp[128];
	int r;

	fd = snapshot_open_locked(h, name, snap, "restore", name, &dfd, &lock, &sfd, reterr);
	if (fd < 0)
		return fd;
	/* stateless: the running processes would keep files of the old tree open */
	if (instance_monitor_alive(dfd))
		return hull_error_set(reterr, -EBUSY,
				      "restore '%s': the instance is running (stop it first: "
				      "a running instance cannot be restored)",
				      name);
	{
		/* the leftovers of a monitor that died */
		_cleanup_error_ struct hull_error *ignored = NULL;

		instance_cleanup(h, dfd, name, -1, &ignored);
	}
	if (hull_storage_is_mounted(dfd))
		return hull_error_set(reterr, -EBUSY, "restore '%s': its rootfs is still mounted",
				      name);

	snprintf(tmp, sizeof(tmp), ".upper-restore-%d", (int)getpid());
	hull_rm_rf_at(dfd, tmp);
	if (mkdirat(dfd, tmp, 0700) < 0)
		return hull_error_errno(reterr, -errno, "restore '%s': create '%s'", name, tmp);
	dst = openat(dfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	src = openat(fd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0 || src < 0) {
		r = hull_error_errno(reterr, -errno, "restore '%s': open", name);
		goto fail;
	}
	r = hull_storage_copy(src, dst, NULL, reterr);
	if (r < 0)
		goto fail;
	/* the swap: the instance has the old or the new upper, never a mix */
	if (renameat2(dfd, tmp, dfd, "upper", RENAME_EXCHANGE) < 0) {
		r = hull_error_errno(reterr, -errno, "restore '%s': swap 'upper'", name);
		goto fail;
	}
	fsync(dfd);
	/* tmp now holds the old upper; overlay's work dir is emptied at the next mount */
	r = hull_rm_rf_at(dfd, tmp);
	if (r < 0)
		return hull_error_errno(reterr, r, "restore '%s': remove the old upper", name);
	return 0;
fail:
	hull_rm_rf_at(dfd, tmp);
	return hull_error_wrap(reterr, r, "restore '%s' to '%s'", name, snap);
}

int hull_instance_copy(struct hull_home *h, const char *name, const char *new_name,
		       const struct hull_init_opts *o, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = -EBADF, slock = -EBADF, lock = -EBADF, tfd = -EBADF, src = -EBADF,
			    dst = -EBADF;
	_cleanup_free_ char *text = NULL;
	struct hull_storage_idshift shift;
	struct snap_job job;
	char tmp[128], created[32];
	int r;

	r = hull_instance_name_check(new_name, reterr);
	if (r < 0)
		return r;
	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	slock = instance_lock(dfd, reterr);
	if (slock < 0)
		return hull_error_wrap(reterr, slock, "copy '%s'", name);
	r = instance_config_load(dfd, &c, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "copy '%s'", name);

	lock = instance_new_lock(h, new_name, reterr);
	if (lock < 0)
		return lock;
	shift.from_uid = c->uid_base;
	shift.from_gid = c->gid_base;
	shift.count = c->id_count;
	r = instance_allocate_ids(h, o, &c->uid_base, &c->gid_base, reterr);
	if (r < 0)
		return r;
	shift.to_uid = c->uid_base;
	shift.to_gid = c->gid_base;
	free(c->name);
	free(c->created);
	instance_now(created);
	c->name = strdup(new_name);
	c->created = strdup(created);
	text = hull_instance_config_format(c);
	if (!c->name || !c->created || !text)
		return -ENOMEM;

	snprintf(tmp, sizeof(tmp), ".tmp-copy-%s-%d", new_name, (int)getpid());
	hull_rm_rf_at(h->instances_fd, tmp);
	if (mkdirat(h->instances_fd, tmp, 0711) < 0)
		return hull_error_errno(reterr, -errno, "create instance '%s'", new_name);
	tfd = instance_dir_open(h->instances_fd, tmp, new_name, c, reterr);
	if (tfd < 0) {
		r = tfd;
		goto fail;
	}
	src = openat(dfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	dst = openat(tfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 || dst < 0) {
		r = hull_error_errno(reterr, -errno, "open 'upper'");
		goto fail;
	}
	/* a privileged source's files hold host ids: copied as they are */
	job = (struct snap_job){ src, dst, c->storage_host_ids ? NULL : &shift };
	r = with_frozen(h, dfd, name, copy_job, &job, reterr);
	if (r < 0)
		goto fail;
	/* snapshots never change while we hold the source's lock: no freeze */
	if (!(o && o->instance_only)) {
		r = instance_copy_snapshots(dfd, tfd, job.shift, reterr);
		if (r < 0)
			goto fail;
	}
	r = instance_dir_finish(tfd, new_name, c, text, reterr);
	if (r < 0)
		goto fail;
	if (renameat2(h->instances_fd, tmp, h->instances_fd, new_name, RENAME_NOREPLACE) < 0) {
		r = hull_error_errno(reterr, -errno, "create instance '%s'", new_name);
		goto fail;
	}
	fsync(h->instances_fd);
	return 0;
fail:
	hull_rm_rf_at(h->instances_fd, tmp);
	return hull_error_wrap(reterr, r, "copy '%s' to '%s'", name, new_name);
}
