/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI image manifests, indexes and image configs (see image-spec.h), parsed
 * with the same table-driven dispatcher as config.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "oci/config-internal.h"
#include "oci/image-spec.h"
#include "util/json.h"
#include "util/str.h"

/* ---- media types -------------------------------------------------------- */

static const struct {
	const char *type;
	enum hull_oci_compression compression;
} layer_types[] = {
	{ HULL_OCI_MEDIA_LAYER, HULL_OCI_COMPRESSION_NONE },
	{ HULL_OCI_MEDIA_LAYER_GZIP, HULL_OCI_COMPRESSION_GZIP },
	{ HULL_OCI_MEDIA_LAYER_ZSTD, HULL_OCI_COMPRESSION_ZSTD },
	{ HULL_OCI_MEDIA_LAYER_ND, HULL_OCI_COMPRESSION_NONE },
	{ HULL_OCI_MEDIA_LAYER_ND_GZIP, HULL_OCI_COMPRESSION_GZIP },
	{ HULL_OCI_MEDIA_LAYER_ND_ZSTD, HULL_OCI_COMPRESSION_ZSTD },
	{ HULL_DOCKER_MEDIA_LAYER_GZIP, HULL_OCI_COMPRESSION_GZIP },
	{ HULL_DOCKER_MEDIA_LAYER_FOREIGN, HULL_OCI_COMPRESSION_GZIP },
};

int hull_oci_layer_compression(const char *media_type, enum hull_oci_compression *ret)
{
	for (size_t i = 0; media_type && i < ELEMENTSOF(layer_types); i++)
		if (streq(media_type, layer_types[i].type)) {
			*ret = layer_types[i].compression;
			return 0;
		}
	return -EOPNOTSUPP;
}

bool hull_oci_media_is_manifest(const char *media_type)
{
	return media_type && (streq(media_type, HULL_OCI_MEDIA_MANIFEST) ||
			      streq(media_type, HULL_DOCKER_MEDIA_MANIFEST));
}

bool hull_oci_media_is_index(const char *media_type)
{
	return media_type && (streq(media_type, HULL_OCI_MEDIA_INDEX) ||
			      streq(media_type, HULL_DOCKER_MEDIA_LIST));
}

bool hull_oci_media_is_config(const char *media_type)
{
	return media_type && (streq(media_type, HULL_OCI_MEDIA_CONFIG) ||
			      streq(media_type, HULL_DOCKER_MEDIA_CONFIG));
}

/* ---- descriptors ---------------------------------------------------------- */

static int parse_digest(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a sha256 digest", reterr);
	if (!hull_digest_valid(json_object_get_string(v)))
		return hull_json_type_error(path, "a sha256 digest", reterr);
	return hull_json_parse_string(path, v, field, reterr);
}

static int parse_media_type(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	s = json_object_get_string(v);
	/* RFC 6838: type/subtype of at most 127 characters each */
	if (!*s || strlen(s) > 255 || !strchr(s, '/'))
		return hull_json_type_error(path, "a media type", reterr);
	return hull_json_parse_string(path, v, field, reterr);
}

static const struct hull_json_field platform_table[] = {
	{ "architecture", hull_json_parse_string, offsetof(struct hull_oci_platform, architecture),
	  true },
	{ "os", hull_json_parse_string, offsetof(struct hull_oci_platform, os), true },
	{ "variant", hull_json_parse_string, offsetof(struct hull_oci_platform, variant) },
	{ "os.version", hull_json_parse_string, offsetof(struct hull_oci_platform, os_version) },
	{},
};

static void platform_free(struct hull_oci_platform *p)
{
	if (!p)
		return;
	free(p->architecture);
	free(p->os);
	free(p->variant);
	free(p->os_version);
	free(p);
}

static int parse_platform(const char *path, struct json_object *v, void *field,
			  struct hull_error **reterr)
{
	struct hull_oci_platform **pp = field;

	platform_free(*pp);
	*pp = calloc(1, sizeof(**pp));
	if (!*pp)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	return hull_json_dispatch(path, v, platform_table, *pp, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

static const struct hull_json_field descriptor_table[] = {
	{ "mediaType", parse_media_type, offsetof(struct hull_oci_descriptor, media_type), true },
	{ "digest", parse_digest, offsetof(struct hull_oci_descriptor, digest), true },
	{ "size", hull_json_parse_u64, offsetof(struct hull_oci_descriptor, size), true },
	{ "urls", hull_json_parse_strv, offsetof(struct hull_oci_descriptor, urls) },
	{ "annotations", hull_json_parse_string_map,
	  offsetof(struct hull_oci_descriptor, annotations) },
	{ "platform", parse_platform, offsetof(struct hull_oci_descriptor, platform) },
	{},
};

static void descriptor_done(void *elem)
{
	struct hull_oci_descriptor *d = elem;

	free(d->media_type);
	free(d->digest);
	hull_strv_free(d->urls);
	hull_strv_free(d->annotations);
	platform_free(d->platform);
}

static int parse_descriptor(const char *path, struct json_object *v, void *elem,
			    struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, descriptor_table, elem, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

static int parse_layer(const char *path, struct json_object *v, void *elem,
		       struct hull_error **reterr)
{
	struct hull_oci_descriptor *d = elem;
	enum hull_oci_compression c;
	int r = parse_descriptor(path, v, elem, reterr);

	if (r < 0)
		return r;
	if (hull_oci_layer_compression(d->media_type, &c) < 0)
		return hull_error_set(reterr, -EINVAL, "%s.mediaType: unsupported layer type '%s'",
				      path, d->media_type);
	return 0;
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_layers, struct hull_oci_manifest, layers, n_layers,
			    struct hull_oci_descriptor, parse_layer, descriptor_done)
HULL_OCI_DEFINE_ARRAY_FIELD(parse_manifests, struct hull_oci_index, manifests, n_manifests,
			    struct hull_oci_descriptor, parse_descriptor, descriptor_done)

static int parse_config_descriptor(const char *path, struct json_object *v, void *field,
				   struct hull_error **reterr)
{
	struct hull_oci_descriptor *d = field;
	int r = parse_descriptor(path, v, field, reterr);

	if (r < 0)
		return r;
	if (!hull_oci_media_is_config(d->media_type))
		return hull_error_set(reterr, -EINVAL,
				      "%s.mediaType: '%s' is not an image config type", path,
				      d->media_type);
	return 0;
}

/* ---- documents ------------------------------------------------------------ */

static int parse_doc(const char *text, size_t len, size_t max, const char *what,
		     struct json_object **ret, struct hull_error **reterr)
{
	if (len > max)
		return hull_error_set(reterr, -EFBIG, "%s: %zu bytes, more than the limit of %zu",
				      what, len, max);
	return hull_json_parse(text, len, what, ret, reterr);
}

static const char *doc_media_type(struct json_object *o)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "mediaType", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static int kind_of(struct json_object *o, const char *content_type, enum hull_oci_doc_kind *ret,
		   struct hull_error **reterr)
{
	const char *mt = doc_media_type(o);
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object))
		return hull_json_type_error("manifest", "an object", reterr);
	if (content_type && !*content_type)
		content_type = NULL;
	/* registries answer with the generic type for documents that have none */
	if (content_type && (streq(content_type, "application/json") ||
			     streq(content_type, "application/octet-stream")))
		content_type = NULL;
	if (json_object_object_get_ex(o, "schemaVersion", &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 1)
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "manifest: Docker schema 1 is not supported (deprecated)");
	if (content_type && mt && !streq(content_type, mt))
		return hull_error_set(
			reterr, -EINVAL,
			"manifest.mediaType: '%s' does not match the content type '%s'", mt,
			content_type);
	if (!mt)
		mt = content_type;
	if (mt) {
		if (hull_oci_media_is_manifest(mt)) {
			*ret = HULL_OCI_DOC_MANIFEST;
			return 0;
		}
		if (hull_oci_media_is_index(mt)) {
			*ret = HULL_OCI_DOC_INDEX;
			return 0;
		}
		return hull_error_set(reterr, -EINVAL,
				      "manifest.mediaType: unsupported manifest type '%s'", mt);
	}
	if (json_object_object_get_ex(o, "manifests", &v)) {
		*ret = HULL_OCI_DOC_INDEX;
		return 0;
	}
	if (json_object_object_get_ex(o, "layers", &v) ||
	    json_object_object_get_ex(o, "config", &v)) {
		*ret = HULL_OCI_DOC_MANIFEST;
		return 0;
	}
	return hull_error_set(reterr, -EINVAL,
			      "manifest: neither an image manifest nor an image index");
}

int hull_oci_doc_kind(const char *text, size_t len, const char *content_type,
		      enum hull_oci_doc_kind *ret, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	r = parse_doc(text, len, HULL_OCI_MANIFEST_MAX_SIZE, "manifest", &o, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	return hull_oci_input_error(kind_of(o, content_type, ret, reterr), reterr);
}

static int parse_schema_version(const char *path, struct json_object *v, void *field,
				struct hull_error **reterr)
{
	int *p = field;
	int r = hull_json_parse_int(path, v, p, reterr);

	if (r < 0)
		return r;
	if (*p != 2)
		return hull_error_set(reterr, -EINVAL, "%s: expected 2, got %d", path, *p);
	return 0;
}

static const struct hull_json_field manifest_table[] = {
	{ "schemaVersion", parse_schema_version, offsetof(struct hull_oci_manifest, schema_version),
	  true },
	{ "mediaType", parse_media_type, offsetof(struct hull_oci_manifest, media_type) },
	{ "config", parse_config_descriptor, offsetof(struct hull_oci_manifest, config), true },
	{ "layers", parse_layers, offsetof(struct hull_oci_manifest, layers), true },
	{ "annotations", hull_json_parse_string_map,
	  offsetof(struct hull_oci_manifest, annotations) },
	{},
};

void hull_oci_manifest_free(struct hull_oci_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_done(&m->config);
	hull_oci_free_array(m->layers, m->n_layers, sizeof(*m->layers), descriptor_done);
	hull_strv_free(m->annotations);
	free(m);
}

static int set_media_type(char **field, bool *docker, const char *dflt, const char *docker_type)
{
	if (!*field) {
		*field = strdup(dflt);
		if (!*field)
			return -ENOMEM;
	}
	*docker = streq(*field, docker_type);
	return 0;
}

static int count_check(struct json_object *o, const char *key, size_t min, size_t max,
		       const char *path, struct hull_error **reterr)
{
	struct json_object *v = NULL;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return 0; /* the dispatcher names the problem */
	n = json_object_array_length(v);
	if (n < min || n > max)
		return hull_error_set(reterr, -EINVAL, "%s: %zu entries, expected %zu to %zu", path,
				      n, min, max);
	return 0;
}

static int manifest_parse(const char *text, size_t len, const char *content_type,
			  struct hull_oci_manifest **ret, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
	enum hull_oci_doc_kind kind;
	int r;

	r = parse_doc(text, len, HULL_OCI_MANIFEST_MAX_SIZE, "manifest", &o, reterr);
	if (r < 0)
		return r;
	r = kind_of(o, content_type, &kind, reterr);
	if (r < 0)
		return r;
	if (kind != HULL_OCI_DOC_MANIFEST)
		return hull_error_set(reterr, -EINVAL,
				      "manifest: an image index, expected an image manifest");
	r = count_check(o, "layers", 1, HULL_OCI_MAX_LAYERS, "manifest.layers", reterr);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = hull_json_dispatch("manifest", o, manifest_table, m, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (!m->media_type && content_type && hull_oci_media_is_manifest(content_type))
		m->media_type = strdup(content_type);
	if (set_media_type(&m->media_type, &m->docker, HULL_OCI_MEDIA_MANIFEST,
			   HULL_DOCKER_MEDIA_MANIFEST) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(m);
	return 0;
}

int hull_oci_manifest_parse(const char *text, size_t len, const char *content_type,
			    struct hull_oci_manifest **ret, struct hull_error **reterr)
{
	return hull_oci_input_error(manifest_parse(text, len, content_type, ret, reterr), reterr);
}

static const struct hull_json_field index_table[] = {
	{ "schemaVersion", parse_schema_version, offsetof(struct hull_oci_index, schema_version),
	  true },
	{ "mediaType", parse_media_type, offsetof(struct hull_oci_index, media_type) },
	{ "manifests", parse_manifests, offsetof(struct hull_oci_index, manifests), true },
	{ "annotations", hull_json_parse_string_map, offsetof(struct hull_oci_index, annotations) },
	{},
};

void hull_oci_index_free(struct hull_oci_index *idx)
{
	if (!idx)
		return;
	free(idx->media_type);
	hull_oci_free_array(idx->manifests, idx->n_manifests, sizeof(*idx->manifests),
			    descriptor_done);
	hull_strv_free(idx->annotations);
	free(idx);
}

static int index_parse(const char *text, size_t len, const char *content_type,
		       struct hull_oci_index **ret, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_(hull_oci_index_freep) struct hull_oci_index *idx = NULL;
	enum hull_oci_doc_kind kind;
	int r;

	r = parse_doc(text, len, HULL_OCI_MANIFEST_MAX_SIZE, "index", &o, reterr);
	if (r < 0)
		return r;
	r = kind_of(o, content_type, &kind, reterr);
	if (r < 0)
		return r;
	if (kind != HULL_OCI_DOC_INDEX)
		return hull_error_set(reterr, -EINVAL,
				      "index: an image manifest, expected an image index");
	r = count_check(o, "manifests", 0, HULL_OCI_MAX_MANIFESTS, "index.manifests", reterr);
	if (r < 0)
		return r;
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	r = hull_json_dispatch("index", o, index_table, idx, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (!idx->media_type && content_type && hull_oci_media_is_index(content_type))
		idx->media_type = strdup(content_type);
	if (set_media_type(&idx->media_type, &idx->docker, HULL_OCI_MEDIA_INDEX,
			   HULL_DOCKER_MEDIA_LIST) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(idx);
	return 0;
}

int hull_oci_index_parse(const char *text, size_t len, const char *content_type,
			 struct hull_oci_index **ret, struct hull_error **reterr)
{
	return hull_oci_input_error(index_parse(text, len, content_type, ret, reterr), reterr);
}

/* ---- image config ------------------------------------------------------------ */

/* An object whose keys matter and whose values are ignored ({"80/tcp": {}}). */
static int parse_key_set(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	_cleanup_strv_free_ char **out = NULL;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	out = calloc(1, sizeof(char *));
	if (!out)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	json_object_object_foreach(v, key, val)
	{
		(void)val;
		if (!*key)
			return hull_error_set(reterr, -EINVAL, "%s: keys must not be empty", path);
		if (hull_strv_push(&out, key) < 0)
			return hull_error_errno(reterr, -ENOMEM, "%s", path);
	}
	hull_strv_free(*(char ***)field);
	*(char ***)field = TAKE_PTR(out);
	return 0;
}

static int parse_env(const char *path, struct json_object *v, void *field,
		     struct hull_error **reterr)
{
	int r = hull_json_parse_strv(path, v, field, reterr);
	size_t i = 0;

	if (r < 0)
		return r;
	hull_strv_foreach (e, *(char ***)field) {
		if (!strchr(e, '=') || e[0] == '=') {
			_cleanup_free_ char *sub = hull_json_path_index(path, i);

			return hull_error_set(reterr, -EINVAL, "%s: expected KEY=VALUE",
					      sub ? sub : path);
		}
		i++;
	}
	return 0;
}

static const struct hull_json_field container_config_table[] = {
	{ "User", hull_json_parse_string, offsetof(struct hull_oci_image_config, config.user) },
	{ "ExposedPorts", parse_key_set,
	  offsetof(struct hull_oci_image_config, config.exposed_ports) },
	{ "Env", parse_env, offsetof(struct hull_oci_image_config, config.env) },
	{ "Entrypoint", hull_json_parse_strv,
	  offsetof(struct hull_oci_image_config, config.entrypoint) },
	{ "Cmd", hull_json_parse_strv, offsetof(struct hull_oci_image_config, config.cmd) },
	{ "Volumes", parse_key_set, offsetof(struct hull_oci_image_config, config.volumes) },
	{ "WorkingDir", hull_json_parse_string,
	  offsetof(struct hull_oci_image_config, config.working_dir) },
	{ "Labels", hull_json_parse_string_map,
	  offsetof(struct hull_oci_image_config, config.labels) },
	{ "StopSignal", hull_json_parse_string,
	  offsetof(struct hull_oci_image_config, config.stop_signal) },
	{},
};

static int parse_container_config(const char *path, struct json_object *v, void *field,
				  struct hull_error **reterr)
{
	struct hull_oci_image_config *c = container_of(field, struct hull_oci_image_config, config);

	return hull_json_dispatch(path, v, container_config_table, c, HULL_JSON_ALLOW_UNKNOWN,
				  reterr);
}

static int parse_diff_ids(const char *path, struct json_object *v, void *field,
			  struct hull_error **reterr)
{
	size_t i = 0;
	int r;

	if (json_object_is_type(v, json_type_array) &&
	    json_object_array_length(v) > HULL_OCI_MAX_LAYERS)
		return hull_error_set(reterr, -EINVAL, "%s: more than %d layers", path,
				      HULL_OCI_MAX_LAYERS);
	r = hull_json_parse_strv(path, v, field, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (d, *(char ***)field) {
		if (!hull_digest_valid(d)) {
			_cleanup_free_ char *sub = hull_json_path_index(path, i);

			return hull_json_type_error(sub ? sub : path, "a sha256 digest", reterr);
		}
		i++;
	}
	return 0;
}

static const struct hull_json_field rootfs_table[] = {
	{ "type", hull_json_parse_string, offsetof(struct hull_oci_image_config, rootfs.type),
	  true },
	{ "diff_ids", parse_diff_ids, offsetof(struct hull_oci_image_config, rootfs.diff_ids),
	  true },
	{},
};

static int parse_rootfs(const char *path, struct json_object *v, void *field,
			struct hull_error **reterr)
{
	struct hull_oci_image_config *c = container_of(field, struct hull_oci_image_config, rootfs);
	int r = hull_json_dispatch(path, v, rootfs_table, c, HULL_JSON_ALLOW_UNKNOWN, reterr);

	if (r < 0)
		return r;
	if (!streq(c->rootfs.type, "layers"))
		return hull_error_set(reterr, -EINVAL, "%s.type: expected 'layers', got '%s'", path,
				      c->rootfs.type);
	return 0;
}

static const struct hull_json_field image_config_table[] = {
	{ "created", hull_json_parse_string, offsetof(struct hull_oci_image_config, created) },
	{ "author", hull_json_parse_string, offsetof(struct hull_oci_image_config, author) },
	{ "architecture", hull_json_parse_string,
	  offsetof(struct hull_oci_image_config, architecture), true },
	{ "os", hull_json_parse_string, offsetof(struct hull_oci_image_config, os), true },
	{ "variant", hull_json_parse_string, offsetof(struct hull_oci_image_config, variant) },
	{ "config", parse_container_config, offsetof(struct hull_oci_image_config, config) },
	{ "rootfs", parse_rootfs, offsetof(struct hull_oci_image_config, rootfs), true },
	{},
};

void hull_oci_image_config_free(struct hull_oci_image_config *c)
{
	if (!c)
		return;
	free(c->created);
	free(c->author);
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->config.user);
	hull_strv_free(c->config.exposed_ports);
	hull_strv_free(c->config.env);
	hull_strv_free(c->config.entrypoint);
	hull_strv_free(c->config.cmd);
	hull_strv_free(c->config.volumes);
	free(c->config.working_dir);
	hull_strv_free(c->config.labels);
	free(c->config.stop_signal);
	free(c->rootfs.type);
	hull_strv_free(c->rootfs.diff_ids);
	free(c);
}

static int image_config_parse(const char *text, size_t len, struct hull_oci_image_config **ret,
			      struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_(hull_oci_image_config_freep) struct hull_oci_image_config *c = NULL;
	int r;

	r = parse_doc(text, len, HULL_OCI_CONFIG_MAX_SIZE, "config", &o, reterr);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = hull_json_dispatch("", o, image_config_table, c, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int hull_oci_image_config_parse(const char *text, size_t len, struct hull_oci_image_config **ret,
				struct hull_error **reterr)
{
	return hull_oci_input_error(image_config_parse(text, len, ret, reterr), reterr);
}

/* ---- platforms ------------------------------------------------------------------ */

const char *hull_oci_platform_default(void)
{
#if defined(__x86_64__)
	return "linux/amd64";
#elif defined(__aarch64__)
	return "linux/arm64/v8";
#elif defined(__i386__)
	return "linux/386";
#elif defined(__arm__)
	return "linux/arm/v7";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "linux/ppc64le";
#elif defined(__s390x__)
	return "linux/s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "linux/riscv64";
#else
	return "linux/unknown";
#endif
}

struct platform_parts {
	char buf[128];
	const char *os, *arch, *variant;
};

static int split_platform(const char *platform, struct platform_parts *p,
			  struct hull_error **reterr)
{
	char *save = NULL, *extra;

	if (!platform || strlen(platform) >= sizeof(p->buf))
		return hull_error_set(reterr, -EINVAL,
				      "platform '%.80s': expected os/arch[/variant]",
				      platform ? platform : "");
	snprintf(p->buf, sizeof(p->buf), "%s", platform);
	p->os = strtok_r(p->buf, "/", &save);
	p->arch = strtok_r(NULL, "/", &save);
	p->variant = strtok_r(NULL, "/", &save);
	extra = strtok_r(NULL, "/", &save);
	if (!p->os || !p->arch || extra || strstr(platform, "//") ||
	    platform[strlen(platform) - 1] == '/')
		return hull_error_set(reterr, -EINVAL, "platform '%s': expected os/arch[/variant]",
				      platform);
	for (const char *c = platform; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '/' ||
		      *c == '_' || *c == '-' || *c == '.'))
			return hull_error_set(reterr, -EINVAL,
					      "platform '%s': only lowercase letters, digits and "
					      "._-/ allowed",
					      platform);
	return 0;
}

int hull_oci_platform_check(const char *platform, struct hull_error **reterr)
{
	struct platform_parts p;

	return split_platform(platform, &p, reterr);
}

/* arm64's only variant is v8: an entry without one is the same platform */
static const char *effective_variant(const char *arch, const char *variant)
{
	if (variant && *variant)
		return variant;
	if (arch && streq(arch, "arm64"))
		return "v8";
	return NULL;
}

int hull_oci_index_select(const struct hull_oci_index *idx, const char *platform,
			  const struct hull_oci_descriptor **ret, struct hull_error **reterr)
{
	const struct hull_oci_descriptor *loose = NULL;
	struct platform_parts want;
	const char *wvariant;
	_cleanup_strv_free_ char **avail = NULL;
	_cleanup_free_ char *list = NULL;
	int r;

	if (!platform)
		platform = hull_oci_platform_default();
	r = split_platform(platform, &want, reterr);
	if (r < 0)
		return r;
	wvariant = effective_variant(want.arch, want.variant);
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct hull_oci_descriptor *d = &idx->manifests[i];
		const struct hull_oci_platform *p = d->platform;
		const char *variant;

		if (!p || !hull_oci_media_is_manifest(d->media_type) || !streq(p->os, want.os) ||
		    !streq(p->architecture, want.arch))
			continue;
		variant = effective_variant(p->architecture, p->variant);
		if (streq_ptr(variant, wvariant)) {
			*ret = d;
			return 0;
		}
		/* no variant asked: any variant will do; no variant given: it may be ours */
		if (!loose && (!want.variant || !variant))
			loose = d;
	}
	if (loose) {
		*ret = loose;
		return 0;
	}
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct hull_oci_platform *p = idx->manifests[i].platform;
		char *s;

		if (!p)
			continue;
		s = hull_strdup_printf("%s/%s%s%s", p->os, p->architecture, p->variant ? "/" : "",
				       p->variant ?: "");
		if (!s || hull_strv_consume(&avail, s) < 0) {
			free(s);
			return -ENOMEM;
		}
	}
	list = avail ? hull_strv_join(avail, ", ") : strdup("none");
	return hull_error_set(reterr, -ENOENT, "no manifest for platform '%s' (available: %s)",
			      platform, list ? list : "?");
}
