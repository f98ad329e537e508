/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups without touching any: path resolution, value conversions and
 * validation, layout parsing, `exec --cgroup` parsing (test-cgroup.c drives
 * real cgroups).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/error.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define MiB (1024LL * 1024LL)

static const struct hull_cgroup_layout *host_layout(void)
{
	const struct hull_cgroup_layout *l = NULL;

	assert_int_equal(hull_cgroup_layout_get(&l), 0);
	return l;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- pure functions --------------------------------------------------- */

static void test_resolve_path(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	char *p = NULL;

	assert_int_equal(hull_cgroup_resolve_path("", "web", &p, &err), 0);
	assert_string_equal(p, "/hull/web");
	free(p);
	assert_int_equal(hull_cgroup_resolve_path(NULL, "web", &p, &err), 0);
	assert_string_equal(p, "/hull/web");
	free(p);
	assert_int_equal(hull_cgroup_resolve_path("a/b", "web", &p, &err), 0);
	assert_string_equal(p, "/hull/a/b");
	free(p);
	assert_int_equal(hull_cgroup_resolve_path("/a/b", "web", &p, &err), 0);
	assert_string_equal(p, "/a/b");
	free(p);
	assert_int_equal(hull_cgroup_resolve_path("//machine.slice///x/", "web", &p, &err), 0);
	assert_string_equal(p, "/machine.slice/x");
	free(p);
	p = NULL;

	assert_int_equal(hull_cgroup_resolve_path("a/../../b", "web", &p, &err), -EINVAL);
	assert_null(p);
	assert_string_equal(err->msg, "linux.cgroupsPath: '.' and '..' are not allowed in "
				      "'a/../../b'");
	assert_int_equal(hull_cgroup_resolve_path("/", "web", &p, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.cgroupsPath: the root cgroup cannot be used");
	/* the public constructor resolves the same way and creates nothing */
	{
		_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;

		assert_int_equal(hull_cgroup_new("", "hull-test-unused", false, &cg, &err), 0);
		assert_string_equal(hull_cgroup_path(cg), "/hull/hull-test-unused");
		for (size_t i = 0; i < cg->layout->n_hierarchies; i++)
			assert_false(exists(cg->dirs[i]));
	}
	assert_int_equal(hull_cgroup_resolve_path("", "a/b", &p, &err), -EINVAL);
	assert_int_equal(hull_cgroup_resolve_path("", "..", &p, &err), -EINVAL);
	assert_int_equal(hull_cgroup_resolve_path("", "", &p, &err), -EINVAL);
	assert_null(p);
}

static void test_systemd_path(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	char *p = NULL;

	assert_int_equal(hull_cgroup_systemd_path("system.slice:docker:abc", "id", &p, &err), 0);
	assert_string_equal(p, "/system.slice/docker-abc.scope");
	free(p);
	assert_int_equal(hull_cgroup_systemd_path("a-b-c.slice:p:n", "id", &p, &err), 0);
	assert_string_equal(p, "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
	free(p);
	assert_int_equal(hull_cgroup_systemd_path(":hull:", "web", &p, &err), 0);
	assert_string_equal(p, "/system.slice/hull-web.scope");
	free(p);
	assert_int_equal(hull_cgroup_systemd_path("-.slice::x", "web", &p, &err), 0);
	assert_string_equal(p, "/x.scope");
	free(p);
	assert_int_equal(hull_cgroup_systemd_path("user.slice:p:my.slice", "web", &p, &err), 0);
	assert_string_equal(p, "/user.slice/my.slice");
	free(p);
	p = NULL;

	assert_int_equal(hull_cgroup_systemd_path("/a/b", "web", &p, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.cgroupsPath: expected 'slice:prefix:name' with the "
				      "systemd cgroup driver, got '/a/b'");
	assert_int_equal(hull_cgroup_systemd_path("a--b.slice:p:n", "web", &p, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.cgroupsPath: invalid slice 'a--b.slice'");
	assert_int_equal(hull_cgroup_systemd_path("x.scope:p:n", "web", &p, &err), -EINVAL);
	assert_int_equal(hull_cgroup_systemd_path("a:b:c:d", "web", &p, &err), -EINVAL);
	assert_null(p);
}

static void test_systemd_not_running(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;

	if (exists("/run/systemd/system"))
		skip();
	assert_int_equal(hull_cgroup_new("system.slice:hull:web", "web", true, &cg, &err),
			 -EOPNOTSUPP);
	assert_null(cg);
	assert_string_equal(err->msg, "systemd cgroup driver: systemd is not running");
}

static void test_conversions(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_oci_resources res = { 0 };
	char *s = NULL;

	/* runc: 1 + ((shares - 2) * 9999) / 262142 */
	assert_int_equal(hull_cgroup_shares_to_weight(2), 1);
	assert_int_equal(hull_cgroup_shares_to_weight(1024), 39);
	assert_int_equal(hull_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(hull_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(hull_cgroup_blkio_to_io_weight(500), 4950);
	assert_int_equal(hull_cgroup_blkio_to_io_weight(1000), 10000);

	/* OCI swap is memory+swap; memory.swap.max is swap alone */
	res.memory.limit = (struct hull_oi64){ 100 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 300 * MiB, true };
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), 0);
	assert_string_equal(s, "209715200");
	free(s);
	res.memory.swap = (struct hull_oi64){ -1, true };
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), 0);
	assert_string_equal(s, "max");
	free(s);
	res.memory.swap = (struct hull_oi64){ 100 * MiB, true };
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), 0);
	assert_string_equal(s, "0");
	free(s);
	res.memory.swap.set = false;
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), 0);
	assert_null(s);
	res.memory.limit = (struct hull_oi64){ -1, true };
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), 0);
	assert_string_equal(s, "max");
	free(s);
	s = NULL;

	res.memory.limit = (struct hull_oi64){ 100 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 50 * MiB, true };
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.resources.memory.swap: must be greater than or "
				      "equal to memory.limit");
	res.memory.limit.set = false;
	assert_int_equal(hull_cgroup_swap_to_v2(&res, &s, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.resources.memory.swap: a swap limit needs "
				      "memory.limit");
	assert_null(s);
}

static void expect_invalid(const struct hull_oci_resources *res, enum hull_cgroup_mode mode,
			   const char *msg)
{
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_cgroup_validate(res, mode, false, &err), -EINVAL);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
}

static void test_validate(void **state)
{
	struct hull_oci_resources res = { 0 };
	char *bad_key[] = { (char *)"../memory.max", (char *)"1", NULL };
	char *key[] = { (char *)"memory.high", (char *)"1", NULL };
	struct hull_oci_hugepage_limit hp = { .page_size = (char *)"2XB", .limit = 1 };

	assert_int_equal(hull_cgroup_validate(NULL, HULL_CGROUP_V1, false, NULL), 0);
	assert_int_equal(hull_cgroup_validate(&res, HULL_CGROUP_V1, false, NULL), 0);

	res.memory.limit = (struct hull_oi64){ 100 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 50 * MiB, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.memory.swap: must be greater than or equal to "
		       "memory.limit");
	res.memory.swap = (struct hull_oi64){ -1, true };
	assert_int_equal(hull_cgroup_validate(&res, HULL_CGROUP_V1, false, NULL), 0);
	res.memory.limit = (struct hull_oi64){ -5, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.memory.limit: must be -1 (unlimited) or a positive "
		       "number, not -5");
	res = (struct hull_oci_resources){ 0 };
	res.memory.swappiness = (struct hull_ou64){ 101, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.memory.swappiness: must be between 0 and 100, not 101");

	res = (struct hull_oci_resources){ 0 };
	res.cpu.shares = (struct hull_ou64){ 1, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.cpu.shares: must be between 2 and 262144, not 1");
	res.cpu.shares = (struct hull_ou64){ 262145, true };
	expect_invalid(&res, HULL_CGROUP_V2,
		       "linux.resources.cpu.shares: must be between 2 and 262144, not 262145");
	res.cpu.shares = (struct hull_ou64){ 0, true }; /* 0: unset, as in runc */
	assert_int_equal(hull_cgroup_validate(&res, HULL_CGROUP_V1, false, NULL), 0);
	res.cpu.quota = (struct hull_oi64){ 500, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000, not "
		       "500");
	res.cpu.quota = (struct hull_oi64){ 50000, true };
	res.cpu.period = (struct hull_ou64){ 2000000, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.cpu.period: must be between 1000 and 1000000, not "
		       "2000000");
	res.cpu.period = (struct hull_ou64){ 100000, true };
	res.cpu.burst = (struct hull_ou64){ 60000, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.cpu.burst: must not be greater than cpu.quota");
	res.cpu.burst.set = false;
	res.cpu.realtime_runtime = (struct hull_oi64){ 1000, true };
	assert_int_equal(hull_cgroup_validate(&res, HULL_CGROUP_V1, false, NULL), 0);
	expect_invalid(&res, HULL_CGROUP_V2,
		       "linux.resources.cpu.realtimeRuntime: real-time scheduling limits are not "
		       "supported on cgroup v2");
	res = (struct hull_oci_resources){ 0 };
	res.cpu.cpus = (char *)"0-1;rm";
	expect_invalid(&res, HULL_CGROUP_V1, "linux.resources.cpu.cpus: invalid cpu list '0-1;rm'");

	res = (struct hull_oci_resources){ 0 };
	res.block_io.weight = (struct hull_ou64){ 5, true };
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.blockIO.weight: must be between 10 and 1000, not 5");

	res = (struct hull_oci_resources){ 0 };
	res.hugepage_limits = &hp;
	res.n_hugepage_limits = 1;
	expect_invalid(&res, HULL_CGROUP_V1,
		       "linux.resources.hugepageLimits[0].pageSize: invalid page size '2XB'");

	res = (struct hull_oci_resources){ 0 };
	res.unified = bad_key;
	expect_invalid(&res, HULL_CGROUP_V2,
		       "linux.resources.unified: invalid key '../memory.max'");
	res.unified = key;
	assert_int_equal(hull_cgroup_validate(&res, HULL_CGROUP_V2, false, NULL), 0);
	expect_invalid(&res, HULL_CGROUP_V1, "linux.resources.unified: requires cgroup v2");
	/* a hybrid host may have the file: decided when the cgroup exists */
	assert_int_equal(hull_cgroup_validate(&res, HULL_CGROUP_V1, true, NULL), 0);
}

static const char hybrid_mountinfo[] =
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"33 30 0:30 /sub /srv/bound rw,relatime - cgroup cgroup rw,memory\n"
	"34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"35 30 0:30 / /mnt/again rw,relatime - cgroup cgroup rw,memory\n"
	"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
	"rw,xattr,release_agent=/x,name=systemd\n"
	"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
	"41 30 0:38 / /odd\\040place rw - cgroup cgroup rw,net_cls,net_prio\n"
	"42 22 0:40 / /proc rw - proc proc rw\n";

static const char v2_mountinfo[] =
	"25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n"
	"26 22 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";

static void test_layout_parse(void **state)
{
	_cleanup_(hull_cgroup_layout_freep) struct hull_cgroup_layout *l = NULL;
	const struct hull_cgroup_hierarchy *h;
	int i;

	assert_int_equal(hull_cgroup_layout_parse(hybrid_mountinfo, &l), 0);
	assert_int_equal(l->mode, HULL_CGROUP_V1);
	assert_int_equal(l->n_hierarchies, 5);

	i = hull_cgroup_layout_find(l, "cpu");
	assert_true(i >= 0);
	assert_int_equal(hull_cgroup_layout_find(l, "cpuacct"), i);
	h = &l->hierarchies[i];
	assert_string_equal(h->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(h->name, "cpu,cpuacct");
	assert_int_equal(hull_strv_length(h->controllers), 2);

	/* the mount of the hierarchy's root wins over a bind of a subtree */
	i = hull_cgroup_layout_find(l, "memory");
	assert_true(i >= 0);
	assert_string_equal(l->hierarchies[i].mount_point, "/sys/fs/cgroup/memory");

	i = hull_cgroup_layout_find(l, "name=systemd");
	assert_true(i >= 0);
	assert_string_equal(l->hierarchies[i].name, "systemd");
	assert_int_equal(hull_strv_length(l->hierarchies[i].controllers), 1);

	i = hull_cgroup_layout_find(l, "net_prio");
	assert_true(i >= 0);
	assert_string_equal(l->hierarchies[i].mount_point, "/odd place");

	i = hull_cgroup_layout_unified(l);
	assert_true(i >= 0);
	assert_string_equal(l->hierarchies[i].mount_point, "/sys/fs/cgroup/unified");
	assert_string_equal(l->hierarchies[i].name, "unified");
	assert_int_equal(hull_cgroup_layout_find(l, "pids"), -1);
	hull_cgroup_layout_free(TAKE_PTR(l));

	/* pure v2: the lone name=systemd beside it is not managed */
	assert_int_equal(hull_cgroup_layout_parse(v2_mountinfo, &l), 0);
	assert_int_equal(l->mode, HULL_CGROUP_V2);
	assert_int_equal(l->n_hierarchies, 1);
	assert_true(l->hierarchies[0].unified);
	assert_string_equal(l->hierarchies[0].mount_point, "/sys/fs/cgroup");
	hull_cgroup_layout_free(TAKE_PTR(l));

	assert_int_equal(hull_cgroup_layout_parse("42 22 0:40 / /proc rw - proc proc rw\n", &l),
			 -ENOENT);
	assert_null(l);
}

static void test_host_layout(void **state)
{
	const struct hull_cgroup_layout *l = host_layout();
	enum hull_cgroup_mode mode;

	assert_int_equal(hull_cgroup_mode_detect(&mode), 0);
	assert_int_equal(mode, l->mode);
	if (mode == HULL_CGROUP_V1) {
		/* whatever the host has, each controller is found exactly once */
		for (size_t i = 0; i < l->n_hierarchies; i++)
			hull_strv_foreach (c, l->hierarchies[i].controllers)
				assert_int_equal(hull_cgroup_layout_find(l, c), (int)i);
	} else {
		assert_int_equal(l->n_hierarchies, 1);
	}
}

static void test_sub_parse(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	static const struct {
		const char *specs[4];
		const char *want; /* "ctrl=path;..." or NULL for an error */
		const char *msg;
	} cases[] = {
		{ { "sub" }, "=/sub;", NULL },
		{ { "/a//b/" }, "=/a/b;", NULL },
		{ { "" }, "=;", NULL },
		{ { "memory:x" }, "memory=/x;", NULL },
		{ { "cpu,cpuacct:x/y", "pids:/z" }, "cpu=/x/y;cpuacct=/x/y;pids=/z;", NULL },
		{ { "name=systemd:s" }, "name=systemd=/s;", NULL },
		{ { "../x" },
		  NULL,
		  "--cgroup '../x': '.' and '..' are not allowed: the sub-cgroup must lie inside "
		  "the container's cgroup" },
		{ { "memory:a/../../b" }, NULL, NULL },
		{ { "/.." }, NULL, NULL },
		{ { "a", "b" },
		  NULL,
		  "--cgroup 'a': a PATH without CONTROLLER: must be the only --cgroup" },
		{ { "memory:a", "b" }, NULL, NULL },
		{ { "a:b:c" },
		  NULL,
		  "--cgroup 'a:b:c': expected [CONTROLLER[,CONTROLLER...]:]PATH" },
		{ { ":x" }, NULL, "--cgroup ':x': empty controller name" },
		{ { "cpu,,pids:x" }, NULL, NULL },
		{ { "cpu:a", "cpu:b" }, NULL, "--cgroup: controller 'cpu' given twice" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_strv_free_ char **map = NULL;
		char got[256] = "";
		int r;

		hull_error_free(TAKE_PTR(err));
		r = hull_cgroup_sub_parse((char *const *)cases[i].specs, &map, &err);
		if (!cases[i].want) {
			if (r != -EINVAL)
				fail_msg("case %zu: expected -EINVAL, got %d", i, r);
			if (cases[i].msg)
				assert_string_equal(err->msg, cases[i].msg);
			continue;
		}
		if (r < 0)
			fail_msg("case %zu: %s", i, err ? err->msg : "error");
		for (char **m = map; m && m[0]; m += 2) {
			strncat(got, m[0], sizeof(got) - strlen(got) - 1);
			strncat(got, "=", sizeof(got) - strlen(got) - 1);
			strncat(got, m[1], sizeof(got) - strlen(got) - 1);
			strncat(got, ";", sizeof(got) - strlen(got) - 1);
		}
		if (!streq(got, cases[i].want))
			fail_msg("case %zu: got '%s', expected '%s'", i, got, cases[i].want);
	}
}

/* Makes `path` (below the test base) on hierarchy i and returns its directory. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_path),
		cmocka_unit_test(test_systemd_path),
		cmocka_unit_test(test_systemd_not_running),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_layout_parse),
		cmocka_unit_test(test_host_layout),
		cmocka_unit_test(test_sub_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
