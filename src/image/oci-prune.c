/* SPDX-License-Identifier: Apache-2.0 */
/* OCI images in the image store (see oci-store.h): prune. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "image/oci-store-internal.h"
#include "util/file.h"
#include "util/str.h"

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

	pin = oci_lock_file(s, PULL_LOCK, LOCK_EX, "a pull is in progress", reterr);
	if (pin < 0)
		return pin;
	lock = oci_store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = oci_images_read(s, &o, reterr);
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
			r = oci_images_write(s, o, reterr);
			if (r < 0)
				return r;
		}
	}
	json_object_object_foreach(o, digest, v)
	{
		_cleanup_(hull_oci_manifest_freep) struct hull_oci_manifest *m = NULL;
		_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;

		r = oci_image_from_json(digest, v, &img, reterr);
		if (r < 0)
			return r;
		if (hull_strv_push(&keep_blobs, digest) < 0 ||
		    hull_strv_push(&keep_blobs, img->config_digest) < 0)
			return -ENOMEM;
		hull_strv_foreach (l, img->diff_ids)
			if (hull_strv_push(&keep_layers, hull_digest_hex(l)) < 0)
				return -ENOMEM;
		/* an image whose manifest is unreadable keeps every blob: never guess */
		r = oci_manifest_read(s, digest, &m, reterr);
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

		if (json_object_object_get_ex(o, dg, NULL) ||
		    oci_manifest_read(s, dg, &m, NULL) < 0)
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
	/* no pull or import runs (the pin is ours): their temp files are a crash's leftovers */
	freed += hull_blob_store_remove_partial(b);
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
