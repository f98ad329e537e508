/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the OCI store's files (oci-*.c); not part of its interface. */
#pragma once

#include <stdint.h>

#include "image/image-internal.h"
#include "image/oci-store.h"
#include "util/json.h"

#define OCI_DIR "oci"
#define IMAGES_FILE "images.json"
#define LAYERS_DIR "layers"
#define BLOBS_DIR "blobs"
#define PULL_LOCK ".pull.lock"
#define LOCK_WAIT_MS (120 * 1000)

uint64_t oci_now_ms(void);
/* flock() of <store>/name with a bounded wait; returns the lock fd (close to unlock). */
int oci_lock_file(struct hull_image_store *s, const char *name, int op, const char *what,
		  struct hull_error **reterr);
/* The store lock (.lock, exclusive): held by every change of images.json. */
int oci_store_lock(struct hull_image_store *s, struct hull_error **reterr);
/* The blob store, and a pin holding off prune while blobs no image names yet arrive. */
int oci_store_pin_blobs(struct hull_image_store *s, struct hull_blob_store **ret_blobs,
			int *ret_pin, struct hull_error **reterr);
/* Opens <store>/name, creating it. */
int oci_store_subdir(struct hull_image_store *s, const char *name, struct hull_error **reterr);

/* oci/images.json: read ({} when missing) and replaced atomically (store lock held). */
int oci_images_read(struct hull_image_store *s, struct json_object **ret,
		    struct hull_error **reterr);
int oci_images_write(struct hull_image_store *s, struct json_object *o, struct hull_error **reterr);
int oci_image_from_json(const char *digest, struct json_object *v, struct hull_oci_image **ret,
			struct hull_error **reterr);
struct json_object *oci_image_to_json(const struct hull_oci_image *img);
/* Adds `name` to the image `digest` of o (which exists), keeping names sorted and unique. */
int oci_images_add_name(struct json_object *o, const char *digest, const char *name);
/* The manifest digest (a key of o) that ref names; -ENOENT "unknown image '<ref>'". */
int oci_images_resolve(struct json_object *o, const char *ref, const char **ret,
		       struct hull_error **reterr);

/* The manifest `digest` from the blob store, parsed. */
int oci_manifest_read(struct hull_image_store *s, const char *digest,
		      struct hull_oci_manifest **ret, struct hull_error **reterr);
