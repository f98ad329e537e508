/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libnftables.so.1, loaded on first use (util/dl.h): only managed networks' NAT rules need it.
 * Include this instead of the library's header; the functions below are
 * the ones hull calls, each named as its slot in the loaded table.
 * hull_nft_load() is what an entry point calls first, for a clean error
 * when the library is missing.
 */
#pragma once

#include <nftables/libnftables.h>

#include "util/dl.h"

#define HULL_NFT_SYMBOLS(X)          \
	X(nft_ctx_buffer_error)      \
	X(nft_ctx_buffer_output)     \
	X(nft_ctx_free)              \
	X(nft_ctx_get_error_buffer)  \
	X(nft_ctx_get_output_buffer) \
	X(nft_ctx_new)               \
	X(nft_run_cmd_from_buffer)

struct hull_nft_api {
	HULL_NFT_SYMBOLS(HULL_DL_SLOT)
};

extern struct hull_dl hull_nft_dl;
int hull_nft_load(struct hull_error **reterr);

#ifndef HULL_DL_NO_ALIASES
#define HULL_NFT_API ((const struct hull_nft_api *)hull_dl_table(&hull_nft_dl))
#define nft_ctx_buffer_error (HULL_NFT_API->nft_ctx_buffer_error)
#define nft_ctx_buffer_output (HULL_NFT_API->nft_ctx_buffer_output)
#define nft_ctx_free (HULL_NFT_API->nft_ctx_free)
#define nft_ctx_get_error_buffer (HULL_NFT_API->nft_ctx_get_error_buffer)
#define nft_ctx_get_output_buffer (HULL_NFT_API->nft_ctx_get_output_buffer)
#define nft_ctx_new (HULL_NFT_API->nft_ctx_new)
#define nft_run_cmd_from_buffer (HULL_NFT_API->nft_run_cmd_from_buffer)
#endif
