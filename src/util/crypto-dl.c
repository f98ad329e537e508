/* SPDX-License-Identifier: Apache-2.0 */
/* libcrypto.so.3, loaded on first use: see crypto-dl.h. */
#define HULL_DL_NO_ALIASES
#include "util/crypto-dl.h"

static const char *const symbols[] = { HULL_CRYPTO_SYMBOLS(HULL_DL_NAME) NULL };
static struct hull_crypto_api api;
struct hull_dl hull_crypto_dl = HULL_DL_INIT("libcrypto.so.3", symbols, &api);

int hull_crypto_load(struct hull_error **reterr)
{
	return hull_dl_load(&hull_crypto_dl, reterr);
}
