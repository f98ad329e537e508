/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.json: {"auths": {"<registry>[/<path>]": {"auth": base64("user:password")}}},
 * the file `podman login` and `docker login` write (docker's config.json has
 * the same "auths" member).  Credential helpers (credHelpers, credsStore) are
 * not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/registry.h"
#include "util/crypto-dl.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define AUTH_FILE_MAX (1 << 20)

char *hull_auth_file_default(void)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		return strdup(env);
	if (xdg && *xdg)
		return hull_strdup_printf("%s/containers/auth.json", xdg);
	return hull_strdup_printf("/run/containers/%u/auth.json", (unsigned)getuid());
}

/* Reads an auth file; *ret is NULL when it does not exist. */
static int auth_read(const char *path, struct json_object **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *o = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	r = hull_read_file_at(AT_FDCWD, path, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", path);
	if (len > AUTH_FILE_MAX)
		return hull_error_set(reterr, -EFBIG, "auth file '%s': larger than 1 MiB", path);
	if (len == 0) {
		*ret = json_object_new_object();
		return *ret ? 0 : -ENOMEM;
	}
	r = hull_json_parse(text, len, path, &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return hull_error_set(reterr, -EINVAL, "auth file '%s': expected a JSON object",
				      path);
	}
	*ret = o;
	return 0;
}

/* "https://index.docker.io/v1/" -> "docker.io"; "http://host:5000/" -> "host:5000" */
static char *normalize_key(const char *key)
{
	const char *s = key, *p;
	size_t n;

	if ((p = startswith(s, "https://")) || (p = startswith(s, "http://"))) {
		const char *slash = strchr(p, '/');

		/* a legacy key with a scheme names a host only (docker's "…/v1/") */
		n = slash ? (size_t)(slash - p) : strlen(p);
		s = p;
	} else {
		n = strlen(s);
	}
	if (n == 15 && strncmp(s, "index.docker.io", 15) == 0)
		return strdup("docker.io");
	return strndup(s, n);
}

static int decode_auth(const char *b64, const char *file, const char *key, char **ret_user,
		       char **ret_password, struct hull_error **reterr)
{
	size_t n = strlen(b64), pad = 0;
	_cleanup_free_ unsigned char *buf = NULL;
	char *colon;
	int len;

	if (n == 0 || n % 4 != 0 || n > 64 * 1024)
		return hull_error_set(reterr, -EINVAL, "%s: auths.\"%s\".auth: not base64", file,
				      key);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return hull_error_set(reterr, -EINVAL, "%s: auths.\"%s\".auth: not base64", file,
				      key);
	if (b64[n - 1] == '=')
		pad++;
	if (b64[n - 2] == '=')
		pad++;
	len -= (int)pad;
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return hull_error_set(reterr, -EINVAL, "%s: auths.\"%s\".auth: holds a NUL byte",
				      file, key);
	colon = strchr((char *)buf, ':');
	if (!colon)
		return hull_error_set(reterr, -EINVAL,
				      "%s: auths.\"%s\".auth: expected base64 of 'user:password'",
				      file, key);
	*colon = '\0';
	*ret_user = strdup((char *)buf);
	*ret_password = strdup(colon + 1);
	if (!*ret_user || !*ret_password) {
		free(*ret_user);
		free(*ret_password);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The credential helper a file names for `registry` (credHelpers, else
 * credsStore), asked: 1 found, 0 none named or nothing stored.
 */
static int lookup_helper(struct json_object *o, const char *path, const char *registry,
			 char **ret_user, char **ret_password, struct hull_error **reterr)
{
	struct json_object *helpers = NULL, *store = NULL;
	const char *name = NULL;
	int r;

	if (json_object_object_get_ex(o, "credHelpers", &helpers) &&
	    json_object_is_type(helpers, json_type_object)) {
		json_object_object_foreach(helpers, key, val)
		{
			_cleanup_free_ char *norm = normalize_key(key);

			if (!norm)
				return -ENOMEM;
			if (streq(norm, registry) && json_object_is_type(val, json_type_string))
				name = json_object_get_string(val);
		}
	}
	if (!name && json_object_object_get_ex(o, "credsStore", &store) &&
	    json_object_is_type(store, json_type_string) && *json_object_get_string(store))
		name = json_object_get_string(store);
	if (!name)
		return 0;
	r = hull_auth_helper_get(name, registry, ret_user, ret_password, reterr);
	return r < 0 ? hull_error_wrap(reterr, r, "%s", path) : r;
}

/* Looks `keys` up (most specific first) in one file: 1 found, 0 not. */
static int lookup_file(const char *path, char *const *keys, char **ret_user, char **ret_password,
		       struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *auths = NULL;
	int r;

	r = auth_read(path, &o, reterr);
	if (r < 0 || !o)
		return r;
	/* a helper named for the registry comes first, as with docker and podman */
	r = lookup_helper(o, path, keys[hull_strv_length(keys) - 1], ret_user, ret_password,
			  reterr);
	if (r != 0)
		return r;
	if (!json_object_object_get_ex(o, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object))
		return 0;
	hull_strv_foreach (want, keys) {
		json_object_object_foreach(auths, key, val)
		{
			_cleanup_free_ char *norm = normalize_key(key);
			struct json_object *a = NULL;

			if (!norm)
				return -ENOMEM;
			if (!streq(norm, want))
				continue;
			if (!json_object_object_get_ex(val, "auth", &a) ||
			    !json_object_is_type(a, json_type_string) ||
			    !*json_object_get_string(a))
				continue; /* an entry of a credential helper */
			r = decode_auth(json_object_get_string(a), path, key, ret_user,
					ret_password, reterr);
			return r < 0 ? r : 1;
		}
	}
	return 0;
}

int hull_auth_lookup(const char *auth_file, const char *registry, const char *path, char **ret_user,
		     char **ret_password, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **files = NULL, **keys = NULL;
	const char *env = getenv("REGISTRY_AUTH_FILE"), *home = getenv("HOME");
	const char *docker = getenv("DOCKER_CONFIG");
	int r;

	if (auth_file) {
		r = hull_strv_push(&files, auth_file);
	} else if (env && *env) {
		r = hull_strv_push(&files, env);
	} else {
		r = hull_strv_consume(&files, hull_auth_file_default());
		if (r >= 0 && home && *home)
			r = hull_strv_consume(
				&files,
				hull_strdup_printf("%s/.config/containers/auth.json", home));
		if (r >= 0 && docker && *docker)
			r = hull_strv_consume(&files, hull_strdup_printf("%s/config.json", docker));
		else if (r >= 0 && home && *home)
			r = hull_strv_consume(&files,
					      hull_strdup_printf("%s/.docker/config.json", home));
	}
	if (r < 0)
		return -ENOMEM;

	/* "host/ns/repo", "host/ns", "host" */
	if (path && *path) {
		_cleanup_free_ char *full = hull_strdup_printf("%s/%s", registry, path);

		if (!full)
			return -ENOMEM;
		for (;;) {
			char *slash;

			if (hull_strv_push(&keys, full) < 0)
				return -ENOMEM;
			slash = strrchr(full, '/');
			if (!slash || (size_t)(slash - full) <= strlen(registry))
				break;
			*slash = '\0';
		}
	}
	if (hull_strv_push(&keys, registry) < 0)
		return -ENOMEM;

	hull_strv_foreach (f, files) {
		r = lookup_file(f, keys, ret_user, ret_password, reterr);
		if (r < 0)
			return r;
		if (r > 0)
			return 0;
	}
	return -ENOENT;
}

static int auth_write(const char *path, struct json_object *o, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int dfd = -EBADF;
	const char *text, *base = path;
	char *slash;
	int r;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash) {
		base = path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		r = hull_mkdir_p_at(AT_FDCWD, dir, 0700);
		if (r < 0)
			return hull_error_errno(reterr, r, "create '%s'", dir);
	} else {
		free(dir);
		dir = strdup(".");
		if (!dir)
			return -ENOMEM;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hull_error_errno(reterr, negative_errno(), "open '%s'", dir);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = hull_write_file_atomic_at(dfd, base, text, strlen(text), 0600, HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s'", path);
	return 0;
}

/* Reads the file to change (an empty object when missing) and its "auths". */
static int auth_open(const char *auth_file, char **ret_path, struct json_object **ret,
		     struct json_object **ret_auths, struct hull_error **reterr)
{
	_cleanup_free_ char *path = auth_file ? strdup(auth_file) : hull_auth_file_default();
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *auths = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	r = auth_read(path, &o, reterr);
	if (r < 0)
		return r;
	if (!o && !(o = json_object_new_object()))
		return -ENOMEM;
	if (!json_object_object_get_ex(o, "auths", &auths)) {
		auths = json_object_new_object();
		if (!auths || json_object_object_add(o, "auths", auths) < 0)
			return -ENOMEM;
	} else if (!json_object_is_type(auths, json_type_object)) {
		return hull_error_set(reterr, -EINVAL, "%s: auths: expected an object", path);
	}
	*ret_path = TAKE_PTR(path);
	*ret = TAKE_PTR(o);
	*ret_auths = auths;
	return 0;
}

int hull_auth_store(const char *auth_file, const char *registry, const char *user,
		    const char *password, struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL, *plain = NULL;
	_cleanup_free_ unsigned char *b64 = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *auths = NULL, *entry = NULL;
	size_t n;
	int r;

	if (strchr(user, ':'))
		return hull_error_set(reterr, -EINVAL, "username '%s': must not contain ':'", user);
	r = auth_open(auth_file, &path, &o, &auths, reterr);
	if (r < 0)
		return r;
	plain = hull_strdup_printf("%s:%s", user, password);
	if (!plain)
		return -ENOMEM;
	n = strlen(plain);
	b64 = malloc((n + 2) / 3 * 4 + 1);
	if (!b64)
		return -ENOMEM;
	EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
	explicit_bzero(plain, n);
	entry = json_object_new_object();
	if (!entry)
		return -ENOMEM;
	json_object_object_add(entry, "auth", json_object_new_string((char *)b64));
	/* replace any legacy spelling of the same registry too */
	json_object_object_foreach(auths, key, val)
	{
		_cleanup_free_ char *norm = normalize_key(key);

		(void)val;
		if (norm && streq(norm, registry) && !streq(key, registry)) {
			_cleanup_free_ char *k = strdup(key);

			if (!k)
				return -ENOMEM;
			json_object_object_del(auths, k);
			break;
		}
	}
	json_object_object_add(auths, registry, entry);
	return auth_write(path, o, reterr);
}

int hull_auth_remove(const char *auth_file, const char *registry, struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *auths = NULL;
	bool found = false;
	int r;

	r = auth_open(auth_file, &path, &o, &auths, reterr);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_free_ char *del = NULL;

		json_object_object_foreach(auths, key, val)
		{
			_cleanup_free_ char *norm = normalize_key(key);

			(void)val;
			if (norm && streq(norm, registry)) {
				del = strdup(key);
				if (!del)
					return -ENOMEM;
				break;
			}
		}
		if (!del)
			break;
		json_object_object_del(auths, del);
		found = true;
	}
	if (!found)
		return hull_error_set(reterr, -ENOENT, "not logged in to '%s' (in '%s')", registry,
				      path);
	return auth_write(path, o, reterr);
}

int hull_auth_remove_all(const char *auth_file, struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *auths = NULL;
	int r;

	r = auth_open(auth_file, &path, &o, &auths, reterr);
	if (r < 0)
		return r;
	json_object_object_add(o, "auths", json_object_new_object());
	return auth_write(path, o, reterr);
}
