/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* the OCI model holds mutable strings; the tests fill it from literals */
#pragma GCC diagnostic ignored "-Wdiscarded-qualifiers"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/seccomp.h"
#include "util/error.h"
#include "util/file.h"
#include "util/socket.h"
#include "util/str.h"

static char tmpdir[] = "/tmp/hull-test-seccomp-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return hull_rm_rf_at(AT_FDCWD, tmpdir) < 0 ? -1 : 0;
}

/* Checks inside a forked child: a failure prints where and exits non-zero. */
#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "child: %s:%d: %s (errno %d)\n", __FILE__, __LINE__, \
				#cond, errno);                                               \
			_exit(100);                                                          \
		}                                                                            \
	} while (0)

/* Runs fn in a child after installing p; returns the wait status. */
static int run_filtered(const struct hull_seccomp_program *p, void (*fn)(void *), void *arg)
{
	int status = 0;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hull_error *err = NULL;

		/* cmocka catches SIGSYS; the child must die of it like any process */
		signal(SIGSYS, SIG_DFL);
		if (hull_seccomp_install(p, NULL, &err) < 0) {
			fprintf(stderr, "child: %s\n", err->msg);
			_exit(101);
		}
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_exit0(int status)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct hull_seccomp_program *compile(const struct hull_oci_seccomp *s)
{
	struct hull_seccomp_program *p = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	int r;

	r = hull_seccomp_compile(s, &p, &err);
	if (r < 0)
		fail_msg("compile: %s", err->msg);
	assert_non_null(p);
	return p;
}

/* ---- errno rules, unknown names ---------------------------------------- */

static void child_errno(void *arg)
{
	char buf[256], *dir = arg;

	CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == EXDEV);
	CHECK(syscall(SYS_mkdir, dir, 0700) < 0 && errno == EXDEV);
	CHECK(access(dir, F_OK) < 0);
	CHECK(getpid() > 0);
}

static void test_errno_rule_and_unknown_names(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	_cleanup_free_ char *dir = hull_strdup_printf("%s/d", tmpdir);
	char *names[] = { "getcwd", "no_such_syscall_at_all", "mkdir", NULL };
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = names, .action = HULL_SECCOMP_ERRNO, .errno_ret = { EXDEV, true } },
	};
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	p = compile(&s);
	assert_false(hull_seccomp_program_has_notify(p));
	assert_exit0(run_filtered(p, child_errno, dir));
}

static void child_default_errno(void *arg)
{
	CHECK(syscall(SYS_getppid) < 0 && errno == ENOTBLK);
	CHECK(syscall(SYS_gettid + 1, -1, 0, 0) < 0 && errno == ENOTBLK); /* readahead */
	CHECK(getpid() > 0);						  /* allowed by the rule */
}

static void test_default_errno(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	/* what the child and the sanitizers' exit path need */
	char *allowed[] = {
		"exit_group",	"exit",	       "getpid",  "write",	  "writev",
		"brk",		"mmap",	       "munmap",  "futex",	  "rt_sigprocmask",
		"rt_sigreturn", "sigaltstack", "madvise", "rt_sigaction", "prctl",
		"gettid",	NULL
	};
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = allowed, .action = HULL_SECCOMP_ALLOW },
	};
	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ERRNO,
				      .default_errno_ret = { ENOTBLK, true },
				      .architectures = arches,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	p = compile(&s);
	assert_exit0(run_filtered(p, child_default_errno, NULL));
}

/* ---- syscalls newer than the profile ----------------------------------- */

static void child_enosys(void *arg)
{
	/* above the largest syscall the profile names (exit_group): ENOSYS, so libc falls back */
	CHECK(syscall(1000) < 0 && errno == ENOSYS);
	CHECK(syscall(435 /* clone3 */, NULL, 0) < 0 && errno == ENOSYS);
	CHECK(syscall(SYS_exit_group + 1) < 0 && errno == ENOSYS);
	/* known to the profile and not allowed: its default */
	CHECK(syscall(SYS_getppid) < 0 && errno == ENOTBLK);
	CHECK(syscall(SYS_gettid + 1, -1, 0, 0) < 0 && errno == ENOTBLK); /* readahead */
	CHECK(syscall(SYS_mkdir, "/nonexistent/x", 0700) < 0 && errno == ENOTBLK);
	CHECK(syscall(SYS_gettid) > 0);
}

static void child_enosys_kill(void *arg)
{
	CHECK(syscall(1000) < 0 && errno == ENOSYS); /* not killed */
	CHECK(getpid() > 0);
}

static void test_unknown_syscalls_get_enosys(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	char *allowed[] = {
		"exit_group",	"exit",	       "getpid",  "write",	  "writev",
		"brk",		"mmap",	       "munmap",  "futex",	  "rt_sigprocmask",
		"rt_sigreturn", "sigaltstack", "madvise", "rt_sigaction", "prctl",
		"gettid",	NULL
	};
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = allowed, .action = HULL_SECCOMP_ALLOW },
	};
	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ERRNO,
				      .default_errno_ret = { ENOTBLK, true },
				      .architectures = arches,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	p = compile(&s);
	assert_exit0(run_filtered(p, child_enosys, NULL));
	hull_seccomp_program_free(p);

	/* native architecture only (implied), and a default that kills */
	s.architectures = NULL;
	s.default_action = HULL_SECCOMP_KILL_PROCESS;
	s.default_errno_ret.set = false;
	p = compile(&s);
	assert_exit0(run_filtered(p, child_enosys_kill, NULL));
}

/* ---- argument filters -------------------------------------------------- */

static void child_personality(void *arg)
{
	CHECK(personality(0xffffffff) < 0 && errno == EDOM);
	CHECK(personality(PER_LINUX) >= 0);
}

static void test_arg_filter(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	char *names[] = { "personality", NULL };
	struct hull_oci_seccomp_arg args[] = {
		{ .index = 0, .value = 0xffffffff, .op = HULL_SCMP_EQ },
	};
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = names,
		  .action = HULL_SECCOMP_ERRNO,
		  .errno_ret = { EDOM, true },
		  .args = args,
		  .n_args = 1 },
	};
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	p = compile(&s);
	assert_exit0(run_filtered(p, child_personality, NULL));
}

static void child_masked(void *arg)
{
	CHECK(personality(PER_LINUX32) < 0 && errno == EDOM);
	CHECK(personality(PER_LINUX) >= 0);
}

static void test_masked_eq(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	char *names[] = { "personality", NULL };
	/* value is the mask, valueTwo the datum: (arg0 & 0xff) == PER_LINUX32 */
	struct hull_oci_seccomp_arg args[] = {
		{ .index = 0, .value = 0xff, .value_two = PER_LINUX32, .op = HULL_SCMP_MASKED_EQ },
	};
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = names,
		  .action = HULL_SECCOMP_ERRNO,
		  .errno_ret = { EDOM, true },
		  .args = args,
		  .n_args = 1 },
	};
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	p = compile(&s);
	assert_exit0(run_filtered(p, child_masked, NULL));
}

static void child_same_index(void *arg)
{
	const char *dir = arg;
	_cleanup_free_ char *a = hull_strdup_printf("%s/a", dir);
	_cleanup_free_ char *b = hull_strdup_printf("%s/b", dir);
	_cleanup_free_ char *c = hull_strdup_printf("%s/c", dir);

	CHECK(syscall(SYS_mkdir, a, 0700) < 0 && errno == EDOM);
	CHECK(syscall(SYS_mkdir, b, 0750) < 0 && errno == EDOM);
	CHECK(syscall(SYS_mkdir, c, 0755) == 0);
}

static void test_same_index_becomes_separate_rules(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	_cleanup_free_ char *dir = hull_strdup_printf("%s/same", tmpdir);
	char *names[] = { "mkdir", NULL };
	struct hull_oci_seccomp_arg args[] = {
		{ .index = 1, .value = 0700, .op = HULL_SCMP_EQ },
		{ .index = 1, .value = 0750, .op = HULL_SCMP_EQ },
	};
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = names,
		  .action = HULL_SECCOMP_ERRNO,
		  .errno_ret = { EDOM, true },
		  .args = args,
		  .n_args = 2 },
	};
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	assert_int_equal(mkdir(dir, 0755), 0);
	p = compile(&s);
	assert_exit0(run_filtered(p, child_same_index, dir));
}

/* ---- kill and trap ----------------------------------------------------- */

static void child_getcwd(void *arg)
{
	char buf[256];

	(void)!getcwd(buf, sizeof(buf));
	_exit(7); /* not reached */
}

static void test_kill_actions(void **state)
{
	enum hull_seccomp_action actions[] = { HULL_SECCOMP_KILL, HULL_SECCOMP_KILL_PROCESS,
					       HULL_SECCOMP_KILL_THREAD, HULL_SECCOMP_TRAP };

	for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
		_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
		char *names[] = { "getcwd", NULL };
		struct hull_oci_seccomp_syscall sc[] = { { .names = names, .action = actions[i] } };
		struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
					      .syscalls = sc,
					      .n_syscalls = 1 };
		int status;

		p = compile(&s);
		status = run_filtered(p, child_getcwd, NULL);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
	}
}

/* ---- flags, arches, errors --------------------------------------------- */

static void child_nothing(void *arg)
{
}

static void test_flags(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
			  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
			  NULL };
	char *names[] = { "getcwd", NULL };
	struct hull_oci_seccomp_syscall sc[] = { { .names = names, .action = HULL_SECCOMP_LOG } };
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .flags = flags,
				      .syscalls = sc,
				      .n_syscalls = 1 };

	p = compile(&s);
	assert_exit0(run_filtered(p, child_nothing, NULL));
}

static void expect_compile_error(const struct hull_oci_seccomp *s, int code, const char *msg)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_seccomp_program *p = NULL;

	assert_int_equal(hull_seccomp_compile(s, &p, &err), code);
	assert_null(p);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
}

static void test_compile_errors(void **state)
{
	struct hull_seccomp_program *p;
	char *bad_arch[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11", NULL };
	char *bad_flag[] = { "SECCOMP_FILTER_FLAG_NOPE", NULL };
	char *write_names[] = { "read", "write", NULL };
	char *mkdir_names[] = { "mkdir", NULL };
	struct hull_oci_seccomp_arg bad_index[] = { { .index = 6, .op = HULL_SCMP_EQ } };
	struct hull_oci_seccomp_syscall notify_write[] = {
		{ .names = mkdir_names, .action = HULL_SECCOMP_ALLOW },
		{ .names = write_names, .action = HULL_SECCOMP_NOTIFY },
	};
	struct hull_oci_seccomp_syscall notify_mkdir[] = {
		{ .names = mkdir_names, .action = HULL_SECCOMP_NOTIFY },
	};
	struct hull_oci_seccomp_syscall index6[] = {
		{ .names = mkdir_names,
		  .action = HULL_SECCOMP_ERRNO,
		  .args = bad_index,
		  .n_args = 1 },
	};
	struct hull_oci_seccomp_syscall big_errno[] = {
		{ .names = mkdir_names,
		  .action = HULL_SECCOMP_ERRNO,
		  .errno_ret = { 70000, true } },
	};

	expect_compile_error(
		&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_ALLOW,
					    .architectures = bad_arch },
		-EINVAL, "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_PDP11'");
	expect_compile_error(&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_ALLOW,
							 .flags = bad_flag },
			     -EINVAL,
			     "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_NOPE'");
	/* notify may be the default, and cover write(2): the hand-off does not depend on them */
	expect_compile_error(&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_NOTIFY },
			     -EINVAL, "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
	p = compile(&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_NOTIFY,
						.listener_path = "/run/agent.sock" });
	assert_true(hull_seccomp_program_has_notify(p));
	hull_seccomp_program_free(p);
	p = compile(&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_ALLOW,
						.listener_path = "/run/agent.sock",
						.syscalls = notify_write,
						.n_syscalls = 2 });
	assert_true(hull_seccomp_program_has_notify(p));
	hull_seccomp_program_free(p);
	expect_compile_error(&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_ALLOW,
							 .syscalls = notify_mkdir,
							 .n_syscalls = 1 },
			     -EINVAL, "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
	expect_compile_error(&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_ALLOW,
							 .syscalls = index6,
							 .n_syscalls = 1 },
			     -EINVAL, "linux.seccomp.syscalls[0].args[0].index: 6 is not below 6");
	expect_compile_error(
		&(struct hull_oci_seccomp){ .default_action = HULL_SECCOMP_ALLOW,
					    .syscalls = big_errno,
					    .n_syscalls = 1 },
		-EINVAL, "linux.seccomp.syscalls[0].errnoRet: 70000 is out of range (0 to 65535)");
}

/* Without no_new_privs the kernel wants CAP_SYS_ADMIN for a filter. */
static void test_install_needs_privilege(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW };
	int status = 0;
	pid_t pid;

	p = compile(&s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2] = {};
		struct hull_error *err = NULL;

		CHECK(syscall(SYS_capset, &hdr, data) == 0);
		CHECK(hull_seccomp_install(p, NULL, &err) == -EACCES);
		CHECK(streq(err->msg, "seccomp: install filter: Permission denied"));
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit0(status);
}

/* ---- notify ------------------------------------------------------------ */

static int record_announced(int fd, void *userdata, struct hull_error **reterr)
{
	*(int *)userdata = fd;
	return 0;
}

static void test_notify(void **state)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	_cleanup_free_ char *sock_path = hull_strdup_printf("%s/agent.sock", tmpdir);
	_cleanup_free_ char *dir = hull_strdup_printf("%s/notified", tmpdir);
	_cleanup_close_ int srv = -EBADF, conn = -EBADF, listener = -EBADF;
	char *names[] = { "mkdir", NULL };
	struct hull_oci_seccomp_syscall sc[] = { { .names = names,
						   .action = HULL_SECCOMP_NOTIFY } };
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .listener_path = sock_path,
				      .syscalls = sc,
				      .n_syscalls = 1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct seccomp_notif req = {};
	struct seccomp_notif_resp resp = {};
	char json[256] = "";
	ssize_t n;
	int status = 0, recv_ok, resp_ok;
	long nr = -1;
	pid_t pid;

	if (!hull_seccomp_notify_supported())
		skip();
	p = compile(&s);
	assert_true(hull_seccomp_program_has_notify(p));

	srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv >= 0);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv, 1), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hull_error *err = NULL;
		struct hull_seccomp_listener l = { .announce = record_announced, .fd = -EBADF };
		int announced = -1;

		l.userdata = &announced;
		CHECK(hull_seccomp_install(p, NULL, &err) == -EINVAL); /* nobody takes it */
		hull_error_free(err);
		err = NULL;
		CHECK(hull_seccomp_install(p, &l, &err) == 0);
		/* the listener got the number announced before the load */
		CHECK(l.fd >= 0 && l.fd == announced);
		CHECK(hull_seccomp_send_listener(
			      sock_path, l.fd, "{\"ociVersion\":\"1.1.0\",\"fds\":[\"seccompFd\"]}",
			      5000000, &err) == 0);
		close(l.fd);
		/* the agent answers for the kernel */
		CHECK(syscall(SYS_mkdir, dir, 0700) < 0 && errno == EXDEV);
		_exit(0);
	}

	/* collect everything first, assert after the child is gone so it never hangs */
	conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
	n = conn >= 0 ? hull_socket_recv_fd(conn, &listener, json, sizeof(json) - 1) : -1;
	recv_ok = listener >= 0 && ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0;
	if (recv_ok) {
		nr = req.data.nr;
		resp.id = req.id;
		resp.error = -EXDEV;
	}
	resp_ok = recv_ok && ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
	if (!resp_ok)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	assert_true(n > 0);
	json[n > 0 ? n : 0] = '\0';
	assert_string_equal(json, "{\"ociVersion\":\"1.1.0\",\"fds\":[\"seccompFd\"]}");
	assert_true(recv_ok);
	assert_int_equal(nr, SYS_mkdir);
	assert_int_equal(req.pid, pid);
	assert_true(resp_ok);
	assert_exit0(status);
	assert_int_equal(access(dir, F_OK), -1);
}

/* An agent socket at tmpdir/name: listening (backlog 1) or only bound. */
static int agent_socket(const char *name, bool listening, char **ret_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *path = hull_strdup_printf("%s/%s", tmpdir, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_non_null(path);
	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 1), 0);
	*ret_path = path;
	return fd;
}

static void expect_send_error(const char *path, int code, const char *msg)
{
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(hull_seccomp_send_listener(path, fd, "{}", 200000, &err), code);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
}

static void test_send_listener_errors(void **state)
{
	_cleanup_free_ char *refused = NULL, *silent = NULL, *closing = NULL, *msg = NULL;
	_cleanup_close_ int a = -EBADF, b = -EBADF, c = -EBADF;
	char too_long[200];

	expect_send_error("/nonexistent/agent.sock", -ENOENT,
			  "linux.seccomp.listenerPath '/nonexistent/agent.sock': connect: No such "
			  "file or directory");
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[0] = '/';
	too_long[sizeof(too_long) - 1] = '\0';
	msg = hull_strdup_printf("linux.seccomp.listenerPath '%s': longer than 107 bytes",
				 too_long);
	expect_send_error(too_long, -ENAMETOOLONG, msg);

	/* bound, nobody listening */
	a = agent_socket("refused.sock", false, &refused);
	free(msg);
	msg = hull_strdup_printf("linux.seccomp.listenerPath '%s': connect: Connection refused",
				 refused);
	expect_send_error(refused, -ECONNREFUSED, msg);

	/* listening, never accepting nor reading: the connection sits in the backlog */
	b = agent_socket("silent.sock", true, &silent);
	free(msg);
	msg = hull_strdup_printf("linux.seccomp.listenerPath '%s': the agent did not receive "
				 "the listener within 200ms",
				 silent);
	expect_send_error(silent, -ETIMEDOUT, msg);
	/* more of the same fill its backlog: then connect itself must time out */
	for (int i = 0; i < 3; i++) {
		_cleanup_error_ struct hull_error *err = NULL;
		_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC);
		int r = hull_seccomp_send_listener(silent, fd, "{}", 200000, &err);

		assert_int_equal(r, -ETIMEDOUT);
		assert_non_null(strstr(err->msg, "within 200ms"));
	}

	/* accepts, then closes without reading: the listener never arrived */
	c = agent_socket("closing.sock", true, &closing);
	{
		_cleanup_error_ struct hull_error *err = NULL;
		_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC);
		int status = 0, r;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			int k = accept4(c, NULL, NULL, SOCK_CLOEXEC);

			usleep(50000); /* the message is queued now */
			close(k);
			_exit(0);
		}
		r = hull_seccomp_send_listener(closing, fd, "{}", 5000000, &err);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(r, -ECONNRESET);
		free(msg);
		msg = hull_strdup_printf("linux.seccomp.listenerPath '%s': the agent closed the "
					 "connection without receiving the listener",
					 closing);
		assert_string_equal(err->msg, msg);
	}
}

static void test_parse_timeout(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint64_t usec;
	} cases[] = {
		{ "10s", 0, 10000000 },	      { "10", 0, 10000000 },
		{ "500ms", 0, 500000 },	      { "1ms", 0, 1000 },
		{ "2m", 0, 120000000 },	      { "60m", 0, 3600000000ULL },
		{ "3600", 0, 3600000000ULL }, { "3601", -ERANGE, 0 },
		{ "61m", -ERANGE, 0 },	      { "0", -ERANGE, 0 },
		{ "0ms", -ERANGE, 0 },	      { "99999999999999999999999s", -ERANGE, 0 },
		{ "", -EINVAL, 0 },	      { "s", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },	      { " 1s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },	      { "1.5s", -EINVAL, 0 },
		{ "1h", -EINVAL, 0 },	      { "1S", -EINVAL, 0 },
		{ "1msx", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		uint64_t v = 7;
		int r = hull_seccomp_parse_timeout(cases[i].in, &v);

		if (r != cases[i].r)
			fail_msg("'%s': %d, expected %d", cases[i].in, r, cases[i].r);
		assert_int_equal(v, cases[i].r == 0 ? cases[i].usec : 7);
	}
	assert_int_equal(hull_seccomp_parse_timeout(NULL, &(uint64_t){ 0 }), -EINVAL);
	assert_string_equal(hull_seccomp_timeout_str(10000000).s, "10s");
	assert_string_equal(hull_seccomp_timeout_str(1500000).s, "1500ms");
}

static void test_listener_timeout_annotation(void **state)
{
	char *none[] = { "other", "1", NULL };
	char *good[] = { "other", "x", HULL_SECCOMP_TIMEOUT_ANNOTATION, "250ms", NULL };
	char *bad[] = { HULL_SECCOMP_TIMEOUT_ANNOTATION, "soon", NULL };
	_cleanup_error_ struct hull_error *err = NULL;
	uint64_t v = 0;

	assert_int_equal(hull_seccomp_listener_timeout(NULL, &v, NULL), 0);
	assert_int_equal(v, HULL_SECCOMP_TIMEOUT_DEFAULT_USEC);
	assert_int_equal(hull_seccomp_listener_timeout(none, &v, NULL), 0);
	assert_int_equal(v, HULL_SECCOMP_TIMEOUT_DEFAULT_USEC);
	assert_int_equal(hull_seccomp_listener_timeout(good, &v, NULL), 0);
	assert_int_equal(v, 250000);
	v = 1;
	assert_int_equal(hull_seccomp_listener_timeout(bad, &v, &err), -EINVAL);
	assert_int_equal(v, 1);
	assert_string_equal(err->msg,
			    "annotations[\"run.hull.seccomp-listener-timeout\"]: 'soon' is not a "
			    "timeout from 1ms to 1h (like \"500ms\", \"10s\", \"2m\")");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_rule_and_unknown_names),
		cmocka_unit_test(test_default_errno),
		cmocka_unit_test(test_unknown_syscalls_get_enosys),
		cmocka_unit_test(test_arg_filter),
		cmocka_unit_test(test_masked_eq),
		cmocka_unit_test(test_same_index_becomes_separate_rules),
		cmocka_unit_test(test_kill_actions),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_install_needs_privilege),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_send_listener_errors),
		cmocka_unit_test(test_parse_timeout),
		cmocka_unit_test(test_listener_timeout_annotation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
