/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Export of an image of the store as a docker-archive (manifest.json,
 * <config hex>.json, plain layer tars) or an oci-archive (an OCI image
 * layout), written to a temp file renamed into place.
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

static void archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static int write_entry(struct archive *a, const char *name, const void *data, size_t len,
		       struct hull_error **reterr)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(a, data, len) != (la_ssize_t)len))
		r = hull_error_set(reterr, -EIO, "write '%s': %s", name,
				   archive_error_string(a) ?: "error");
	archive_entry_free(e);
	return r;
}

static int write_dir(struct archive *a, const char *name)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
	archive_entry_free(e);
	return r;
}

/* Copies `size` bytes from fd into the current entry. */
static int copy_fd(struct archive *a, int fd, struct hull_error **reterr)
{
	_cleanup_free_ char *buf = malloc(128 * 1024);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf, 128 * 1024);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error_errno(reterr, -errno, "read blob");
		if (n == 0)
			return 0;
		if (archive_write_data(a, buf, (size_t)n) != n)
			return hull_error_set(reterr, -EIO, "write: %s",
					      archive_error_string(a) ?: "error");
	}
}

static int write_fd_entry(struct archive *a, const char *name, int fd, struct hull_error **reterr)
{
	struct archive_entry *e = archive_entry_new();
	struct stat st;
	int r;

	if (!e)
		return -ENOMEM;
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		archive_entry_free(e);
		return hull_error_errno(reterr, -errno, "stat '%s'", name);
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
	archive_entry_free(e);
	if (r < 0)
		return hull_error_set(reterr, r, "write '%s': %s", name,
				      archive_error_string(a) ?: "error");
	return copy_fd(a, fd, reterr);
}

/* Decompresses a layer blob into an unnamed temp file (docker-archive layers are plain tars). */
static int layer_plain(int blob_fd, int tmpdir_fd, int *ret_fd, struct hull_error **reterr)
{
	_cleanup_(image_archive_read_freep) struct archive *raw = archive_read_new();
	_cleanup_close_ int out = -EBADF;
	_cleanup_free_ char *buf = malloc(128 * 1024);

	if (!raw || !buf)
		return -ENOMEM;
	out = openat(tmpdir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0)
		return hull_error_errno(reterr, -errno, "temp file");
	if (image_raw_open_fd(raw, blob_fd) < 0)
		return hull_error_set(reterr, -EINVAL, "read layer: %s",
				      archive_error_string(raw) ?: "error");
	for (;;) {
		la_ssize_t n = archive_read_data(raw, buf, 128 * 1024);
		int r;

		if (n < 0)
			return hull_error_set(reterr, -EINVAL, "read layer: %s",
					      archive_error_string(raw) ?: "error");
		if (n == 0)
			break;
		r = hull_write_all(out, buf, (size_t)n);
		if (r < 0)
			return hull_error_errno(reterr, r, "write temp file");
	}
	*ret_fd = TAKE_FD(out);
	return 0;
}

static int export_docker(struct hull_image_store *s, struct hull_blob_store *b,
			 const struct hull_oci_image *img, const struct hull_oci_manifest *m,
			 struct archive *a, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *top = json_object_new_array();
	struct json_object *item = json_object_new_object(), *layers = json_object_new_array(),
			   *tags = json_object_new_array();
	_cleanup_free_ char *cfg = NULL, *cname = NULL;
	size_t clen = 0;
	const char *text;
	int r;

	if (!top || !item || !layers || !tags) {
		json_object_put(item);
		json_object_put(layers);
		json_object_put(tags);
		return -ENOMEM;
	}
	json_object_array_add(top, item);
	json_object_object_add(item, "Layers", layers);
	json_object_object_add(item, "RepoTags", tags);
	r = hull_blob_store_read(b, img->config_digest, HULL_OCI_CONFIG_MAX_SIZE, &cfg, &clen,
				 reterr);
	if (r < 0)
		return r;
	cname = hull_strdup_printf("%s.json", hull_digest_hex(img->config_digest));
	if (!cname)
		return -ENOMEM;
	r = write_entry(a, cname, cfg, clen, reterr);
	if (r < 0)
		return r;
	json_object_object_add(item, "Config", json_object_new_string(cname));
	hull_strv_foreach (n, img->names)
		json_object_array_add(tags, json_object_new_string(n));
	for (size_t i = 0; i < m->n_layers; i++) {
		_cleanup_close_ int fd = -EBADF, plain = -EBADF;
		_cleanup_free_ char *lname = NULL;

		if (i >= hull_strv_length(img->diff_ids))
			return -EINVAL;
		lname = hull_strdup_printf("%s.tar", hull_digest_hex(img->diff_ids[i]));
		if (!lname)
			return -ENOMEM;
		r = hull_blob_store_open_blob(b, m->layers[i].digest, &fd, reterr);
		if (r >= 0)
			r = layer_plain(fd, s->fd, &plain, reterr);
		if (r >= 0)
			r = write_fd_entry(a, lname, plain, reterr);
		if (r < 0)
			return r;
		json_object_array_add(layers, json_object_new_string(lname));
	}
	text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	return write_entry(a, "manifest.json", text, strlen(text), reterr);
}

static int write_blob_entry(struct archive *a, struct hull_blob_store *b, const char *digest,
			    struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *name = hull_strdup_printf("blobs/sha256/%s", hull_digest_hex(digest));
	int r;

	if (!name)
		return -ENOMEM;
	r = hull_blob_store_open_blob(b, digest, &fd, reterr);
	if (r < 0)
		return r;
	return write_fd_entry(a, name, fd, reterr);
}

static int export_oci(struct hull_blob_store *b, const struct hull_oci_image *img,
		      const struct hull_oci_manifest *m, struct archive *a,
		      struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *idx = json_object_new_object();
	struct json_object *ms = json_object_new_array(), *d = json_object_new_object(),
			   *ann = json_object_new_object();
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	uint64_t msize = 0;
	const char *text;
	int r;

	if (!idx || !ms || !d || !ann) {
		json_object_put(ms);
		json_object_put(d);
		json_object_put(ann);
		return -ENOMEM;
	}
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	json_object_object_add(idx, "manifests", ms);
	json_object_array_add(ms, d);
	r = hull_blob_store_size(b, img->digest, &msize, reterr);
	if (r < 0)
		return r;
	json_object_object_add(d, "mediaType", json_object_new_string(m->media_type));
	json_object_object_add(d, "digest", json_object_new_string(img->digest));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)msize));
	if (img->names && img->names[0]) {
		json_object_object_add(ann, "org.opencontainers.image.ref.name",
				       json_object_new_string(img->names[0]));
		json_object_object_add(d, "annotations", ann);
	} else
		json_object_put(ann);
	r = write_entry(a, "oci-layout", layout, strlen(layout), reterr);
	if (r < 0)
		return r;
	if (write_dir(a, "blobs/") < 0 || write_dir(a, "blobs/sha256/") < 0)
		return hull_error_set(reterr, -EIO, "write: %s", archive_error_string(a) ?: "");
	r = write_blob_entry(a, b, img->digest, reterr);
	if (r >= 0)
		r = write_blob_entry(a, b, img->config_digest, reterr);
	for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
		r = write_blob_entry(a, b, m->layers[i].digest, reterr);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(idx, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	return write_entry(a, "index.json", text, strlen(text), reterr);
}

int hull_oci_image_export(struct hull_image_store *s, const char *ref, const char *file,
			  enum hull_oci_archive_format format, struct hull_error **reterr)
{
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
	_cleanup_(archive_write_freep) struct archive *a = NULL;
	_cleanup_free_ char *tmp = NULL, *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct hull_blob_store *b = NULL;
	size_t len = 0;
	int r;

	r = hull_archive_load(reterr);
	if (r < 0)
		return r;
	r = hull_oci_image_get(s, ref, &img, reterr);
	if (r < 0)
		return r;
	r = hull_image_store_blobs(s, &b, reterr);
	if (r < 0)
		return r;
	r = hull_blob_store_read(b, img->digest, HULL_OCI_MANIFEST_MAX_SIZE, &text, &len, reterr);
	if (r >= 0)
		r = hull_oci_manifest_parse(text, len, NULL, &m, reterr);
	if (r < 0)
		return r;
	tmp = hull_strdup_printf("%s.tmp-%d", file, (int)getpid());
	if (!tmp)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "export: create '%s'", tmp);
	a = archive_write_new();
	if (!a) {
		r = -ENOMEM;
		goto fail;
	}
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		r = hull_error_set(reterr, -EIO, "export: %s", archive_error_string(a) ?: "");
		goto fail;
	}
	if (format == HULL_OCI_ARCHIVE_OCI)
		r = export_oci(b, img, m, a, reterr);
	else
		r = export_docker(s, b, img, m, a, reterr);
	if (r < 0)
		goto fail;
	if (archive_write_close(a) != ARCHIVE_OK || fsync(fd) < 0) {
		r = hull_error_set(reterr, -EIO, "export: %s", archive_error_string(a) ?: "");
		goto fail;
	}
	if (rename(tmp, file) < 0) {
		r = hull_error_errno(reterr, -errno, "export: rename to '%s'", file);
		goto fail;
	}
	return 0;
fail:
	(void)unlink(tmp);
	return r;
}
