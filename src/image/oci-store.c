/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI images in the image store (see oci-store.h): the image records
 * (oci/images.json), lookups by name, tag and delete.
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

#include "image/oci-store-internal.h"
#include "image/reference.h"
#include "image/registry.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

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

uint64_t oci_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* flock() with a bounded wait: a holder may be stuck for good. */
int oci_lock_file(struct hull_image_store *s, const char *name, int op, const char *what,
		  struct hull_error **reterr)
{
	_cleanup_close_ int fd =
		openat(s->fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	uint64_t deadline = oci_now_ms() + LOCK_WAIT_MS;
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
		if (oci_now_ms() >= deadline)
			return hull_error_set(reterr, -EBUSY, "image store is busy (%s)", what);
		usleep(step * 1000);
		step = step * 2 > 200 ? 200 : step * 2;
	}
}

int oci_store_lock(struct hull_image_store *s, struct hull_error **reterr)
{
	return oci_lock_file(s, ".lock", LOCK_EX, "locked by another command", reterr);
}

int hull_image_store_pin(struct hull_image_store *s, int *ret_fd, struct hull_error **reterr)
{
	int fd = oci_lock_file(s, PULL_LOCK, LOCK_SH, "a prune is running", reterr);

	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

int oci_store_pin_blobs(struct hull_image_store *s, struct hull_blob_store **ret_blobs,
			int *ret_pin, struct hull_error **reterr)
{
	int r = hull_image_store_blobs(s, ret_blobs, reterr);

	if (r < 0)
		return r;
	return hull_image_store_pin(s, ret_pin, reterr);
}

int oci_store_subdir(struct hull_image_store *s, const char *name, struct hull_error **reterr)
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

int oci_images_read(struct hull_image_store *s, struct json_object **ret,
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

int oci_images_write(struct hull_image_store *s, struct json_object *o, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = oci_store_subdir(s, OCI_DIR, reterr);
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

int oci_image_from_json(const char *digest, struct json_object *v, struct hull_oci_image **ret,
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

struct json_object *oci_image_to_json(const struct hull_oci_image *img)
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
int oci_images_add_name(struct json_object *o, const char *digest, const char *name)
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

int oci_images_resolve(struct json_object *o, const char *ref, const char **ret,
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

	r = oci_images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = oci_images_resolve(o, ref, &digest, reterr);
	if (r < 0)
		return r;
	json_object_object_get_ex(o, digest, &v);
	return oci_image_from_json(digest, v, ret, reterr);
}

int hull_oci_image_list(struct hull_image_store *s, struct hull_oci_image ***ret, size_t *ret_n,
			struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct hull_oci_image **l;
	size_t n = 0, cap;
	int r;

	r = oci_images_read(s, &o, reterr);
	if (r < 0)
		return r;
	cap = (size_t)json_object_object_length(o);
	l = calloc(cap + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	json_object_object_foreach(o, digest, v)
	{
		r = oci_image_from_json(digest, v, &l[n], reterr);
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

/* ---- names and deletion ----------------------------------------------------------- */

/*
 * Takes the store lock and reads images.json for a change of the image `ref`
 * names: the lock fd, the records and that image's manifest digest (a copy).
 */
static int images_change(struct hull_image_store *s, const char *ref, int *ret_lock,
			 struct json_object **ret, char **ret_digest, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = oci_store_lock(s, reterr);
	const char *d = NULL;
	char *digest;
	int r;

	if (lock < 0)
		return lock;
	r = oci_images_read(s, &o, reterr);
	if (r < 0)
		return r;
	r = oci_images_resolve(o, ref, &d, reterr);
	if (r < 0)
		return r;
	digest = strdup(d);
	if (!digest)
		return -ENOMEM;
	*ret_lock = TAKE_FD(lock);
	*ret = TAKE_PTR(o);
	*ret_digest = digest;
	return 0;
}

int hull_oci_image_tag(struct hull_image_store *s, const char *ref, const char *name,
		       struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *norm = NULL, *digest = NULL;
	int r;

	r = hull_oci_name_normalize(name, &norm, reterr);
	if (r < 0)
		return r;
	r = images_change(s, ref, &lock, &o, &digest, reterr);
	if (r < 0)
		return r;
	if (oci_images_add_name(o, digest, norm) < 0)
		return -ENOMEM;
	return oci_images_write(s, o, reterr);
}

int hull_oci_image_untag(struct hull_image_store *s, const char *name, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *norm = NULL, *digest = NULL;
	int r;

	r = images_change(s, name, &lock, &o, &digest, reterr);
	if (r < 0)
		return r;
	r = hull_oci_name_normalize(name, &norm, NULL);
	if (r < 0 || drop_name(o, norm, NULL) < 0)
		return hull_error_set(reterr, -EINVAL, "untag '%s': not a name", name);
	return oci_images_write(s, o, reterr);
}

int hull_oci_image_delete(struct hull_image_store *s, const char *ref, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *digest = NULL;
	int r;

	r = images_change(s, ref, &lock, &o, &digest, reterr);
	if (r < 0)
		return r;
	json_object_object_del(o, digest);
	return oci_images_write(s, o, reterr);
}
