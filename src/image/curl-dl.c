/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl.so.4, loaded on first use: see curl-dl.h. */
#define HULL_DL_NO_ALIASES
#include "image/curl-dl.h"

static const char *const symbols[] = { HULL_CURL_SYMBOLS(HULL_DL_NAME) NULL };
static struct hull_curl_api api;
struct hull_dl hull_curl_dl = HULL_DL_INIT("libcurl.so.4", symbols, &api);

int hull_curl_load(struct hull_error **reterr)
{
	return hull_dl_load(&hull_curl_dl, reterr);
}
