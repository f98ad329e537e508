/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/blob-store.h"
#include "util/file.h"
#include "util/str.h"

/* sha256("hello") */
#define HELLO "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static char dir[] = "/tmp/hull-test-blob-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return hull_rm_rf_at(AT_FDCWD, dir);
}

/* Number of entries in <dir>/sha256 (temp files included). */
static int count_files(void)
{
	char p[128];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), "%s/sha256", dir);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq_dots(de->d_name))
			n++;
	closedir(d);
	return n;
}

static void test_write_read(void **state)
{
	struct hull_blob_store *s = NULL;
	struct hull_blob_writer *w = NULL;
	char d[HULL_DIGEST_MAX];
	char *text = NULL;
	char **l = NULL;
	uint64_t size = 0;

	assert_int_equal(hull_blob_store_open(dir, &s, NULL), 0);
	assert_false(hull_blob_store_has(s, HELLO));
	assert_int_equal(hull_blob_writer_begin(s, HELLO, 5, &w, NULL), 0);
	assert_int_equal(hull_blob_writer_write(w, "hel", 3, NULL), 0);
	assert_int_equal(hull_blob_writer_write(w, "lo", 2, NULL), 0);
	assert_int_equal(hull_blob_writer_commit(w, d, NULL), 0);
	hull_blob_writer_free(w);
	assert_string_equal(d, HELLO);
	assert_true(hull_blob_store_has(s, HELLO));
	assert_int_equal(hull_blob_store_read(s, HELLO, 100, &text, NULL, NULL), 0);
	assert_string_equal(text, "hello");
	free(text);
	assert_int_equal(hull_blob_store_size(s, HELLO, &size, NULL), 0);
	assert_int_equal(size, 5);
	/* the same blob again is fine */
	assert_int_equal(hull_blob_store_add(s, "hello", 5, d, NULL), 0);
	assert_int_equal(count_files(), 1);
	assert_int_equal(hull_blob_store_list(s, &l, NULL), 0);
	assert_string_equal(l[0], HELLO);
	assert_null(l[1]);
	hull_strv_free(l);
	assert_int_equal(hull_blob_store_remove(s, HELLO, NULL), 0);
	assert_false(hull_blob_store_has(s, HELLO));
	hull_blob_store_free(s);
}

static void test_mismatch(void **state)
{
	struct hull_blob_store *s = NULL;
	struct hull_blob_writer *w = NULL;
	struct hull_error *err = NULL;
	int fd = -1;

	assert_int_equal(hull_blob_store_open(dir, &s, NULL), 0);
	/* wrong content */
	assert_int_equal(hull_blob_writer_begin(s, HELLO, UINT64_MAX, &w, NULL), 0);
	assert_int_equal(hull_blob_writer_write(w, "hellO", 5, NULL), 0);
	assert_int_equal(hull_blob_writer_commit(w, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err->msg, "digest mismatch"));
	hull_error_free(err);
	err = NULL;
	hull_blob_writer_free(w);
	assert_int_equal(count_files(), 0);
	/* truncated */
	assert_int_equal(hull_blob_writer_begin(s, HELLO, 5, &w, NULL), 0);
	assert_int_equal(hull_blob_writer_write(w, "hell", 4, NULL), 0);
	assert_int_equal(hull_blob_writer_commit(w, NULL, &err), -EBADMSG);
	assert_string_equal(err->msg, "blob '" HELLO "': size mismatch (expected 5 bytes, got 4)");
	hull_error_free(err);
	err = NULL;
	hull_blob_writer_free(w);
	/* too long */
	assert_int_equal(hull_blob_writer_begin(s, NULL, 3, &w, NULL), 0);
	assert_int_equal(hull_blob_writer_write(w, "hello", 5, &err), -EBADMSG);
	hull_error_free(err);
	err = NULL;
	/* abandoned writer */
	hull_blob_writer_free(w);
	assert_int_equal(count_files(), 0);
	assert_false(hull_blob_store_has(s, HELLO));
	assert_int_equal(hull_blob_store_open_blob(s, HELLO, &fd, &err), -ENOENT);
	assert_string_equal(err->msg, "blob '" HELLO "': not in the store");
	hull_error_free(err);
	err = NULL;
	assert_int_equal(hull_blob_writer_begin(s, "sha256:../../etc", 5, &w, &err), -EINVAL);
	hull_error_free(err);
	assert_false(hull_blob_store_has(s, "sha256:../../etc/passwd"));
	hull_blob_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_mismatch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
