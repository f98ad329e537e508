/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Making new instances: the id block, the instances lock, the directory made
 * under a temp name (shared by init and copy), and hull init itself.
 */
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
#include "util/str.h"

/* The id blocks of every instance (for allocation; .lock held). */
static int used_ranges(struct hull_home *h, bool gids, uint32_t **ret, size_t *ret_n)
{
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_free_ uint32_t *used = NULL;
	size_t n = 0;
	int r = instance_list_names(h, &names, NULL);

	if (r < 0)
		return r;
	used = calloc(hull_strv_length(names) + 1, sizeof(*used));
	if (!used)
		return -ENOMEM;
	hull_strv_foreach (name, names) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
		_cleanup_close_ int dfd = openat(h->instances_fd, name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd >= 0 && instance_config_load(dfd, &c, NULL) >= 0)
			used[n++] = gids ? c->gid_base : c->uid_base;
	}
	*ret = TAKE_PTR(used);
	*ret_n = n;
	return 0;
}

int instance_allocate_ids(struct hull_home *h, const struct hull_init_opts *o, uint32_t *ret_uid,
			  uint32_t *ret_gid, struct hull_error **reterr)
{
	const char *files[2] = { o && o->subuid_file ? o->subuid_file : "/etc/subuid",
				 o && o->subgid_file ? o->subgid_file : "/etc/subgid" };
	uint32_t *rets[2] = { ret_uid, ret_gid };

	for (int k = 0; k < 2; k++) {
		_cleanup_free_ struct hull_id_range *ranges = NULL;
		_cleanup_free_ uint32_t *used = NULL;
		size_t n = 0, n_used = 0;
		int r = hull_subid_read(files[k], "root", &ranges, &n, reterr);

		if (r < 0)
			return r;
		r = used_ranges(h, k == 1, &used, &n_used);
		if (r < 0)
			return hull_error_errno(reterr, r, "read the instances' id ranges");
		r = hull_subid_allocate(ranges, n, used, n_used, rets[k]);
		if (r < 0)
			return hull_error_set(reterr, r,
					      "no free block of %u subordinate ids left in '%s'",
					      HULL_ID_RANGE, files[k]);
	}
	return 0;
}

int instance_new_lock(struct hull_home *h, const char *name, struct hull_error **reterr)
{
	_cleanup_close_ int lock = -EBADF;

	lock = openat(h->instances_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0 || RETRY_EINTR(flock(lock, LOCK_EX)) < 0)
		return hull_error_errno(reterr, -errno, "lock the instances");
	if (faccessat(h->instances_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return hull_error_set(reterr, -EEXIST, "instance '%s' already exists", name);
	return TAKE_FD(lock);
}

int instance_dir_open(int instances_fd, const char *tmp, const char *name,
		      const struct hull_instance_config *c, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	struct hull_storage_idmap map;
	int r;

	dfd = openat(instances_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return hull_error_errno(reterr, -errno, "create instance '%s'", name);
	map = (struct hull_storage_idmap){ c->uid_base, c->gid_base, c->id_count };
	r = hull_storage_prepare(dfd, &map, reterr);
	if (r < 0)
		return r;
	return TAKE_FD(dfd);
}

int instance_dir_finish(int dfd, const char *name, const struct hull_instance_config *c,
			const char *text, struct hull_error **reterr)
{
	int r;

	/*
	 * Only the instance's root may traverse its directory (host root
	 * passes anyway): no other host user reaches the rootfs mounted
	 * there, whose set-id files belong to the instance's ids.
	 */
	if (fchown(dfd, c->uid_base, c->gid_base) < 0 || fchmod(dfd, 0100) < 0)
		return hull_error_errno(reterr, -errno, "chown instance '%s'", name);
	r = hull_write_file_atomic_at(dfd, "instance.json", text, strlen(text), 0600,
				      HULL_ATOMIC_SYNC);
	if (r >= 0)
		r = instance_state_write(dfd, "stopped", 0, 0, NULL, -1);
	if (r < 0)
		return hull_error_errno(reterr, r, "write instance '%s'", name);
	return 0;
}

int hull_instance_init(struct hull_home *h, const char *image_ref, const char *name,
		       const struct hull_init_opts *o, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	_cleanup_close_ int lock = -EBADF, dfd = -EBADF;
	_cleanup_free_ char *text = NULL;
	char tmp[128], created[32];
	int r;

	r = hull_instance_name_check(name, reterr);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->config = calloc(1, sizeof(char *));
	if (!c->config)
		return -ENOMEM;
	hull_strv_foreach (kv, o ? o->config : NULL) {
		_cleanup_free_ char *key = strdup(kv);
		char *eq = key ? strchr(key, '=') : NULL;

		if (!key)
			return -ENOMEM;
		if (eq)
			*eq = '\0';
		r = hull_instance_key_check(key, eq ? eq + 1 : NULL, reterr);
		if (r < 0)
			return r;
		if (hull_strv_push(&c->config, key) < 0 || hull_strv_push(&c->config, eq + 1) < 0)
			return -ENOMEM;
	}
	r = hull_image_get(h->images, image_ref, &img, reterr);
	if (r < 0)
		return r;
	r = instance_init_profiles(h, c, o ? o->profiles : NULL, reterr);
	if (r < 0)
		return r;

	lock = instance_new_lock(h, name, reterr);
	if (lock < 0)
		return lock;
	r = instance_allocate_ids(h, o, &c->uid_base, &c->gid_base, reterr);
	if (r < 0)
		return r;
	c->id_count = HULL_ID_RANGE;
	c->name = strdup(name);
	c->image = strdup(img->fingerprint);
	c->image_ref = strdup(image_ref);
	instance_now(created);
	c->created = strdup(created);
	text = hull_instance_config_format(c);
	if (!c->name || !c->image || !c->image_ref || !c->created || !text)
		return -ENOMEM;

	/* made under a temp name and renamed: never a half-made instance */
	snprintf(tmp, sizeof(tmp), ".tmp-init-%s-%d", name, (int)getpid());
	hull_rm_rf_at(h->instances_fd, tmp);
	if (mkdirat(h->instances_fd, tmp, 0711) < 0)
		return hull_error_errno(reterr, -errno, "create instance '%s'", name);
	dfd = instance_dir_open(h->instances_fd, tmp, name, c, reterr);
	if (dfd < 0) {
		r = dfd;
		goto fail;
	}
	r = instance_dir_finish(dfd, name, c, text, reterr);
	if (r < 0)
		goto fail;
	if (renameat(h->instances_fd, tmp, h->instances_fd, name) < 0) {
		r = hull_error_errno(reterr, -errno, "create instance '%s'", name);
		goto fail;
	}
	fsync(h->instances_fd);
	return 0;
fail:
	hull_rm_rf_at(h->instances_fd, tmp);
	return hull_error_wrap(reterr, r, "init '%s'", name);
}
