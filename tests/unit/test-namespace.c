/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Namespace files, joining, id maps and time offsets, with real namespaces
 * made by forked children (run as root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/namespace.h"
#include "util/error.h"
#include "util/file.h"
#include "util/str.h"

#define S(s) ((char *)(s))

static void init_fds(int fds[_HULL_NS_MAX])
{
	for (int i = 0; i < _HULL_NS_MAX; i++)
		fds[i] = -EBADF;
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static void test_open_paths(void **state)
{
	struct hull_oci_namespace ns[] = {
		{ HULL_NS_NET, S("/proc/self/ns/net") },
		{ HULL_NS_UTS, S("/proc/self/ns/uts") },
		{ HULL_NS_PID, NULL }, /* a new one: nothing to open */
	};
	struct hull_oci_linux lc = { .namespaces = ns, .n_namespaces = ELEMENTSOF(ns) };
	int fds[_HULL_NS_MAX];

	init_fds(fds);
	assert_int_equal(hull_ns_open_paths(&lc, fds, NULL), 0);
	assert_true(same_file(fds[HULL_NS_NET], "/proc/self/ns/net"));
	assert_true(same_file(fds[HULL_NS_UTS], "/proc/self/ns/uts"));
	assert_int_equal(fds[HULL_NS_PID], -EBADF);
	assert_int_equal(fds[HULL_NS_MNT], -EBADF);
	assert_true(fcntl(fds[HULL_NS_NET], F_GETFD) & FD_CLOEXEC);
	hull_ns_close_all(fds);
	assert_int_equal(fds[HULL_NS_NET], -EBADF);

	/* no linux section: nothing to join */
	assert_int_equal(hull_ns_open_paths(NULL, fds, NULL), 0);
	for (int i = 0; i < _HULL_NS_MAX; i++)
		assert_int_equal(fds[i], -EBADF);
}

static void expect_open_error(struct hull_oci_namespace *ns, int code, const char *msg)
{
	struct hull_oci_linux lc = { .namespaces = ns, .n_namespaces = 1 };
	struct hull_error *err = NULL;
	int fds[_HULL_NS_MAX];

	init_fds(fds);
	fds[HULL_NS_IPC] = 1234; /* written only on success */
	assert_int_equal(hull_ns_open_paths(&lc, fds, &err), code);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
	assert_int_equal(fds[HULL_NS_IPC], 1234);
	hull_error_free(err);
}

static void test_open_paths_errors(void **state)
{
	struct hull_oci_namespace wrong = { HULL_NS_NET, S("/proc/self/ns/uts") };
	struct hull_oci_namespace not_ns = { HULL_NS_NET, S("/etc/passwd") };
	struct hull_oci_namespace missing = { HULL_NS_NET, S("/nonexistent/ns") };

	expect_open_error(&wrong, -EINVAL,
			  "linux.namespaces[0].path: '/proc/self/ns/uts' is not a 'network' "
			  "namespace");
	expect_open_error(&not_ns, -EINVAL,
			  "linux.namespaces[0].path: '/etc/passwd' is not a namespace");
	expect_open_error(&missing, -ENOENT,
			  "linux.namespaces[0].path: open '/nonexistent/ns': No such file or "
			  "directory");
}

/* The child (in new namespaces) joins ours again through the fds. */
static void test_join(void **state)
{
	int fds[_HULL_NS_MAX], status;
	pid_t pid;

	init_fds(fds);
	fds[HULL_NS_NET] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fds[HULL_NS_UTS] = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	/* the user namespace we are in already: skipped, not EINVAL */
	fds[HULL_NS_USER] = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	assert_true(fds[HULL_NS_NET] >= 0 && fds[HULL_NS_UTS] >= 0 && fds[HULL_NS_USER] >= 0);

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hull_error *err = NULL;
		int net = fds[HULL_NS_NET];
		struct stat before, after;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET | CLONE_NEWUTS) < 0)
			_exit(2);
		if (stat("/proc/self/ns/net", &before) < 0 || same_file(net, "/proc/self/ns/net"))
			_exit(3);
		if (hull_ns_join(fds, &err) < 0)
			_exit(4);
		for (int i = 0; i < _HULL_NS_MAX; i++)
			if (fds[i] != -EBADF)
				_exit(5); /* all closed */
		if (stat("/proc/self/ns/net", &after) < 0 || after.st_ino == before.st_ino)
			_exit(6);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent's copies are its own */
	assert_true(same_file(fds[HULL_NS_NET], "/proc/self/ns/net"));
	hull_ns_close_all(fds);
}

static void test_join_error(void **state)
{
	struct hull_error *err = NULL;
	int fds[_HULL_NS_MAX];

	init_fds(fds);
	/* a network namespace fd handed in as the mount namespace */
	fds[HULL_NS_MNT] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	fds[HULL_NS_CGROUP] = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	assert_int_equal(hull_ns_join(fds, &err), -EINVAL);
	assert_string_equal(err->msg, "join 'mount' namespace: Invalid argument");
	hull_error_free(err);
	/* closed even on failure */
	assert_int_equal(fds[HULL_NS_MNT], -EBADF);
	assert_int_equal(fds[HULL_NS_CGROUP], -EBADF);
}

/* A child in a new user namespace (or time namespace), waiting until released. */
struct waiter {
	pid_t pid;
	int release; /* write end: closing it lets the child exit */
};

static void waiter_start(struct waiter *w, int flags, uid_t as_uid)
{
	int ready[2], hold[2];
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	fflush(NULL);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		close(hold[1]);
		if (as_uid != 0 && (setresgid(as_uid, as_uid, as_uid) < 0 ||
				    setresuid(as_uid, as_uid, as_uid) < 0))
			_exit(2);
		if (unshare(flags) < 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	w->release = hold[1];
}

static void waiter_stop(struct waiter *w)
{
	int status;

	close(w->release);
	assert_int_equal(waitpid(w->pid, &status, 0), w->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void read_map(pid_t pid, const char *file, unsigned v[6])
{
	char path[64], *text = NULL;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	assert_int_equal(hull_read_file_at(AT_FDCWD, path, &text, NULL), 0);
	memset(v, 0xff, 6 * sizeof(unsigned));
	sscanf(text, "%u %u %u %u %u %u", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
	free(text);
}

static void test_idmap_root(void **state)
{
	static const struct hull_oci_idmap uids[] = { { 0, 100000, 1000 }, { 1000, 5000, 1 } };
	static const struct hull_oci_idmap gids[] = { { 0, 200000, 65536 } };
	struct hull_error *err = NULL;
	struct waiter w;
	unsigned v[6];

	waiter_start(&w, CLONE_NEWUSER, 0);
	assert_int_equal(hull_idmap_write(w.pid, uids, 2, gids, 1, &err), 0);
	assert_null(err);
	read_map(w.pid, "uid_map", v);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 100000);
	assert_int_equal(v[2], 1000);
	assert_int_equal(v[3], 1000);
	assert_int_equal(v[4], 5000);
	assert_int_equal(v[5], 1);
	read_map(w.pid, "gid_map", v);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 200000);
	assert_int_equal(v[2], 65536);

	/* maps can be written once: the second write fails and says where */
	assert_int_equal(hull_idmap_write(w.pid, uids, 1, NULL, 0, &err), -EPERM);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "/uid_map': Operation not permitted"));
	hull_error_free(err);
	waiter_stop(&w);
}

/*
 * Unprivileged (as nobody, no /etc/subuid entry): newuidmap runs and
 * refuses a foreign range; its complaint becomes the error.
 */
static void test_idmap_unprivileged(void **state)
{
	static const struct hull_oci_idmap foreign[] = { { 0, 300000, 10 } };
	const uid_t nobody = 65534;
	struct waiter w;
	int p[2], status;
	pid_t pid;
	char buf[512] = "";
	ssize_t n;

	if (access("/usr/bin/newuidmap", X_OK) < 0)
		skip();
	waiter_start(&w, CLONE_NEWUSER, nobody);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hull_error *err = NULL;
		int r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setresgid(nobody, nobody, nobody) < 0 || setresuid(nobody, nobody, nobody) < 0)
			_exit(2);
		r = hull_idmap_write(w.pid, foreign, 1, NULL, 0, &err);
		dprintf(p[1], "%d %s", r, err ? err->msg : "");
		_exit(0);
	}
	close(p[1]);
	n = hull_read_all(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	print_message("# %s\n", buf);
	assert_int_equal(atoi(buf), -EPERM);
	{
		char want[64];

		snprintf(want, sizeof(want), "/usr/bin/newuidmap '%d': ", (int)w.pid);
		assert_non_null(strstr(buf, want));
		/* the helper's own words follow */
		assert_true(strlen(strstr(buf, want)) > strlen(want));
	}
	waiter_stop(&w);
}

static void test_timens_offsets(void **state)
{
	struct hull_oci_linux lc = {
		.time_offsets = { .monotonic = { 86400, 0, true },
				  .boottime = { 3600, 500, true } },
	};
	struct hull_oci_linux none = {};
	char path[64], *text = NULL;
	struct waiter w;
	long long mono = 0, boot = 0;
	unsigned long mono_ns = 1, boot_ns = 0;
	char *m, *b;

	if (access("/proc/self/ns/time", F_OK) < 0)
		skip();
	waiter_start(&w, CLONE_NEWTIME, 0);
	assert_int_equal(hull_timens_write_offsets(w.pid, &none, NULL), 0); /* nothing to do */
	assert_int_equal(hull_timens_write_offsets(w.pid, &lc, NULL), 0);
	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", (int)w.pid);
	assert_int_equal(hull_read_file_at(AT_FDCWD, path, &text, NULL), 0);
	m = strstr(text, "monotonic");
	b = strstr(text, "boottime");
	assert_non_null(m);
	assert_non_null(b);
	assert_int_equal(sscanf(m, "monotonic %lld %lu", &mono, &mono_ns), 2);
	assert_int_equal(sscanf(b, "boottime %lld %lu", &boot, &boot_ns), 2);
	assert_int_equal(mono, 86400);
	assert_int_equal(mono_ns, 0);
	assert_int_equal(boot, 3600);
	assert_int_equal(boot_ns, 500);
	free(text);
	waiter_stop(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_paths),     cmocka_unit_test(test_open_paths_errors),
		cmocka_unit_test(test_join),	       cmocka_unit_test(test_join_error),
		cmocka_unit_test(test_idmap_root),     cmocka_unit_test(test_idmap_unprivileged),
		cmocka_unit_test(test_timens_offsets),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
