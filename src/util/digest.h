/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content digests as OCI writes them ("sha256:<64 lowercase hex>"): the one
 * place a digest string is validated, shared by the image spec parser, the
 * blob store and the registry client.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* "sha256:" + 64 hex + NUL, rounded up */
#define HULL_DIGEST_MAX 72

/*
 * Checks a digest string: "sha256:" followed by exactly 64 lowercase hex
 * characters (the only algorithm hull accepts).  -EINVAL with
 * "digest '<d>': <why>" otherwise.  The one place digests are validated.
 */
int hull_digest_check(const char *digest, struct hull_error **reterr);
static inline bool hull_digest_valid(const char *digest)
{
	return digest && hull_digest_check(digest, NULL) >= 0;
}
/* The 64 hex characters of a valid digest (digest + 7). */
const char *hull_digest_hex(const char *digest);
/* "sha256:<hex>" of a memory buffer, into ret[HULL_DIGEST_MAX]. */
int hull_digest_buffer(const void *buf, size_t len, char ret[HULL_DIGEST_MAX]);

/* Formats a 32-byte sha256 value as "sha256:<hex>" into ret[HULL_DIGEST_MAX]. */
void hull_digest_format(const unsigned char md[32], char ret[HULL_DIGEST_MAX]);
