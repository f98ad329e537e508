/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blob store: OCI blobs (manifests, configs, layers) content-addressed by
 * their sha256 digest.
 *
 * Layout under the store directory (normally <state-dir>/images/blobs):
 *   sha256/<64 hex>     a complete blob whose content hashes to its name
 *   sha256/.tmp-*       a blob being written (removed on failure)
 *
 * A blob appears under its name only once it is complete, verified, fsync'ed
 * and renamed into place; a crash leaves at most a .tmp file, which
 * hull_blob_store_open() removes when it is older than an hour.  Blobs are
 * immutable: writing a blob that exists already is fine and changes nothing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/error.h"

struct hull_blob_store;

/* Opens (creating when missing) the blob store at directory `dir`. */
int hull_blob_store_open(const char *dir, struct hull_blob_store **ret, struct hull_error **reterr);
/* Same, relative to a directory fd. */
int hull_blob_store_open_at(int dirfd, const char *dir, struct hull_blob_store **ret,
			    struct hull_error **reterr);
void hull_blob_store_free(struct hull_blob_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_blob_store *, hull_blob_store_free)

/* True when a complete blob named `digest` is stored (false for an invalid digest). */
bool hull_blob_store_has(struct hull_blob_store *s, const char *digest);
/* Opens a stored blob O_RDONLY; -ENOENT with "blob '<digest>': not in the store". */
int hull_blob_store_open_blob(struct hull_blob_store *s, const char *digest, int *ret_fd,
			      struct hull_error **reterr);
/* Reads a whole blob of at most max_size bytes (for manifests and configs). */
int hull_blob_store_read(struct hull_blob_store *s, const char *digest, size_t max_size, char **ret,
			 size_t *ret_len, struct hull_error **reterr);
/* Size of a stored blob. */
int hull_blob_store_size(struct hull_blob_store *s, const char *digest, uint64_t *ret,
			 struct hull_error **reterr);
/* Removes a blob (missing is fine).  The caller holds the image store lock. */
int hull_blob_store_remove(struct hull_blob_store *s, const char *digest,
			   struct hull_error **reterr);
/*
 * Removes every partial blob (a writer's temp file), live or left by a
 * crash: only for a caller that holds off every writer (prune).  Returns the
 * bytes freed.
 */
uint64_t hull_blob_store_remove_partial(struct hull_blob_store *s);

/* The digests of all stored blobs (NULL-terminated, sorted). */
int hull_blob_store_list(struct hull_blob_store *s, char ***ret, struct hull_error **reterr);
/* The store's directory fd (holds sha256/). */
int hull_blob_store_fd(const struct hull_blob_store *s);

struct hull_blob_writer;

/*
 * Starts writing a blob.  expected_digest (NULL = unknown) and expected_size
 * (UINT64_MAX = unknown) are checked at commit; more bytes than expected_size
 * are refused at write time.
 */
int hull_blob_writer_begin(struct hull_blob_store *s, const char *expected_digest,
			   uint64_t expected_size, struct hull_blob_writer **ret,
			   struct hull_error **reterr);
/* Appends bytes, hashing them as they stream (EVP sha256). */
int hull_blob_writer_write(struct hull_blob_writer *w, const void *buf, size_t len,
			   struct hull_error **reterr);
/* Bytes written so far. */
uint64_t hull_blob_writer_size(const struct hull_blob_writer *w);
/*
 * Finishes the blob: a digest or size mismatch (including a truncated stream)
 * gives -EBADMSG with "blob '<expected>': digest mismatch (got '<actual>')" or
 * "...: size mismatch (expected N bytes, got M)", and removes the temp file.
 * Otherwise fsyncs, renames into place (an identical blob already stored is
 * fine) and writes the digest into ret_digest (may be NULL).  After commit,
 * successful or not, only hull_blob_writer_free() may be called.
 */
int hull_blob_writer_commit(struct hull_blob_writer *w, char ret_digest[HULL_DIGEST_MAX],
			    struct hull_error **reterr);
/* Aborts an uncommitted writer (removing its temp file); accepts NULL. */
void hull_blob_writer_free(struct hull_blob_writer *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_blob_writer *, hull_blob_writer_free)

/* Copies everything readable from fd into a new blob (with optional expectations). */
int hull_blob_store_add_fd(struct hull_blob_store *s, int fd, const char *expected_digest,
			   uint64_t expected_size, char ret_digest[HULL_DIGEST_MAX],
			   struct hull_error **reterr);
/* Stores a memory buffer as a blob. */
int hull_blob_store_add(struct hull_blob_store *s, const void *buf, size_t len,
			char ret_digest[HULL_DIGEST_MAX], struct hull_error **reterr);
