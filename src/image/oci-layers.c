/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI images in the image store (see oci-store.h): adding an image from the
 * blob store (each layer unpacked once into layers/<diffid>), pulling one,
 * and the image's rootfs (overlay lowerdir, or the flattened fallback).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/oci-store-internal.h"
#include "image/registry.h"
#include "util/file.h"
#include "util/str.h"

/* ---- adding an image --------------------------------------------------------------- */

int oci_manifest_read(struct hull_image_store *s, const char *digest,
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
	r = oci_manifest_read(s, manifest_digest, &m, reterr);
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
	layers_fd = oci_store_subdir(s, LAYERS_DIR, reterr);
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

	lock = oci_store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = oci_images_read(s, &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, manifest_digest, &v)) {
		v = oci_image_to_json(img);
		if (!v || json_object_object_add(o, manifest_digest, v) < 0)
			return -ENOMEM;
	}
	if (norm && oci_images_add_name(o, manifest_digest, norm) < 0)
		return -ENOMEM;
	r = oci_images_write(s, o, reterr);
	if (r < 0)
		return r;
	if (ret) {
		json_object_object_get_ex(o, manifest_digest, &v);
		return oci_image_from_json(manifest_digest, v, ret, reterr);
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

	/* blobs enter the store before an image names them: hold off prune */
	r = oci_store_pin_blobs(s, &b, &pin, reterr);
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

	r = oci_manifest_read(s, img->digest, &m, reterr);
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
