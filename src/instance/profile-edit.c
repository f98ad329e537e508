/* SPDX-License-Identifier: Apache-2.0 */
/* Changing profiles and instances' profile lists (see profile.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/str.h"

static int profiles_dirfd(struct hull_home *h, struct hull_error **reterr)
{
	int fd = openat(h->fd, "profiles", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open 'profiles'");
	return fd;
}

static bool profile_exists(int dfd, const char *name)
{
	char file[80];

	snprintf(file, sizeof(file), "%s.json", name);
	return faccessat(dfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int hull_profile_used_by(struct hull_home *h, const char *name, char ***ret,
			 struct hull_error **reterr)
{
	_cleanup_strv_free_ char **users = calloc(1, sizeof(char *));
	struct hull_instance_info **l = NULL;
	size_t n = 0;
	int r;

	if (!users)
		return -ENOMEM;
	r = hull_instance_list(h, &l, &n, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (hull_strv_contains(instance_profiles(l[i]->config), name) &&
		    hull_strv_push(&users, l[i]->config->name) < 0) {
			hull_instance_info_list_free(l, n);
			return -ENOMEM;
		}
	hull_instance_info_list_free(l, n);
	*ret = TAKE_PTR(users);
	return 0;
}

int hull_profile_create(struct hull_home *h, const char *name, const char *description,
			struct hull_error **reterr)
{
	_cleanup_close_ int lock = -EBADF, dfd = -EBADF;
	struct hull_profile p = { .name = (char *)name, .description = (char *)description };
	int r = hull_profile_name_check(name, reterr);

	if (r < 0)
		return r;
	lock = profile_lock(h, reterr);
	if (lock < 0)
		return lock;
	dfd = profiles_dirfd(h, reterr);
	if (dfd < 0)
		return dfd;
	if (profile_exists(dfd, name))
		return hull_error_set(reterr, -EEXIST, "profile '%s' already exists", name);
	return profile_write(dfd, &p, reterr);
}

/* Single-profile config edits, on a copy: kv pairs kept sorted by key. */
static int kv_set(char ***kv, const char *key, const char *value)
{
	struct hull_instance_config tmp = { .config = *kv };
	int r;

	if (value)
		r = hull_instance_config_set(&tmp, key, value);
	else
		r = hull_instance_config_unset(&tmp, key) ? 0 : 1;
	*kv = tmp.config;
	return r;
}

struct user {
	char *name;
	int dfd, lock;
	struct hull_instance_config *old, *new;
	bool applied;
};

static void users_free(struct user *u, size_t n)
{
	for (size_t i = 0; u && i < n; i++) {
		free(u[i].name);
		safe_close(u[i].dfd);
		safe_close(u[i].lock);
		hull_instance_config_free(u[i].old);
		hull_instance_config_free(u[i].new);
	}
	free(u);
}

int hull_profile_update(struct hull_home *h, const char *name, const char *key, const char *value,
			struct hull_error **reterr)
{
	_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
	_cleanup_close_ int lock = -EBADF, dfd = -EBADF;
	_cleanup_strv_free_ char **users = NULL;
	struct user *u = NULL;
	size_t n = 0;
	int r;

	if (value)
		r = hull_instance_key_check(key, value, reterr);
	else if (!hull_instance_key_known(key))
		r = hull_instance_key_check(key, "", reterr);
	else
		r = 0;
	if (r < 0)
		return r;
	lock = profile_lock(h, reterr);
	if (lock < 0)
		return lock;
	dfd = profiles_dirfd(h, reterr);
	if (dfd < 0)
		return dfd;
	r = hull_profile_get(h, name, &p, reterr);
	if (r < 0)
		return r;
	r = hull_profile_used_by(h, name, &users, reterr);
	if (r < 0)
		return r;
	n = hull_strv_length(users);
	u = calloc(n + 1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		u[i] = (struct user){ .dfd = -EBADF, .lock = -EBADF };
	/* the effective config of each user, before (and below: after) the change */
	for (size_t i = 0; i < n; i++) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;

		u[i].name = strdup(users[i]);
		u[i].dfd = instance_open(h, users[i], reterr);
		if (!u[i].name || u[i].dfd < 0) {
			r = u[i].dfd < 0 ? u[i].dfd : -ENOMEM;
			goto out;
		}
		u[i].lock = instance_lock(u[i].dfd, reterr);
		r = u[i].lock;
		if (r >= 0)
			r = instance_config_load(u[i].dfd, &c, reterr);
		if (r >= 0)
			r = hull_instance_config_expand(h, c, &u[i].old, reterr);
		if (r < 0)
			goto out;
	}
	r = kv_set(&p->config, key, value);
	if (r < 0)
		goto out;
	if (r > 0) { /* unset of a key the profile does not have */
		r = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;

		r = instance_config_load(u[i].dfd, &c, reterr);
		if (r >= 0)
			r = instance_config_expand_with(h, c, p, &u[i].new, reterr);
		if (r >= 0)
			r = instance_apply_live(h, u[i].dfd, u[i].name, u[i].old, u[i].new, reterr);
		if (r < 0) {
			hull_error_wrap(reterr, r, "profile '%s': %s", name, key);
			goto undo;
		}
		u[i].applied = true;
	}
	r = profile_write(dfd, p, reterr);
	if (r >= 0)
		goto out;
undo:
	for (size_t i = 0; i < n; i++)
		if (u[i].applied) {
			_cleanup_error_ struct hull_error *ignored = NULL;

			instance_apply_live(h, u[i].dfd, u[i].name, u[i].new, u[i].old, &ignored);
		}
out:
	users_free(u, n);
	return r;
}

int hull_profile_delete(struct hull_home *h, const char *name, struct hull_error **reterr)
{
	_cleanup_close_ int lock = -EBADF, dfd = -EBADF;
	_cleanup_strv_free_ char **users = NULL;
	char file[80];
	int r = hull_profile_name_check(name, reterr);

	if (r < 0)
		return r;
	if (streq(name, "default"))
		return hull_error_set(reterr, -EPERM, "the 'default' profile cannot be deleted");
	lock = profile_lock(h, reterr);
	if (lock < 0)
		return lock;
	dfd = profiles_dirfd(h, reterr);
	if (dfd < 0)
		return dfd;
	if (!profile_exists(dfd, name))
		return hull_error_set(reterr, -ENOENT, "unknown profile '%s'", name);
	r = hull_profile_used_by(h, name, &users, reterr);
	if (r < 0)
		return r;
	if (users[0])
		return hull_error_set(reterr, -EBUSY,
				      "profile '%s' is in use by instance '%s'%s (assign them "
				      "other profiles first)",
				      name, users[0], users[1] ? " and others" : "");
	snprintf(file, sizeof(file), "%s.json", name);
	if (unlinkat(dfd, file, 0) < 0)
		return hull_error_errno(reterr, -errno, "delete profile '%s'", name);
	fsync(dfd);
	return 0;
}

/* For copy and rename: profile `name` loaded as *ret (renamed `new_name`), with the
 * profiles' lock and directory held, once `new_name` is known free. */
static int profile_load_as(struct hull_home *h, const char *name, const char *new_name, int *lock,
			   int *dfd, struct hull_profile **ret, struct hull_error **reterr)
{
	_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
	int r = hull_profile_name_check(new_name, reterr);

	if (r < 0)
		return r;
	*lock = profile_lock(h, reterr);
	if (*lock < 0)
		return *lock;
	*dfd = profiles_dirfd(h, reterr);
	if (*dfd < 0)
		return *dfd;
	r = hull_profile_get(h, name, &p, reterr);
	if (r < 0)
		return r;
	if (profile_exists(*dfd, new_name))
		return hull_error_set(reterr, -EEXIST, "profile '%s' already exists", new_name);
	free(p->name);
	p->name = strdup(new_name);
	if (!p->name)
		return -ENOMEM;
	*ret = TAKE_PTR(p);
	return 0;
}

int hull_profile_copy(struct hull_home *h, const char *name, const char *new_name,
		      struct hull_error **reterr)
{
	_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
	_cleanup_close_ int lock = -EBADF, dfd = -EBADF;
	int r = profile_load_as(h, name, new_name, &lock, &dfd, &p, reterr);

	return r < 0 ? r : profile_write(dfd, p, reterr);
}

/* In instance `iname`'s list, `from` becomes `to` (its lock taken meanwhile). */
static int rename_reference(struct hull_home *h, const char *iname, const char *from,
			    const char *to, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_close_ int dfd = instance_open(h, iname, reterr), lock = -EBADF;
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	int r;

	if (dfd < 0)
		return dfd;
	if (!l)
		return -ENOMEM;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return lock;
	r = instance_config_load(dfd, &c, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (p, instance_profiles(c))
		if (hull_strv_push(&l, streq(p, from) ? to : p) < 0)
			return -ENOMEM;
	hull_strv_free(c->profiles);
	c->profiles = TAKE_PTR(l);
	return instance_config_save(dfd, c, reterr);
}

int hull_profile_rename(struct hull_home *h, const char *name, const char *new_name,
			struct hull_error **reterr)
{
	_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
	_cleanup_close_ int lock = -EBADF, dfd = -EBADF;
	_cleanup_strv_free_ char **users = NULL;
	char file[80];
	int r;

	if (streq(name, "default"))
		return hull_error_set(reterr, -EPERM, "the 'default' profile cannot be renamed");
	r = profile_load_as(h, name, new_name, &lock, &dfd, &p, reterr);
	if (r < 0)
		return r;
	r = hull_profile_used_by(h, name, &users, reterr);
	if (r < 0)
		return r;
	/* the new name first, the references, the old name last: a crash leaves
	 * both names with the same keys, every instance on one of them */
	r = profile_write(dfd, p, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (u, users) {
		r = rename_reference(h, u, name, new_name, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "rename profile '%s'", name);
	}
	snprintf(file, sizeof(file), "%s.json", name);
	if (unlinkat(dfd, file, 0) < 0)
		return hull_error_errno(reterr, -errno, "rename profile '%s'", name);
	fsync(dfd);
	return 0;
}

/* The instance's new list for `op` (a copy of the old one changed), or an error. */
static int new_list(const char *name, char *const *old, enum hull_profiles_op op,
		    char *const *given, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	const char *p = given && given[0] ? given[0] : "";

	if (!l)
		return -ENOMEM;
	if (op == HULL_PROFILES_ADD && hull_strv_contains(old, p))
		return hull_error_set(reterr, -EEXIST, "instance '%s' already has profile '%s'",
				      name, p);
	if (op == HULL_PROFILES_REMOVE && !hull_strv_contains(old, p))
		return hull_error_set(reterr, -ENOENT, "instance '%s' does not have profile '%s'",
				      name, p);
	hull_strv_foreach (q, op == HULL_PROFILES_SET ? given : old)
		if ((op != HULL_PROFILES_REMOVE || !streq(q, p)) && hull_strv_push(&l, q) < 0)
			return -ENOMEM;
	if (op == HULL_PROFILES_ADD && hull_strv_push(&l, p) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

int hull_instance_profiles_change(struct hull_home *h, const char *name, enum hull_profiles_op op,
				  char *const *profiles, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL, *old = NULL,
									  *new = NULL;
	_cleanup_close_ int plock = -EBADF, dfd = -EBADF, lock = -EBADF, pdfd = -EBADF;
	_cleanup_strv_free_ char **seen = calloc(1, sizeof(char *)), **l = NULL;
	int r;

	if (!seen)
		return -ENOMEM;
	if (op != HULL_PROFILES_SET && hull_strv_length((char **)profiles) != 1)
		return -EINVAL;
	hull_strv_foreach (p, profiles) {
		r = hull_profile_name_check(p, reterr);
		if (r < 0)
			return r;
		if (hull_strv_contains(seen, p))
			return hull_error_set(reterr, -EINVAL, "profile '%s' is listed twice", p);
		if (hull_strv_push(&seen, p) < 0)
			return -ENOMEM;
	}
	plock = profile_lock(h, reterr);
	if (plock < 0)
		return plock;
	pdfd = profiles_dirfd(h, reterr);
	if (pdfd < 0)
		return pdfd;
	if (op != HULL_PROFILES_REMOVE)
		hull_strv_foreach (p, seen)
			if (!profile_exists(pdfd, p))
				return hull_error_set(reterr, -ENOENT, "unknown profile '%s'", p);
	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return lock;
	r = instance_config_load(dfd, &c, reterr);
	if (r >= 0)
		r = hull_instance_config_expand(h, c, &old, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "change the profiles of '%s'", name);
	r = new_list(name, instance_profiles(c), op, seen, &l, reterr);
	if (r < 0)
		return r;
	hull_strv_free(c->profiles);
	c->profiles = TAKE_PTR(l);
	r = hull_instance_config_expand(h, c, &new, reterr);
	if (r >= 0)
		r = instance_apply_live(h, dfd, name, old, new, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "change the profiles of '%s'", name);
	return instance_config_save(dfd, c, reterr);
}
