/* SPDX-License-Identifier: Apache-2.0 */
/* Shared libraries loaded on first use: see dl.h. */
#include "util/dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The file-system view the process started with: its root directory and its
 * mount namespace.  A library loaded after the process entered a container
 * (setns into its mount namespace, or pivot_root/chroot into its rootfs)
 * would come from the container's files, with its constructors running in a
 * process of the host's: load() refuses to load anything unless the view is
 * still the one recorded here (before main, when no container was entered).
 */
static struct stat start_root, start_mntns;
static bool have_root, have_mntns;

__attribute__((constructor)) static void record_view(void)
{
	have_root = stat("/", &start_root) == 0;
	have_mntns = stat("/proc/self/ns/mnt", &start_mntns) == 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool view_unchanged(void)
{
	struct stat st;

	if (!have_root || stat("/", &st) < 0 || !same_file(&st, &start_root))
		return false;
	/* no /proc at start: the root check above is what there is */
	if (have_mntns && (stat("/proc/self/ns/mnt", &st) < 0 || !same_file(&st, &start_mntns)))
		return false;
	return true;
}

static void note(struct hull_dl *d, const char *what)
{
	snprintf(d->error, sizeof(d->error), "%s", what ? what : "unknown error");
	d->result = -ELIBACC;
}

/*
 * RTLD_NOW: every symbol hull needs is resolved here, not at an arbitrary
 * later call.  RTLD_LOCAL: the library's symbols stay out of the global
 * namespace.  The handle is never closed: the table points into it.
 */
static void load(struct hull_dl *d)
{
	void **slots = d->table;
	void *h;

	if (!view_unchanged()) {
		note(d, "refused: the process left its starting root or mount namespace "
			"(it would load the library from a container's files)");
		d->result = -EPERM;
		return;
	}
	h = dlopen(d->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		note(d, dlerror());
		return;
	}
	for (size_t i = 0; d->symbols[i]; i++) {
		void *p;

		(void)dlerror();
		p = dlsym(h, d->symbols[i]);
		if (!p) {
			const char *why = dlerror();
			char msg[200];

			snprintf(msg, sizeof(msg), "symbol '%s' not found%s%s", d->symbols[i],
				 why ? ": " : "", why ? why : "");
			note(d, msg);
			memset(d->table, 0, i * sizeof(void *));
			return;
		}
		slots[i] = p;
	}
	d->result = 0;
}

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void ensure(struct hull_dl *d)
{
	if (__atomic_load_n(&d->done, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&load_lock);
	if (!d->done) {
		load(d);
		__atomic_store_n(&d->done, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&load_lock);
}

int hull_dl_load(struct hull_dl *d, struct hull_error **reterr)
{
	ensure(d);
	if (d->result < 0)
		return hull_error_set(reterr, d->result, "load '%s': %s", d->soname, d->error);
	return 0;
}

void *hull_dl_table(struct hull_dl *d)
{
	ensure(d);
	if (d->result < 0) {
		dprintf(STDERR_FILENO, "hull: load '%s': %s\n", d->soname, d->error);
		abort();
	}
	return d->table;
}
