/* SPDX-License-Identifier: Apache-2.0 */
/* The app container profile of `hull run`: capabilities, args, users, names. */
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

#include "instance/app-internal.h"
#include "util/file.h"
#include "util/str.h"

/* a string literal where the API takes char *const * */
#define S(x) ((char *)(x))

static void test_caps(void **state)
{
	char *add[] = { S("net_admin"), S("CAP_SYS_PTRACE"), NULL }, *drop[] = { S("chown"), NULL };
	char *all[] = { S("ALL"), NULL }, *bad[] = { S("CAP_NOPE"), NULL };
	char **caps = NULL;
	struct hull_error *err = NULL;

	assert_int_equal(app_caps(NULL, NULL, &caps, NULL), 0);
	assert_int_equal(hull_strv_length(caps), 14);
	assert_true(hull_strv_contains(caps, "CAP_NET_RAW"));
	hull_strv_free(caps);
	assert_int_equal(app_caps(add, drop, &caps, NULL), 0);
	assert_true(hull_strv_contains(caps, "CAP_NET_ADMIN"));
	assert_true(hull_strv_contains(caps, "CAP_SYS_PTRACE"));
	assert_false(hull_strv_contains(caps, "CAP_CHOWN"));
	hull_strv_free(caps);
	assert_int_equal(app_caps(NULL, all, &caps, NULL), 0);
	assert_null(caps[0]);
	hull_strv_free(caps);
	assert_int_equal(app_caps(bad, NULL, &caps, &err), -EINVAL);
	assert_string_equal(err->msg, "--cap-add: unknown capability 'CAP_NOPE'");
	hull_error_free(err);
}

static void test_args(void **state)
{
	char *ep[] = { S("/bin/sh"), S("-c"), NULL }, *cmd[] = { S("echo hi"), NULL };
	char *ocmd[] = { S("ls"), S("-l"), NULL }, *oep[] = { S("/bin/echo"), NULL },
	     *none[] = { NULL };
	struct hull_oci_image_config ic = { .config = { .entrypoint = ep, .cmd = cmd } };
	struct hull_app_opts o = { .image = "x" };
	struct hull_error *err = NULL;
	char **args = NULL;

	assert_int_equal(app_args(&ic, &o, &args, NULL), 0);
	assert_string_equal(args[2], "echo hi");
	hull_strv_free(args);
	o.cmd = ocmd;
	assert_int_equal(app_args(&ic, &o, &args, NULL), 0);
	assert_string_equal(args[2], "ls");
	assert_string_equal(args[3], "-l");
	hull_strv_free(args);
	/* an entrypoint override drops the image's Cmd */
	o.cmd = NULL;
	o.entrypoint = oep;
	assert_int_equal(app_args(&ic, &o, &args, NULL), 0);
	assert_string_equal(args[0], "/bin/echo");
	assert_null(args[1]);
	hull_strv_free(args);
	o.entrypoint = none;
	assert_int_equal(app_args(&ic, &o, &args, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "no command"));
	hull_error_free(err);
}

static void test_users(void **state)
{
	char dir[] = "/tmp/hull-test-app-XXXXXX";
	struct hull_error *err = NULL;
	struct app_user u = {};
	int fd, etc;

	assert_non_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(mkdirat(fd, "etc", 0755), 0);
	etc = openat(fd, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(etc >= 0);
	assert_int_equal(hull_write_file_atomic_at(etc, "passwd",
						   "root:x:0:0:root:/root:/bin/sh\n"
						   "web:x:33:44:w:/srv/web:/bin/sh\n",
						   61, 0644, 0),
			 0);
	assert_int_equal(hull_write_file_atomic_at(etc, "group",
						   "root:x:0:\nwww:x:44:\nextra:x:50:a,web\n", 37,
						   0644, 0),
			 0);
	assert_int_equal(app_resolve_user(fd, "web", &u, NULL), 0);
	assert_int_equal(u.uid, 33);
	assert_int_equal(u.gid, 44);
	assert_string_equal(u.home, "/srv/web");
	assert_int_equal(u.n_groups, 2);
	assert_int_equal(u.groups[0], 44);
	assert_int_equal(u.groups[1], 50);
	free(u.home);
	assert_int_equal(app_resolve_user(fd, "1000:www", &u, NULL), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 44);
	assert_string_equal(u.home, "/");
	free(u.home);
	assert_int_equal(app_resolve_user(fd, NULL, &u, NULL), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
	free(u.home);
	assert_int_equal(app_resolve_user(fd, "nobody", &u, &err), -ENOENT);
	assert_string_equal(err->msg, "user 'nobody': not found in the image's /etc/passwd");
	hull_error_free(err);
	err = NULL;
	assert_int_equal(app_resolve_user(fd, "web:nogroup", &u, &err), -ENOENT);
	hull_error_free(err);
	close(etc);
	close(fd);
	assert_int_equal(hull_rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_names(void **state)
{
	assert_int_equal(hull_app_name_check("web-1.a_b", NULL), 0);
	assert_int_equal(hull_app_name_check("-x", NULL), -EINVAL);
	assert_int_equal(hull_app_name_check("a/b", NULL), -EINVAL);
	assert_int_equal(hull_app_name_check("", NULL), -EINVAL);
	assert_int_equal(hull_app_name_check("..", NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
