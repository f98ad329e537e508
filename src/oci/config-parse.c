/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json: the top level (ociVersion, root, mounts, hooks, annotations),
 * plus the helpers the other config-*.c files share.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config-internal.h"
#include "oci/config.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

/* The kernel accepts at most this many lines in uid_map / gid_map (since 4.15). */
#define IDMAP_MAX 340

/* ---- shared helpers -------------------------------------------------- */

void hull_oci_free_array(void *array, size_t n, size_t size, hull_oci_elem_done_fn done)
{
	if (!array)
		return;
	if (done)
		for (size_t i = 0; i < n; i++)
			done((char *)array + i * size);
	free(array);
}

int hull_oci_parse_array(const char *path, struct json_object *v, size_t size,
			 hull_oci_elem_parse_fn parse, hull_oci_elem_done_fn done, void **array,
			 size_t *n, struct hull_error **reterr)
{
	size_t len;
	void *a;

	if (!json_object_is_type(v, json_type_array))
		return hull_json_type_error(path, "an array", reterr);
	hull_oci_free_array(*array, *n, size, done);
	*array = NULL;
	*n = 0;
	len = json_object_array_length(v);
	if (len == 0)
		return 0;
	a = calloc(len, size);
	if (!a)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	*array = a;
	*n = len;
	for (size_t i = 0; i < len; i++) {
		_cleanup_free_ char *sub = hull_json_path_index(path, i);
		int r;

		if (!sub)
			return hull_error_errno(reterr, -ENOMEM, "%s", path);
		r = parse(sub, json_object_array_get_idx(v, i), (char *)a + i * size, reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

int hull_oci_parse_oi64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	struct hull_oi64 *o = field;
	int r = hull_json_get_i64(path, v, &o->v, reterr);

	if (r < 0)
		return r;
	o->set = true;
	return 0;
}

int hull_oci_parse_ou64(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	struct hull_ou64 *o = field;
	int r = hull_json_get_u64(path, v, &o->v, reterr);

	if (r < 0)
		return r;
	o->set = true;
	return 0;
}

int hull_oci_parse_abs_path(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (json_object_get_string(v)[0] != '/')
		return hull_error_set(reterr, -EINVAL, "%s: must be an absolute path", path);
	return hull_json_parse_string(path, v, field, reterr);
}

static const struct hull_json_field idmap_table[] = {
	{ "containerID", hull_json_parse_u32, offsetof(struct hull_oci_idmap, container_id), true },
	{ "hostID", hull_json_parse_u32, offsetof(struct hull_oci_idmap, host_id), true },
	{ "size", hull_json_parse_u32, offsetof(struct hull_oci_idmap, size), true },
	{},
};

int hull_oci_parse_idmap(const char *path, struct json_object *v, void *elem,
			 struct hull_error **reterr)
{
	struct hull_oci_idmap *m = elem;
	int r;

	r = hull_json_dispatch(path, v, idmap_table, m, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (m->size == 0)
		return hull_error_set(reterr, -EINVAL, "%s.size: must be greater than zero", path);
	/* the last id of either range must still be a valid 32-bit id, not (uid_t)-1 */
	if ((uint64_t)m->container_id + m->size > UINT32_MAX)
		return hull_error_set(reterr, -EINVAL, "%s: containerID + size out of range", path);
	if ((uint64_t)m->host_id + m->size > UINT32_MAX)
		return hull_error_set(reterr, -EINVAL, "%s: hostID + size out of range", path);
	return 0;
}

int hull_oci_check_idmaps(const char *path, size_t n, struct hull_error **reterr)
{
	if (n > IDMAP_MAX)
		return hull_error_set(reterr, -EINVAL, "%s: too many mappings (at most %d)", path,
				      IDMAP_MAX);
	return 0;
}

int hull_oci_input_error(int r, struct hull_error **reterr)
{
	if (r >= 0)
		return r;
	if (r != -ENOMEM)
		r = -EINVAL;
	if (reterr && *reterr)
		(*reterr)->code = r;
	return r;
}

/* ---- mounts ---------------------------------------------------------- */

static void mount_done(void *elem)
{
	struct hull_oci_mount *m = elem;

	free(m->destination);
	free(m->type);
	free(m->source);
	hull_strv_free(m->options);
	free(m->uid_mappings);
	free(m->gid_mappings);
}

static int parse_mount_uid_mappings(const char *path, struct json_object *v, void *field,
				    struct hull_error **reterr)
{
	struct hull_oci_mount *m = container_of(field, struct hull_oci_mount, uid_mappings);

	return hull_oci_parse_idmaps(path, v, &m->uid_mappings, &m->n_uid_mappings, reterr);
}

static int parse_mount_gid_mappings(const char *path, struct json_object *v, void *field,
				    struct hull_error **reterr)
{
	struct hull_oci_mount *m = container_of(field, struct hull_oci_mount, gid_mappings);

	return hull_oci_parse_idmaps(path, v, &m->gid_mappings, &m->n_gid_mappings, reterr);
}

static const struct hull_json_field mount_table[] = {
	{ "destination", hull_oci_parse_abs_path, offsetof(struct hull_oci_mount, destination),
	  true },
	{ "type", hull_json_parse_string, offsetof(struct hull_oci_mount, type) },
	{ "source", hull_json_parse_string, offsetof(struct hull_oci_mount, source) },
	{ "options", hull_json_parse_strv, offsetof(struct hull_oci_mount, options) },
	{ "uidMappings", parse_mount_uid_mappings, offsetof(struct hull_oci_mount, uid_mappings) },
	{ "gidMappings", parse_mount_gid_mappings, offsetof(struct hull_oci_mount, gid_mappings) },
	{},
};

static int parse_mount(const char *path, struct json_object *v, void *elem,
		       struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, mount_table, elem, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_mounts, struct hull_oci_config, mounts, n_mounts,
			    struct hull_oci_mount, parse_mount, mount_done)

/* ---- hooks ----------------------------------------------------------- */

static void hook_done(void *elem)
{
	struct hull_oci_hook *h = elem;

	free(h->path);
	hull_strv_free(h->args);
	hull_strv_free(h->env);
}

static int parse_hook_timeout(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	struct hull_oi64 *t = field;
	int64_t x;
	int r;

	r = hull_json_get_i64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x <= 0)
		return hull_error_set(reterr, -EINVAL, "%s: must be greater than zero", path);
	/* seconds; callers turn it into milliseconds, keep that far from overflowing */
	if (x > INT_MAX)
		return hull_error_set(reterr, -ERANGE, "%s: number out of range", path);
	t->v = x;
	t->set = true;
	return 0;
}

static const struct hull_json_field hook_table[] = {
	{ "path", hull_oci_parse_abs_path, offsetof(struct hull_oci_hook, path), true },
	{ "args", hull_json_parse_strv, offsetof(struct hull_oci_hook, args) },
	{ "env", hull_json_parse_strv, offsetof(struct hull_oci_hook, env) },
	{ "timeout", parse_hook_timeout, offsetof(struct hull_oci_hook, timeout) },
	{},
};

static int parse_hook(const char *path, struct json_object *v, void *elem,
		      struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, hook_table, elem, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

static int parse_nonempty_path(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (json_object_get_string(v)[0] == '\0')
		return hull_error_set(reterr, -EINVAL, "%s: must not be empty", path);
	return hull_json_parse_string(path, v, field, reterr);
}

/*
 * createContainer hooks run in the container's mount namespace with the
 * container's root as their working directory: as runc, a relative path
 * there names a program inside the container.
 */
static const struct hull_json_field in_container_hook_table[] = {
	{ "path", parse_nonempty_path, offsetof(struct hull_oci_hook, path), true },
	{ "args", hull_json_parse_strv, offsetof(struct hull_oci_hook, args) },
	{ "env", hull_json_parse_strv, offsetof(struct hull_oci_hook, env) },
	{ "timeout", parse_hook_timeout, offsetof(struct hull_oci_hook, timeout) },
	{},
};

static int parse_in_container_hook(const char *path, struct json_object *v, void *elem,
				   struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, in_container_hook_table, elem, HULL_JSON_ALLOW_UNKNOWN,
				  reterr);
}

#define DEFINE_HOOK_FIELD(fn, kind, elem_fn)                                                  \
	static int fn(const char *path, struct json_object *v, void *field,                   \
		      struct hull_error **reterr)                                             \
	{                                                                                     \
		struct hull_oci_hooks *h =                                                    \
			container_of(field, struct hull_oci_hooks, hooks[kind]);              \
		/* `field` is &h->hooks[kind] (gcc's analyzer loses track of it otherwise) */ \
		return hull_oci_parse_array(path, v, sizeof(struct hull_oci_hook), elem_fn,   \
					    hook_done, field, &h->n_hooks[kind], reterr);     \
	}

DEFINE_HOOK_FIELD(parse_hooks_prestart, HULL_HOOK_PRESTART, parse_hook)
DEFINE_HOOK_FIELD(parse_hooks_create_runtime, HULL_HOOK_CREATE_RUNTIME, parse_hook)
DEFINE_HOOK_FIELD(parse_hooks_create_container, HULL_HOOK_CREATE_CONTAINER, parse_in_container_hook)
DEFINE_HOOK_FIELD(parse_hooks_start_container, HULL_HOOK_START_CONTAINER, parse_hook)
DEFINE_HOOK_FIELD(parse_hooks_poststart, HULL_HOOK_POSTSTART, parse_hook)
DEFINE_HOOK_FIELD(parse_hooks_poststop, HULL_HOOK_POSTSTOP, parse_hook)

#define HOOK_FIELD(name, fn, kind)                                     \
	{                                                              \
		name, fn, offsetof(struct hull_oci_hooks, hooks[kind]) \
	}

static const struct hull_json_field hooks_table[] = {
	HOOK_FIELD("prestart", parse_hooks_prestart, HULL_HOOK_PRESTART),
	HOOK_FIELD("createRuntime", parse_hooks_create_runtime, HULL_HOOK_CREATE_RUNTIME),
	HOOK_FIELD("createContainer", parse_hooks_create_container, HULL_HOOK_CREATE_CONTAINER),
	HOOK_FIELD("startContainer", parse_hooks_start_container, HULL_HOOK_START_CONTAINER),
	HOOK_FIELD("poststart", parse_hooks_poststart, HULL_HOOK_POSTSTART),
	HOOK_FIELD("poststop", parse_hooks_poststop, HULL_HOOK_POSTSTOP),
	{},
};

static int parse_hooks(const char *path, struct json_object *v, void *field,
		       struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, hooks_table, field, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- the top level --------------------------------------------------- */

/* root is an anonymous struct: dispatch into the whole config with root.* offsets */
static const struct hull_json_field root_table[] = {
	{ "path", hull_json_parse_string, offsetof(struct hull_oci_config, root.path), true },
	{ "readonly", hull_json_parse_bool, offsetof(struct hull_oci_config, root.readonly) },
	{},
};

static int parse_root(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	struct hull_oci_config *c = container_of(field, struct hull_oci_config, root);
	int r;

	r = hull_json_dispatch(path, v, root_table, c, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (c->root.path[0] == '\0')
		return hull_error_set(reterr, -EINVAL, "%s.path: must not be empty", path);
	return 0;
}

static int parse_oci_version(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	int r = hull_json_parse_string(path, v, field, reterr);

	if (r < 0)
		return r;
	if ((*(char **)field)[0] == '\0')
		return hull_error_set(reterr, -EINVAL, "%s: must not be empty", path);
	return 0;
}

static int parse_annotations(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	char **a;
	int r;

	r = hull_json_parse_string_map(path, v, field, reterr);
	if (r < 0)
		return r;
	a = *(char ***)field;
	for (size_t i = 0; a[i]; i += 2)
		if (a[i][0] == '\0')
			return hull_error_set(reterr, -EINVAL, "%s: keys must not be empty", path);
	return 0;
}

static const struct hull_json_field config_table[] = {
	{ "ociVersion", parse_oci_version, offsetof(struct hull_oci_config, oci_version), true },
	/* root is optional in the spec, but required on Linux */
	{ "root", parse_root, offsetof(struct hull_oci_config, root), true },
	{ "hostname", hull_json_parse_string, offsetof(struct hull_oci_config, hostname) },
	{ "domainname", hull_json_parse_string, offsetof(struct hull_oci_config, domainname) },
	{ "mounts", parse_mounts, offsetof(struct hull_oci_config, mounts) },
	{ "process", hull_oci_parse_process_field, offsetof(struct hull_oci_config, process) },
	{ "hooks", parse_hooks, offsetof(struct hull_oci_config, hooks) },
	{ "annotations", parse_annotations, offsetof(struct hull_oci_config, annotations) },
	{ "linux", hull_oci_parse_linux_field, offsetof(struct hull_oci_config, linux_config) },
	{},
};

void hull_oci_config_free(struct hull_oci_config *c)
{
	if (!c)
		return;
	free(c->oci_version);
	free(c->root.path);
	free(c->hostname);
	free(c->domainname);
	hull_oci_free_array(c->mounts, c->n_mounts, sizeof(struct hull_oci_mount), mount_done);
	hull_oci_process_free(c->process);
	for (int k = 0; k < _HULL_HOOK_MAX; k++)
		hull_oci_free_array(c->hooks.hooks[k], c->hooks.n_hooks[k],
				    sizeof(struct hull_oci_hook), hook_done);
	hull_strv_free(c->annotations);
	hull_oci_linux_free(c->linux_config);
	free(c);
}

int hull_oci_config_parse(const char *text, size_t len, struct hull_oci_config **ret,
			  struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *obj = NULL;
	_cleanup_oci_config_ struct hull_oci_config *c = NULL;
	int r;

	r = hull_json_parse(text, len, "config.json", &obj, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	c = calloc(1, sizeof(*c));
	if (!c)
		return hull_error_errno(reterr, -ENOMEM, "config.json");
	r = hull_json_dispatch("", obj, config_table, c, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	*ret = TAKE_PTR(c);
	return 0;
}

int hull_oci_config_load(int bundle_dirfd, struct hull_oci_config **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = hull_read_file_at(bundle_dirfd, "config.json", &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", "config.json");
	return hull_oci_config_parse(text, len, ret, reterr);
}

const char *hull_oci_config_annotation(const struct hull_oci_config *c, const char *key)
{
	if (!c || !c->annotations)
		return NULL;
	for (size_t i = 0; c->annotations[i] && c->annotations[i + 1]; i += 2)
		if (streq(c->annotations[i], key))
			return c->annotations[i + 1];
	return NULL;
}

const struct hull_oci_namespace *hull_oci_config_namespace(const struct hull_oci_config *c,
							   enum hull_ns_type t)
{
	if (!c || !c->linux_config)
		return NULL;
	for (size_t i = 0; i < c->linux_config->n_namespaces; i++)
		if (c->linux_config->namespaces[i].type == t)
			return &c->linux_config->namespaces[i];
	return NULL;
}
