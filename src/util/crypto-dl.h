/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcrypto.so.3, loaded on first use (util/dl.h): hull needs only its SHA-256 and
 * base64 (image digests, registry credentials, stable MAC addresses), and
 * relocating the whole library at every start cost more than `hull exec`'s
 * own work.  Include this instead of <openssl/evp.h>; the functions below
 * are the ones hull calls, each named as its slot in the loaded table.
 * hull_crypto_load() is what an entry point calls first, for a clean error
 * when the library is missing.
 */
#pragma once

#include <openssl/evp.h>

#include "util/dl.h"

#define HULL_CRYPTO_SYMBOLS(X) \
	X(EVP_DecodeBlock)     \
	X(EVP_Digest)          \
	X(EVP_DigestFinal_ex)  \
	X(EVP_DigestInit_ex)   \
	X(EVP_DigestUpdate)    \
	X(EVP_EncodeBlock)     \
	X(EVP_MD_CTX_free)     \
	X(EVP_MD_CTX_new)      \
	X(EVP_sha256)

struct hull_crypto_api {
	HULL_CRYPTO_SYMBOLS(HULL_DL_SLOT)
};

extern struct hull_dl hull_crypto_dl;
int hull_crypto_load(struct hull_error **reterr);

#ifndef HULL_DL_NO_ALIASES
#define HULL_CRYPTO_API ((const struct hull_crypto_api *)hull_dl_table(&hull_crypto_dl))
#define EVP_DecodeBlock (HULL_CRYPTO_API->EVP_DecodeBlock)
#define EVP_Digest (HULL_CRYPTO_API->EVP_Digest)
#define EVP_DigestFinal_ex (HULL_CRYPTO_API->EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (HULL_CRYPTO_API->EVP_DigestInit_ex)
#define EVP_DigestUpdate (HULL_CRYPTO_API->EVP_DigestUpdate)
#define EVP_EncodeBlock (HULL_CRYPTO_API->EVP_EncodeBlock)
#define EVP_MD_CTX_free (HULL_CRYPTO_API->EVP_MD_CTX_free)
#define EVP_MD_CTX_new (HULL_CRYPTO_API->EVP_MD_CTX_new)
#define EVP_sha256 (HULL_CRYPTO_API->EVP_sha256)
#endif
