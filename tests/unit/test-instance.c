/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance/instance.h"
#include "util/file.h"
#include "util/str.h"

static const char good[] = "{\"name\":\"web\",\"image\":\"abc\",\"image_ref\":\"debian/12\","
			   "\"created\":\"2026-12-02T08:00:00Z\","
			   "\"idmap\":{\"uid\":1065536,\"gid\":1065536,\"count\":65536},"
			   "\"config\":{\"user.b\":\"2\",\"limits.memory\":\"512MiB\"}}";

static void test_config_roundtrip(void **state)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL, *c2 = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *text = NULL;

	assert_int_equal(hull_instance_config_parse(good, strlen(good), &c, &err), 0);
	assert_string_equal(c->name, "web");
	assert_int_equal(c->uid_base, 1065536);
	assert_int_equal(c->id_count, 65536);
	/* config keys come back sorted */
	assert_string_equal(c->config[0], "limits.memory");
	assert_string_equal(hull_instance_config_get(c, "user.b"), "2");
	assert_null(hull_instance_config_get(c, "user.c"));

	text = hull_instance_config_format(c);
	assert_non_null(text);
	assert_int_equal(hull_instance_config_parse(text, strlen(text), &c2, &err), 0);
	assert_string_equal(c2->image_ref, "debian/12");
	assert_int_equal(c2->gid_base, 1065536);
	assert_string_equal(hull_instance_config_get(c2, "limits.memory"), "512MiB");
}

static void expect_parse_error(const char *text, const char *msg)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	_cleanup_error_ struct hull_error *err = NULL;

	assert_true(hull_instance_config_parse(text, strlen(text), &c, &err) < 0);
	assert_null(c);
	assert_non_null(err);
	if (!strstr(err->msg, msg))
		fail_msg("'%s' does not contain '%s'", err->msg, msg);
}

static void test_config_errors_name_the_field(void **state)
{
	expect_parse_error("{\"name\":\"web\",\"image\":\"a\","
			   "\"idmap\":{\"uid\":\"x\",\"gid\":1,\"count\":1}}",
			   "idmap.uid: expected");
	expect_parse_error("{\"name\":\"web\",\"image\":\"a\"}", "idmap");
	expect_parse_error("{\"name\":\"-bad\",\"image\":\"a\","
			   "\"idmap\":{\"uid\":1,\"gid\":1,\"count\":1}}",
			   "instance name '-bad'");
	expect_parse_error("{\"name\":\"web\",\"image\":\"a\","
			   "\"idmap\":{\"uid\":1,\"gid\":1,\"count\":1},"
			   "\"config\":{\"nope\":\"1\"}}",
			   "unknown config key 'nope'");
	expect_parse_error("{\"name\":\"web\",\"image\":\"a\","
			   "\"idmap\":{\"uid\":4294967295,\"gid\":1,\"count\":2}}",
			   "idmap.count");
	expect_parse_error("{\"name\":", "line 1");
}

static void test_names_and_keys(void **state)
{
	assert_int_equal(hull_instance_name_check("web-1", NULL), 0);
	assert_true(hull_instance_name_check("", NULL) < 0);
	assert_true(hull_instance_name_check("1web", NULL) < 0);
	assert_true(hull_instance_name_check("a/b", NULL) < 0);
	assert_true(hull_instance_name_check("..", NULL) < 0);
	assert_true(hull_instance_name_check(
			    "a123456789012345678901234567890123456789012345678901234567890123",
			    NULL) < 0);

	assert_int_equal(hull_instance_key_check("limits.memory", "2G", NULL), 0);
	assert_int_equal(hull_instance_key_check("limits.memory", "512MiB", NULL), 0);
	assert_true(hull_instance_key_check("limits.memory", "lots", NULL) < 0);
	assert_true(hull_instance_key_check("limits.memory", "1k", NULL) < 0);
	assert_int_equal(hull_instance_key_check("limits.processes", "100", NULL), 0);
	assert_true(hull_instance_key_check("limits.processes", "0", NULL) < 0);
	assert_int_equal(hull_instance_key_check("security.privileged", "false", NULL), 0);
	assert_int_equal(hull_instance_key_check("security.privileged", "true", NULL), 0);
	assert_true(hull_instance_key_check("security.privileged", "yes", NULL) < 0);
	assert_int_equal(hull_instance_key_check("boot.autostart", "true", NULL), 0);
	assert_true(hull_instance_key_check("boot.autostart", "1", NULL) < 0);
	assert_int_equal(hull_instance_key_check("boot.autostart.delay", "86400", NULL), 0);
	assert_true(hull_instance_key_check("boot.autostart.delay", "86401", NULL) < 0);
	assert_int_equal(hull_instance_key_check("boot.autostart.priority", "-5", NULL), 0);
	assert_true(hull_instance_key_check("boot.autostart.priority", "x", NULL) < 0);
	assert_true(hull_instance_key_known("boot.autostart.delay"));
	assert_false(hull_instance_key_known("boot.other"));
	assert_int_equal(hull_profile_name_check("web-1.x_y", NULL), 0);
	assert_true(hull_profile_name_check("-web", NULL) < 0);
	assert_true(hull_profile_name_check("a/b", NULL) < 0);
	assert_true(hull_profile_name_check("", NULL) < 0);
	assert_int_equal(hull_instance_key_check("user.note", "anything", NULL), 0);
	assert_true(hull_instance_key_check("user.", "x", NULL) < 0);
	assert_true(hull_instance_key_check("limits.memory", NULL, NULL) < 0);
}

static void test_subid(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ struct hull_id_range *r = NULL;
	char path[] = "/tmp/hull-test-subid-XXXXXX";
	const char text[] = "alice:100000:65536\nroot:1000000:196608\nbad line\n"
			    "root:5000000:100\n";
	int fd = mkstemp(path);
	size_t n = 0;
	uint32_t used[2], got;

	assert_true(fd >= 0);
	assert_int_equal(hull_write_all(fd, text, strlen(text)), 0);
	close(fd);
	assert_int_equal(hull_subid_read(path, "root", &r, &n, &err), 0);
	/* the 100-id range is too small for one instance and is skipped */
	assert_int_equal(n, 1);
	assert_int_equal(r[0].start, 1000000);
	assert_int_equal(r[0].count, 196608);

	assert_int_equal(hull_subid_allocate(r, n, NULL, 0, &got), 0);
	assert_int_equal(got, 1000000);
	used[0] = 1000000;
	assert_int_equal(hull_subid_allocate(r, n, used, 1, &got), 0);
	assert_int_equal(got, 1065536);
	used[1] = 1131072;
	assert_int_equal(hull_subid_allocate(r, n, used, 2, &got), 0);
	assert_int_equal(got, 1065536);
	used[0] = 1065536;
	/* blocks 0 and 2 taken by others, 1 free: still non-overlapping */
	used[0] = 1000000;
	used[1] = 1065536;
	assert_int_equal(hull_subid_allocate(r, n, used, 2, &got), 0);
	assert_int_equal(got, 1131072);
	{
		uint32_t all[3] = { 1000000, 1065536, 1131072 };

		assert_int_equal(hull_subid_allocate(r, n, all, 3, &got), -ENOSPC);
	}

	assert_true(hull_subid_read(path, "nobody", &r, &n, &err) == -ENOENT);
	assert_non_null(strstr(err->msg, "no subordinate ids for 'nobody'"));
	unlink(path);
}

static void test_home_layout(void **state)
{
	_cleanup_(hull_home_freep) struct hull_home *h = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	char dir[] = "/tmp/hull-test-home-XXXXXX", sub[256];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/state", dir);
	setenv("HULL_DIR", sub, 1);
	assert_int_equal(hull_home_open(NULL, &h, &err), 0);
	assert_string_equal(h->path, sub);
	assert_int_equal(fstatat(h->fd, "instances", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0711);
	assert_int_equal(fstatat(h->fd, "images", &st, 0), 0);
	assert_int_equal(fstatat(h->fd, "run", &st, 0), 0);
	/* the default profile exists from the start */
	assert_int_equal(fstatat(h->fd, "profiles/default.json", &st, 0), 0);
	{
		_cleanup_(hull_profile_freep) struct hull_profile *p = NULL;

		assert_int_equal(hull_profile_get(h, "default", &p, NULL), 0);
		assert_string_equal(p->name, "default");
		assert_null(p->config[0]);
		assert_int_equal(hull_profile_get(h, "nope", &p, NULL), -ENOENT);
	}
	hull_home_free(TAKE_PTR(h));
	unsetenv("HULL_DIR");
	assert_int_equal(hull_rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_cpu_key_set_unset_snapshot_names(void **state)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
	static const char *const good_cpus[] = { "1", "0.5", "2.25", "0.01", "1024", "3.125" };
	static const char *const bad_cpus[] = { "0",  "0.001", "1.2345", "1025", "lots",
						".5", "1.",    "-1",	 "",	 "1e3" };

	for (size_t i = 0; i < sizeof(good_cpus) / sizeof(good_cpus[0]); i++)
		assert_int_equal(hull_instance_key_check("limits.cpu", good_cpus[i], NULL), 0);
	for (size_t i = 0; i < sizeof(bad_cpus) / sizeof(bad_cpus[0]); i++)
		assert_int_equal(hull_instance_key_check("limits.cpu", bad_cpus[i], NULL), -EINVAL);

	assert_int_equal(hull_instance_config_parse(good, strlen(good), &c, NULL), 0);
	assert_int_equal(hull_instance_config_set(c, "user.a", "1"), 0);
	assert_int_equal(hull_instance_config_set(c, "user.b", "3"), 0);
	assert_string_equal(c->config[0], "limits.memory"); /* still sorted */
	assert_string_equal(c->config[2], "user.a");
	assert_string_equal(hull_instance_config_get(c, "user.b"), "3");
	assert_true(hull_instance_config_unset(c, "limits.memory"));
	assert_false(hull_instance_config_unset(c, "limits.memory"));
	assert_string_equal(c->config[0], "user.a");
	assert_string_equal(c->config[2], "user.b");
	assert_null(c->config[4]);

	assert_int_equal(hull_snapshot_name_check("snap0", NULL), 0);
	assert_int_equal(hull_snapshot_name_check("before-upgrade_2.1", NULL), 0);
	assert_int_equal(hull_snapshot_name_check("..", NULL), -EINVAL);
	assert_int_equal(hull_snapshot_name_check(".tmp-x", NULL), -EINVAL);
	assert_int_equal(hull_snapshot_name_check("a/b", NULL), -EINVAL);
	assert_int_equal(hull_snapshot_name_check("", NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_errors_name_the_field),
		cmocka_unit_test(test_names_and_keys),
		cmocka_unit_test(test_subid),
		cmocka_unit_test(test_cpu_key_set_unset_snapshot_names),
		cmocka_unit_test(test_home_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
