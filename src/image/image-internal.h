/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the image room's files; not part of its interface. */
#pragma once

#include <stdint.h>

#include "image/image.h"

struct image_metadata;
struct hull_blob_store;

struct hull_image_store {
	int fd;			       /* the store directory */
	struct hull_blob_store *blobs; /* blobs/, opened on first use (oci-store.c) */
};

/* flock()s <store>/.lock exclusively; returns the lock fd (close to unlock). */
int image_store_lock(struct hull_image_store *s, struct hull_error **reterr);

/* Makes an empty ".tmp-<tag>-<pid>" directory with an empty rootfs/ inside; its name in tmp. */
int image_store_tmp(struct hull_image_store *s, const char *tag, char *tmp, size_t size,
		    struct hull_error **reterr);

/*
 * Writes tmp/image.json (with meta's fields when not NULL) and renames tmp to <fingerprint> (lock
 * held).  When the fingerprint exists already, tmp is removed and the existing image kept.
 */
int image_store_commit(struct hull_image_store *s, const char *tmp, const char *fingerprint,
		       const char *source, uint64_t size, const struct image_metadata *meta,
		       struct hull_error **reterr);

/* Points alias at fingerprint (lock held). */
int image_alias_set_locked(struct hull_image_store *s, const char *alias, const char *fingerprint,
			   struct hull_error **reterr);

/* The fingerprint an alias names, or NULL (lock held or not: aliases.json is replaced atomically).
 */
char *image_alias_lookup(struct hull_image_store *s, const char *alias);

/* What an LXD-style metadata tarball says (metadata.c). */
struct image_metadata {
	char *architecture;  /* as written: x86_64, amd64, ... */
	char *creation_date; /* RFC 3339 UTC */
	char **properties;   /* key, value, key, value, ..., NULL */
	unsigned templates;  /* files under templates/ (not applied) */
};

/* Reads metadata.yaml from the tarball at fd (file names it in errors). */
int image_metadata_read(int fd, const char *file, struct image_metadata *m,
			struct hull_error **reterr);
void image_metadata_done(struct image_metadata *m);

/* The current time as RFC 3339 UTC ("2026-12-02T08:46:26Z") in buf[32]. */
void image_now_rfc3339(char buf[32]);

/* ---- libarchive (image-archive.c) ---- */

struct archive;
void image_archive_read_freep(struct archive **a);
/* A reader of tar and GNU tar through any compression filter libarchive knows; NULL on ENOMEM. */
struct archive *image_tar_reader_new(void);
/*
 * Opens `raw` (new) on fd as one decompressed stream (gzip, zstd, xz, or none):
 * archive_read_data() then yields the plain bytes.  -EINVAL with the reason in
 * archive_error_string(raw).
 */
int image_raw_open_fd(struct archive *raw, int fd);
