/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker-archive and oci-archive tarballs (what `podman save`, `docker save`
 * and `skopeo copy` write) into the image store (oci-export.c: out of it).
 *
 * Import streams the archive once: every blob-like entry goes straight into
 * the blob store (an OCI layout's blobs/sha256/<hex> verified against its
 * name as it streams), small JSON files are kept in memory; nothing is
 * unpacked on the way and no path of the archive is ever opened.  A
 * docker-archive has no OCI manifest: one is made from its manifest.json
 * (config <id>.json, uncompressed layer tars) and stored as a blob.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive-dl.h"
#include "image/image-internal.h"
#include "image/oci-store-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define SMALL_MAX (8u << 20)
#define MAX_ENTRIES 4096

struct entry {
	char *name;   /* normalised: no "./" prefix */
	char *digest; /* blob stored, or NULL */
	char *text;   /* small file kept in memory, or NULL */
	size_t len;
	char *link; /* symlink target, or NULL */
};

struct contents {
	struct entry *e;
	size_t n;
};

static void contents_done(struct contents *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].name);
		free(c->e[i].digest);
		free(c->e[i].text);
		free(c->e[i].link);
	}
	free(c->e);
}

static const char *clean(const char *name)
{
	while (startswith(name, "./"))
		name += 2;
	return name;
}

static bool is_small(const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return streq(name, "manifest.json") || streq(name, "index.json") ||
	       streq(name, "oci-layout") || streq(name, "repositories") ||
	       (strlen(base) > 5 && streq(base + strlen(base) - 5, ".json")) ||
	       streq(base, "json") || streq(base, "VERSION");
}

static int read_small(struct archive *a, struct entry *e, int64_t size, struct hull_error **reterr)
{
	la_ssize_t n;

	if (size < 0 || (uint64_t)size > SMALL_MAX)
		return hull_error_set(reterr, -EFBIG, "entry '%s': too large", e->name);
	e->text = malloc((size_t)size + 1);
	if (!e->text)
		return -ENOMEM;
	n = archive_read_data(a, e->text, (size_t)size);
	if (n != size)
		return hull_error_set(reterr, -EINVAL, "entry '%s': short read", e->name);
	e->text[size] = '\0';
	e->len = (size_t)size;
	return 0;
}

static int read_blob(struct archive *a, struct hull_blob_store *b, struct entry *e,
		     const char *expected, int64_t size, struct hull_error **reterr)
{
	_cleanup_(hull_blob_writer_freep) struct hull_blob_writer *w = NULL;
	_cleanup_free_ char *buf = malloc(128 * 1024);
	char d[HULL_DIGEST_MAX];
	int r;

	if (!buf)
		return -ENOMEM;
	r = hull_blob_writer_begin(b, expected, size >= 0 ? (uint64_t)size : UINT64_MAX, &w,
				   reterr);
	if (r < 0)
		return r;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, 128 * 1024);

		if (n < 0)
			return hull_error_set(reterr, -EINVAL, "entry '%s': %s", e->name,
					      archive_error_string(a) ?: "read error");
		if (n == 0)
			break;
		r = hull_blob_writer_write(w, buf, (size_t)n, reterr);
		if (r < 0)
			return r;
	}
	r = hull_blob_writer_commit(w, d, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "entry '%s'", e->name);
	e->digest = strdup(d);
	return e->digest ? 0 : -ENOMEM;
}

static int read_archive(int fd, struct hull_blob_store *b, struct contents *c,
			struct hull_error **reterr)
{
	_cleanup_(image_archive_read_freep) struct archive *a = image_tar_reader_new();
	struct archive_entry *ae;
	int r;

	if (!a)
		return -ENOMEM;
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
		return hull_error_set(reterr, -EINVAL, "read archive: %s",
				      archive_error_string(a) ?: "not a tar archive");
	for (;;) {
		const char *name, *hex;
		struct entry *e;

		r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return hull_error_set(reterr, -EINVAL, "read archive: %s",
					      archive_error_string(a) ?: "bad header");
		if (archive_entry_filetype(ae) != AE_IFREG &&
		    archive_entry_filetype(ae) != AE_IFLNK)
			continue;
		if (c->n >= MAX_ENTRIES)
			return hull_error_set(reterr, -E2BIG, "archive: more than %d files",
					      MAX_ENTRIES);
		e = reallocarray(c->e, c->n + 1, sizeof(*c->e));
		if (!e)
			return -ENOMEM;
		c->e = e;
		e = &c->e[c->n++];
		*e = (struct entry){};
		name = clean(archive_entry_pathname(ae) ?: "");
		e->name = strdup(name);
		if (!e->name)
			return -ENOMEM;
		if (archive_entry_filetype(ae) == AE_IFLNK) {
			e->link = strdup(archive_entry_symlink(ae) ?: "");
			if (!e->link)
				return -ENOMEM;
			continue;
		}
		hex = startswith(name, "blobs/sha256/");
		if (hex) {
			_cleanup_free_ char *want = hull_strdup_printf("sha256:%s", hex);

			if (!want)
				return -ENOMEM;
			r = hull_digest_check(want, reterr);
			if (r < 0)
				return hull_error_wrap(reterr, r, "entry '%s'", name);
			r = read_blob(a, b, e, want, archive_entry_size(ae), reterr);
		} else if (is_small(name))
			r = read_small(a, e, archive_entry_size(ae), reterr);
		else
			r = read_blob(a, b, e, NULL, archive_entry_size(ae), reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Joins the directory of `from` and a relative symlink target, resolving ".."
 * lexically; NULL when it climbs out of the archive or is absolute.
 */
static bool join_link(const char *from, const char *target, char *out, size_t size)
{
	char buf[1024];
	const char *slash = strrchr(from, '/');
	size_t n = 0;

	if (target[0] == '/' ||
	    snprintf(buf, sizeof(buf), "%.*s%s", slash ? (int)(slash - from + 1) : 0, from,
		     target) >= (int)sizeof(buf))
		return false;
	out[0] = '\0';
	for (char *save = NULL, *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (streq(p, "."))
			continue;
		if (streq(p, "..")) {
			char *last;

			if (n == 0)
				return false;
			last = strrchr(out, '/');
			n = last ? (size_t)(last - out) : 0;
			out[n] = '\0';
			continue;
		}
		if (n + strlen(p) + 2 > size)
			return false;
		n += (size_t)sprintf(out + n, "%s%s", n ? "/" : "", p);
	}
	return true;
}

/* The entry `name`, following symlinks inside the archive (never outside it). */
static const struct entry *lookup(const struct contents *c, const char *name, unsigned depth)
{
	name = clean(name);
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		char target[1024];

		if (!streq(e->name, name))
			continue;
		if (!e->link)
			return e;
		if (depth > 8 || !join_link(e->name, e->link, target, sizeof(target)))
			return NULL;
		return lookup(c, target, depth + 1);
	}
	return NULL;
}

/* ---- docker-archive ------------------------------------------------------------ */

static int docker_one(struct hull_image_store *s, struct hull_blob_store *b,
		      const struct contents *c, struct json_object *item, size_t idx,
		      const char *name, struct hull_oci_image **ret, struct hull_error **reterr)
{
	struct json_object *cfg = NULL, *layers = NULL, *tags = NULL;
	_cleanup_json_ struct json_object *m = json_object_new_object();
	_cleanup_(hull_oci_image_config_freep) struct hull_oci_image_config *ic = NULL;
	struct json_object *ml = json_object_new_array(), *cd = json_object_new_object();
	const struct entry *ce;
	char cdigest[HULL_DIGEST_MAX], mdigest[HULL_DIGEST_MAX];
	const char *text;
	size_t nl;
	int r;

	if (!m || !ml || !cd) {
		json_object_put(ml);
		json_object_put(cd);
		return -ENOMEM;
	}
	json_object_object_add(m, "schemaVersion", json_object_new_int(2));
	json_object_object_add(m, "mediaType", json_object_new_string(HULL_OCI_MEDIA_MANIFEST));
	json_object_object_add(m, "config", cd);
	json_object_object_add(m, "layers", ml);
	if (!json_object_is_type(item, json_type_object) ||
	    !json_object_object_get_ex(item, "Config", &cfg) ||
	    !json_object_is_type(cfg, json_type_string) ||
	    !json_object_object_get_ex(item, "Layers", &layers) ||
	    !json_object_is_type(layers, json_type_array))
		return hull_error_set(reterr, -EINVAL,
				      "manifest.json[%zu]: expected Config and Layers", idx);
	ce = lookup(c, json_object_get_string(cfg), 0);
	if (!ce || !ce->text)
		return hull_error_set(reterr, -EINVAL, "manifest.json[%zu].Config: '%s' not found",
				      idx, json_object_get_string(cfg));
	r = hull_oci_image_config_parse(ce->text, ce->len, &ic, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "'%s'", ce->name);
	r = hull_blob_store_add(b, ce->text, ce->len, cdigest, reterr);
	if (r < 0)
		return r;
	json_object_object_add(cd, "mediaType", json_object_new_string(HULL_OCI_MEDIA_CONFIG));
	json_object_object_add(cd, "digest", json_object_new_string(cdigest));
	json_object_object_add(cd, "size", json_object_new_int64((int64_t)ce->len));
	nl = json_object_array_length(layers);
	if (nl == 0 || nl > HULL_OCI_MAX_LAYERS)
		return hull_error_set(reterr, -EINVAL, "manifest.json[%zu].Layers: %zu entries",
				      idx, nl);
	for (size_t i = 0; i < nl; i++) {
		struct json_object *l = json_object_array_get_idx(layers, i), *d;
		const struct entry *le = json_object_is_type(l, json_type_string)
						 ? lookup(c, json_object_get_string(l), 0)
						 : NULL;
		uint64_t size = 0;

		if (!le || !le->digest)
			return hull_error_set(reterr, -EINVAL,
					      "manifest.json[%zu].Layers[%zu]: not found", idx, i);
		r = hull_blob_store_size(b, le->digest, &size, reterr);
		if (r < 0)
			return r;
		d = json_object_new_object();
		if (!d)
			return -ENOMEM;
		/* docker-archive layers are plain tars (libarchive also reads compressed ones) */
		json_object_object_add(d, "mediaType",
				       json_object_new_string(HULL_OCI_MEDIA_LAYER));
		json_object_object_add(d, "digest", json_object_new_string(le->digest));
		json_object_object_add(d, "size", json_object_new_int64((int64_t)size));
		json_object_array_add(ml, d);
	}
	text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = hull_blob_store_add(b, text, strlen(text), mdigest, reterr);
	if (r < 0)
		return r;
	if (!name && json_object_object_get_ex(item, "RepoTags", &tags) &&
	    json_object_is_type(tags, json_type_array) && json_object_array_length(tags) > 0) {
		/* the first name names the image; the others are added as tags */
		for (size_t i = json_object_array_length(tags); i-- > 0;) {
			const char *t = json_object_get_string(json_object_array_get_idx(tags, i));

			r = hull_oci_image_add(s, mdigest, t, i == 0 ? ret : NULL, reterr);
			if (r < 0)
				return r;
		}
		return 0;
	}
	return hull_oci_image_add(s, mdigest, name, ret, reterr);
}

static int import_docker(struct hull_image_store *s, struct hull_blob_store *b,
			 const struct contents *c, const char *name, struct hull_oci_image ***ret,
			 size_t *ret_n, struct hull_error **reterr)
{
	const struct entry *me = lookup(c, "manifest.json", 0);
	_cleanup_json_ struct json_object *o = NULL;
	struct hull_oci_image **l;
	size_t n;
	int r;

	if (!me || !me->text)
		return hull_error_set(reterr, -EINVAL, "not a docker-archive (no manifest.json)");
	r = hull_json_parse(me->text, me->len, "manifest.json", &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) == 0)
		return hull_error_set(reterr, -EINVAL,
				      "manifest.json: expected an array of images");
	n = json_object_array_length(o);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = docker_one(s, b, c, json_object_array_get_idx(o, i), i, name, &l[i], reterr);
		if (r < 0) {
			hull_oci_image_list_free(l, i);
			return r;
		}
	}
	if (ret) {
		*ret = l;
		*ret_n = n;
	} else
		hull_oci_image_list_free(l, n);
	return 0;
}

/* ---- oci-archive --------------------------------------------------------------- */

/* The image name an OCI layout's descriptor annotations give, or NULL. */
static const char *oci_ref_name(const struct hull_oci_descriptor *d)
{
	const char *ref = NULL;

	for (size_t i = 0; d->annotations && d->annotations[i] && d->annotations[i + 1]; i += 2) {
		if (streq(d->annotations[i], "io.containerd.image.name"))
			return d->annotations[i + 1];
		if (streq(d->annotations[i], "org.opencontainers.image.ref.name"))
			ref = d->annotations[i + 1];
	}
	/* a bare tag ("latest") names no repository */
	if (ref && !strchr(ref, '/'))
		return NULL;
	return ref;
}

static int import_oci(struct hull_image_store *s, struct hull_blob_store *b,
		      const struct contents *c, const char *name, struct hull_oci_image ***ret,
		      size_t *ret_n, struct hull_error **reterr)
{
	const struct entry *ie = lookup(c, "index.json", 0);
	_cleanup_(hull_oci_index_freep) struct hull_oci_index *idx = NULL;
	struct hull_oci_image **l;
	size_t n = 0;
	int r;

	if (!ie || !ie->text)
		return hull_error_set(reterr, -EINVAL, "not an oci-archive (no index.json)");
	r = hull_oci_index_parse(ie->text, ie->len, NULL, &idx, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "index.json");
	if (idx->n_manifests == 0)
		return hull_error_set(reterr, -EINVAL, "index.json: no images");
	l = calloc(idx->n_manifests + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct hull_oci_descriptor *d = &idx->manifests[i];
		_cleanup_(hull_oci_index_freep) struct hull_oci_index *sub = NULL;
		_cleanup_free_ char *text = NULL;
		const char *n_name = name ?: oci_ref_name(d);
		size_t len = 0;

		if (hull_oci_media_is_index(d->media_type)) {
			const struct hull_oci_descriptor *pick = NULL;

			r = hull_blob_store_read(b, d->digest, HULL_OCI_MANIFEST_MAX_SIZE, &text,
						 &len, reterr);
			if (r >= 0)
				r = hull_oci_index_parse(text, len, d->media_type, &sub, reterr);
			if (r >= 0)
				r = hull_oci_index_select(sub, NULL, &pick, reterr);
			if (r >= 0)
				r = hull_oci_image_add(s, pick->digest, n_name, &l[n], reterr);
		} else if (hull_oci_media_is_manifest(d->media_type)) {
			r = hull_oci_image_add(s, d->digest, n_name, &l[n], reterr);
		} else
			continue;
		if (r < 0) {
			hull_oci_image_list_free(l, n);
			return hull_error_wrap(reterr, r, "index.json manifests[%zu]", i);
		}
		n++;
	}
	if (ret) {
		*ret = l;
		*ret_n = n;
	} else
		hull_oci_image_list_free(l, n);
	return 0;
}

int hull_oci_image_import(struct hull_image_store *s, const char *file,
			  enum hull_oci_archive_format format, const char *name,
			  struct hull_oci_image ***ret, size_t *ret_n, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF, pin = -EBADF;
	struct contents c = {};
	struct hull_blob_store *b = NULL;
	struct stat st;
	int r;

	r = hull_archive_load(reterr);
	if (r < 0)
		return r;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "import '%s'", file);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return hull_error_set(reterr, -EINVAL, "import '%s': not a regular file", file);
	/* blobs enter the store before an image names them: hold off prune */
	r = oci_store_pin_blobs(s, &b, &pin, reterr);
	if (r < 0)
		return r;
	r = read_archive(fd, b, &c, reterr);
	if (r >= 0) {
		if (format == HULL_OCI_ARCHIVE_AUTO)
			format = lookup(&c, "manifest.json", 0) ? HULL_OCI_ARCHIVE_DOCKER
				 : lookup(&c, "index.json", 0)	? HULL_OCI_ARCHIVE_OCI
								: HULL_OCI_ARCHIVE_AUTO;
		if (format == HULL_OCI_ARCHIVE_DOCKER)
			r = import_docker(s, b, &c, name, ret, ret_n, reterr);
		else if (format == HULL_OCI_ARCHIVE_OCI)
			r = import_oci(s, b, &c, name, ret, ret_n, reterr);
		else
			r = hull_error_set(reterr, -EINVAL,
					   "neither a docker-archive nor an oci-archive");
	}
	contents_done(&c);
	if (r < 0)
		return hull_error_wrap(reterr, r, "import '%s'", file);
	return 0;
}

static int archive_detect(const char *file, enum hull_oci_archive_format *ret)
{
	_cleanup_(image_archive_read_freep) struct archive *a = image_tar_reader_new();
	struct archive_entry *ae;
	int r;

	if (!a)
		return -ENOMEM;
	if (archive_read_open_filename(a, file, 64 * 1024) != ARCHIVE_OK)
		return -EINVAL;
	for (unsigned i = 0; i < MAX_ENTRIES; i++) {
		const char *name;

		r = archive_read_next_header(a, &ae);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			break;
		name = clean(archive_entry_pathname(ae) ?: "");
		if (streq(name, "manifest.json")) {
			*ret = HULL_OCI_ARCHIVE_DOCKER;
			return 0;
		}
		if (streq(name, "oci-layout")) {
			*ret = HULL_OCI_ARCHIVE_OCI;
			return 0;
		}
		archive_read_data_skip(a);
	}
	return -ENOENT;
}

int hull_oci_archive_detect(const char *file, enum hull_oci_archive_format *ret)
{
	int r = hull_archive_load(NULL);

	return r < 0 ? r : archive_detect(file, ret);
}
