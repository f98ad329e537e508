/* SPDX-License-Identifier: Apache-2.0 */
/* libnftables.so.1, loaded on first use: see nft-dl.h. */
#define HULL_DL_NO_ALIASES
#include "net/nft-dl.h"

static const char *const symbols[] = { HULL_NFT_SYMBOLS(HULL_DL_NAME) NULL };
static struct hull_nft_api api;
struct hull_dl hull_nft_dl = HULL_DL_INIT("libnftables.so.1", symbols, &api);

int hull_nft_load(struct hull_error **reterr)
{
	return hull_dl_load(&hull_nft_dl, reterr);
}
