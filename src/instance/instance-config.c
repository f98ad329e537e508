/* SPDX-License-Identifier: Apache-2.0 */
/* instance.json, names, config keys and subordinate id ranges. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

void hull_instance_config_free(struct hull_instance_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->image);
	free(c->image_ref);
	free(c->created);
	hull_strv_free(c->config);
	hull_strv_free(c->profiles);
	hull_strv_free(c->devices);
	free(c);
}

static int parse_idmap(const char *path, struct json_object *v, void *field,
		       struct hull_error **reterr);

static const struct hull_json_field idmap_fields[] = {
	{ "uid", hull_json_parse_u32, offsetof(struct hull_instance_config, uid_base), true },
	{ "gid", hull_json_parse_u32, offsetof(struct hull_instance_config, gid_base), true },
	{ "count", hull_json_parse_u32, offsetof(struct hull_instance_config, id_count), true },
	{},
};

static int parse_devices(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr);

static const struct hull_json_field config_fields[] = {
	{ "name", hull_json_parse_string, offsetof(struct hull_instance_config, name), true },
	{ "image", hull_json_parse_string, offsetof(struct hull_instance_config, image), true },
	{ "image_ref", hull_json_parse_string, offsetof(struct hull_instance_config, image_ref),
	  false },
	{ "created", hull_json_parse_string, offsetof(struct hull_instance_config, created),
	  false },
	{ "idmap", parse_idmap, 0, true },
	{ "config", hull_json_parse_string_map, offsetof(struct hull_instance_config, config),
	  false },
	{ "profiles", hull_json_parse_strv, offsetof(struct hull_instance_config, profiles),
	  false },
	{ "storage_host_ids", hull_json_parse_bool,
	  offsetof(struct hull_instance_config, storage_host_ids), false },
	{ "devices", parse_devices, offsetof(struct hull_instance_config, devices), false },
	{},
};

/* {"eth0": {"type": "nic", ...}} -> "eth0.type", "nic", ... */
static int parse_devices(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	char ***ret = field;
	_cleanup_strv_free_ char **kv = calloc(1, sizeof(char *));

	if (!kv)
		return -ENOMEM;
	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	json_object_object_foreach(v, dev, d)
	{
		if (!json_object_is_type(d, json_type_object) || strchr(dev, '.'))
			return hull_error_set(reterr, -EINVAL, "%s.%s: expected an object", path,
					      dev);
		json_object_object_foreach(d, key, val)
		{
			if (!json_object_is_type(val, json_type_string))
				return hull_error_set(reterr, -EINVAL,
						      "%s.%s.%s: expected a string", path, dev,
						      key);
			if (hull_strv_consume(&kv, hull_strdup_printf("%s.%s", dev, key)) < 0 ||
			    hull_strv_push(&kv, json_object_get_string(val)) < 0)
				return -ENOMEM;
		}
	}
	hull_strv_free(*ret);
	*ret = TAKE_PTR(kv);
	return 0;
}

static int parse_idmap(const char *path, struct json_object *v, void *field,
		       struct hull_error **reterr)
{
	/* the table's offset is 0: field is the whole config */
	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	return hull_json_dispatch(path, v, idmap_fields, field, 0, reterr);
}

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts a key/value strv by key (pairs move together). */
static void sort_pairs(char **kv)
{
	size_t n = hull_strv_length(kv) / 2;
	char *(*pairs)[2] = (char *(*)[2])kv;

	qsort(pairs, n, sizeof(pairs[0]), cmp_pair);
}

int hull_instance_config_parse(const char *text, size_t len, struct hull_instance_config **ret,
			       struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	r = hull_json_parse(text, len, "instance.json", &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object))
		return hull_json_type_error("instance.json", "an object", reterr);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = hull_json_dispatch("", o, config_fields, c, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	r = hull_instance_name_check(c->name, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "name");
	if (c->id_count == 0 || (uint64_t)c->uid_base + c->id_count > UINT32_MAX ||
	    (uint64_t)c->gid_base + c->id_count > UINT32_MAX)
		return hull_error_set(reterr, -EINVAL,
				      "idmap.count: expected 1 or more ids "
				      "within 32 bits");
	if (!c->config) {
		c->config = calloc(1, sizeof(char *));
		if (!c->config)
			return -ENOMEM;
	}
	for (size_t i = 0; c->config[i]; i += 2) {
		r = hull_instance_key_check(c->config[i], c->config[i + 1], reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "config");
	}
	sort_pairs(c->config);
	if (c->devices)
		sort_pairs(c->devices);
	*ret = TAKE_PTR(c);
	return 0;
}

char *hull_instance_config_format(const struct hull_instance_config *c)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *idmap = json_object_new_object(), *cfg = json_object_new_object();

	if (!o || !idmap || !cfg) {
		json_object_put(idmap);
		json_object_put(cfg);
		return NULL;
	}
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "image", json_object_new_string(c->image));
	if (c->image_ref)
		json_object_object_add(o, "image_ref", json_object_new_string(c->image_ref));
	if (c->created)
		json_object_object_add(o, "created", json_object_new_string(c->created));
	json_object_object_add(idmap, "uid", json_object_new_int64(c->uid_base));
	json_object_object_add(idmap, "gid", json_object_new_int64(c->gid_base));
	json_object_object_add(idmap, "count", json_object_new_int64(c->id_count));
	json_object_object_add(o, "idmap", idmap);
	for (size_t i = 0; c->config && c->config[i]; i += 2)
		json_object_object_add(cfg, c->config[i], json_object_new_string(c->config[i + 1]));
	json_object_object_add(o, "config", cfg);
	if (c->storage_host_ids)
		json_object_object_add(o, "storage_host_ids", json_object_new_boolean(true));
	if (c->profiles) {
		struct json_object *a = json_object_new_array();

		hull_strv_foreach (p, c->profiles)
			json_object_array_add(a, json_object_new_string(p));
		json_object_object_add(o, "profiles", a);
	}
	if (c->devices && c->devices[0]) {
		struct json_object *devs = json_object_new_object();

		for (size_t i = 0; devs && c->devices[i]; i += 2) {
			const char *dot = strchr(c->devices[i], '.');
			_cleanup_free_ char *dev = NULL;
			struct json_object *d;

			if (!dot || !(dev = strndup(c->devices[i], (size_t)(dot - c->devices[i]))))
				continue;
			if (!json_object_object_get_ex(devs, dev, &d)) {
				d = json_object_new_object();
				json_object_object_add(devs, dev, d);
			}
			json_object_object_add(d, dot + 1,
					       json_object_new_string(c->devices[i + 1]));
		}
		json_object_object_add(o, "devices", devs);
	}
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct hull_instance_config *instance_config_dup(const struct hull_instance_config *c)
{
	_cleanup_free_ char *text = hull_instance_config_format(c);
	struct hull_instance_config *d = NULL;

	if (!text || hull_instance_config_parse(text, strlen(text), &d, NULL) < 0)
		return NULL;
	return d;
}

int instance_config_save(int dirfd, const struct hull_instance_config *c,
			 struct hull_error **reterr)
{
	_cleanup_free_ char *text = hull_instance_config_format(c);
	int r;

	if (!text)
		return -ENOMEM;
	r = hull_write_file_atomic_at(dirfd, "instance.json", text, strlen(text), 0600,
				      HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "'%s': write 'instance.json'", c->name);
	return 0;
}

const char *hull_instance_config_get(const struct hull_instance_config *c, const char *key)
{
	for (size_t i = 0; c->config && c->config[i]; i += 2)
		if (streq(c->config[i], key))
			return c->config[i + 1];
	return NULL;
}

int hull_instance_name_check(const char *name, struct hull_error **reterr)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 63 || !isalpha((unsigned char)name[0]))
		return hull_error_set(reterr, -EINVAL,
				      "instance name '%s': expected 1 to 63 letters, digits or "
				      "'-', starting with a letter",
				      name ? name : "");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-')
			return hull_error_set(reterr, -EINVAL,
					      "instance name '%s': only letters, digits and '-' "
					      "allowed",
					      name);
	return 0;
}

static int parse_bytes(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
		mult = 1ULL << 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (mult > 1 && *end == 'i') /* "MiB" as "M" */
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > UINT64_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

int instance_parse_cpus(const char *s, uint64_t *ret_millis)
{
	uint64_t whole = 0, frac = 0;
	unsigned digits = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		whole = whole * 10 + (uint64_t)(*s - '0');
		if (whole > 1024)
			return -EINVAL;
	}
	if (*s == '.') {
		s++;
		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (digits >= 3)
				return -EINVAL; /* a thousandth of a CPU at most */
			frac = frac * 10 + (uint64_t)(*s - '0');
		}
		if (digits == 0)
			return -EINVAL;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*s || whole * 1000 + frac < 10 || whole * 1000 + frac > 1024000)
		return -EINVAL;
	*ret_millis = whole * 1000 + frac;
	return 0;
}

int hull_instance_config_set(struct hull_instance_config *c, const char *key, const char *value)
{
	for (size_t i = 0; c->config && c->config[i]; i += 2)
		if (streq(c->config[i], key)) {
			char *v = strdup(value);

			if (!v)
				return -ENOMEM;
			free(c->config[i + 1]);
			c->config[i + 1] = v;
			return 0;
		}
	if (hull_strv_push(&c->config, key) < 0 || hull_strv_push(&c->config, value) < 0)
		return -ENOMEM;
	sort_pairs(c->config);
	return 0;
}

bool hull_instance_config_unset(struct hull_instance_config *c, const char *key)
{
	size_t n = hull_strv_length(c->config);

	for (size_t i = 0; c->config && c->config[i]; i += 2)
		if (streq(c->config[i], key)) {
			free(c->config[i]);
			free(c->config[i + 1]);
			memmove(c->config + i, c->config + i + 2, (n - i - 1) * sizeof(char *));
			return true;
		}
	return false;
}

int hull_instance_key_check(const char *key, const char *value, struct hull_error **reterr)
{
	uint64_t v;

	if (!value)
		return hull_error_set(reterr, -EINVAL, "'%s': expected key=value", key);
	if (streq(key, "limits.memory")) {
		if (parse_bytes(value, &v) < 0 || v < (4u << 20))
			return hull_error_set(reterr, -EINVAL,
					      "limits.memory: expected a size of at least 4MiB "
					      "such as '512MiB' or '2G', got '%s'",
					      value);
		return 0;
	}
	if (streq(key, "limits.processes")) {
		if (hull_parse_u64(value, &v) < 0 || v == 0)
			return hull_error_set(reterr, -EINVAL,
					      "limits.processes: expected a positive number, got "
					      "'%s'",
					      value);
		return 0;
	}
	if (streq(key, "limits.cpu")) {
		if (instance_parse_cpus(value, &v) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "limits.cpu: expected a number of CPUs from 0.01 to "
					      "1024 such as '2' or '0.5', got '%s'",
					      value);
		return 0;
	}
	if (streq(key, "security.privileged") || streq(key, "security.nesting")) {
		if (streq(value, "false") || streq(value, "true"))
			return 0;
		return hull_error_set(reterr, -EINVAL, "%s: expected 'true' or 'false', got '%s'",
				      key, value);
	}
	if (streq(key, "boot.autostart")) {
		if (streq(value, "true") || streq(value, "false"))
			return 0;
		return hull_error_set(reterr, -EINVAL,
				      "boot.autostart: expected 'true' or 'false', got '%s'",
				      value);
	}
	if (streq(key, "boot.autostart.delay")) {
		uint32_t d;

		if (hull_parse_u32(value, &d) < 0 || d > 86400)
			return hull_error_set(reterr, -EINVAL,
					      "boot.autostart.delay: expected a number of seconds "
					      "(0 to 86400), got '%s'",
					      value);
		return 0;
	}
	if (streq(key, "boot.autostart.priority")) {
		int p;

		if (hull_parse_int(value, &p) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "boot.autostart.priority: expected an integer, got "
					      "'%s'",
					      value);
		return 0;
	}
	if (startswith(key, "user.") && key[5])
		return 0;
	return hull_error_set(reterr, -EINVAL,
			      "unknown config key '%s' (known: boot.autostart, "
			      "boot.autostart.delay, boot.autostart.priority, limits.cpu, "
			      "limits.memory, limits.processes, security.nesting, "
			      "security.privileged, user.*)",
			      key);
}

bool hull_instance_key_known(const char *key)
{
	static const char *const keys[] = {
		"boot.autostart",   "boot.autostart.delay", "boot.autostart.priority",
		"limits.cpu",	    "limits.memory",	    "limits.processes",
		"security.nesting", "security.privileged",
	};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (streq(key, keys[i]))
			return true;
	return startswith(key, "user.") && key[5];
}

uint64_t instance_memory_limit(const struct hull_instance_config *c)
{
	const char *v = hull_instance_config_get(c, "limits.memory");
	uint64_t b = 0;

	return v && parse_bytes(v, &b) >= 0 ? b : 0;
}

int hull_subid_read(const char *file, const char *user, struct hull_id_range **ret, size_t *ret_n,
		    struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct hull_id_range *l = NULL;
	size_t n = 0;
	char *save = NULL;
	int r;

	r = hull_read_file_at(AT_FDCWD, file, &text, NULL);
	if (r < 0 && r != -ENOENT)
		return hull_error_errno(reterr, r, "read '%s'", file);
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		uint32_t start, count;
		void *p;

		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		if (!streq(line, user) || hull_parse_u32(c1 + 1, &start) < 0 ||
		    hull_parse_u32(c2 + 1, &count) < 0 || count < HULL_ID_RANGE ||
		    (uint64_t)start + count > UINT32_MAX)
			continue;
		p = realloc(l, (n + 1) * sizeof(*l));
		if (!p)
			return -ENOMEM;
		l = p;
		l[n++] = (struct hull_id_range){ .start = start, .count = count };
	}
	if (n == 0)
		return hull_error_set(reterr, -ENOENT,
				      "no subordinate ids for '%s' in '%s' (add a line such as "
				      "'%s:1000000:1000000000')",
				      user, file, user);
	*ret = TAKE_PTR(l);
	*ret_n = n;
	return 0;
}

int hull_subid_allocate(const struct hull_id_range *ranges, size_t n_ranges, const uint32_t *used,
			size_t n_used, uint32_t *ret)
{
	for (size_t i = 0; i < n_ranges; i++) {
		uint64_t end = (uint64_t)ranges[i].start + ranges[i].count;

		for (uint64_t b = ranges[i].start; b + HULL_ID_RANGE <= end; b += HULL_ID_RANGE) {
			bool taken = false;

			for (size_t j = 0; j < n_used && !taken; j++)
				taken = used[j] < b + HULL_ID_RANGE &&
					(uint64_t)used[j] + HULL_ID_RANGE > b;
			if (!taken) {
				*ret = (uint32_t)b;
				return 0;
			}
		}
	}
	return -ENOSPC;
}
