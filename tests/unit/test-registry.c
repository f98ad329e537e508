/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/registry.h"
#include "util/file.h"
#include "util/str.h"

static void test_challenge(void **state)
{
	struct hull_auth_challenge c = {};

	assert_int_equal(hull_auth_challenge_parse(
				 "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
				 "docker.io\",scope=\"repository:samalba/my-app:pull,push\"",
				 &c),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:samalba/my-app:pull,push");
	hull_auth_challenge_done(&c);

	assert_int_equal(hull_auth_challenge_parse("basic Realm=\"Registry Realm\"", &c), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "Registry Realm");
	assert_null(c.service);
	hull_auth_challenge_done(&c);

	/* unquoted values, spaces after commas, an escaped quote, unknown keys */
	assert_int_equal(hull_auth_challenge_parse("Bearer realm=https://r/t, service=s, "
						   "error=\"insufficient_scope\", "
						   "scope=\"a\\\"b\"",
						   &c),
			 0);
	assert_string_equal(c.realm, "https://r/t");
	assert_string_equal(c.service, "s");
	assert_string_equal(c.scope, "a\"b");
	hull_auth_challenge_done(&c);

	assert_int_equal(hull_auth_challenge_parse("Bearer service=\"x\"", &c), -EINVAL);
	assert_int_equal(hull_auth_challenge_parse("Bearer realm=\"unterminated", &c), -EINVAL);
	assert_int_equal(hull_auth_challenge_parse("", &c), -EINVAL);
	assert_int_equal(hull_auth_challenge_parse("Bearer realm", &c), -EINVAL);
}

static void lookup(const char *file, const char *reg, const char *path, const char *user,
		   const char *pass)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *u = NULL, *p = NULL;
	int r = hull_auth_lookup(file, reg, path, &u, &p, &err);

	if (!user) {
		assert_int_equal(r, -ENOENT);
		return;
	}
	if (r < 0)
		fail_msg("lookup '%s': %s", reg, err ? err->msg : "?");
	assert_string_equal(u, user);
	assert_string_equal(p, pass);
}

static void test_auth_file(void **state)
{
	char dir[] = "/tmp/hull-test-auth-XXXXXX";
	_cleanup_free_ char *file = NULL, *text = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	file = hull_strdup_printf("%s/sub/auth.json", dir);

	/* podman's and docker's spellings: base64 user:password, legacy https:// keys */
	{
		_cleanup_free_ char *sub = hull_strdup_printf("%s/sub", dir);
		int fd;

		assert_int_equal(mkdir(sub, 0700), 0);
		fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		text = strdup("{\"auths\":{"
			      "\"https://index.docker.io/v1/\":{\"auth\":\"ZHU6ZHA=\"},"
			      "\"reg.io/team\":{\"auth\":\"dGVhbTpwdw==\"},"
			      "\"reg.io\":{\"auth\":\"YWxsOnB3Mg==\"},"
			      "\"helper.io\":{}},"
			      "\"credHelpers\":{\"x.io\":\"secretservice\"}}");
		assert_int_equal(hull_write_all(fd, text, strlen(text)), 0);
		close(fd);
	}
	lookup(file, "docker.io", "library/busybox", "du", "dp");
	lookup(file, "reg.io", "team/app", "team", "pw");
	lookup(file, "reg.io", "other/app", "all", "pw2");
	lookup(file, "reg.io", NULL, "all", "pw2");
	lookup(file, "helper.io", NULL, NULL, NULL);
	lookup(file, "none.io", "a", NULL, NULL);

	/* store keeps the rest (credHelpers too), replaces a legacy spelling, 0600 */
	assert_int_equal(hull_auth_store(file, "docker.io", "new", "p:w", &err), 0);
	lookup(file, "docker.io", NULL, "new", "p:w");
	free(text);
	text = NULL;
	assert_int_equal(hull_read_file_at(AT_FDCWD, file, &text, NULL), 0);
	assert_null(strstr(text, "index.docker.io"));
	assert_non_null(strstr(text, "credHelpers"));
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(hull_auth_store(file, "docker.io", "a:b", "x", &err), -EINVAL);

	assert_int_equal(hull_auth_remove(file, "reg.io", &err), 0);
	lookup(file, "reg.io", "team/app", "team", "pw");
	lookup(file, "reg.io", "other/app", NULL, NULL);
	hull_error_free(err);
	err = NULL;
	assert_int_equal(hull_auth_remove(file, "reg.io", &err), -ENOENT);
	assert_non_null(strstr(err->msg, "not logged in to 'reg.io'"));
	assert_int_equal(hull_auth_remove_all(file, NULL), 0);
	lookup(file, "docker.io", NULL, NULL, NULL);

	/* a new file in a new directory */
	{
		_cleanup_free_ char *f2 = hull_strdup_printf("%s/new/dir/auth.json", dir);

		assert_int_equal(hull_auth_store(f2, "h:5000", "u", "p", NULL), 0);
		lookup(f2, "h:5000", "x", "u", "p");
	}
	/* broken files are one clear error */
	{
		_cleanup_free_ char *f3 = hull_strdup_printf("%s/bad.json", dir);
		int fd = open(f3, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		assert_int_equal(hull_write_all(fd, "{\"auths\":{\"h\":{\"auth\":\"!!\"}}}", 29),
				 0);
		close(fd);
		hull_error_free(err);
		err = NULL;
		{
			char *u = NULL, *pw = NULL;

			assert_int_equal(hull_auth_lookup(f3, "h", NULL, &u, &pw, &err), -EINVAL);
		}
		assert_non_null(strstr(err->msg, "not base64"));
	}
	assert_int_equal(hull_rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_auth_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
