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

#include "util/error.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

static void test_error_wrap(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	int r;

	r = hull_error_errno(&err, -EPERM, "mount '%s' on '%s'", "/proc", "/proc");
	assert_int_equal(r, -EPERM);
	r = hull_error_wrap(&err, r, "create '%s'", "web");
	assert_int_equal(r, -EPERM);
	assert_string_equal(err->msg,
			    "create 'web': mount '/proc' on '/proc': Operation not permitted");
	assert_int_equal(err->code, -EPERM);
	/* NULL reterr is allowed everywhere */
	assert_int_equal(hull_error_set(NULL, -EINVAL, "x"), -EINVAL);
}

static void test_parse_numbers(void **state)
{
	uint64_t u;
	int64_t i;
	uint32_t u32;

	assert_int_equal(hull_parse_u64("42", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(hull_parse_u64("-1", &u), -EINVAL);
	assert_int_equal(hull_parse_u64("1x", &u), -EINVAL);
	assert_int_equal(hull_parse_u64("", &u), -EINVAL);
	assert_int_equal(hull_parse_u64("99999999999999999999999", &u), -ERANGE);
	assert_int_equal(hull_parse_i64("-7", &i), 0);
	assert_int_equal(i, -7);
	assert_int_equal(hull_parse_u32("4294967296", &u32), -ERANGE);
}

static void test_strv(void **state)
{
	_cleanup_strv_free_ char **v = NULL;
	_cleanup_strv_free_ char **c = NULL;

	assert_int_equal(hull_strv_push(&v, "a"), 0);
	assert_int_equal(hull_strv_push(&v, "b"), 0);
	assert_int_equal(hull_strv_length(v), 2);
	assert_true(hull_strv_contains(v, "b"));
	assert_false(hull_strv_contains(v, "c"));
	c = hull_strv_copy(v);
	assert_non_null(c);
	assert_string_equal(c[1], "b");
	assert_null(c[2]);
}

static void test_json_syntax_error_position(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct json_object *o = NULL;
	const char *text = "{\n  \"a\": 1,\n  \"b\": ]\n}";

	assert_int_equal(hull_json_parse(text, strlen(text), "config.json", &o, &err), -EINVAL);
	assert_null(o);
	assert_non_null(strstr(err->msg, "config.json: line 3 column"));
}

static void test_json_trailing_garbage(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct json_object *o = NULL;
	const char *text = "{} x";

	assert_int_equal(hull_json_parse(text, strlen(text), "f", &o, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "line 1 column 4"));
}

struct sample {
	char *name;
	uint32_t uid;
	bool flag;
	char **list;
};

static const struct hull_json_field sample_fields[] = {
	{ "name", hull_json_parse_string, offsetof(struct sample, name), true },
	{ "uid", hull_json_parse_u32, offsetof(struct sample, uid), false },
	{ "flag", hull_json_parse_bool, offsetof(struct sample, flag), false },
	{ "list", hull_json_parse_strv, offsetof(struct sample, list), false },
	{},
};

static int parse_sample(const char *text, struct sample *s, struct hull_error **err)
{
	_cleanup_json_ struct json_object *o = NULL;
	int r = hull_json_parse(text, strlen(text), "t", &o, err);

	if (r < 0)
		return r;
	return hull_json_dispatch("user", o, sample_fields, s, 0, err);
}

static void sample_done(struct sample *s)
{
	free(s->name);
	hull_strv_free(s->list);
}

static void test_json_dispatch(void **state)
{
	struct sample s = {};
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(
		parse_sample("{\"name\":\"x\",\"uid\":5,\"flag\":true,\"list\":[\"a\"]}", &s, &err),
		0);
	assert_string_equal(s.name, "x");
	assert_int_equal(s.uid, 5);
	assert_true(s.flag);
	assert_string_equal(s.list[0], "a");
	sample_done(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(parse_sample("{\"name\":\"x\",\"uid\":\"5\"}", &s, &err), -EINVAL);
	assert_string_equal(err->msg, "user.uid: expected a number");
	sample_done(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(parse_sample("{\"uid\":5}", &s, &err), -EINVAL);
	assert_string_equal(err->msg, "user.name: required field missing");
	sample_done(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(parse_sample("{\"name\":\"x\",\"list\":[1]}", &s, &err), -EINVAL);
	assert_string_equal(err->msg, "user.list[0]: expected a string");
	sample_done(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(parse_sample("{\"name\":\"x\",\"uid\":-1}", &s, &err), -ERANGE);
	assert_string_equal(err->msg, "user.uid: expected a non-negative number");
	sample_done(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(parse_sample("{\"name\":\"ro\\u0000ot\"}", &s, &err), -EINVAL);
	assert_string_equal(err->msg, "user.name: must not contain a NUL character");
	sample_done(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(parse_sample("{\"name\":\"x\",\"bogus\":1}", &s, &err), -EINVAL);
	assert_string_equal(err->msg, "user.bogus: unknown field");
	sample_done(&s);
}

static void test_files(void **state)
{
	char tmpl[] = "/tmp/hull-test-util-XXXXXX";
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *data = NULL;
	size_t len;

	assert_non_null(mkdtemp(tmpl));
	dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(hull_write_file_atomic_at(dfd, "state.json", "{}", 2, 0600, 0), 0);
	assert_int_equal(hull_read_file_at(dfd, "state.json", &data, &len), 0);
	assert_int_equal(len, 2);
	assert_string_equal(data, "{}");
	assert_int_equal(hull_mkdir_p_at(dfd, "a/b/c", 0755), 0);
	assert_int_equal(hull_mkdir_p_at(dfd, "a/b/c", 0755), 0);
	assert_int_equal(hull_write_file_atomic_at(dfd, "a/b/x", "1", 1, 0600, 0), -EINVAL);
	assert_int_equal(hull_rm_rf_at(AT_FDCWD, tmpl), 0);
	assert_int_equal(access(tmpl, F_OK), -1);
	assert_int_equal(hull_rm_rf_at(AT_FDCWD, tmpl), 0);
}

static void test_log_lines(void **state)
{
	char line[256];
	size_t n;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	n = hull_log_format_line(HULL_LOG_TEXT, HULL_LOG_ERROR, 1796198400, "container \"x\" gone",
				 line, sizeof(line));
	assert_string_equal(line, "time=\"2026-12-02T08:00:00Z\" level=error "
				  "msg=\"container \\\"x\\\" gone\"\n");
	assert_int_equal(n, strlen(line));
	hull_log_format_line(HULL_LOG_TEXT, HULL_LOG_DEBUG, 1796198400, "plain", line,
			     sizeof(line));
	assert_string_equal(line, "time=\"2026-12-02T08:00:00Z\" level=debug msg=plain\n");
	hull_log_format_line(HULL_LOG_JSON, HULL_LOG_WARN, 1796198400, "a \"b\"\n", line,
			     sizeof(line));
	assert_string_equal(line, "{\"level\":\"warning\",\"msg\":\"a \\\"b\\\"\\n\","
				  "\"time\":\"2026-12-02T08:00:00Z\"}\n");
	/* cut short: still one line */
	n = hull_log_format_line(HULL_LOG_TEXT, HULL_LOG_ERROR, 0, "a long message here", line, 40);
	assert_int_equal(n, 39);
	assert_int_equal(line[38], '\n');
	setenv("TZ", "CET-1", 1);
	tzset();
	hull_log_format_line(HULL_LOG_JSON, HULL_LOG_INFO, 1796198400, "x", line, sizeof(line));
	assert_non_null(strstr(line, "\"time\":\"2026-12-02T09:00:00+01:00\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_wrap),
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_json_syntax_error_position),
		cmocka_unit_test(test_json_trailing_garbage),
		cmocka_unit_test(test_json_dispatch),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
