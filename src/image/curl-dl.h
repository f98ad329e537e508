/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl.so.4, loaded on first use (util/dl.h): only registry access (image pull, login) needs it,
 * with its TLS stack. Include this instead of the library's header; the functions below are the
 * ones hull calls, each named as its slot in the loaded table. hull_curl_load() is what an entry
 * point calls first, for a clean error when the library is missing.
 */
#pragma once

#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt is a table slot, not its checking macro */
#include <curl/curl.h>

#include "util/dl.h"

#define HULL_CURL_SYMBOLS(X)        \
	X(curl_easy_cleanup)        \
	X(curl_easy_escape)         \
	X(curl_easy_getinfo)        \
	X(curl_easy_init)           \
	X(curl_easy_perform)        \
	X(curl_easy_setopt)         \
	X(curl_easy_strerror)       \
	X(curl_free)                \
	X(curl_global_init)         \
	X(curl_multi_add_handle)    \
	X(curl_multi_cleanup)       \
	X(curl_multi_info_read)     \
	X(curl_multi_init)          \
	X(curl_multi_perform)       \
	X(curl_multi_poll)          \
	X(curl_multi_remove_handle) \
	X(curl_slist_append)        \
	X(curl_slist_free_all)

struct hull_curl_api {
	HULL_CURL_SYMBOLS(HULL_DL_SLOT)
};

extern struct hull_dl hull_curl_dl;
int hull_curl_load(struct hull_error **reterr);

#ifndef HULL_DL_NO_ALIASES
/* curl.h names these two as macros of themselves (its type checks, disabled above) */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#define HULL_CURL_API ((const struct hull_curl_api *)hull_dl_table(&hull_curl_dl))
#define curl_easy_cleanup (HULL_CURL_API->curl_easy_cleanup)
#define curl_easy_escape (HULL_CURL_API->curl_easy_escape)
#define curl_easy_getinfo (HULL_CURL_API->curl_easy_getinfo)
#define curl_easy_init (HULL_CURL_API->curl_easy_init)
#define curl_easy_perform (HULL_CURL_API->curl_easy_perform)
#define curl_easy_setopt (HULL_CURL_API->curl_easy_setopt)
#define curl_easy_strerror (HULL_CURL_API->curl_easy_strerror)
#define curl_free (HULL_CURL_API->curl_free)
#define curl_global_init (HULL_CURL_API->curl_global_init)
#define curl_multi_add_handle (HULL_CURL_API->curl_multi_add_handle)
#define curl_multi_cleanup (HULL_CURL_API->curl_multi_cleanup)
#define curl_multi_info_read (HULL_CURL_API->curl_multi_info_read)
#define curl_multi_init (HULL_CURL_API->curl_multi_init)
#define curl_multi_perform (HULL_CURL_API->curl_multi_perform)
#define curl_multi_poll (HULL_CURL_API->curl_multi_poll)
#define curl_multi_remove_handle (HULL_CURL_API->curl_multi_remove_handle)
#define curl_slist_append (HULL_CURL_API->curl_slist_append)
#define curl_slist_free_all (HULL_CURL_API->curl_slist_free_all)
#endif
