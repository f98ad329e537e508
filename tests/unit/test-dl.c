/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/archive-dl.h"
#include "image/curl-dl.h"
#include "net/nft-dl.h"
#include "util/crypto-dl.h"
#include "util/dl.h"
#include "util/file.h"

/* zlib: a small library hull does not load itself, so every test gets a fresh table */
struct z_api {
	const char *(*zlibVersion)(void);
};

static const char *const z_symbols[] = { "zlibVersion", NULL };

static void test_load_fills_table(void **state)
{
	struct z_api api = {};
	struct hull_dl d = HULL_DL_INIT("libz.so.1", z_symbols, &api);
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_dl_load(&d, &err), 0);
	assert_non_null(api.zlibVersion);
	assert_true(strlen(api.zlibVersion()) > 0);
	assert_ptr_equal(hull_dl_table(&d), &api);
}

static void test_missing_library_and_symbol(void **state)
{
	static const char *const bad_symbols[] = { "zlibVersion", "hull_no_such_symbol", NULL };
	struct z_api api[2] = {};
	struct hull_dl nolib = HULL_DL_INIT("libhull-no-such-library.so.0", z_symbols, &api[0]);
	struct hull_dl nosym = HULL_DL_INIT("libz.so.1", bad_symbols, &api[1]);
	_cleanup_error_ struct hull_error *e1 = NULL, *e2 = NULL;

	assert_int_equal(hull_dl_load(&nolib, &e1), -ELIBACC);
	assert_non_null(strstr(e1->msg, "load 'libhull-no-such-library.so.0'"));
	assert_int_equal(hull_dl_load(&nosym, &e2), -ELIBACC);
	assert_non_null(strstr(e2->msg, "'hull_no_such_symbol' not found"));
	/* a half-filled table is not left behind */
	assert_null(api[1].zlibVersion);
}

/* The libraries hull loads on first use are installed and have every symbol it calls. */
static void test_hull_tables_load(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_curl_load(&err), 0);
	assert_int_equal(hull_nft_load(&err), 0);
	assert_int_equal(hull_archive_load(&err), 0);
	assert_int_equal(hull_crypto_load(&err), 0);
}

/*
 * A process that entered a container's files (here: chroot into an empty
 * directory, as pivot_root or setns into a container's mount namespace would)
 * must not load a library from them.
 */
static void test_refused_after_chroot(void **state)
{
	char dir[] = "/tmp/hull-test-dl-XXXXXX";
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct z_api api = {};
		struct hull_dl d = HULL_DL_INIT("libz.so.1", z_symbols, &api);
		int r;

		if (chroot(dir) < 0 || chdir("/") < 0)
			_exit(2);
		r = hull_dl_load(&d, NULL);
		_exit(r == -EPERM && !api.zlibVersion ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fills_table),
		cmocka_unit_test(test_missing_library_and_symbol),
		cmocka_unit_test(test_hull_tables_load),
		cmocka_unit_test(test_refused_after_chroot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
