/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups, as root, on this host's real hierarchies below /hull-test-<pid>
 * (v1 hierarchies, and the v2 backend driven on the hybrid host's unified
 * hierarchy), removed again by each test's teardown even when it fails.
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

/* ---- helpers ---------------------------------------------------------- */

static char base[64]; /* "/hull-test-<pid>" */

static const struct hull_cgroup_layout *host_layout(void)
{
	const struct hull_cgroup_layout *l = NULL;

	assert_int_equal(hull_cgroup_layout_get(&l), 0);
	return l;
}

static char *read_at(const char *dir, const char *file)
{
	char *s = NULL;
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || hull_cgroup_read(fd, file, &s) < 0)
		return NULL;
	return s;
}

/* Asserts dir/file reads `want` (trailing newline stripped). */
static void assert_file(const char *dir, const char *file, const char *want)
{
	_cleanup_free_ char *s = read_at(dir, file);

	if (!s)
		fail_msg("cannot read '%s/%s'", dir, file);
	if (!streq(s, want))
		fail_msg("'%s/%s' reads '%s', expected '%s'", dir, file, s, want);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* nftw callbacks of the teardown: thaw and kill everything, then remove depth-first */
static int thaw_kill_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_close_ int fd = -EBADF;

	if (type != FTW_D)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	(void)hull_write_string_at(fd, "freezer.state", "THAWED");
	(void)hull_write_string_at(fd, "cgroup.freeze", "0");
	if (hull_cgroup_read(fd, "cgroup.procs", &procs) >= 0)
		for (char *p = procs; *p;) {
			int pid = (int)strtol(p, &p, 10);

			if (pid > 0)
				kill(pid, SIGKILL);
			p += strspn(p, "\n");
			if (!*p || (*p < '0' || *p > '9'))
				break;
		}
	return 0;
}

static int rmdir_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type == FTW_DP)
		for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
			usleep(10000);
	return 0;
}

/* Removes /hull-test-<pid> from every hierarchy, whatever a test left there. */
static void remove_base(void)
{
	const struct hull_cgroup_layout *l = host_layout();

	for (size_t i = 0; i < l->n_hierarchies; i++) {
		_cleanup_free_ char *dir =
			hull_strdup_printf("%s%s", l->hierarchies[i].mount_point, base);

		if (!exists(dir))
			continue;
		nftw(dir, thaw_kill_cb, 16, FTW_PHYS);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	for (size_t i = 0; i < l->n_hierarchies; i++) {
		_cleanup_free_ char *dir =
			hull_strdup_printf("%s%s", l->hierarchies[i].mount_point, base);

		if (exists(dir))
			nftw(dir, rmdir_cb, 16, FTW_PHYS | FTW_DEPTH);
	}
}

static int teardown(void **state)
{
	if (is_root())
		remove_base();
	/* reap whatever a failed test left */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

static char *test_path(const char *name)
{
	char *p = hull_strdup_printf("%s/%s", base, name);

	assert_non_null(p);
	return p;
}

static char *dir_of(const struct hull_cgroup *cg, const char *controller)
{
	int i = hull_cgroup_layout_find(cg->layout, controller);

	if (i < 0)
		return NULL;
	return cg->dirs[i];
}

static char *unified_dir(const struct hull_cgroup *cg)
{
	int u = hull_cgroup_layout_unified(cg->layout);

	return u < 0 ? NULL : cg->dirs[u];
}

/* Asserts that no hierarchy has the cgroup any more. */
static void assert_gone(const struct hull_cgroup *cg)
{
	for (size_t i = 0; i < cg->layout->n_hierarchies; i++)
		if (exists(cg->dirs[i]))
			fail_msg("'%s' still exists", cg->dirs[i]);
}

/*
 * A child that waits for a byte on a pipe (so that the parent can move it
 * into a cgroup first), then runs fn and exits with its result.
 */
struct child {
	pid_t pid;
	int go;
};

static struct child spawn(int (*fn)(void *), void *arg)
{
	int p[2];
	struct child c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		char b;

		close(p[1]);
		if (read(p[0], &b, 1) != 1)
			_exit(120);
		_exit(fn(arg));
	}
	close(p[0]);
	c.go = p[1];
	return c;
}

static void go(struct child *c)
{
	assert_int_equal(write(c->go, "x", 1), 1);
	close(c->go);
	c->go = -1;
}

static int wait_status(pid_t pid)
{
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Is `word` one of the comma-separated items of `list`? */
static bool word_in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return false;
}

/* Is pid in `path` according to /proc/pid/cgroup, on the line of `controller`? */
static bool proc_in(pid_t pid, const char *controller, const char *path)
{
	_cleanup_free_ char *file = hull_strdup_printf("/proc/%d/cgroup", (int)pid), *s = NULL;
	char *save = NULL;

	if (hull_read_file_at(AT_FDCWD, file, &s, NULL) < 0)
		return false;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(l, ':'), *p;

		if (!c || !(p = strchr(c + 1, ':')))
			continue;
		*p = '\0';
		/* "4:memory:/x" or "0::/x" for cgroup2 */
		if ((controller ? word_in_list(c + 1, controller) : c[1] == '\0') &&
		    streq(p + 1, path))
			return true;
	}
	return false;
}

static int sleeper(void *arg)
{
	volatile uint64_t *counter = arg;

	for (;;) {
		if (counter)
			(*counter)++;
		else
			pause();
	}
	return 0;
}

/* ---- real cgroups, v1 ------------------------------------------------- */

static bool host_is_v1(void)
{
	return host_layout()->mode == HULL_CGROUP_V1;
}

#define REQUIRE_V1_ROOT()                        \
	do {                                     \
		if (!is_root() || !host_is_v1()) \
			skip();                  \
	} while (0)

static void test_v1_create_limits(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("limits"), *blockdev = NULL;
	struct hull_oci_device_rule rules[] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = -1, .access = "r" },
		{ .allow = false, .type = 'c', .major = 1, .minor = -1, .access = "r" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rw" },
	};
	struct hull_oci_hugepage_limit hp = { .page_size = (char *)"2MB", .limit = 4 * MiB };
	struct hull_oci_throttle_device thr = { 0 };
	struct hull_oci_resources res = { 0 };
	unsigned major = 0, minor = 0;
	const char *d;

	REQUIRE_V1_ROOT();
	res.memory.limit = (struct hull_oi64){ 64 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 128 * MiB, true };
	res.memory.reservation = (struct hull_oi64){ 32 * MiB, true };
	res.memory.swappiness = (struct hull_ou64){ 10, true };
	res.memory.kernel = (struct hull_oi64){ 64 * MiB, true };
	res.memory.disable_oom_killer_set = true;
	res.cpu.shares = (struct hull_ou64){ 512, true };
	res.cpu.quota = (struct hull_oi64){ 50000, true };
	res.cpu.period = (struct hull_ou64){ 100000, true };
	res.cpu.cpus = (char *)"0";
	res.cpu.mems = (char *)"0";
	res.pids.limit = (struct hull_oi64){ 100, true };
	res.block_io.weight = (struct hull_ou64){ 500, true };
	res.devices = rules;
	res.n_devices = ELEMENTSOF(rules);
	if (exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) {
		res.hugepage_limits = &hp;
		res.n_hugepage_limits = 1;
	}
	/* any block device the host has, for a throttle */
	if (hull_read_file_at(AT_FDCWD, "/sys/block/loop0/dev", &blockdev, NULL) >= 0 &&
	    sscanf(blockdev, "%u:%u", &major, &minor) == 2) {
		thr = (struct hull_oci_throttle_device){ major, minor, 1048576 };
		res.block_io.throttle[HULL_THROTTLE_READ_BPS] = &thr;
		res.block_io.n_throttle[HULL_THROTTLE_READ_BPS] = 1;
	}

	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	assert_string_equal(hull_cgroup_path(cg), path);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);

	/* the directory exists in every hierarchy, name=systemd and unified included */
	for (size_t i = 0; i < cg->layout->n_hierarchies; i++)
		assert_true(exists(cg->dirs[i]));

	d = dir_of(cg, "memory");
	assert_file(d, "memory.limit_in_bytes", "67108864");
	{
		/* memory+swap where the kernel accounts swap */
		_cleanup_free_ char *memsw = read_at(d, "memory.memsw.limit_in_bytes");

		if (memsw)
			assert_string_equal(memsw, "134217728");
	}
	assert_file(d, "memory.soft_limit_in_bytes", "33554432");
	assert_file(d, "memory.swappiness", "10");
	d = dir_of(cg, "cpu");
	assert_file(d, "cpu.shares", "512");
	assert_file(d, "cpu.cfs_quota_us", "50000");
	assert_file(d, "cpu.cfs_period_us", "100000");
	d = dir_of(cg, "cpuset");
	assert_file(d, "cpuset.cpus", "0");
	assert_file(d, "cpuset.mems", "0");
	{
		/* the parent got cpus and mems copied in, or nothing could join the child */
		_cleanup_free_ char *parent = strndup(d, strrchr(d, '/') - d);
		_cleanup_free_ char *cpus = read_at(parent, "cpuset.cpus");

		assert_non_null(cpus);
		assert_true(*cpus);
	}
	assert_file(dir_of(cg, "pids"), "pids.max", "100");
	d = dir_of(cg, "blkio");
	{
		_cleanup_free_ char *w = read_at(d, "blkio.weight");

		if (!w)
			w = read_at(d, "blkio.bfq.weight");
		assert_non_null(w);
		assert_non_null(strstr(w, "500"));
	}
	if (thr.rate) {
		char want[64];

		snprintf(want, sizeof(want), "%u:%u 1048576", major, minor);
		assert_file(d, "blkio.throttle.read_bps_device", want);
	}
	/* deny-all, then the rules in order: "c 1:* r" was allowed, then denied again */
	assert_file(dir_of(cg, "devices"), "devices.list", "c 1:3 rwm\nc 1:5 rw");
	if (res.n_hugepage_limits) {
		if (hull_cgroup_layout_find(cg->layout, "hugetlb") >= 0)
			assert_file(dir_of(cg, "hugetlb"), "hugetlb.2MB.limit_in_bytes", "4194304");
		else
			assert_file(unified_dir(cg), "hugetlb.2MB.max", "4194304");
	}

	/* update: lower both (memory first), then raise both (swap first) */
	res = (struct hull_oci_resources){ 0 };
	res.memory.limit = (struct hull_oi64){ 32 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 48 * MiB, true };
	if (hull_cgroup_update(cg, &res, &err) < 0)
		fail_msg("update: %s", err->msg);
	d = dir_of(cg, "memory");
	assert_file(d, "memory.limit_in_bytes", "33554432");
	assert_file(d, "memory.memsw.limit_in_bytes", "50331648");
	res.memory.limit = (struct hull_oi64){ 256 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 512 * MiB, true };
	if (hull_cgroup_update(cg, &res, &err) < 0)
		fail_msg("update: %s", err->msg);
	assert_file(d, "memory.limit_in_bytes", "268435456");
	assert_file(d, "memory.memsw.limit_in_bytes", "536870912");
	/* unlimited memory unlimits swap too */
	res.memory.limit = (struct hull_oi64){ -1, true };
	res.memory.swap.set = false;
	if (hull_cgroup_update(cg, &res, &err) < 0)
		fail_msg("update: %s", err->msg);
	assert_file(d, "memory.limit_in_bytes", "9223372036854771712");
	assert_file(d, "memory.memsw.limit_in_bytes", "9223372036854771712");
	/* a period alone; pids back to unlimited; new device rules replace the old */
	res = (struct hull_oci_resources){ 0 };
	res.cpu.period = (struct hull_ou64){ 200000, true };
	res.pids.limit = (struct hull_oi64){ 0, true };
	res.devices = rules;
	res.n_devices = 2;
	if (hull_cgroup_update(cg, &res, &err) < 0)
		fail_msg("update: %s", err->msg);
	assert_file(dir_of(cg, "cpu"), "cpu.cfs_period_us", "200000");
	assert_file(dir_of(cg, "cpu"), "cpu.cfs_quota_us", "50000");
	assert_file(dir_of(cg, "pids"), "pids.max", "max");
	assert_file(dir_of(cg, "devices"), "devices.list", "c 1:3 rwm");

	/* bad input leaves the cgroup as it was */
	res = (struct hull_oci_resources){ 0 };
	res.cpu.shares = (struct hull_ou64){ 1, true };
	assert_int_equal(hull_cgroup_update(cg, &res, &err), -EINVAL);
	assert_string_equal(err->msg,
			    "linux.resources.cpu.shares: must be between 2 and 262144, not 1");
	assert_file(dir_of(cg, "cpu"), "cpu.shares", "512");

	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_gone(cg);
	/* idempotent */
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
}

static void test_v1_failure_removes_everything(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("fail/deeper");
	struct hull_oci_resources res = { 0 };

	REQUIRE_V1_ROOT();
	/* valid input the kernel refuses: more real-time runtime than the period */
	res.memory.limit = (struct hull_oi64){ 64 * MiB, true };
	res.cpu.realtime_runtime = (struct hull_oi64){ 2000000, true };
	res.cpu.realtime_period = (struct hull_ou64){ 1000000, true };
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, &res, 0, &err), -EINVAL);
	assert_string_equal(err->msg, "write 'cpu.rt_runtime_us' = '2000000': Invalid argument");
	/* nothing left: not the cgroup, not the parents this call created */
	assert_gone(cg);
	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		_cleanup_free_ char *b =
			hull_strdup_printf("%s%s", cg->layout->hierarchies[i].mount_point, base);

		if (exists(b))
			fail_msg("'%s' was left behind", b);
	}
}

static int hog(void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	volatile char *p = malloc(size); /* volatile: the stores must happen */

	if (!p)
		return 3;
	/* touch every page: anonymous memory the limit has to account */
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return 0;
}

static int hog_then_wait(void *arg)
{
	if (hog(arg) != 0)
		return 3;
	for (;;)
		pause();
	return 0;
}

static void test_v1_processes(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("procs");
	_cleanup_free_ pid_t *pids = NULL;
	volatile uint64_t *counter;
	struct hull_oci_resources res = { 0 };
	struct child c, c2;
	size_t n = 0;
	uint64_t before;
	bool frozen = true;
	int status;

	REQUIRE_V1_ROOT();
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(counter != MAP_FAILED);
	res.pids.limit = (struct hull_oi64){ 10, true };
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_int_equal(hull_cgroup_open_fd(cg, &err), -EOPNOTSUPP);

	c = spawn(sleeper, (void *)counter);
	if (hull_cgroup_enter(cg, c.pid, &err) < 0)
		fail_msg("enter: %s", err->msg);
	go(&c);
	for (size_t i = 0; i < cg->layout->n_hierarchies; i++) {
		const struct hull_cgroup_hierarchy *h = &cg->layout->hierarchies[i];

		assert_true(proc_in(c.pid, h->unified ? NULL : h->controllers[0], path));
	}
	assert_int_equal(hull_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], c.pid);

	/* paused: the child's counter stands still */
	while (*counter == 0)
		usleep(1000);
	if (hull_cgroup_freeze(cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(hull_cgroup_is_frozen(cg, &frozen), 0);
	assert_true(frozen);
	assert_file(dir_of(cg, "freezer"), "freezer.state", "FROZEN");
	before = *counter;
	usleep(50000);
	assert_true(*counter == before);
	/* a signal other than SIGKILL leaves a paused container paused */
	assert_int_equal(hull_cgroup_kill(cg, SIGCONT, -EBADF, &err), 0);
	assert_int_equal(hull_cgroup_is_frozen(cg, &frozen), 0);
	assert_true(frozen);
	if (hull_cgroup_freeze(cg, false, &err) < 0)
		fail_msg("thaw: %s", err->msg);
	assert_int_equal(hull_cgroup_is_frozen(cg, &frozen), 0);
	assert_false(frozen);
	before = *counter;
	while (*counter == before)
		usleep(1000);

	/* kill reaches it */
	assert_int_equal(hull_cgroup_kill(cg, SIGTERM, -EBADF, &err), 0);
	status = wait_status(c.pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);

	/* the re-opened cgroup (state dir) sees the same; destroy kills what is left */
	c2 = spawn(sleeper, NULL);
	assert_int_equal(hull_cgroup_enter(cg, c2.pid, &err), 0);
	go(&c2);
	{
		/* in a nested freezer cgroup: listed, frozen and killed all the same */
		_cleanup_free_ char *sub = hull_strdup_printf("%s/nested", dir_of(cg, "freezer"));
		_cleanup_close_ int sfd = -EBADF;
		char pid[16];

		assert_int_equal(mkdir(sub, 0755), 0);
		sfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(sfd >= 0);
		snprintf(pid, sizeof(pid), "%d", (int)c2.pid);
		assert_int_equal(hull_write_string_at(sfd, "cgroup.procs", pid), 0);
	}
	{
		_cleanup_(hull_cgroup_freep) struct hull_cgroup *again = NULL;
		_cleanup_free_ pid_t *p2 = NULL;
		size_t n2 = 0;

		assert_int_equal(hull_cgroup_from_path(path, &again, &err), 0);
		assert_int_equal(hull_cgroup_pids(again, &p2, &n2, &err), 0);
		assert_int_equal(n2, 1);
		assert_int_equal(p2[0], c2.pid);
		assert_int_equal(hull_cgroup_freeze(again, true, &err), 0);
		/* frozen, it dies all the same: kill thaws after SIGKILL */
		assert_int_equal(hull_cgroup_kill(again, SIGKILL, -EBADF, &err), 0);
		if (hull_cgroup_destroy(again, &err) < 0)
			fail_msg("destroy: %s", err->msg);
	}
	status = wait_status(c2.pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_gone(cg);
	{
		_cleanup_json_ struct json_object *stats = NULL;

		assert_int_equal(hull_cgroup_stats(cg, &stats, &err), -ENOENT);
		assert_null(stats);
	}
	munmap((void *)counter, 4096);
}

static void test_v1_oom(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_json_ struct json_object *stats = NULL;
	_cleanup_free_ char *path = test_path("oom");
	struct hull_oci_resources res = { 0 };
	struct json_object *o = NULL;
	uint64_t kills = 0;
	struct child c;
	int status;
	_cleanup_close_ int mfd = -EBADF;

	REQUIRE_V1_ROOT();
	/* 32 MiB and no swap beyond it; the child touches 256 MiB */
	res.memory.limit = (struct hull_oi64){ 32 * MiB, true };
	res.memory.swap = (struct hull_oi64){ 32 * MiB, true };
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	c = spawn(hog, (void *)(uintptr_t)(256 * MiB));
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	status = wait_status(c.pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the child was not OOM-killed: status 0x%x", status);

	mfd = open(dir_of(cg, "memory"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(hull_cgroup_read_keyed(mfd, "memory.oom_control", "oom_kill", &kills), 0);
	assert_true(kills >= 1);
	/* the peak usage reached the limit, and the statistics say so */
	assert_int_equal(hull_cgroup_stats(cg, &stats, &err), 0);
	assert_true(json_object_object_get_ex(stats, "memory", &o));
	assert_true(json_object_object_get_ex(o, "usage", &o));
	assert_int_equal(json_object_get_uint64(json_object_object_get(o, "limit")), 32 * MiB);
	assert_int_equal(json_object_get_uint64(json_object_object_get(o, "max")), 32 * MiB);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_gone(cg);
}

static void test_v1_busy_limit(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("busy");
	struct hull_oci_resources res = { 0 };
	struct child c;

	REQUIRE_V1_ROOT();
	if (exists("/proc/swaps")) {
		_cleanup_free_ char *swaps = NULL;

		/* with swap the kernel could push the pages out instead of refusing */
		if (hull_read_file_at(AT_FDCWD, "/proc/swaps", &swaps, NULL) >= 0 &&
		    strchr(swaps, '\n') && strchr(swaps, '\n')[1])
			skip();
	}
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), 0);
	c = spawn(hog_then_wait, (void *)(uintptr_t)(16 * MiB));
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	/* wait until the child holds its 16 MiB */
	for (int i = 0; i < 500; i++) {
		_cleanup_free_ char *u = read_at(dir_of(cg, "memory"), "memory.usage_in_bytes");

		if (u && strtoull(u, NULL, 10) >= (uint64_t)(16 * MiB))
			break;
		usleep(10000);
	}
	res.memory.limit = (struct hull_oi64){ 1000, true };
	assert_int_equal(hull_cgroup_update(cg, &res, &err), -EBUSY);
	assert_string_equal(err->msg,
			    "write 'memory.limit_in_bytes' = '1000': Device or resource busy");
	/* destroy signals nobody: the caller kills first */
	assert_int_equal(hull_cgroup_kill(cg, SIGKILL, -EBADF, &err), 0);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_true(WIFSIGNALED(wait_status(c.pid)));
	assert_gone(cg);
}

static int try_devices(void *arg)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	int zero_errno = errno;

	if (null_fd < 0)
		return 10;
	if (zero_fd >= 0)
		return 11;
	return zero_errno == EPERM ? 0 : 12;
}

static void test_v1_devices_enforced(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("devices");
	struct hull_oci_device_rule rules[] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rw" },
	};
	struct hull_oci_resources res = { .devices = rules, .n_devices = 2 };
	struct child c;
	int status;

	REQUIRE_V1_ROOT();
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	c = spawn(try_devices, NULL);
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	status = wait_status(c.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
}

static void test_v1_stats(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_json_ struct json_object *stats = NULL;
	_cleanup_free_ char *path = test_path("stats");
	struct hull_oci_resources res = { 0 };
	struct json_object *o = NULL, *m = NULL;
	struct child c;

	REQUIRE_V1_ROOT();
	res.memory.limit = (struct hull_oi64){ 128 * MiB, true };
	res.pids.limit = (struct hull_oi64){ 42, true };
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, &res, 0, &err), 0);
	c = spawn(hog_then_wait, (void *)(uintptr_t)(8 * MiB));
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	for (int i = 0; i < 500; i++) {
		_cleanup_free_ char *u = read_at(dir_of(cg, "memory"), "memory.usage_in_bytes");

		if (u && strtoull(u, NULL, 10) >= (uint64_t)(8 * MiB))
			break;
		usleep(10000);
	}
	assert_int_equal(hull_cgroup_stats(cg, &stats, &err), 0);

	/* runc's events --stats shape */
	assert_true(json_object_object_get_ex(stats, "pids", &o));
	assert_true(json_object_object_get_ex(o, "current", &m));
	assert_int_equal(json_object_get_uint64(m), 1);
	assert_true(json_object_object_get_ex(o, "limit", &m));
	assert_int_equal(json_object_get_uint64(m), 42);
	assert_true(json_object_object_get_ex(stats, "memory", &o));
	assert_true(json_object_object_get_ex(o, "usage", &m));
	assert_int_equal(json_object_get_uint64(json_object_object_get(m, "limit")), 128 * MiB);
	assert_true(json_object_get_uint64(json_object_object_get(m, "usage")) >= 8 * MiB);
	assert_true(json_object_object_get_ex(o, "swap", &m));
	assert_true(json_object_object_get_ex(o, "kernel", &m));
	assert_true(json_object_object_get_ex(o, "raw", &m));
	assert_true(json_object_object_get_ex(m, "rss", &m) ||
		    json_object_object_get_ex(json_object_object_get(o, "raw"), "anon", &m));
	assert_true(json_object_object_get_ex(stats, "cpu", &o));
	assert_true(json_object_object_get_ex(o, "usage", &m));
	assert_true(json_object_object_get_ex(m, "kernel", NULL));
	assert_true(json_object_object_get_ex(m, "user", NULL));
	assert_true(json_object_object_get_ex(m, "total", NULL));
	assert_true(json_object_object_get_ex(m, "percpu", NULL));
	assert_true(json_object_object_get_ex(o, "throttling", NULL));
	assert_true(json_object_object_get_ex(stats, "blkio", NULL));
	assert_true(json_object_object_get_ex(stats, "hugetlb", NULL));
	/* destroy signals nobody: the caller kills first */
	assert_int_equal(hull_cgroup_kill(cg, SIGKILL, -EBADF, &err), 0);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_true(WIFSIGNALED(wait_status(c.pid)));
}

struct mount_check {
	const struct hull_cgroup *cg;
	const char *target;
	const char *link; /* a symlink expected in the tmpfs, or NULL */
};

static int check_v1_mount(void *arg)
{
	const struct mount_check *m = arg;
	_cleanup_close_ int tfd = -EBADF;
	_cleanup_free_ char *mem = NULL, *limit = NULL;
	char buf[64];
	ssize_t n;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 20;
	tfd = open(m->target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return 21;
	if (hull_cgroup_mount(m->cg, tfd, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, false,
			      NULL) < 0)
		return 22;
	/* one directory per hierarchy, named as on the host */
	for (size_t i = 0; i < m->cg->layout->n_hierarchies; i++) {
		_cleanup_free_ char *d =
			hull_strdup_printf("%s/%s", m->target, m->cg->layout->hierarchies[i].name);

		if (access(d, F_OK) < 0)
			return 23;
	}
	/* memory holds the container's own cgroup: its limit shows */
	mem = hull_strdup_printf("%s/memory", m->target);
	limit = read_at(mem, "memory.limit_in_bytes");
	if (!limit || !streq(limit, "67108864"))
		return 24;
	if (m->link) {
		_cleanup_free_ char *l = hull_strdup_printf("%s/%s", m->target, m->link);

		n = readlink(l, buf, sizeof(buf) - 1);
		if (n < 0)
			return 25;
		buf[n] = '\0';
		if (!streq(buf, "memory"))
			return 26;
	}
	/* read-only: neither the tmpfs nor the cgroup can be changed */
	{
		_cleanup_free_ char *x = hull_strdup_printf("%s/x", m->target);

		if (mkdir(x, 0755) == 0 || errno != EROFS)
			return 27;
	}
	{
		_cleanup_free_ char *sub = hull_strdup_printf("%s/sub", mem);

		if (mkdir(sub, 0755) == 0 || errno != EROFS)
			return 28;
	}
	return 0;
}

static void run_v1_mount(const struct hull_cgroup_layout *layout, const char *name,
			 const char *link)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path(name);
	char target[] = "/tmp/hull-test-cgmount-XXXXXX";
	struct hull_oci_resources res = { 0 };
	struct mount_check m;
	struct child c;
	int status;

	res.memory.limit = (struct hull_oi64){ 64 * MiB, true };
	assert_int_equal(hull_cgroup_new_at(layout, path, &cg, &err), 0);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_non_null(mkdtemp(target));
	m = (struct mount_check){ cg, target, link };
	c = spawn(check_v1_mount, &m);
	go(&c);
	status = wait_status(c.pid);
	rmdir(target); /* the mounts died with the child's namespace */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
}

static void test_v1_mount(void **state)
{
	REQUIRE_V1_ROOT();
	run_v1_mount(host_layout(), "mount", NULL);
}

static void test_v1_mount_comounted(void **state)
{
	_cleanup_(hull_cgroup_layout_freep) struct hull_cgroup_layout *l = NULL;
	_cleanup_free_ char *mi = NULL;
	int i;

	REQUIRE_V1_ROOT();
	i = hull_cgroup_layout_find(host_layout(), "memory");
	if (i < 0)
		skip();
	/*
	 * No host here co-mounts controllers, so describe the real memory
	 * hierarchy as if it carried net_prio too: the tmpfs must get the
	 * "net_prio" -> "memory" symlink runc makes for "cpu,cpuacct".
	 */
	mi = hull_strdup_printf("1 1 0:999 / %s rw - cgroup cgroup rw,memory,net_prio\n",
				host_layout()->hierarchies[i].mount_point);
	assert_int_equal(hull_cgroup_layout_parse(mi, &l), 0);
	run_v1_mount(l, "mount-co", "net_prio");
}

static int drop_and_create(void *arg)
{
	const struct hull_cgroup_layout *layout = arg;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("rootless/c");
	struct hull_oci_resources res = { 0 };
	gid_t nogroup = 65534;

	if (setgroups(1, &nogroup) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 30;
	if (hull_cgroup_new_at(layout, path, &cg, NULL) < 0)
		return 31;
	/* no write access: skipped with a warning, unless limits were asked for */
	res.pids.limit = (struct hull_oi64){ 5, true };
	if (hull_cgroup_create(cg, &res, HULL_CGROUP_ROOTLESS, NULL) != -EACCES)
		return 32;
	if (hull_cgroup_create(cg, NULL, HULL_CGROUP_ROOTLESS, NULL) < 0)
		return 33;
	for (size_t i = 0; i < layout->n_hierarchies; i++)
		if (!cg->skipped[i] || access(cg->dirs[i], F_OK) == 0)
			return 34;
	/* entering and destroying a cgroup that was never made is fine */
	if (hull_cgroup_enter(cg, getpid(), NULL) < 0 || hull_cgroup_destroy(cg, NULL) < 0)
		return 35;
	if (hull_cgroup_create(cg, NULL, 0, NULL) != -EACCES)
		return 36;
	return 0;
}

static void test_rootless_skips(void **state)
{
	struct child c;
	int status;

	if (!is_root())
		skip();
	c = spawn(drop_and_create, (void *)host_layout());
	go(&c);
	status = wait_status(c.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the v2 backend, on this host's unified hierarchy ------------------ */

/* A v2-only layout of the host's cgroup2 mount (the whole host on a pure v2 host). */
static struct hull_cgroup_layout v2_layout;

static const struct hull_cgroup_layout *unified_layout(void)
{
	const struct hull_cgroup_layout *l = host_layout();
	int u = hull_cgroup_layout_unified(l);

	if (u < 0)
		return NULL;
	v2_layout.mode = HULL_CGROUP_V2;
	v2_layout.hierarchies = (struct hull_cgroup_hierarchy *)&l->hierarchies[u];
	v2_layout.n_hierarchies = 1;
	return &v2_layout;
}

#define REQUIRE_V2_ROOT()                            \
	do {                                         \
		if (!is_root() || !unified_layout()) \
			skip();                      \
	} while (0)

static void test_v2_lifecycle(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("v2"), *parent = NULL, *ctl = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char *unified[] = { (char *)"cgroup.max.descendants", (char *)"7", NULL };
	struct hull_oci_resources res = { 0 };
	struct hull_oci_hugepage_limit hp = { .page_size = (char *)"2MB", .limit = 8 * MiB };
	bool frozen = false, hugetlb;
	size_t n = 0;
	struct child c;
	int status;

	REQUIRE_V2_ROOT();
	ctl = read_at(unified_layout()->hierarchies[0].mount_point, "cgroup.controllers");
	hugetlb = ctl && strstr(ctl, "hugetlb") &&
		  exists("/sys/kernel/mm/hugepages/hugepages-2048kB");
	res.unified = unified;
	if (hugetlb) {
		res.hugepage_limits = &hp;
		res.n_hugepage_limits = 1;
	}
	assert_int_equal(hull_cgroup_new_at(unified_layout(), path, &cg, &err), 0);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_file(cg->dirs[0], "cgroup.max.descendants", "7");
	if (hugetlb) {
		/* enabled in every ancestor's subtree_control from the root down */
		parent = strndup(cg->dirs[0], strrchr(cg->dirs[0], '/') - cg->dirs[0]);
		_cleanup_free_ char *sc = read_at(parent, "cgroup.subtree_control");

		assert_non_null(sc);
		assert_non_null(strstr(sc, "hugetlb"));
		assert_file(cg->dirs[0], "hugetlb.2MB.max", "8388608");
	}

	/* clone3(CLONE_INTO_CGROUP) with the cgroup fd */
	{
		_cleanup_close_ int cfd = hull_cgroup_open_fd(cg, &err);
		struct clone_args args = { 0 };
		long pid;

		assert_true(cfd >= 0);
		args.flags = CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.cgroup = (uint64_t)cfd;
		pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid == 0) {
			pause();
			_exit(0);
		}
		assert_true(pid > 0);
		assert_true(proc_in((pid_t)pid, NULL, path));
		assert_int_equal(hull_cgroup_kill(cg, SIGKILL, -EBADF, &err), 0);
		status = wait_status((pid_t)pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
	}

	c = spawn(sleeper, NULL);
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	assert_true(proc_in(c.pid, NULL, path));
	/* a process in a nested cgroup is still the container's (and destroy removes both) */
	{
		_cleanup_free_ char *sub = hull_strdup_printf("%s/sub/deeper", cg->dirs[0]);
		_cleanup_free_ char *subpath = hull_strdup_printf("%s/sub/deeper", path);
		_cleanup_close_ int sfd = -EBADF;
		char pid[16];

		assert_int_equal(hull_mkdir_p_at(AT_FDCWD, sub, 0755), 0);
		sfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(sfd >= 0);
		snprintf(pid, sizeof(pid), "%d", (int)c.pid);
		assert_int_equal(hull_write_string_at(sfd, "cgroup.procs", pid), 0);
		assert_true(proc_in(c.pid, NULL, subpath));
	}
	assert_int_equal(hull_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], c.pid);
	if (hull_cgroup_freeze(cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(hull_cgroup_is_frozen(cg, &frozen), 0);
	assert_true(frozen);
	dfd = open(cg->dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	{
		uint64_t f = 0;

		assert_int_equal(hull_cgroup_read_keyed(dfd, "cgroup.events", "frozen", &f), 0);
		assert_int_equal(f, 1);
	}
	assert_int_equal(hull_cgroup_freeze(cg, false, &err), 0);
	assert_int_equal(hull_cgroup_is_frozen(cg, &frozen), 0);
	assert_false(frozen);

	{
		_cleanup_json_ struct json_object *stats = NULL;
		struct json_object *o = NULL;

		assert_int_equal(hull_cgroup_stats(cg, &stats, &err), 0);
		assert_true(json_object_object_get_ex(stats, "cpu", &o));
		assert_true(json_object_object_get_ex(stats, "memory", &o));
		assert_true(json_object_object_get_ex(stats, "pids", &o));
		assert_true(json_object_object_get_ex(stats, "hugetlb", &o));
		if (hugetlb)
			assert_true(json_object_object_get_ex(o, "2MB", NULL));
	}

	assert_int_equal(hull_cgroup_kill(cg, SIGKILL, -EBADF, &err), 0);
	if (hull_cgroup_destroy(cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	status = wait_status(c.pid);
	assert_true(WIFSIGNALED(status));
	assert_gone(cg);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
}

static void test_v2_devices_bpf(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("v2-devices");
	_cleanup_close_ int dfd = -EBADF;
	struct hull_oci_device_rule rules[] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = -1, .access = "rwm" },
		/* later rules win: /dev/zero (1:5) read refused again */
		{ .allow = false, .type = 'c', .major = 1, .minor = 5, .access = "r" },
	};
	struct hull_oci_device_rule open_zero[] = {
		{ .allow = true, .type = 'a', .major = -1, .minor = -1, .access = "" },
	};
	struct hull_oci_resources res = { .devices = rules, .n_devices = ELEMENTSOF(rules) };
	size_t count = 0;
	struct child c;
	int status;

	REQUIRE_V2_ROOT();
	assert_int_equal(hull_cgroup_new_at(unified_layout(), path, &cg, &err), 0);
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	dfd = open(cg->dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(hull_cgroup_devices_bpf_count(dfd, &count), 0);
	assert_int_equal(count, 1);

	c = spawn(try_devices, NULL);
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	status = wait_status(c.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* an update replaces hull's program instead of stacking a second one */
	res = (struct hull_oci_resources){ .devices = open_zero, .n_devices = 1 };
	if (hull_cgroup_update(cg, &res, &err) < 0)
		fail_msg("update: %s", err->msg);
	assert_int_equal(hull_cgroup_devices_bpf_count(dfd, &count), 0);
	assert_int_equal(count, 1);
	c = spawn(try_devices, NULL);
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	status = wait_status(c.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 11); /* /dev/zero opened now */
	/* and once more: still one */
	assert_int_equal(hull_cgroup_update(cg, &res, &err), 0);
	assert_int_equal(hull_cgroup_devices_bpf_count(dfd, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_gone(cg);
}

struct v2_mount_check {
	const struct hull_cgroup *cg;
	const char *target;
	bool cgroupns;
};

static int check_v2_mount(void *arg)
{
	const struct v2_mount_check *m = arg;
	_cleanup_close_ int tfd = -EBADF;
	_cleanup_free_ char *procs = NULL, *mine = NULL;

	/* the parent moved us into the cgroup before letting us run */
	if (unshare(CLONE_NEWNS | (m->cgroupns ? CLONE_NEWCGROUP : 0)) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 40;
	tfd = open(m->target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return 41;
	if (hull_cgroup_mount(m->cg, tfd, MS_NOSUID | MS_NODEV | MS_NOEXEC, m->cgroupns, NULL) < 0)
		return 42;
	/* the root of what we see is our own cgroup: we are in its cgroup.procs */
	procs = read_at(m->target, "cgroup.procs");
	mine = hull_strdup_printf("%d", (int)getpid());
	if (!procs || !mine || !streq(procs, mine))
		return 43;
	return 0;
}

static void run_v2_mount(bool cgroupns)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path(cgroupns ? "v2-mount-ns" : "v2-mount");
	char target[] = "/tmp/hull-test-cgmount-XXXXXX";
	struct v2_mount_check m;
	struct child c;
	int status;

	assert_int_equal(hull_cgroup_new_at(unified_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), 0);
	assert_non_null(mkdtemp(target));
	m = (struct v2_mount_check){ cg, target, cgroupns };
	c = spawn(check_v2_mount, &m);
	assert_int_equal(hull_cgroup_enter(cg, c.pid, &err), 0);
	go(&c);
	status = wait_status(c.pid);
	rmdir(target);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
}

static void test_v2_mount_bind(void **state)
{
	REQUIRE_V2_ROOT();
	run_v2_mount(false);
}

static void test_v2_mount_cgroupns(void **state)
{
	REQUIRE_V2_ROOT();
	run_v2_mount(true);
}

static void test_v1_unified_map(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("unified-map");
	char *ok[] = { (char *)"cgroup.max.depth", (char *)"3", NULL };
	char *v2only[] = { (char *)"memory.high", (char *)"1000000", NULL };
	struct hull_oci_resources res = { 0 };

	REQUIRE_V1_ROOT();
	if (hull_cgroup_layout_unified(host_layout()) < 0)
		skip();
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	/* the hybrid unified hierarchy has no memory controller: refused, nothing left */
	res.unified = v2only;
	assert_int_equal(hull_cgroup_create(cg, &res, 0, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.resources.unified: requires cgroup v2");
	assert_gone(cg);
	/* a file it does have is written there */
	res.unified = ok;
	if (hull_cgroup_create(cg, &res, 0, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_file(unified_dir(cg), "cgroup.max.depth", "3");
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
}

static int group_setup(void **state)
{
	if (getenv("HULL_TEST_DEBUG"))
		hull_log_setup(STDERR_FILENO, HULL_LOG_TEXT, HULL_LOG_DEBUG);
	snprintf(base, sizeof(base), "/hull-test-%d", (int)getpid());
	return 0;
}

static int group_teardown(void **state)
{
	if (is_root())
		remove_base();
	return 0;
}

/* ---- joining existing cgroups, exec --cgroup, signals by namespace --- */

static char *make_on(const struct hull_cgroup_layout *l, size_t i, const char *path)
{
	char *dir = hull_strdup_printf("%s%s", l->hierarchies[i].mount_point, path);

	assert_non_null(dir);
	assert_int_equal(hull_mkdir_p_at(AT_FDCWD, dir, 0755), 0);
	return dir;
}

static void test_v1_join_frozen(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL, *child = NULL;
	_cleanup_free_ char *path = test_path("frozen"), *cpath = test_path("frozen/child");
	_cleanup_free_ char *fdir = NULL, *want = NULL;
	const struct hull_cgroup_layout *l;
	struct hull_oci_resources res = { 0 };
	int fi;

	REQUIRE_V1_ROOT();
	l = host_layout();
	fi = hull_cgroup_layout_find(l, "freezer");
	if (fi < 0)
		skip();
	/* someone else's cgroup, frozen, on the freezer hierarchy only */
	fdir = make_on(l, (size_t)fi, path);
	{
		_cleanup_close_ int fd = open(fdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		assert_int_equal(hull_write_string_at(fd, "freezer.state", "FROZEN"), 0);
	}
	res.pids.limit = (struct hull_oi64){ 7, true };
	assert_int_equal(hull_cgroup_new_at(l, path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, &res, 0, &err), -EBUSY);
	want = hull_strdup_printf("cgroup '%s': container's cgroup unexpectedly frozen (thaw it "
				  "or use another cgroup)",
				  path);
	assert_string_equal(err->msg, want);
	/* left as it was: still frozen, and what create made elsewhere is gone */
	assert_file(fdir, "freezer.state", "FROZEN");
	for (size_t i = 0; i < l->n_hierarchies; i++)
		if (i != (size_t)fi && exists(cg->dirs[i]))
			fail_msg("'%s' was left behind", cg->dirs[i]);
	/* and a rollback's destroy does not touch it */
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_true(exists(fdir));
	assert_file(fdir, "freezer.state", "FROZEN");

	/* a new cgroup below a frozen one would start frozen: refused, removed */
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_cgroup_new_at(l, cpath, &child, &err), 0);
	assert_int_equal(hull_cgroup_create(child, NULL, 0, &err), -EBUSY);
	assert_non_null(strstr(err->msg, "unexpectedly frozen"));
	assert_gone(child);
	assert_file(fdir, "freezer.state", "FROZEN");
}

static void test_v2_join_frozen(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("v2-frozen"), *dir = NULL;
	_cleanup_close_ int fd = -EBADF;

	REQUIRE_V2_ROOT();
	dir = make_on(unified_layout(), 0, path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	if (!hull_cgroup_file_exists(fd, "cgroup.freeze"))
		skip();
	assert_int_equal(hull_write_string_at(fd, "cgroup.freeze", "1"), 0);
	assert_int_equal(hull_cgroup_new_at(unified_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), -EBUSY);
	assert_non_null(strstr(err->msg, "container's cgroup unexpectedly frozen"));
	assert_file(dir, "cgroup.freeze", "1");
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_true(exists(dir));
}

/* Init of a new pid namespace (or of one inside that): waits, and says "T" on SIGTERM. */
static int said_fd = -1;

static void on_term(int sig)
{
	(void)!write(said_fd, "T", 1);
}

static int ns_init(void *arg)
{
	bool nested = arg != NULL;
	struct sigaction sa = { .sa_handler = on_term };

	/* an init ignores signals it has no handler for, even from its parent namespace */
	sigaction(SIGTERM, &sa, NULL);
	if (nested) {
		struct clone_args a = { .flags = CLONE_NEWPID, .exit_signal = SIGCHLD };
		long pid = syscall(SYS_clone3, &a, sizeof(a));

		if (pid == 0) {
			sigaction(SIGTERM, &sa, NULL);
			for (;;)
				pause();
		}
		if (pid < 0)
			return 10;
	}
	for (;;)
		pause();
	return 0;
}

static pid_t clone_ns_init(int go_fd, bool nested)
{
	struct clone_args a = { .flags = CLONE_NEWPID, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &a, sizeof(a));

	if (pid == 0) {
		char b;

		if (read(go_fd, &b, 1) != 1)
			_exit(120);
		_exit(ns_init(nested ? (void *)1 : NULL));
	}
	assert_true(pid > 0);
	return (pid_t)pid;
}

static void test_v1_join_busy_and_kill_by_pidns(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
	_cleanup_free_ char *path = test_path("busy-join");
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_close_ int nsfd = -EBADF;
	int go_p[2], said[2], status;
	char buf[8], nspath[64];
	struct child host;
	pid_t init;
	size_t n = 0;

	REQUIRE_V1_ROOT();
	assert_int_equal(pipe2(said, O_CLOEXEC), 0);
	said_fd = said[1];
	/* a "host" process already in the cgroup, which kill by membership would hit */
	host = spawn(sleeper, NULL);
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), 0);
	assert_int_equal(hull_cgroup_enter(cg, host.pid, &err), 0);
	go(&host);
	hull_cgroup_free(TAKE_PTR(cg));
	/* joining it again (a container's cgroupsPath) works, with a warning */
	assert_int_equal(hull_cgroup_new_at(host_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), 0);

	/* the "container": init of a pid namespace with another one nested inside */
	assert_int_equal(pipe2(go_p, O_CLOEXEC), 0);
	init = clone_ns_init(go_p[0], true);
	close(go_p[0]);
	assert_int_equal(hull_cgroup_enter(cg, init, &err), 0);
	assert_int_equal(write(go_p[1], "x", 1), 1);
	close(go_p[1]);
	for (int i = 0; i < 500 && n < 3; i++) {
		free(TAKE_PTR(pids));
		assert_int_equal(hull_cgroup_pids(cg, &pids, &n, &err), 0);
		usleep(10000);
	}
	assert_int_equal(n, 3);
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/pid", (int)init);
	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	assert_true(nsfd >= 0);

	/* SIGTERM by namespace: both inits hear it (they have handlers), the host does not */
	assert_int_equal(hull_cgroup_kill(cg, SIGTERM, nsfd, &err), 0);
	for (size_t got = 0; got < 2;) {
		struct pollfd p = { .fd = said[0], .events = POLLIN };
		ssize_t k;

		assert_int_equal(poll(&p, 1, 10000), 1);
		k = read(said[0], buf + got, sizeof(buf) - got);
		assert_true(k > 0);
		got += (size_t)k;
	}
	assert_int_equal(kill(host.pid, 0), 0);
	assert_int_equal(waitpid(host.pid, &status, WNOHANG), 0);
	/* SIGKILL by namespace: the container is gone, the host process lives */
	assert_int_equal(hull_cgroup_kill(cg, SIGKILL, nsfd, &err), 0);
	status = wait_status(init);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(waitpid(host.pid, &status, WNOHANG), 0);
	/* destroy signals nobody: the cgroup stays while the host process is in it */
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_cgroup_destroy(cg, &err), -EBUSY);
	assert_non_null(strstr(err->msg, "1 process is still in it"));
	assert_int_equal(waitpid(host.pid, &status, WNOHANG), 0);
	assert_true(exists(dir_of(cg, "memory")));
	kill(host.pid, SIGKILL);
	assert_true(WIFSIGNALED(wait_status(host.pid)));
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_gone(cg);
	close(said[0]);
	close(said[1]);
	said_fd = -1;
}

static void test_v1_exec_sub(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL, *sub = NULL, *all = NULL;
	_cleanup_free_ char *path = test_path("exec-sub"), *subpath = NULL, *mdir = NULL;
	const struct hull_cgroup_layout *l;
	char *mem_specs[] = { (char *)"memory,pids:/inner", NULL };
	char *all_specs[] = { (char *)"inner", NULL };
	char *up_specs[] = { (char *)"memory:../x", NULL };
	char *missing_specs[] = { (char *)"cpu:inner", NULL };
	char *unknown_specs[] = { (char *)"nosuch:inner", NULL };
	struct child c;
	int mi;

	REQUIRE_V1_ROOT();
	l = host_layout();
	mi = hull_cgroup_layout_find(l, "memory");
	assert_true(mi >= 0);
	subpath = hull_strdup_printf("%s/inner", path);
	assert_int_equal(hull_cgroup_new_at(l, path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), 0);
	mdir = make_on(l, (size_t)mi, subpath);
	free(make_on(l, (size_t)hull_cgroup_layout_find(l, "pids"), subpath));

	assert_int_equal(hull_cgroup_sub(cg, mem_specs, &sub, &err), 0);
	assert_string_equal(sub->dirs[mi], mdir);
	c = spawn(sleeper, NULL);
	assert_int_equal(hull_cgroup_enter(sub, c.pid, &err), 0);
	go(&c);
	assert_true(proc_in(c.pid, "memory", subpath));
	assert_true(proc_in(c.pid, "pids", subpath));
	assert_true(proc_in(c.pid, "freezer", path));
	/* it is still the container's: listed and killed with it */
	assert_int_equal(hull_cgroup_kill(cg, SIGKILL, -EBADF, &err), 0);
	assert_true(WIFSIGNALED(wait_status(c.pid)));

	/* the plain path needs the sub-cgroup on every hierarchy */
	assert_int_equal(hull_cgroup_sub(cg, all_specs, &all, &err), -ENOENT);
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_cgroup_sub(cg, missing_specs, &all, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "/inner"));
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_cgroup_sub(cg, up_specs, &all, &err), -EINVAL);
	hull_error_free(TAKE_PTR(err));
	assert_int_equal(hull_cgroup_sub(cg, unknown_specs, &all, &err), -EINVAL);
	assert_string_equal(err->msg, "--cgroup: no 'nosuch' cgroup hierarchy is mounted");
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_gone(cg);
}

static void test_v2_exec_sub(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL, *sub = NULL;
	_cleanup_free_ char *path = test_path("v2-sub"), *subpath = NULL;
	char *specs[] = { (char *)"inner", NULL };
	char *prefixed[] = { (char *)"memory:inner", NULL };

	REQUIRE_V2_ROOT();
	subpath = hull_strdup_printf("%s/inner", path);
	assert_int_equal(hull_cgroup_new_at(unified_layout(), path, &cg, &err), 0);
	assert_int_equal(hull_cgroup_create(cg, NULL, 0, &err), 0);
	assert_int_equal(hull_cgroup_sub(cg, specs, &sub, &err), -ENOENT);
	free(make_on(unified_layout(), 0, subpath));
	assert_int_equal(hull_cgroup_sub(cg, prefixed, &sub, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "a controller prefix needs cgroup v1"));
	assert_int_equal(hull_cgroup_sub(cg, specs, &sub, &err), 0);
	assert_string_equal(hull_cgroup_path(sub), subpath);
	/* clone3(CLONE_INTO_CGROUP) lands in the sub-cgroup */
	{
		_cleanup_close_ int cfd = hull_cgroup_open_fd(sub, &err);
		struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
		long pid;

		assert_true(cfd >= 0);
		args.cgroup = (uint64_t)cfd;
		pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid == 0) {
			pause();
			_exit(0);
		}
		assert_true(pid > 0);
		assert_true(proc_in((pid_t)pid, NULL, subpath));
		kill((pid_t)pid, SIGKILL);
		assert_true(WIFSIGNALED(wait_status((pid_t)pid)));
	}
	assert_int_equal(hull_cgroup_destroy(cg, &err), 0);
	assert_gone(cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_v1_create_limits, teardown),
		cmocka_unit_test_teardown(test_v1_failure_removes_everything, teardown),
		cmocka_unit_test_teardown(test_v1_processes, teardown),
		cmocka_unit_test_teardown(test_v1_oom, teardown),
		cmocka_unit_test_teardown(test_v1_busy_limit, teardown),
		cmocka_unit_test_teardown(test_v1_devices_enforced, teardown),
		cmocka_unit_test_teardown(test_v1_stats, teardown),
		cmocka_unit_test_teardown(test_v1_mount, teardown),
		cmocka_unit_test_teardown(test_v1_mount_comounted, teardown),
		cmocka_unit_test_teardown(test_v1_unified_map, teardown),
		cmocka_unit_test_teardown(test_rootless_skips, teardown),
		cmocka_unit_test_teardown(test_v2_lifecycle, teardown),
		cmocka_unit_test_teardown(test_v2_devices_bpf, teardown),
		cmocka_unit_test_teardown(test_v2_mount_bind, teardown),
		cmocka_unit_test_teardown(test_v2_mount_cgroupns, teardown),
		cmocka_unit_test_teardown(test_v1_join_frozen, teardown),
		cmocka_unit_test_teardown(test_v2_join_frozen, teardown),
		cmocka_unit_test_teardown(test_v1_join_busy_and_kill_by_pidns, teardown),
		cmocka_unit_test_teardown(test_v1_exec_sub, teardown),
		cmocka_unit_test_teardown(test_v2_exec_sub, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
