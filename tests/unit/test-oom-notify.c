/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "linux/oom-notify.h"
#include "util/str.h"

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/*
 * The v2 watch on a stand-in cgroup2 directory: memory.events is an ordinary
 * file here, which inotify watches the same way.
 */
static void test_v2_counts_oom_kills_and_sees_removal(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_(hull_oom_notify_freep) struct hull_oom_notify *n = NULL;
	char top[] = "/tmp/hull-unit-oom-XXXXXX";
	_cleanup_free_ char *dir = NULL, *events = NULL;
	struct hull_cgroup_hierarchy h = { .name = (char *)"unified", .unified = true };
	struct hull_cgroup_layout layout = { .mode = HULL_CGROUP_V2, .n_hierarchies = 1 };
	unsigned ooms = 99;
	bool gone = true;

	(void)state;
	assert_non_null(mkdtemp(top));
	h.mount_point = top;
	layout.hierarchies = &h;
	dir = hull_strdup_printf("%s/c", top);
	events = hull_strdup_printf("%s/memory.events", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(events, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");

	assert_int_equal(hull_cgroup_new_at(&layout, "/c", &cg, &err), 0);
	assert_int_equal(hull_oom_notify_new(cg, &n, &err), 0);
	assert_false(readable(hull_oom_notify_fd(n), 0));

	/* kills before the watch started are not reported; two new ones are */
	write_file(events, "low 0\nhigh 0\nmax 5\noom 3\noom_kill 3\n");
	assert_true(readable(hull_oom_notify_fd(n), 5000));
	assert_int_equal(hull_oom_notify_read(n, &ooms, &gone), 0);
	assert_int_equal(ooms, 2);
	assert_false(gone);

	/* another change without a kill reports none */
	write_file(events, "low 0\nhigh 1\nmax 5\noom 3\noom_kill 3\n");
	assert_true(readable(hull_oom_notify_fd(n), 5000));
	assert_int_equal(hull_oom_notify_read(n, &ooms, &gone), 0);
	assert_int_equal(ooms, 0);
	assert_false(gone);

	/* the cgroup goes away: the watch says so */
	assert_int_equal(unlink(events), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_true(readable(hull_oom_notify_fd(n), 5000));
	assert_int_equal(hull_oom_notify_read(n, &ooms, &gone), 0);
	assert_int_equal(ooms, 0);
	assert_true(gone);
	assert_int_equal(rmdir(top), 0);
}

static void test_no_memory_controller(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	struct hull_oom_notify *n = NULL;
	struct hull_cgroup_layout layout = { .mode = HULL_CGROUP_V1, .n_hierarchies = 0 };

	(void)state;
	assert_int_equal(hull_cgroup_new_at(&layout, "/c", &cg, &err), 0);
	assert_int_equal(hull_oom_notify_new(cg, &n, &err), -ENOENT);
	assert_null(n);
	assert_non_null(strstr(err->msg, "no memory controller"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_counts_oom_kills_and_sees_removal),
		cmocka_unit_test(test_no_memory_controller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
