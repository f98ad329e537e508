/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared libraries loaded on first use, not at start-up.
 *
 * libcurl, libnftables and libarchive (with their TLS, Kerberos, LDAP, ICU and
 * compression stacks: about 40 more libraries) are needed by a few commands
 * only (image pulls, NAT, layer unpacking), yet linking them made every start
 * of `hull` map and relocate all of them: about 50 ms of each `hull exec`
 * here, twice (the CVE-2019-5736 re-exec), docs/performance.md.  Each such
 * library gets a table of typed function pointers (one X-macro list of the
 * functions hull calls), filled by dlopen()/dlsym() the first time it is
 * needed; its header then names each function as the table's slot, so the
 * code calling it reads as before and the compiler still checks every call
 * against the library's own header.
 *
 * Never from inside a container: a process that changed its root directory
 * or mount namespace since it started gets -EPERM instead of a library
 * resolved in the container's files (see dl.c).
 */
#pragma once

#include <stdbool.h>

#include "util/error.h"

/* One slot of a table: a pointer with the function's exact type. */
#define HULL_DL_SLOT(f) __typeof__(&f) f;
/* One name of a table's symbol list. */
#define HULL_DL_NAME(f) #f,

struct hull_dl {
	const char *soname;	    /* e.g. "libcurl.so.4" */
	const char *const *symbols; /* NULL-terminated, in the order of the table's slots */
	void *table;		    /* a struct of function pointers only, one per symbol */
	bool done;		    /* load() ran (read and written atomically) */
	int result;		    /* 0, or -errno of the failed load */
	char error[256];	    /* dlerror()'s text after a failed load */
};

#define HULL_DL_INIT(name, syms, tbl)                               \
	{                                                           \
		.soname = (name), .symbols = (syms), .table = (tbl) \
	}

/*
 * Loads d->soname and fills d->table, once per process (thread-safe).
 * Returns 0, or -ELIBACC with the library and dlerror()'s reason in *reterr,
 * or -EPERM when the process is no longer in its starting root and mount
 * namespace (a later call in the process gets the same answer).
 */
int hull_dl_load(struct hull_dl *d, struct hull_error **reterr);

/*
 * The loaded table of d, loading it now when it is not yet: for the calls
 * themselves.  The entry points of a module that uses a table call
 * hull_dl_load() first, so a missing library is an error message there;
 * reaching a call with the library missing is a bug, and aborts.
 */
void *hull_dl_table(struct hull_dl *d);
