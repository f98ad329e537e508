/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI images in the image store (see oci-store.h): the image records
 * (oci/images.json), layer unpacking into layers/<diffid>, lookups by name,
 * tag, delete and prune.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "image/oci-store.h"
#include "image/reference.h"
#include "image/registry.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define OCI_DIR "oci"
#define IMAGES_FILE "images.json"
#define LAYERS_DIR "layers"
#define BLOBS_DIR "blobs"
#define PULL_LOCK ".pull.lock"
#define LOCK_WAIT_MS (120 * 1000)

void hull_oci_image_free(struct hull_oci_image *img)
{
	if (!img)
		return;
	free(img->digest);
	free(img->config_digest);
	hull_strv_free(img->names);
	hull_strv_free(img->diff_ids);
	free(img->added);
	free(img->platform);
	free(img);
}

void hull_oci_image_list_free(struct hull_oci_image **l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		hull_oci_image_free(l[i]);
	free(l);
}

/* ---- store plumbing --------------------------------------------------------- */

int hull_image_store_blobs(struct hull_image_store *s, struct hull_blob_store **ret,
			   struct hull_error **reterr)
{
	if (!s->blobs) {
		int r = hull_blob_store_open_at(s->fd, BLOBS_DIR, &s->blobs, reterr);

		if (r < 0)
			return r;
	}
	*ret = s->blobs;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* flock() with a bounded wait: a holder may be stuck for good. */
static int lock_file(struct hull_image_store *s, const char *name, int op, const char *what,
		     struct hull_error **reterr)
{
	_cleanup_close_ int fd =
		openat(s->fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	uint64_t deadline = now_ms() + LOCK_WAIT_MS;
	unsigned step = 1;

	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", name);
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return TAKE_FD(fd);
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return hull_error_errno(reterr, -errno, "lock '%s'", name);
		if (now_ms() >= deadline)
			return hull_error_set(reterr, -EBUSY, "image store is busy (%s)", what);
		usleep(step * 1000);
		step = step * 2 > 200 ? 200 : step * 2;
	}
}

static int store_lock(struct hull_image_store *s, struct hull_error **reterr)
{
	return lock_file(s, ".lock", LOCK_EX, "locked by another command", reterr);
}

int hull_image_store_pin(struct hull_image_store *s, int *ret_fd, struct hull_error **reterr)
{
	int fd = lock_file(s, PULL_LOCK, LOCK_SH, "a prune is running", reterr);

	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

static int subdir(struct hull_image_store *s, const char *name, struct hull_error **reterr)
{
	int fd;

	if (mkdirat(s->fd, name, 0700) < 0 && errno != EEXIST)
		return hull_error_errno(reterr, -errno, "create '%s'", name);
	fd = openat(s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", name);
	return fd;
}

/* ---- names ------------------------------------------------------------------------ */

int hull_oci_name_normalize(const char *name, char **ret, struct hull_error **reterr)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *ref = NULL;
	int r = hull_image_ref_parse(name, &ref, reterr);
	char *s;

	if (r < 0)
		return r;
	if (ref->digest)
		return hull_error_set(reterr, -EINVAL, "name '%s': a name has a tag, not a digest",
				      name);
	s = hull_strdup_printf("%s/%s:%s", ref->domain ? ref->domain : "localhost", ref->path,
			       ref->tag ? ref->tag : "latest");
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* Splits a stored name "domain/path:tag" at its tag colon (the last one after the last '/'). */
static const char *name_tag(const char *name, size_t *ret_repo_len)
{
	const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');

	if (!colon || (slash && colon < slash)) {
		*ret_repo_len = strlen(name);
		return "latest";
	}
	*ret_repo_len = (size_t)(colon - name);
	return colon + 1;
}

/* ---- images.json --------------------------------------------------------------- */

static int images_read(struct hull_image_store *s, struct json_object **ret,
		       struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = hull_read_file_at(s->fd, OCI_DIR "/" IMAGES_FILE, &text, &len);

	if (r == -ENOENT) {
		*ret = json_object_new_object();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s/%s'", OCI_DIR, IMAGES_FILE);
	r = hull_json_parse(text, len, OCI_DIR "/" IMAGES_FILE, ret, reterr);
	if (r < 0)
		return r;
	if (!json_object_is_type(*ret, json_type_object)) {
		json_object_put(*ret);
		*ret = NULL;
		return hull_error_set(reterr, -EINVAL, "%s/%s: expected an object", OCI_DIR,
				      IMAGES_FILE);
	}
	return 0;
}

static int images_write(struct hull_image_store *s, struct json_object *o,
			struct hull_error **reterr)
{
	_cleanup_close_ int dfd = subdir(s, OCI_DIR, reterr);
	const char *text;
	int r;

	if (dfd < 0)
		return dfd;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = hull_write_file_atomic_at(dfd, IMAGES_FILE, text, strlen(text), 0644, HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s/%s'", OCI_DIR, IMAGES_FILE);
	return 0;
}

struct record {
	char *config;
	char **layers;
	char **names;
	char *added;
	char *platform;
	uint64_t size;
};

static const struct hull_json_field record_table[] = {
	{ "config", hull_json_parse_string, offsetof(struct record, config), true },
	{ "layers", hull_json_parse_strv, offsetof(struct record, layers), true },
	{ "names", hull_json_parse_strv, offsetof(struct record, names) },
	{ "added", hull_json_parse_string, offsetof(struct record, added) },
	{ "size", hull_json_parse_u64, offsetof(struct record, size) },
	{ "platform", hull_json_parse_string, offsetof(struct record, platform) },
	{},
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int image_from_json(const char *digest, struct json_object *v, struct hull_oci_image **ret,
			   struct hull_error **reterr)
{
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = calloc(1, sizeof(*img));
	struct record rec = {};
	int r;

	if (!img)
		return -ENOMEM;
	r = hull_json_dispatch(digest, v, record_table, &rec, HULL_JSON_ALLOW_UNKNOWN, reterr);
	img->config_digest = rec.config;
	img->diff_ids = rec.layers;
	img->names = rec.names;
	img->added = rec.added;
	img->size = rec.size;
	img->platform = rec.platform;
	if (r < 0)
		return r;
	img->digest = strdup(digest);
	if (!img->digest)
		return -ENOMEM;
	if (!img->names) {
		img->names = calloc(1, sizeof(char *));
		if (!img->names)
			return -ENOMEM;
	}
	if (!hull_digest_valid(digest) || !hull_digest_valid(img->config_digest))
		return hull_error_set(reterr, -EINVAL, "%s/%s: bad digest in '%s'", OCI_DIR,
				      IMAGES_FILE, digest);
	hull_strv_foreach (d, img->diff_ids)
		if (!hull_digest_valid(d))
			return hull_error_set(reterr, -EINVAL, "%s/%s: bad layer digest in '%s'",
					      OCI_DIR, IMAGES_FILE, digest);
	qsort(img->names, hull_strv_length(img->names), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(img);
	return 0;
}

static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = json_object_new_array();

	hull_strv_foreach (s, v)
		json_object_array_add(a, json_object_new_string(s));
	return a;
}

static struct json_object *image_to_json(const struct hull_oci_image *img)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "config", json_object_new_string(img->config_digest));
	json_object_object_add(o, "layers", strv_json(img->diff_ids));
	json_object_object_add(o, "names", strv_json(img->names));
	json_object_object_add(o, "added", json_object_new_string(img->added ? img->added : ""));
	json_object_object_add(o, "size", json_object_new_uint64(img->size));
	if (img->platform)
		json_object_object_add(o, "platform", json_object_new_string(img->platform));
	return o;
}

/* Removes `name` from every image of o except `keep` (may be NULL). */
static int drop_name(struct json_object *o, const char *name, const char *keep)
{
	json_object_object_foreach(o, digest, v)
	{
		struct json_object *names = NULL, *a;

		if ((keep && streq(digest, keep)) ||
		    !json_object_object_get_ex(v, "names", &names) ||
		    !json_object_is_type(names, json_type_array))
			continue;
		a = json_object_new_array();
		if (!a)
			return -ENOMEM;
		for (size_t i = 0; i < json_object_array_length(names); i++) {
			struct json_object *n = json_object_array_get_idx(names, i);

			if (!streq(json_object_get_string(n), name))
				json_object_array_add(a, json_object_get(n));
		}
		json_object_object_add(v, "names", a);
	}
	return 0;
}

/* Adds `name` to the image `digest` of o (which exists), keeping names sorted and unique. */
static int add_name(struct json_object *o, const char *digest, const char *name)
{
	struct json_object *v = NULL, *names = NULL;
	_cleanup_strv_free_ char **l = NULL;
	int r;

	if (!json_object_object_get_ex(o, digest, &v))
		return -ENOENT;
	r = drop_name(o, name, digest);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(v, "names", &names) &&
	    json_object_is_type(names, json_type_array))
		for (size_t i = 0; i < json_object_array_length(names); i++)
			if (hull_strv_push(&l, json_object_get_string(
						       json_object_array_get_idx(names, i))) < 0)
				return -ENOMEM;
	if (!hull_strv_contains(l, name) && hull_strv_push(&l, name) < 0)
		return -ENOMEM;
	qsort(l, hull_strv_length(l), sizeof(char *), cmp_str);
	json_object_object_add(v, "names", strv_json(l));
	return 0;
}

/* ---- lookups -------------------------------------------------------------------- */

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

/* Does the stored name match `ref` (parsed) as podman matches names? 2 exact, 1 short, 0 no. */
static int name_matches(const char *stored, const struct hull_image_ref *ref, const char *path_tag)
{
	size_t repo_len, plen = strlen(ref->path);
	const char *tag = name_tag(stored, &repo_len);

	if (!ref->tag || !streq(tag, ref->tag))
		return 0;
	if (ref->domain) {
		size_t dlen = strlen(ref->domain);

		return repo_len == dlen + 1 + plen && strncmp(stored, ref->domain, dlen) == 0 &&
				       stored[dlen] == '/' &&
				       strncmp(stored + dlen + 1, ref->path, plen) == 0
			       ? 2
			       : 0;
	}
	/* a short name matches the end of a repository at a '/' boundary */
	(void)path_tag;
	if (repo_len > plen && stored[repo_len - plen - 1] == '/' &&
	    strncmp(stored + repo_len - plen, ref->path, plen) == 0)
		return startswith(stored, "localhost/") && repo_len == strlen("localhost/") + plen
			       ? 2
			       : 1;
	return 0;
}

static int resolve(struct json_object *o, const char *ref, const char **ret,
		   struct hull_error **reterr)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *pr = NULL;
	const char *exact = NULL, *loose = NULL;
	bool ambiguous = false;
	size_t n = strlen(ref);

	if (hull_digest_valid(ref)) {
		json_object_object_foreach(o, digest, v)
		{
			struct json_object *c = NULL;

			if (streq(digest, ref) || (json_object_object_get_ex(v, "config", &c) &&
						   streq(json_object_get_string(c), ref))) {
				*ret = digest;
				return 0;
			}
		}
		return hull_error_set(reterr, -ENOENT, "unknown image '%s'", ref);
	}
	if (hull_image_ref_parse(ref, &pr, NULL) >= 0) {
		json_object_object_foreach(o, digest, v)
		{
			struct json_object *names = NULL;

			if (pr->digest) {
				if (streq(digest, pr->digest)) {
					*ret = digest;
					return 0;
				}
				continue;
			}
			if (!json_object_object_get_ex(v, "names", &names) ||
			    !json_object_is_type(names, json_type_array))
				continue;
			for (size_t i = 0; i < json_object_array_length(names); i++) {
				int m = name_matches(
					json_object_get_string(json_object_array_get_idx(names, i)),
					pr, NULL);

				if (m == 2)
					exact = digest;
				else if (m == 1) {
					if (loose && !streq(loose, digest))
						ambiguous = true;
					loose = digest;
				}
			}
		}
		if (exact) {
			*ret = exact;
			return 0;
		}
		if (ambiguous)
			return hull_error_set(reterr, -EINVAL,
					      "image '%s': ambiguous short name (give the full "
					      "name)",
					      ref);
		if (loose) {
			*ret = loose;
			return 0;
		}
	}
	if (n >= 4 && n <= 64 && is_hex(ref)) {
		const char *match = NULL;

		json_object_object_foreach(o, digest, v)
		{
			struct json_object *c = NULL;
			const char *cfg = json_object_object_get_ex(v, "config", &c)
						  ? json_object_get_string(c)
						  : "";

			if (strncmp(hull_digest_hex(digest), ref, n) == 0 ||
			    (strlen(cfg) > 7 && strncmp(cfg + 7, ref, n) == 0)) {
				if (match && !streq(match, digest))
					return hull_error_set(reterr, -EINVAL,
							      "image '%s': ambiguous ID prefix",
							      ref);
				match = digest;
			}
		}
		if (match) {
			*ret = match;
			return 0;
		}
	}
	return hull_error_set(reterr, -ENOENT, "unknown image '%s'", ref);
}

int hull_oci_image_get(struct hull_image_store *s, const char *ref, struct hull_oci_image **ret,
		       struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v = NULL;
	const char *digest = NULL;
	int r;

	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = resolve(o, ref, &digest, reterr);
	if (r < 0)
		return r;
	json_object_object_get_ex(o, digest, &v);
	return image_from_json(digest, v, ret, reterr);
}

int hull_oci_image_list(struct hull_image_store *s, struct hull_oci_image ***ret, size_t *ret_n,
			struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct hull_oci_image **l;
	size_t n = 0, cap;
	int r;

	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	cap = (size_t)json_object_object_length(o);
	l = calloc(cap + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	json_object_object_foreach(o, digest, v)
	{
		r = image_from_json(digest, v, &l[n], reterr);
		if (r < 0) {
			hull_oci_image_list_free(l, n);
			return r;
		}
		n++;
	}
	*ret = l;
	*ret_n = n;
	return 0;
}

/* ---- adding an image --------------------------------------------------------------- */

static int read_manifest(struct hull_image_store *s, const char *digest,
			 struct hull_oci_manifest **ret, struct hull_error **reterr)
{
	struct hull_blob_store *b = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	r = hull_blob_store_read(b, digest, HULL_OCI_MANIFEST_MAX_SIZE, &text, &len, reterr);
	if (r < 0)
		return r;
	return hull_oci_manifest_parse(text, len, NULL, ret, reterr);
}

int hull_oci_image_config_get(struct hull_image_store *s, const struct hull_oci_image *img,
			      struct hull_oci_image_config **ret, char **ret_text,
			      struct hull_error **reterr)
{
	struct hull_blob_store *b = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	r = hull_blob_store_read(b, img->config_digest, HULL_OCI_CONFIG_MAX_SIZE, &text, &len,
				 reterr);
	if (r < 0)
		return r;
	if (ret) {
		r = hull_oci_image_config_parse(text, len, ret, reterr);
		if (r < 0)
			return r;
	}
	if (ret_text)
		*ret_text = TAKE_PTR(text);
	return 0;
}

static enum hull_unpack_flags unpack_flags(void)
{
	/* device nodes only where hull may make them; whiteouts in overlay form */
	return HULL_UNPACK_XATTRS | (geteuid() == 0 ? HULL_UNPACK_ALLOW_DEVICES : 0);
}

/* Unpacks one layer blob into layers/<diffid hex> unless it is there already. */
static int layer_ensure(struct hull_image_store *s, int layers_fd,
			const struct hull_oci_descriptor *d, const char *diff_id, size_t index,
			struct hull_error **reterr)
{
	_cleanup_close_ int blob = -EBADF, root = -EBADF;
	char tmp[128], got[HULL_DIGEST_MAX];
	struct hull_blob_store *b = NULL;
	const char *hex = hull_digest_hex(diff_id);
	int r;

	if (faccessat(layers_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	r = hull_blob_store_open_blob(b, d->digest, &blob, reterr);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), ".tmp-%.16s-%d", hex, (int)getpid());
	(void)hull_rm_rf_at(layers_fd, tmp);
	if (mkdirat(layers_fd, tmp, 0755) < 0)
		return hull_error_errno(reterr, -errno, "create layer directory");
	root = openat(layers_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0) {
		r = hull_error_errno(reterr, -errno, "open layer directory");
		goto fail;
	}
	r = hull_layer_unpack(blob, root, unpack_flags() | HULL_UNPACK_WHITEOUT_OVERLAY, got,
			      reterr);
	if (r < 0) {
		hull_error_wrap(reterr, r, "layer %zu ('%s')", index, d->digest);
		goto fail;
	}
	if (!streq(got, diff_id)) {
		r = hull_error_set(reterr, -EBADMSG,
				   "layer %zu ('%s'): uncompressed digest '%s' does not match "
				   "the config's diff_id '%s'",
				   index, d->digest, got, diff_id);
		goto fail;
	}
	syncfs(root);
	if (renameat(layers_fd, tmp, layers_fd, hex) < 0) {
		/* a concurrent add unpacked the same layer first: keep that one */
		if (errno == ENOTEMPTY || errno == EEXIST) {
			(void)hull_rm_rf_at(layers_fd, tmp);
			return 0;
		}
		r = hull_error_errno(reterr, -errno, "rename layer into place");
		goto fail;
	}
	fsync(layers_fd);
	return 0;
fail:
	(void)hull_rm_rf_at(layers_fd, tmp);
	return r;
}

int hull_oci_image_add(struct hull_image_store *s, const char *manifest_digest, const char *name,
		       struct hull_oci_image **ret, struct hull_error **reterr)
{
	_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
	_cleanup_(hull_oci_image_config_freep) struct hull_oci_image_config *cfg = NULL;
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int pin = -EBADF, lock = -EBADF, layers_fd = -EBADF;
	_cleanup_free_ char *norm = NULL;
	struct json_object *v = NULL;
	uint64_t size;
	char added[32];
	int r;

	r = hull_digest_check(manifest_digest, reterr);
	if (r < 0)
		return r;
	if (name) {
		r = hull_oci_name_normalize(name, &norm, reterr);
		if (r < 0)
			return r;
	}
	r = hull_image_store_pin(s, &pin, reterr);
	if (r < 0)
		return r;
	r = read_manifest(s, manifest_digest, &m, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "manifest '%s'", manifest_digest);
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->config_digest = strdup(m->config.digest);
	img->digest = strdup(manifest_digest);
	if (!img->config_digest || !img->digest)
		return -ENOMEM;
	r = hull_oci_image_config_get(s, img, &cfg, NULL, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "image config");
	if (hull_strv_length(cfg->rootfs.diff_ids) != m->n_layers)
		return hull_error_set(reterr, -EINVAL,
				      "image '%s': the manifest has %zu layers, the config %zu "
				      "diff_ids",
				      manifest_digest, m->n_layers,
				      hull_strv_length(cfg->rootfs.diff_ids));
	layers_fd = subdir(s, LAYERS_DIR, reterr);
	if (layers_fd < 0)
		return layers_fd;
	size = m->config.size;
	for (size_t i = 0; i < m->n_layers; i++) {
		r = layer_ensure(s, layers_fd, &m->layers[i], cfg->rootfs.diff_ids[i], i, reterr);
		if (r < 0)
			return r;
		size += m->layers[i].size;
	}
	img->diff_ids = hull_strv_copy(cfg->rootfs.diff_ids);
	img->names = calloc(1, sizeof(char *));
	image_now_rfc3339(added);
	img->added = strdup(added);
	img->size = size;
	img->platform = hull_strdup_printf("%s/%s%s%s", cfg->os, cfg->architecture,
					   cfg->variant ? "/" : "", cfg->variant ?: "");
	if (!img->diff_ids || !img->names || !img->added || !img->platform)
		return -ENOMEM;

	lock = store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, manifest_digest, &v)) {
		v = image_to_json(img);
		if (!v || json_object_object_add(o, manifest_digest, v) < 0)
			return -ENOMEM;
	}
	if (norm && add_name(o, manifest_digest, norm) < 0)
		return -ENOMEM;
	r = images_write(s, o, reterr);
	if (r < 0)
		return r;
	if (ret) {
		json_object_object_get_ex(o, manifest_digest, &v);
		return image_from_json(manifest_digest, v, ret, reterr);
	}
	return 0;
}

int hull_oci_image_pull(struct hull_image_store *s, const char *ref, const struct hull_pull_opts *o,
			struct hull_oci_image **ret, struct hull_error **reterr)
{
	_cleanup_close_ int pin = -EBADF;
	struct hull_pull_result res = {};
	struct hull_blob_store *b = NULL;
	struct hull_pull_opts dflt = {};
	int r;

	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	r = hull_image_store_pin(s, &pin, reterr);
	if (r < 0)
		return r;
	r = hull_image_pull_blobs(b, ref, o ? o : &dflt, &res, reterr);
	if (r >= 0)
		r = hull_oci_image_add(s, res.manifest_digest,
				       res.name && !strchr(res.name, '@') ? res.name : NULL, ret,
				       reterr);
	hull_pull_result_done(&res);
	return r;
}

/* ---- names and deletion ----------------------------------------------------------- */

int hull_oci_image_tag(struct hull_image_store *s, const char *ref, const char *name,
		       struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *norm = NULL, *digest = NULL;
	const char *d = NULL;
	int r;

	r = hull_oci_name_normalize(name, &norm, reterr);
	if (r < 0)
		return r;
	lock = store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = resolve(o, ref, &d, reterr);
	if (r < 0)
		return r;
	digest = strdup(d);
	if (!digest || add_name(o, digest, norm) < 0)
		return -ENOMEM;
	return images_write(s, o, reterr);
}

int hull_oci_image_untag(struct hull_image_store *s, const char *name, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *norm = NULL;
	const char *d = NULL;
	int r;

	lock = store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = resolve(o, name, &d, reterr);
	if (r < 0)
		return r;
	r = hull_oci_name_normalize(name, &norm, NULL);
	if (r < 0 || drop_name(o, norm, NULL) < 0)
		return hull_error_set(reterr, -EINVAL, "untag '%s': not a name", name);
	return images_write(s, o, reterr);
}

int hull_oci_image_delete(struct hull_image_store *s, const char *ref, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *digest = NULL;
	const char *d = NULL;
	int r;

	lock = store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = resolve(o, ref, &d, reterr);
	if (r < 0)
		return r;
	digest = strdup(d);
	if (!digest)
		return -ENOMEM;
	json_object_object_del(o, digest);
	return images_write(s, o, reterr);
}

/* ---- prune ----------------------------------------------------------------------- */

static uint64_t tree_size(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

int hull_oci_image_prune(struct hull_image_store *s, bool dangling, char *const *in_use,
			 uint64_t *ret_freed, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int pin = -EBADF, lock = -EBADF, layers_fd = -EBADF;
	_cleanup_strv_free_ char **keep_blobs = NULL, **keep_layers = NULL, **blobs = NULL,
				 **drop = NULL;
	struct hull_blob_store *b = NULL;
	uint64_t freed = 0;
	DIR *d = NULL;
	struct dirent *de;
	int r;

	pin = lock_file(s, PULL_LOCK, LOCK_EX, "a pull is in progress", reterr);
	if (pin < 0)
		return pin;
	lock = store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	if (dangling) {
		json_object_object_foreach(o, digest, v)
		{
			struct json_object *names = NULL;

			if (json_object_object_get_ex(v, "names", &names) &&
			    json_object_array_length(names) > 0)
				continue;
			if (hull_strv_contains(in_use, digest))
				continue;
			if (hull_strv_push(&drop, digest) < 0)
				return -ENOMEM;
		}
		hull_strv_foreach (dg, drop)
			json_object_object_del(o, dg);
		if (drop) {
			r = images_write(s, o, reterr);
			if (r < 0)
				return r;
		}
	}
	json_object_object_foreach(o, digest, v)
	{
		_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
		_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;

		r = image_from_json(digest, v, &img, reterr);
		if (r < 0)
			return r;
		if (hull_strv_push(&keep_blobs, digest) < 0 ||
		    hull_strv_push(&keep_blobs, img->config_digest) < 0)
			return -ENOMEM;
		hull_strv_foreach (l, img->diff_ids)
			if (hull_strv_push(&keep_layers, hull_digest_hex(l)) < 0)
				return -ENOMEM;
		/* an image whose manifest is unreadable keeps every blob: never guess */
		r = read_manifest(s, digest, &m, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "prune: image '%s'", digest);
		for (size_t i = 0; i < m->n_layers; i++)
			if (hull_strv_push(&keep_blobs, m->layers[i].digest) < 0)
				return -ENOMEM;
	}
	/* images deleted while a container still runs on them keep their blobs and layers */
	hull_strv_foreach (dg, in_use) {
		_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
		_cleanup_(hull_oci_image_config_freep) struct hull_oci_image_config *ic = NULL;
		struct hull_oci_image tmp = {};

		if (json_object_object_get_ex(o, dg, NULL) || read_manifest(s, dg, &m, NULL) < 0)
			continue;
		if (hull_strv_push(&keep_blobs, dg) < 0 ||
		    hull_strv_push(&keep_blobs, m->config.digest) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < m->n_layers; i++)
			if (hull_strv_push(&keep_blobs, m->layers[i].digest) < 0)
				return -ENOMEM;
		tmp.config_digest = m->config.digest;
		if (hull_oci_image_config_get(s, &tmp, &ic, NULL, NULL) < 0)
			continue;
		for (size_t i = 0; ic->rootfs.diff_ids && ic->rootfs.diff_ids[i]; i++)
			if (hull_strv_push(&keep_layers, hull_digest_hex(ic->rootfs.diff_ids[i])) <
			    0)
				return -ENOMEM;
	}
	r = hull_blob_store_list(b, &blobs, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (dg, blobs) {
		uint64_t sz = 0;

		if (hull_strv_contains(keep_blobs, dg))
			continue;
		(void)hull_blob_store_size(b, dg, &sz, NULL);
		r = hull_blob_store_remove(b, dg, reterr);
		if (r < 0)
			return r;
		freed += sz;
	}
	layers_fd = openat(s->fd, LAYERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (layers_fd >= 0 && hull_opendir_dup(layers_fd, &d) >= 0) {
		_cleanup_strv_free_ char **rm = NULL;

		while ((de = readdir(d)))
			if (!streq_dots(de->d_name) && !hull_strv_contains(keep_layers, de->d_name))
				if (hull_strv_push(&rm, de->d_name) < 0) {
					closedir(d);
					return -ENOMEM;
				}
		closedir(d);
		hull_strv_foreach (l, rm) {
			freed += tree_size(layers_fd, l);
			r = hull_rm_rf_at(layers_fd, l);
			if (r < 0)
				return hull_error_errno(reterr, r, "remove layer '%s'", l);
		}
	}
	if (ret_freed)
		*ret_freed = freed;
	return 0;
}

/* ---- rootfs ------------------------------------------------------------------------- */

int hull_oci_image_lowerdir(struct hull_image_store *s, const struct hull_oci_image *img,
			    char **ret, struct hull_error **reterr)
{
	char self[64], base[PATH_MAX];
	size_t n = hull_strv_length(img->diff_ids), len = 0, blen;
	ssize_t l;
	char *out;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", s->fd);
	l = readlink(self, base, sizeof(base) - 1);
	if (l < 0)
		return hull_error_errno(reterr, -errno, "image store path");
	base[l] = '\0';
	blen = (size_t)l + strlen("/" LAYERS_DIR "/") + 64 + 1;
	out = malloc(blen * (n ? n : 1) + 1);
	if (!out)
		return -ENOMEM;
	out[0] = '\0';
	for (size_t i = n; i-- > 0;) {
		const char *hex = hull_digest_hex(img->diff_ids[i]);

		len += (size_t)sprintf(out + len, "%s%s/" LAYERS_DIR "/%s", len ? ":" : "", base,
				       hex);
	}
	*ret = out;
	return 0;
}

int hull_oci_image_flatten(struct hull_image_store *s, const struct hull_oci_image *img, int dir_fd,
			   struct hull_error **reterr)
{
	_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
	struct hull_blob_store *b = NULL;
	int r;

	r = read_manifest(s, img->digest, &m, reterr);
	if (r < 0)
		return r;
	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_layers; i++) {
		_cleanup_close_ int fd = -EBADF;
		char got[HULL_DIGEST_MAX];

		r = hull_blob_store_open_blob(b, m->layers[i].digest, &fd, reterr);
		if (r < 0)
			return r;
		r = hull_layer_unpack(fd, dir_fd, unpack_flags() | HULL_UNPACK_WHITEOUT_APPLY, got,
				      reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "layer %zu ('%s')", i,
					       m->layers[i].digest);
		if (i < hull_strv_length(img->diff_ids) && !streq(got, img->diff_ids[i]))
			return hull_error_set(reterr, -EBADMSG,
					      "layer %zu ('%s'): diff_id mismatch (got '%s')", i,
					      m->layers[i].digest, got);
	}
	return 0;
}
