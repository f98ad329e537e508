/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Profiles (LXD's): named sets of config keys, stored as
 * profiles/<name>.json ({"name", "description", "config"}).  An instance
 * lists profiles in order; its effective config is each profile's keys in
 * that order, then its own keys on top.  Profile `default` exists from the
 * start and is what a new instance gets unless told otherwise.  Every change
 * is made under profiles/.lock; a change reaching running instances is
 * applied to them first (limits.* through the runtime's update) and written
 * only when every one of them took it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

void hull_profile_free(struct hull_profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->description);
	hull_strv_free(p->config);
	free(p);
}

int hull_profile_name_check(const char *name, struct hull_error **reterr)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n > 0 && n <= 63 && isalnum((unsigned char)name[0]);

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '-' || name[i] == '_' ||
		     name[i] == '.';
	if (!ok)
		return hull_error_set(reterr, -EINVAL,
				      "profile name '%s': expected 1 to 63 letters, digits, '.', "
				      "'_' or '-', starting with a letter or digit",
				      name ? name : "");
	return 0;
}

static const struct hull_json_field profile_fields[] = {
	{ "name", hull_json_parse_string, offsetof(struct hull_profile, name), true },
	{ "description", hull_json_parse_string, offsetof(struct hull_profile, description),
	  false },
	{ "config", hull_json_parse_string_map, offsetof(struct hull_profile, config), false },
	{},
};

static int profiles_dir(struct hull_home *h, struct hull_error **reterr)
{
	int fd = openat(h->fd, "profiles", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open 'profiles'");
	return fd;
}

int hull_profile_get(struct hull_home *h, const char *name, struct hull_profile **ret,
		     struct hull_error **reterr)
{
	_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ char *text = NULL, *file = NULL;
	_cleanup_close_ int dfd = -EBADF;
	size_t len = 0;
	int r = hull_profile_name_check(name, reterr);

	if (r < 0)
		return r;
	dfd = profiles_dir(h, reterr);
	if (dfd < 0)
		return dfd;
	file = hull_strdup_printf("%s.json", name);
	if (!file)
		return -ENOMEM;
	r = hull_read_file_at(dfd, file, &text, &len);
	if (r == -ENOENT)
		return hull_error_set(reterr, -ENOENT, "unknown profile '%s'", name);
	if (r < 0)
		return hull_error_errno(reterr, r, "read profile '%s'", name);
	r = hull_json_parse(text, len, file, &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object))
		return hull_json_type_error(file, "an object", reterr);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = hull_json_dispatch("", o, profile_fields, p, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "profile '%s'", name);
	if (!p->config && !(p->config = calloc(1, sizeof(char *))))
		return -ENOMEM;
	for (size_t i = 0; p->config[i]; i += 2) {
		r = hull_instance_key_check(p->config[i], p->config[i + 1], reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "profile '%s'", name);
	}
	*ret = TAKE_PTR(p);
	return 0;
}

int profile_write(int dfd, const struct hull_profile *p, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *cfg = json_object_new_object();
	_cleanup_free_ char *file = hull_strdup_printf("%s.json", p->name);
	const char *text;
	int r;

	if (!o || !cfg || !file) {
		json_object_put(cfg);
		return -ENOMEM;
	}
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "description",
			       json_object_new_string(p->description ? p->description : ""));
	for (size_t i = 0; p->config && p->config[i]; i += 2)
		json_object_object_add(cfg, p->config[i], json_object_new_string(p->config[i + 1]));
	json_object_object_add(o, "config", cfg);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = hull_write_file_atomic_at(dfd, file, text, strlen(text), 0600, HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "write profile '%s'", p->name);
	fsync(dfd);
	return 0;
}

int profile_home_init(struct hull_home *h, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	struct hull_profile def = { .name = (char *)"default",
				    .description = (char *)"Default hull profile" };
	int r = hull_mkdir_p_at(h->fd, "profiles", 0700);

	if (r < 0)
		return hull_error_errno(reterr, r, "create 'profiles'");
	dfd = profiles_dir(h, reterr);
	if (dfd < 0)
		return dfd;
	if (faccessat(dfd, "default.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return profile_write(dfd, &def, reterr);
}

/* profiles/.lock, exclusive: every change of a profile or of an instance's list. */
int profile_lock(struct hull_home *h, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = profiles_dir(h, reterr), fd = -EBADF;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || RETRY_EINTR(flock(fd, LOCK_EX)) < 0)
		return hull_error_errno(reterr, -errno, "lock the profiles");
	return TAKE_FD(fd);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hull_profile_list(struct hull_home *h, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
	_cleanup_close_ int dfd = profiles_dir(h, reterr);
	struct dirent *de;
	DIR *d = NULL;
	int r;

	if (dfd < 0)
		return dfd;
	if (!names)
		return -ENOMEM;
	r = hull_opendir_dup(dfd, &d);
	if (r < 0)
		return hull_error_errno(reterr, r, "read 'profiles'");
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n <= 5 || !streq(de->d_name + n - 5, ".json"))
			continue;
		de->d_name[n - 5] = '\0';
		if (hull_profile_name_check(de->d_name, NULL) < 0)
			continue;
		if (hull_strv_push(&names, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	qsort(names, hull_strv_length(names), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(names);
	return 0;
}

static const char *const default_profiles[] = { "default", NULL };

/* An instance's profiles: instance.json without the field predates profiles: "default". */
char *const *instance_profiles(const struct hull_instance_config *c)
{
	return c->profiles ? c->profiles : (char *const *)default_profiles;
}

/* Like hull_instance_config_expand, with `override` standing for its name's profile. */
int instance_config_expand_with(struct hull_home *h, const struct hull_instance_config *c,
				const struct hull_profile *override,
				struct hull_instance_config **ret, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *e = NULL;
	int r;

	e = instance_config_dup(c);
	if (!e)
		return -ENOMEM;
	hull_strv_free(e->config);
	e->config = calloc(1, sizeof(char *));
	if (!e->config)
		return -ENOMEM;
	hull_strv_foreach (name, instance_profiles(c)) {
		_cleanup_(hull_profile_freep) struct hull_profile *loaded = NULL;
		const struct hull_profile *p = override;

		if (!override || !streq(override->name, name)) {
			r = hull_profile_get(h, name, &loaded, reterr);
			if (r < 0)
				return hull_error_wrap(reterr, r, "instance '%s'", c->name);
			p = loaded;
		}
		for (size_t i = 0; p->config && p->config[i]; i += 2)
			if (hull_instance_config_set(e, p->config[i], p->config[i + 1]) < 0)
				return -ENOMEM;
	}
	for (size_t i = 0; c->config && c->config[i]; i += 2)
		if (hull_instance_config_set(e, c->config[i], c->config[i + 1]) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(e);
	return 0;
}

int hull_instance_config_expand(struct hull_home *h, const struct hull_instance_config *c,
				struct hull_instance_config **ret, struct hull_error **reterr)
{
	return instance_config_expand_with(h, c, NULL, ret, reterr);
}

int instance_init_profiles(struct hull_home *h, struct hull_instance_config *c,
			   char *const *profiles, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	hull_strv_foreach (p, profiles ? profiles : (char *const *)default_profiles) {
		_cleanup_(hull_profile_freep) struct hull_profile *prof = NULL;
		int r = hull_profile_get(h, p, &prof, reterr);

		if (r < 0)
			return r;
		if (hull_strv_contains(l, p))
			return hull_error_set(reterr, -EINVAL, "profile '%s' is listed twice", p);
		if (hull_strv_push(&l, p) < 0)
			return -ENOMEM;
	}
	hull_strv_free(c->profiles);
	c->profiles = TAKE_PTR(l);
	return 0;
}
