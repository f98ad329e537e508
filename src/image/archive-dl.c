/* SPDX-License-Identifier: Apache-2.0 */
/* libarchive.so.13, loaded on first use: see archive-dl.h. */
#define HULL_DL_NO_ALIASES
#include "image/archive-dl.h"

static const char *const symbols[] = { HULL_ARCHIVE_SYMBOLS(HULL_DL_NAME) NULL };
static struct hull_archive_api api;
struct hull_dl hull_archive_dl = HULL_DL_INIT("libarchive.so.13", symbols, &api);

int hull_archive_load(struct hull_error **reterr)
{
	return hull_dl_load(&hull_archive_dl, reterr);
}
