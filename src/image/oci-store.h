/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI images in the image store, beside the system images of image.h (same
 * directory, same lock).
 *
 * Layout under the store directory (normally <state-dir>/images), all made on
 * first use:
 *   blobs/sha256/<hex>     manifests, indexes, configs and layer blobs (blob-store.h)
 *   layers/<diffid hex>/   each layer unpacked once, whiteouts in overlayfs form
 *                          (0:0 char devices, trusted.overlay.opaque=y), shared
 *                          read-only by every image and container using it
 *   layers/.tmp-*          a layer being unpacked (removed on failure)
 *   oci/images.json        {"sha256:<manifest>": {"config", "layers", "names",
 *                          "added", "size"}, ...}: the images and their names
 *   .pull.lock             held shared while blobs not yet in an image are
 *                          fetched, exclusive by prune
 *
 * An image is a manifest digest plus names ("127.0.0.1:5000/bb:latest";
 * short names are stored as "localhost/<name>:<tag>", as podman does).  Its
 * rootfs is the overlay stack lowerdir=Ln:...:L1 of its layers; where
 * overlayfs cannot be used, a flattened copy (hull_oci_image_flatten).
 * images.json is replaced atomically under the store lock, so a crash leaves
 * the old or the new list; blobs and layers that no image names are only
 * freed by prune.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/blob-store.h"
#include "image/image.h"
#include "oci/image-spec.h"
#include "util/error.h"

struct hull_oci_image {
	char *digest;	     /* the manifest's, "sha256:<hex>" */
	char *config_digest; /* podman's image ID is its hex */
	char **names;	     /* sorted; may be empty */
	char **diff_ids;     /* the layers, bottom first */
	char *added;	     /* RFC 3339: when it entered the store */
	char *platform;	     /* "linux/amd64" (from its config); may be NULL */
	uint64_t size;	     /* config + compressed layers, as the manifest says */
};

void hull_oci_image_free(struct hull_oci_image *img);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_image *, hull_oci_image_free)
void hull_oci_image_list_free(struct hull_oci_image **l, size_t n);

/* The blob store of the image store (opened, and created, on first use). */
int hull_image_store_blobs(struct hull_image_store *s, struct hull_blob_store **ret,
			   struct hull_error **reterr);

/*
 * Holds off prune while blobs that no image names yet are being fetched
 * (a pull): returns an fd holding .pull.lock shared; close it to release.
 */
int hull_image_store_pin(struct hull_image_store *s, int *ret_fd, struct hull_error **reterr);

/*
 * Normalises an image name as stored: "bb" → "localhost/bb:latest",
 * "docker.io/busybox" → "docker.io/library/busybox:latest".  Digest
 * references are refused (a name has a tag).
 */
int hull_oci_name_normalize(const char *name, char **ret, struct hull_error **reterr);

/*
 * Adds the image whose manifest (and config and layer blobs) are in the blob
 * store: checks the manifest and config, unpacks every layer not unpacked yet
 * (verifying its diff_id), records the image and points `name` (may be NULL)
 * at it, taking the name from any image that had it.  Adding an image that
 * is stored already only adds the name.
 */
int hull_oci_image_add(struct hull_image_store *s, const char *manifest_digest, const char *name,
		       struct hull_oci_image **ret, struct hull_error **reterr);

struct hull_pull_opts;

/*
 * Pulls `ref` from its registry (image/registry.h: hull_image_pull_blobs)
 * into the blob store, holding off prune meanwhile, then adds the image
 * under the fully qualified name pulled (none for a digest reference).
 */
int hull_oci_image_pull(struct hull_image_store *s, const char *ref, const struct hull_pull_opts *o,
			struct hull_oci_image **ret, struct hull_error **reterr);

/*
 * Finds an image by name (full, or short as podman matches it: "bb" finds
 * "localhost/bb:latest" or "docker.io/library/bb:latest"; several → refused
 * as ambiguous), manifest digest, or a hex prefix (>= 4) of its ID (config
 * digest) or manifest digest.  -ENOENT "unknown image '<ref>'".
 */
int hull_oci_image_get(struct hull_image_store *s, const char *ref, struct hull_oci_image **ret,
		       struct hull_error **reterr);
/* All OCI images, sorted by manifest digest. */
int hull_oci_image_list(struct hull_image_store *s, struct hull_oci_image ***ret, size_t *ret_n,
			struct hull_error **reterr);
/* Points the name `name` at the image `ref` names. */
int hull_oci_image_tag(struct hull_image_store *s, const char *ref, const char *name,
		       struct hull_error **reterr);
/* Removes a name; the image stays (nameless) until deleted or pruned. */
int hull_oci_image_untag(struct hull_image_store *s, const char *name, struct hull_error **reterr);
/* Removes an image record (all its names); its blobs and layers wait for prune. */
int hull_oci_image_delete(struct hull_image_store *s, const char *ref, struct hull_error **reterr);

/*
 * Removes blobs and unpacked layers no image references, and images without
 * names when `dangling`.  `in_use` (may be NULL) lists manifest digests that
 * stay whatever their names.  Waits (bounded) for pulls in progress.
 */
int hull_oci_image_prune(struct hull_image_store *s, bool dangling, char *const *in_use,
			 uint64_t *ret_freed, struct hull_error **reterr);

/* The image config (parsed, and the raw JSON text when ret_text is not NULL). */
int hull_oci_image_config_get(struct hull_image_store *s, const struct hull_oci_image *img,
			      struct hull_oci_image_config **ret, char **ret_text,
			      struct hull_error **reterr);

/*
 * The overlayfs lowerdir option for the image: absolute layer paths, top
 * first, ':'-separated ("<store>/layers/<hex>:..."); malloc'ed.
 */
int hull_oci_image_lowerdir(struct hull_image_store *s, const struct hull_oci_image *img,
			    char **ret, struct hull_error **reterr);

/*
 * The documented fallback where overlayfs cannot be used: unpacks the layer
 * blobs of the image in order into the empty directory dir_fd, applying
 * whiteouts (deleting what they name) instead of keeping them.
 */
int hull_oci_image_flatten(struct hull_image_store *s, const struct hull_oci_image *img, int dir_fd,
			   struct hull_error **reterr);

enum hull_oci_archive_format {
	HULL_OCI_ARCHIVE_AUTO,
	HULL_OCI_ARCHIVE_DOCKER, /* docker-archive: manifest.json + <id>.json + layer tars */
	HULL_OCI_ARCHIVE_OCI,	 /* oci-archive: an OCI image layout (index.json, blobs/) */
};

/*
 * Imports the images of a docker-archive or oci-archive tarball (what
 * `podman save` / `skopeo copy` write): every blob is verified into the blob
 * store, then added as by hull_oci_image_add.  Names come from the archive
 * (RepoTags, org.opencontainers.image.ref.name) unless `name` is given.
 * The images added are returned (ret may be NULL).
 */
int hull_oci_image_import(struct hull_image_store *s, const char *file,
			  enum hull_oci_archive_format format, const char *name,
			  struct hull_oci_image ***ret, size_t *ret_n, struct hull_error **reterr);

/* Tells an image archive from a rootfs tarball; -ENOENT for neither. */
int hull_oci_archive_detect(const char *file, enum hull_oci_archive_format *ret);

/* Writes the image `ref` as a docker-archive or oci-archive tarball (temp + rename). */
int hull_oci_image_export(struct hull_image_store *s, const char *ref, const char *file,
			  enum hull_oci_archive_format format, struct hull_error **reterr);
