/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The settings of disk, unix-char, unix-block, gpu and usb devices: each key
 * known to its type, each value checked, before anything is stored or
 * plugged.  Paths inside the instance are plain absolute paths (no "." or
 * ".." components); they are resolved inside the rootfs only when plugged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "instance/device-internal.h"
#include "util/macro.h"
#include "util/str.h"

struct device_type {
	const char *name;
	const char *const keys[8];
	const char *known; /* for the message */
};

static const struct device_type types[] = {
	{ "disk", { "source", "path", "readonly" }, "source, path, readonly" },
	{ "unix-char",
	  { "source", "path", "major", "minor", "uid", "gid", "mode" },
	  "source, path, major, minor, uid, gid, mode" },
	{ "unix-block",
	  { "source", "path", "major", "minor", "uid", "gid", "mode" },
	  "source, path, major, minor, uid, gid, mode" },
	{ "gpu",
	  { "vendorid", "productid", "pci", "uid", "gid", "mode" },
	  "vendorid, productid, pci, uid, gid, mode" },
	{ "usb",
	  { "vendorid", "productid", "uid", "gid", "mode" },
	  "vendorid, productid, uid, gid, mode" },
};

static const struct device_type *type_find(const char *type)
{
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (streq(types[i].name, type))
			return &types[i];
	return NULL;
}

bool instance_device_type_known(const char *type)
{
	return type_find(type) != NULL;
}

char **instance_device_names(const struct hull_instance_config *c)
{
	_cleanup_strv_free_ char **devs = calloc(1, sizeof(char *));

	if (!devs)
		return NULL;
	for (size_t i = 0; c->devices && c->devices[i]; i += 2) {
		size_t n = strlen(c->devices[i]);

		if (n > 5 && streq(c->devices[i] + n - 5, ".type") &&
		    hull_strv_consume(&devs, strndup(c->devices[i], n - 5)) < 0)
			return NULL;
	}
	return TAKE_PTR(devs);
}

/* An absolute path of plain components: no "", ".", ".." and not "/" itself. */
static int path_check(const char *type, const char *key, const char *p, struct hull_error **reterr)
{
	const char *s = p;

	if (p[0] != '/' || strlen(p) >= 256)
		return hull_error_set(
			reterr, -EINVAL,
			"%s: %s: expected an absolute path (under 256 bytes), got '%s'", type, key,
			p);
	while (*s == '/') {
		const char *e = strchrnul(s + 1, '/');
		size_t n = (size_t)(e - s - 1);

		if (n == 0 || (n == 1 && s[1] == '.') || (n == 2 && s[1] == '.' && s[2] == '.'))
			return hull_error_set(
				reterr, -EINVAL,
				"%s: %s: '%s' must be a plain path inside the instance "
				"(no '.', '..' or empty components)",
				type, key, p);
		s = e;
	}
	return 0;
}

static bool hex4(const char *s)
{
	if (strlen(s) != 4)
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789abcdefABCDEF", *p))
			return false;
	return true;
}

/* "0000:01:00.0" (domain:bus:slot.function, hex) */
static bool pci_address(const char *s)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(s) != strlen(shape))
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !strchr("0123456789abcdef", s[i]) : s[i] != shape[i])
			return false;
	return true;
}

/* Checks one value of a known key. */
static int value_check(const struct hull_instance_config *c, const char *type, const char *key,
		       const char *v, struct hull_error **reterr)
{
	uint32_t u;

	if (streq(key, "path"))
		return path_check(type, key, v, reterr);
	if (streq(key, "source")) {
		if (v[0] != '/')
			return hull_error_set(
				reterr, -EINVAL,
				"%s: source: expected an absolute host path, got '%s'", type, v);
		return 0;
	}
	if (streq(key, "readonly")) {
		if (!streq(v, "true") && !streq(v, "false"))
			return hull_error_set(reterr, -EINVAL,
					      "%s: readonly: expected true or false, got '%s'",
					      type, v);
		return 0;
	}
	if (streq(key, "uid") || streq(key, "gid")) {
		if (hull_parse_u32(v, &u) < 0 || u >= c->id_count)
			return hull_error_set(reterr, -EINVAL,
					      "%s: %s: expected an id below %u, got '%s'", type,
					      key, c->id_count, v);
		return 0;
	}
	if (streq(key, "major") || streq(key, "minor")) {
		if (hull_parse_u32(v, &u) < 0 || u > (streq(key, "major") ? 4095u : 1048575u))
			return hull_error_set(reterr, -EINVAL,
					      "%s: %s: expected a device number, got '%s'", type,
					      key, v);
		return 0;
	}
	if (streq(key, "mode")) {
		char *end = NULL;
		unsigned long m;

		errno = 0;
		m = strtoul(v, &end, 8);
		if (errno || !*v || *end || m > 0777)
			return hull_error_set(
				reterr, -EINVAL,
				"%s: mode: expected octal permissions (0660), got '%s'", type, v);
		return 0;
	}
	if (streq(key, "vendorid") || streq(key, "productid")) {
		if (!hex4(v))
			return hull_error_set(reterr, -EINVAL,
					      "%s: %s: expected 4 hex digits (10de), got '%s'",
					      type, key, v);
		return 0;
	}
	if (streq(key, "pci") && !pci_address(v))
		return hull_error_set(reterr, -EINVAL,
				      "%s: pci: expected an address like 0000:01:00.0, got '%s'",
				      type, v);
	return 0;
}

/* The host source of a unix-char/unix-block must be such a node. */
static int node_source_check(const char *type, const char *source, struct hull_error **reterr)
{
	struct stat st;
	bool chr = streq(type, "unix-char");

	if (stat(source, &st) < 0)
		return hull_error_errno(reterr, -errno, "%s: source '%s'", type, source);
	if (chr ? !S_ISCHR(st.st_mode) : !S_ISBLK(st.st_mode))
		return hull_error_set(reterr, -EINVAL, "%s: source '%s' is not a %s device", type,
				      source, chr ? "character" : "block");
	return 0;
}

static int kv_get(char *const *settings, const char *key, const char **ret)
{
	size_t n = strlen(key);

	*ret = NULL;
	hull_strv_foreach (s, settings)
		if (strncmp(s, key, n) == 0 && s[n] == '=')
			*ret = s + n + 1;
	return *ret != NULL;
}

static int push_pair(char ***kv, const char *dev, const char *key, const char *value)
{
	int r = hull_strv_consume(kv, hull_strdup_printf("%s.%s", dev, key));

	return r < 0 ? r : hull_strv_push(kv, value);
}

/* What each type needs beyond well-formed values. */
static int type_check(const struct hull_instance_config *c, const char *dev, const char *type,
		      char *const *settings, struct hull_error **reterr)
{
	const char *source, *path, *major, *minor;
	struct stat st;

	kv_get(settings, "source", &source);
	kv_get(settings, "path", &path);
	if (streq(type, "disk")) {
		if (!source)
			return hull_error_set(reterr, -EINVAL, "disk: missing source=HOST_PATH");
		if (!path)
			return hull_error_set(reterr, -EINVAL, "disk: missing path=PATH_INSIDE");
		if (stat(source, &st) < 0)
			return hull_error_errno(reterr, -errno, "disk: source '%s'", source);
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			return hull_error_set(reterr, -EINVAL,
					      "disk: source '%s' is neither a directory nor a file",
					      source);
		return 0;
	}
	if (startswith(type, "unix-")) {
		kv_get(settings, "major", &major);
		kv_get(settings, "minor", &minor);
		if (source)
			return node_source_check(type, source, reterr);
		if (!major || !minor)
			return hull_error_set(reterr, -EINVAL,
					      "%s: missing source=HOST_PATH (or major= and minor=)",
					      type);
		if (!path)
			return hull_error_set(
				reterr, -EINVAL,
				"%s: missing path=PATH_INSIDE (needed with major/minor)", type);
		return 0;
	}
	if (streq(type, "usb") && !kv_get(settings, "vendorid", &source))
		return hull_error_set(reterr, -EINVAL, "usb: missing vendorid=XXXX");
	(void)dev;
	(void)c;
	return 0;
}

int instance_device_settings(const struct hull_instance_config *c, const char *dev,
			     const char *type, char *const *settings, char ***kv,
			     struct hull_error **reterr)
{
	const struct device_type *t = type_find(type);
	int r;

	if (!t)
		return hull_error_set(reterr, -EINVAL, "unknown device type '%s'", type);
	hull_strv_foreach (s, settings) {
		const char *eq = strchr(s, '=');
		const char *key = NULL;

		if (!eq)
			return hull_error_set(reterr, -EINVAL, "%s: expected KEY=VALUE, got '%s'",
					      type, s);
		for (size_t i = 0; i < ELEMENTSOF(t->keys) && t->keys[i]; i++)
			if (strlen(t->keys[i]) == (size_t)(eq - s) &&
			    strncmp(s, t->keys[i], (size_t)(eq - s)) == 0)
				key = t->keys[i];
		if (!key)
			return hull_error_set(reterr, -EINVAL, "%s: unknown key '%.*s' (known: %s)",
					      type, (int)(eq - s), s, t->known);
		r = value_check(c, type, key, eq + 1, reterr);
		if (r < 0)
			return r;
	}
	r = type_check(c, dev, type, settings, reterr);
	if (r < 0)
		return r;
	r = push_pair(kv, dev, "type", type);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(t->keys) && t->keys[i]; i++) {
		const char *v;

		if (kv_get(settings, t->keys[i], &v))
			r = push_pair(kv, dev, t->keys[i], v);
	}
	return r;
}

int instance_disk_for_path(const struct hull_instance_config *c, const char *path,
			   const char **ret_rest, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **devs = instance_device_names(c);
	const char *best = NULL, *rest = NULL;
	size_t best_len = 0;
	int fd;

	if (!devs)
		return -ENOMEM;
	path += strspn(path, "/");
	hull_strv_foreach (dev, devs) {
		const char *type = hull_instance_device_get(c, dev, "type");
		const char *p = hull_instance_device_get(c, dev, "path");
		const char *source = hull_instance_device_get(c, dev, "source");
		size_t n;
		struct stat st;

		if (!type || !streq(type, "disk") || !p || !source || stat(source, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		p += strspn(p, "/");
		n = strlen(p);
		if (strncmp(path, p, n) == 0 && (path[n] == '/' || path[n] == '\0') &&
		    n >= best_len) {
			best = source;
			best_len = n;
			rest = path + n + strspn(path + n, "/");
		}
	}
	if (!best)
		return 0;
	fd = open(best, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "disk source '%s'", best);
	*ret_rest = *rest ? rest : ".";
	return fd;
}
