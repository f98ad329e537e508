/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* the OCI model holds mutable strings; the tests fill it from literals */
#pragma GCC diagnostic ignored "-Wdiscarded-qualifiers"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/hooks.h"
#include "util/error.h"
#include "util/file.h"
#include "util/str.h"

static char tmpdir[] = "/tmp/hull-test-hooks-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return hull_rm_rf_at(AT_FDCWD, tmpdir) < 0 ? -1 : 0;
}

/* Writes an executable /bin/sh script into tmpdir; returns its malloc'ed path. */
static char *script(const char *name, const char *body)
{
	char *path = hull_strdup_printf("%s/%s", tmpdir, name);
	char *text = hull_strdup_printf("#!/bin/sh\n%s\n", body);
	int fd;

	assert_non_null(path);
	assert_non_null(text);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(hull_write_all(fd, text, strlen(text)), 0);
	close(fd);
	free(text);
	return path;
}

static char *tmp(const char *name)
{
	char *p = hull_strdup_printf("%s/%s", tmpdir, name);

	assert_non_null(p);
	return p;
}

static char *slurp(const char *path)
{
	char *text = NULL;

	assert_int_equal(hull_read_file_at(AT_FDCWD, path, &text, NULL), 0);
	return text;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* No child of ours is left, not even a zombie. */
static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_stdin_args_env(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *out = tmp("stdin.out");
	_cleanup_free_ char *path =
		script("h1", "/bin/cat > \"$1\"\n"
			     "echo \"$#|$1|$2\" > \"$1.args\"\n"
			     "/usr/bin/env | /bin/grep -v '^PWD=' | /usr/bin/sort > \"$1.env\"");
	_cleanup_free_ char *args_file = hull_strdup_printf("%s.args", out);
	_cleanup_free_ char *env_file = hull_strdup_printf("%s.env", out);
	_cleanup_free_ char *got = NULL, *got_args = NULL, *got_env = NULL, *expect = NULL;
	char *args[] = { "custom-argv0", out, "two", NULL };
	char *env[] = { "FOO=bar", "X=1", NULL };
	struct hull_oci_hook hook = { .path = path, .args = args, .env = env };
	const char *json = "{\"ociVersion\":\"1.1.0\",\"id\":\"c1\",\"status\":\"creating\"}";

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", json, &err), 0);
	assert_null(err);
	got = slurp(out);
	assert_string_equal(got, json);
	got_args = slurp(args_file);
	expect = hull_strdup_printf("2|%s|two\n", out);
	assert_string_equal(got_args, expect);
	got_env = slurp(env_file);
	assert_string_equal(got_env, "FOO=bar\nX=1\n");
	assert_no_children();
}

static void test_no_args_no_env(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *out = tmp("noargs.out");
	_cleanup_free_ char *body = hull_strdup_printf(
		"echo \"$#\" > %s; /usr/bin/env | /bin/grep -v '^PWD=' | /usr/bin/wc -l >> %s", out,
		out);
	_cleanup_free_ char *path = script("h2", body);
	_cleanup_free_ char *got = NULL;
	struct hull_oci_hook hook = { .path = path };

	assert_int_equal(hull_hooks_run(&hook, 1, "createRuntime", "{}", &err), 0);
	got = slurp(out);
	assert_string_equal(got, "0\n0\n");
	assert_no_children();
}

static void test_exit_status_with_output(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *ok = script("ok", "exit 0");
	_cleanup_free_ char *bad = script("bad", "echo oops >&2\necho out\nexit 3");
	_cleanup_free_ char *expect = NULL;
	struct hull_oci_hook hooks[] = { { .path = ok }, { .path = bad } };
	int fds = count_fds();

	assert_int_equal(hull_hooks_run(hooks, 2, "poststart", "{}", &err), -EIO);
	assert_int_equal(count_fds(), fds);
	expect = hull_strdup_printf(
		"poststart hook '%s' (#1): error running hook: exit status 3, output: oops\nout",
		bad);
	assert_string_equal(err->msg, expect);
	assert_no_children();
}

static void test_exit_status_without_output(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *bad = script("bad2", "exit 1");
	_cleanup_free_ char *expect = NULL;
	struct hull_oci_hook hook = { .path = bad };

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", "{}", &err), -EIO);
	expect = hull_strdup_printf("prestart hook '%s' (#0): error running hook: exit status 1",
				    bad);
	assert_string_equal(err->msg, expect);
}

static void test_stops_at_first_failure(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *marker = tmp("never");
	_cleanup_free_ char *bad = script("bad3", "exit 2");
	_cleanup_free_ char *body = hull_strdup_printf("touch %s", marker);
	_cleanup_free_ char *after = script("after", body);
	struct hull_oci_hook hooks[] = { { .path = bad }, { .path = after } };

	assert_int_equal(hull_hooks_run(hooks, 2, "prestart", "{}", &err), -EIO);
	assert_int_equal(access(marker, F_OK), -1);
}

static void test_killed_by_signal(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *path = script("killer", "kill -9 $$");
	_cleanup_free_ char *expect = NULL;
	struct hull_oci_hook hook = { .path = path };

	assert_int_equal(hull_hooks_run(&hook, 1, "poststop", "{}", &err), -EIO);
	expect = hull_strdup_printf("poststop hook '%s' (#0): error running hook: signal: killed",
				    path);
	assert_string_equal(err->msg, expect);
	assert_no_children();
}

static void test_timeout_kills_the_group(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *sleep_file = tmp("sleep.pid");
	_cleanup_free_ char *body =
		hull_strdup_printf("/bin/sleep 10 &\necho $! > %s.tmp && mv %s.tmp %s\nwait",
				   sleep_file, sleep_file, sleep_file);
	_cleanup_free_ char *path = script("slow", body);
	_cleanup_free_ char *expect = NULL, *pid_text = NULL;
	struct hull_oci_hook hook = { .path = path, .timeout = { .v = 1, .set = true } };
	int status, sleep_pid, fds;

	/* orphans (the sleep) come to us, so we can see how they ended */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	fds = count_fds();

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", "{}", &err), -ETIMEDOUT);
	assert_int_equal(count_fds(), fds);
	expect = hull_strdup_printf("prestart hook '%s' (#0): timed out after 1 s", path);
	assert_string_equal(err->msg, expect);

	pid_text = slurp(sleep_file);
	pid_text[strcspn(pid_text, "\n")] = '\0';
	assert_int_equal(hull_parse_int(pid_text, &sleep_pid), 0);
	assert_int_equal(waitpid(sleep_pid, &status, 0), sleep_pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
	assert_no_children();
}

/* A daemon the hook leaves behind keeps the output pipe open: the run must not wait for it. */
static void test_background_child_does_not_block(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *pid_file = tmp("daemon.pid");
	_cleanup_free_ char *body = hull_strdup_printf(
		"/bin/sleep 60 &\necho $! > %s.tmp && mv %s.tmp %s\necho started", pid_file,
		pid_file, pid_file);
	_cleanup_free_ char *path = script("daemonizer", body);
	_cleanup_free_ char *pid_text = NULL;
	struct hull_oci_hook hook = { .path = path };
	int status, pid;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(hull_hooks_run(&hook, 1, "poststart", "{}", &err), 0);
	pid_text = slurp(pid_file);
	pid_text[strcspn(pid_text, "\n")] = '\0';
	assert_int_equal(hull_parse_int(pid_text, &pid), 0);
	/* still running: a hook's daemons are its business */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
	assert_no_children();
}

static char *big_state(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = '\0';
	return s;
}

static void test_large_state_read(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *out = tmp("big.out");
	_cleanup_free_ char *body = hull_strdup_printf("/bin/cat > %s", out);
	_cleanup_free_ char *path = script("reader", body);
	_cleanup_free_ char *json = big_state(1024 * 1024);
	_cleanup_free_ char *got = NULL;
	struct hull_oci_hook hook = { .path = path };

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", json, &err), 0);
	got = slurp(out);
	assert_string_equal(got, json);
}

static void test_state_not_read(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *path = script("nonreader", "exit 0");
	_cleanup_free_ char *json = big_state(1024 * 1024);
	struct hull_oci_hook hook = { .path = path };
	sigset_t pending;

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", json, &err), 0);
	/* the EPIPE was ours to handle: no SIGPIPE is left behind */
	sigpending(&pending);
	assert_int_equal(sigismember(&pending, SIGPIPE), 0);
}

static void test_output_is_capped(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *path =
		script("chatty", "/usr/bin/head -c 300000 /dev/zero | /usr/bin/tr '\\0' a\nexit 1");
	struct hull_oci_hook hook = { .path = path };
	const char *o;

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", "{}", &err), -EIO);
	o = strstr(err->msg, ", output: ");
	assert_non_null(o);
	assert_int_equal(strlen(o + strlen(", output: ")), 64 * 1024);
}

static void test_exec_failure(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *noexec = tmp("noexec");
	struct hull_oci_hook hook = { .path = "/nonexistent/hook" };
	struct hull_oci_hook hook2 = { .path = noexec };
	_cleanup_free_ char *expect = NULL;

	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", "{}", &err), -ENOENT);
	assert_string_equal(
		err->msg,
		"prestart hook '/nonexistent/hook' (#0): exec: No such file or directory");
	assert_no_children();

	free(script("noexec", "exit 0"));
	assert_int_equal(chmod(noexec, 0644), 0);
	hull_error_free(err);
	err = NULL;
	assert_int_equal(hull_hooks_run(&hook2, 1, "prestart", "{}", &err), -EACCES);
	expect = hull_strdup_printf("prestart hook '%s' (#0): exec: Permission denied", noexec);
	assert_string_equal(err->msg, expect);
}

static void test_no_fd_leak(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_free_ char *path = script("fds", "[ -e /proc/$$/fd/77 ] && exit 9\n"
						  "[ -e /proc/$$/fd/0 ] || exit 10\n"
						  "exit 0");
	struct hull_oci_hook hook = { .path = path };
	int fd;

	/* an fd the runtime forgot to mark CLOEXEC */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 77), 77);
	close(fd);
	assert_int_equal(hull_hooks_run(&hook, 1, "prestart", "{}", &err), 0);
	close(77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdin_args_env),
		cmocka_unit_test(test_no_args_no_env),
		cmocka_unit_test(test_exit_status_with_output),
		cmocka_unit_test(test_exit_status_without_output),
		cmocka_unit_test(test_stops_at_first_failure),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_timeout_kills_the_group),
		cmocka_unit_test(test_background_child_does_not_block),
		cmocka_unit_test(test_large_state_read),
		cmocka_unit_test(test_state_not_read),
		cmocka_unit_test(test_output_is_capped),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_no_fd_leak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
