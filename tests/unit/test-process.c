/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* the OCI model holds mutable strings; the tests fill it from literals */
#pragma GCC diagnostic ignored "-Wdiscarded-qualifiers"

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/process.h"
#include "linux/seccomp.h"
#include "util/error.h"
#include "util/file.h"
#include "util/str.h"

static char tmpdir[] = "/tmp/hull-test-process-XXXXXX";

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

/* Like CHECK for a hull call: prints its error message. */
#define CHECK_OK(call)                                                            \
	do {                                                                      \
		struct hull_error *_e_ = NULL;                                    \
		if ((call(&_e_)) < 0) {                                           \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, \
				_e_ && _e_->msg ? _e_->msg : "?");                \
			_exit(101);                                               \
		}                                                                 \
	} while (0)

static void assert_child_ok(pid_t pid)
{
	int status = 0;

	assert_true(pid >= 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A capability set line of /proc/self/status ("CapEff"). */
static uint64_t status_caps(const char *field)
{
	_cleanup_free_ char *text = NULL;
	const char *p;
	uint64_t v = 0;

	if (hull_read_file_at(AT_FDCWD, "/proc/self/status", &text, NULL) < 0)
		return UINT64_MAX;
	p = strstr(text, field);
	if (!p || sscanf(p + strlen(field) + 1, "%" SCNx64, &v) != 1)
		return UINT64_MAX;
	return v;
}

static int status_int(const char *field)
{
	_cleanup_free_ char *text = NULL;
	const char *p;
	int v = -1;

	if (hull_read_file_at(AT_FDCWD, "/proc/self/status", &text, NULL) < 0)
		return -1;
	p = strstr(text, field);
	if (!p || sscanf(p + strlen(field) + 1, "%d", &v) != 1)
		return -1;
	return v;
}

/* A process as root with the capabilities the test itself has (the host may lack some). */
static void base_process(struct hull_oci_process *p)
{
	uint64_t prm = status_caps("CapPrm:"), bnd = status_caps("CapBnd:");

	memset(p, 0, sizeof(*p));
	p->caps.bounding = bnd;
	p->caps.effective = p->caps.permitted = prm;
	p->caps.bounding_set = p->caps.effective_set = p->caps.permitted_set = true;
}

#define CAPBIT(c) (UINT64_C(1) << (c))

static const struct hull_oci_process *cur_p;
static const struct hull_oci_linux *cur_lc;
static const struct hull_seccomp_program *cur_seccomp;
static enum hull_process_flags cur_flags;

static int apply_cur(struct hull_error **e)
{
	return hull_process_apply(cur_p, cur_lc, cur_seccomp, cur_flags, NULL, NULL, e);
}

/* ---- capabilities and identity ----------------------------------------- */

static void test_caps_as_root(void **state)
{
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	/* bit 63: a capability no kernel has: skipped, not an error */
	p.caps.bounding =
		CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL) | CAPBIT(CAP_NET_BIND_SERVICE) | CAPBIT(63);
	p.caps.effective = p.caps.permitted = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL);
	p.caps.inheritable = CAPBIT(CAP_KILL);
	p.caps.ambient = CAPBIT(CAP_KILL);

	pid = fork();
	if (pid == 0) {
		cur_p = &p;
		CHECK_OK(apply_cur);
		CHECK(status_caps("CapBnd:") == 0x421);
		CHECK(status_caps("CapEff:") == 0x21);
		CHECK(status_caps("CapPrm:") == 0x21);
		CHECK(status_caps("CapInh:") == 0x20);
		CHECK(status_caps("CapAmb:") == 0x20);
		CHECK(status_int("NoNewPrivs:") == 0);
		CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_uid_switch_keeps_caps(void **state)
{
	uint32_t gids[] = { 100, 200 };
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	p.user.uid = 65534;
	p.user.gid = 65534;
	p.user.additional_gids = gids;
	p.user.n_additional_gids = 2;
	p.caps.bounding = p.caps.effective = p.caps.permitted = CAPBIT(CAP_NET_BIND_SERVICE);
	p.no_new_privileges = true;

	pid = fork();
	if (pid == 0) {
		uid_t ru, eu, su;
		gid_t rg, eg, sg, list[8];

		CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0);
		cur_p = &p;
		CHECK_OK(apply_cur);
		CHECK(getresuid(&ru, &eu, &su) == 0 && ru == 65534 && eu == 65534 && su == 65534);
		CHECK(getresgid(&rg, &eg, &sg) == 0 && rg == 65534 && eg == 65534 && sg == 65534);
		CHECK(getgroups(8, list) == 2 && list[0] == 100 && list[1] == 200);
		CHECK(status_caps("CapEff:") == CAPBIT(CAP_NET_BIND_SERVICE));
		CHECK(status_caps("CapPrm:") == CAPBIT(CAP_NET_BIND_SERVICE));
		CHECK(status_caps("CapBnd:") == CAPBIT(CAP_NET_BIND_SERVICE));
		CHECK(status_caps("CapAmb:") == 0);
		CHECK(status_int("NoNewPrivs:") == 1);
		/* the uid change cleared the parent-death signal; apply restored it */
		{
			int sig = 0;

			CHECK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == SIGKILL);
		}
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_capset_failure_names_step(void **state)
{
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	p.caps.effective = CAPBIT(CAP_KILL); /* not in permitted: capset refuses */
	p.caps.permitted = CAPBIT(CAP_CHOWN);

	pid = fork();
	if (pid == 0) {
		struct hull_error *err = NULL;

		CHECK(hull_process_apply(&p, NULL, NULL, 0, NULL, NULL, &err) == -EPERM);
		CHECK(streq(err->msg, "capset: Operation not permitted"));
		_exit(0);
	}
	assert_child_ok(pid);
}

/* A program the process's user may not run is refused after the uid switch, naming it. */
static void test_exec_check_as_the_user(void **state)
{
	char path[] = "/tmp/hull-test-exec-check-XXXXXX";
	struct hull_oci_process p;
	pid_t pid;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0700), 0); /* root's: uid 1000 may not run it */
	base_process(&p);
	p.user.uid = p.user.gid = 1000;
	p.caps.effective = p.caps.permitted = 0;

	pid = fork();
	if (pid == 0) {
		struct hull_error *err = NULL;
		char want[128];

		snprintf(want, sizeof(want), "exec: '%s' as uid 1000: Permission denied", path);
		CHECK(hull_process_apply(&p, NULL, NULL, 0, path, NULL, &err) == -EACCES);
		CHECK(err && streq(err->msg, want));
		_exit(0);
	}
	assert_child_ok(pid);
	assert_int_equal(chmod(path, 0755), 0);
	pid = fork();
	if (pid == 0) {
		CHECK(hull_process_apply(&p, NULL, NULL, 0, path, NULL, NULL) == 0);
		_exit(0);
	}
	assert_child_ok(pid);
	unlink(path);
}

/* ---- rlimits, umask, oom, personality, scheduling ---------------------- */

static void test_rlimits(void **state)
{
	struct hull_oci_rlimit rl[] = { { .resource = RLIMIT_NOFILE, .soft = 1000, .hard = 2000 },
					{ .resource = RLIMIT_CORE, .soft = 0, .hard = 0 } };
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	p.rlimits = rl;
	p.n_rlimits = 2;
	pid = fork();
	if (pid == 0) {
		struct rlimit r;

		cur_p = &p;
		CHECK_OK(apply_cur);
		CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 1000 &&
		      r.rlim_max == 2000);
		CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur == 0 && r.rlim_max == 0);
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_rlimit_eperm_names_the_limit(void **state)
{
	struct hull_oci_rlimit rl[] = { { .resource = RLIMIT_NOFILE } };
	struct hull_oci_process p;
	struct rlimit cur;
	pid_t pid;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &cur), 0);
	base_process(&p);
	rl[0].soft = rl[0].hard = (uint64_t)cur.rlim_max + 10000;
	p.rlimits = rl;
	p.n_rlimits = 1;
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];
		struct hull_error *err = NULL;
		_cleanup_free_ char *expect = NULL;

		/* raising a hard limit needs CAP_SYS_RESOURCE: make sure we lack it */
		CHECK(syscall(SYS_capget, &hdr, data) == 0);
		data[0].effective &= ~(1U << CAP_SYS_RESOURCE);
		CHECK(syscall(SYS_capset, &hdr, data) == 0);

		CHECK(hull_process_apply(&p, NULL, NULL, 0, NULL, NULL, &err) == -EPERM);
		expect = hull_strdup_printf(
			"process.rlimits: setrlimit 'RLIMIT_NOFILE' soft %" PRIu64 " hard %" PRIu64
			": Operation not permitted",
			rl[0].soft, rl[0].hard);
		if (!streq(err->msg, expect))
			fprintf(stderr, "child: got '%s'\n", err->msg);
		CHECK(streq(err->msg, expect));
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_umask(void **state)
{
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	pid = fork();
	if (pid == 0) {
		umask(0);
		cur_p = &p;
		CHECK_OK(apply_cur); /* not set: runc's 0022 */
		CHECK(umask(0) == 0022);
		p.user.umask.v = 0077;
		p.user.umask.set = true;
		CHECK_OK(apply_cur);
		CHECK(umask(0) == 0077);
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_oom_score_adj(void **state)
{
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	p.oom_score_adj.v = 500;
	p.oom_score_adj.set = true;
	pid = fork();
	if (pid == 0) {
		_cleanup_free_ char *before = NULL, *text = NULL;

		cur_p = &p;
		CHECK(hull_read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", &before, NULL) == 0);
		/* apply leaves it to the runtime, which writes it from outside */
		CHECK_OK(apply_cur);
		CHECK(hull_read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", &text, NULL) == 0);
		CHECK(streq(text, before));
		CHECK(hull_process_set_oom_score_adj(getpid(), 500, NULL) == 0);
		free(text);
		text = NULL;
		CHECK(hull_read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", &text, NULL) == 0);
		CHECK(streq(text, "500\n"));
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_personality(void **state)
{
	struct hull_oci_linux lc = {};
	struct hull_oci_process p;
	char *flags[] = { "ADDR_NO_RANDOMIZE", NULL };
	pid_t pid;

	base_process(&p);
	lc.personality.domain = "LINUX32";
	lc.personality.flags = flags;
	lc.personality.set = true;
	pid = fork();
	if (pid == 0) {
		struct utsname u;

		cur_p = &p;
		cur_lc = &lc;
		CHECK_OK(apply_cur);
		CHECK(uname(&u) == 0 && streq(u.machine, "i686"));
		CHECK(personality(0xffffffff) == (PER_LINUX32 | ADDR_NO_RANDOMIZE));
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_personality_bad_flag(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_oci_linux lc = {};
	struct hull_oci_process p;
	char *flags[] = { "ADDR_NO_RANDOMIZE", "NOPE", NULL };

	base_process(&p);
	lc.personality.domain = "LINUX";
	lc.personality.flags = flags;
	lc.personality.set = true;
	/* refused before anything is changed: safe to run in the test process */
	assert_int_equal(hull_process_apply(&p, &lc, NULL, 0, NULL, NULL, &err), -EINVAL);
	assert_string_equal(err->msg, "linux.personality.flags[1]: unknown flag 'NOPE'");
}

static void test_scheduler_and_io_priority(void **state)
{
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	p.scheduler.set = true;
	p.scheduler.policy = SCHED_BATCH;
	p.scheduler.nice = 5;
	p.io_priority.set = true;
	p.io_priority.class = IOPRIO_CLASS_IDLE;
	p.io_priority.priority = 0;
	pid = fork();
	if (pid == 0) {
		cur_p = &p;
		CHECK_OK(apply_cur);
		CHECK(sched_getscheduler(0) == SCHED_BATCH);
		errno = 0;
		CHECK(getpriority(PRIO_PROCESS, 0) == 5 && errno == 0);
		CHECK(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) ==
		      (IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT));
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_session_keyring(void **state)
{
	struct hull_oci_process p;
	pid_t pid;

	base_process(&p);
	pid = fork();
	if (pid == 0) {
		long before, after;
		char desc[256] = "";

		before = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1);
		cur_p = &p;
		cur_flags = HULL_PROCESS_NEW_KEYRING;
		CHECK_OK(apply_cur);
		after = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
		CHECK(after > 0 && after != before);
		CHECK(syscall(SYS_keyctl, KEYCTL_DESCRIBE, after, desc, sizeof(desc) - 1) > 0);
		CHECK(strstr(desc, ";_ses.hull-") != NULL);
		_exit(0);
	}
	assert_child_ok(pid);
}

/* ---- seccomp placement ------------------------------------------------- */

static void run_seccomp_case(bool nnp)
{
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *prog = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	char *names[] = { "getcwd", NULL };
	struct hull_oci_seccomp_syscall sc[] = {
		{ .names = names, .action = HULL_SECCOMP_ERRNO, .errno_ret = { ENOTBLK, true } },
	};
	struct hull_oci_seccomp s = { .default_action = HULL_SECCOMP_ALLOW,
				      .syscalls = sc,
				      .n_syscalls = 1 };
	struct hull_oci_process p;
	pid_t pid;

	assert_int_equal(hull_seccomp_compile(&s, &prog, &err), 0);
	base_process(&p);
	/* an unprivileged user without capabilities: the filter must go in before that */
	memset(&p.caps, 0, sizeof(p.caps));
	p.user.uid = p.user.gid = 65534;
	p.no_new_privileges = nnp;
	pid = fork();
	if (pid == 0) {
		char buf[64];
		struct hull_seccomp_listener listener = { .fd = 5 };

		cur_p = &p;
		cur_seccomp = prog;
		{
			struct hull_error *e = NULL;

			if (hull_process_apply(&p, NULL, prog, 0, NULL, &listener, &e) < 0) {
				fprintf(stderr, "child: %s\n", e->msg);
				_exit(101);
			}
		}
		CHECK(listener.fd == -EBADF); /* no notify action, no listener */
		CHECK(getuid() == 65534 && status_caps("CapEff:") == 0);
		CHECK(status_int("NoNewPrivs:") == (nnp ? 1 : 0));
		CHECK(status_int("Seccomp:") == 2);
		CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == ENOTBLK);
		_exit(0);
	}
	assert_child_ok(pid);
}

static void test_seccomp_without_nnp(void **state)
{
	run_seccomp_case(false);
}

static void test_seccomp_with_nnp(void **state)
{
	run_seccomp_case(true);
}

/* ---- validation -------------------------------------------------------- */

static void expect_invalid(const struct hull_oci_process *p, const char *msg)
{
	_cleanup_error_ struct hull_error *err = NULL;

	assert_true(hull_process_validate(p, &err) < 0);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
}

static void test_validate(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_oci_rlimit bad_order[] = {
		{ .resource = RLIMIT_NOFILE, .soft = 2, .hard = 1 }
	};
	struct hull_oci_rlimit dup[] = { { .resource = RLIMIT_NOFILE, .soft = 1, .hard = 1 },
					 { .resource = RLIMIT_NOFILE, .soft = 1, .hard = 1 } };
	struct hull_oci_process p;

	base_process(&p);
	assert_int_equal(hull_process_validate(&p, &err), 0);

	if (!hull_apparmor_enabled()) {
		p.apparmor_profile = "docker-default";
		expect_invalid(&p, "process.apparmorProfile: apparmor is not enabled on this host");
		p.apparmor_profile = NULL;
	}
	if (!hull_selinux_enabled()) {
		p.selinux_label = "system_u:system_r:container_t:s0";
		expect_invalid(&p, "process.selinuxLabel: selinux is not enabled on this host");
		p.selinux_label = NULL;
	}
	p.rlimits = bad_order;
	p.n_rlimits = 1;
	expect_invalid(&p, "process.rlimits[0]: soft limit 2 of 'RLIMIT_NOFILE' is greater than "
			   "the hard limit 1");
	p.rlimits = dup;
	p.n_rlimits = 2;
	expect_invalid(&p, "process.rlimits[1].type: duplicate rlimit 'RLIMIT_NOFILE'");
	p.n_rlimits = 0;
	p.oom_score_adj.v = 1001;
	p.oom_score_adj.set = true;
	expect_invalid(&p, "process.oomScoreAdj: 1001 is not between -1000 and 1000");
	p.oom_score_adj.set = false;
	p.io_priority.set = true;
	p.io_priority.class = IOPRIO_CLASS_BE;
	p.io_priority.priority = 8;
	expect_invalid(&p, "process.ioPriority.priority: 8 is not between 0 and 7");
}

/* ---- finding and executing the workload -------------------------------- */

static void make_file(const char *name, mode_t mode)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(hull_write_all(fd, "#!/bin/sh\n", 10), 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int find(const char *arg0, char **env, char **ret, struct hull_error **err)
{
	char *args[] = { (char *)arg0, NULL };
	struct hull_oci_process p = { .args = args, .env = env };

	return hull_process_find_exec(&p, ret, err);
}

static void test_find_exec(void **state)
{
	_cleanup_free_ char *path_env =
		hull_strdup_printf("PATH=/nonexistent:%s/sub:%s", tmpdir, tmpdir);
	_cleanup_free_ char *sub = hull_strdup_printf("%s/sub", tmpdir);
	_cleanup_free_ char *expect = NULL, *abs_dir = NULL, *abs_bar = NULL;
	char *env[] = { "A=1", path_env, NULL };
	char *no_path_env[] = { "A=1", NULL };
	struct hull_error *err = NULL;
	char *found = NULL;

	assert_int_equal(mkdir(sub, 0755), 0);
	make_file("foo", 0755);
	make_file("bar", 0644);
	make_file("sub/bar", 0644); /* not executable: skipped, not fatal */
	{
		_cleanup_free_ char *d = hull_strdup_printf("%s/sub/foo", tmpdir);

		assert_int_equal(mkdir(d, 0755), 0); /* a directory named foo first in PATH */
	}

	assert_int_equal(find("foo", env, &found, &err), 0);
	expect = hull_strdup_printf("%s/foo", tmpdir);
	assert_string_equal(found, expect);
	free(found);
	found = NULL;

	assert_int_equal(find("bar", env, &found, &err), -ENOENT);
	assert_string_equal(err->msg, "exec: 'bar': executable file not found in $PATH");
	hull_error_free(err);
	err = NULL;

	abs_dir = hull_strdup_printf("%s/sub", tmpdir);
	assert_int_equal(find(abs_dir, env, &found, &err), -EACCES);
	free(expect);
	expect = hull_strdup_printf("exec: '%s': is a directory", abs_dir);
	assert_string_equal(err->msg, expect);
	hull_error_free(err);
	err = NULL;

	abs_bar = hull_strdup_printf("%s/bar", tmpdir);
	assert_int_equal(find(abs_bar, env, &found, &err), -EACCES);
	free(expect);
	expect = hull_strdup_printf("exec: '%s': Permission denied", abs_bar);
	assert_string_equal(err->msg, expect);
	hull_error_free(err);
	err = NULL;

	assert_int_equal(find("/nonexistent/x", env, &found, &err), -ENOENT);
	assert_string_equal(err->msg, "exec: '/nonexistent/x': No such file or directory");
	hull_error_free(err);
	err = NULL;

	/* no PATH in env: the default one */
	assert_int_equal(find("sh", no_path_env, &found, &err), 0);
	assert_true(startswith(found, "/usr/") || startswith(found, "/bin/"));
	assert_int_equal(access(found, X_OK), 0);
	free(found);
	found = NULL;

	assert_int_equal(find("", env, &found, &err), -EINVAL);
	assert_string_equal(err->msg, "process.args: must not be empty");
	hull_error_free(err);
}

static void test_exec_sets_home(void **state)
{
	_cleanup_free_ char *out = hull_strdup_printf("%s/home.out", tmpdir);
	_cleanup_free_ char *cmd = hull_strdup_printf("echo \"$HOME|$A\" > %s", out);
	_cleanup_free_ char *text = NULL;
	char *args[] = { "sh", "-c", cmd, NULL };
	char *env[] = { "A=1", NULL };
	struct hull_oci_process p = { .args = args, .env = env };
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct hull_error *err = NULL;

		hull_process_exec(&p, "/bin/sh", &err);
		_exit(102);
	}
	assert_child_ok(pid);
	assert_int_equal(hull_read_file_at(AT_FDCWD, out, &text, NULL), 0);
	assert_string_equal(text, "/root|1\n");
}

static void test_exec_failure(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	char *args[] = { "x", NULL };
	char *env[] = { "HOME=/", NULL };
	struct hull_oci_process p = { .args = args, .env = env };

	assert_int_equal(hull_process_exec(&p, "/nonexistent/x", &err), -ENOENT);
	assert_string_equal(err->msg, "exec '/nonexistent/x': No such file or directory");
}

/* ---- hostname and sysctl ----------------------------------------------- */

static void test_uts_and_sysctl(void **state)
{
	struct hull_oci_namespace ns[] = { { .type = HULL_NS_UTS },
					   { .type = HULL_NS_NET },
					   { .type = HULL_NS_IPC } };
	char *sysctl[] = { "net.ipv4.ip_forward",
			   "1",
			   "kernel/shmmni",
			   "1234",
			   "net.ipv4.conf.lo.forwarding",
			   "1",
			   NULL };
	struct hull_oci_linux lc = { .namespaces = ns, .n_namespaces = 3, .sysctl = sysctl };
	struct hull_oci_config c = { .hostname = "hull-test",
				     .domainname = "hull.example",
				     .linux_config = &lc };
	_cleanup_free_ char *host_fwd = NULL, *host_fwd2 = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	pid_t pid;

	assert_int_equal(hull_uts_validate(&c, &err), 0);
	assert_int_equal(hull_sysctl_validate(&c, &err), 0);
	assert_int_equal(
		hull_read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", &host_fwd, NULL), 0);

	pid = fork();
	if (pid == 0) {
		_cleanup_free_ char *v1 = NULL, *v2 = NULL;
		struct utsname u;
		struct hull_error *e = NULL;

		CHECK(unshare(CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC) == 0);
		if (hull_uts_apply(&c, &e) < 0 || hull_sysctl_apply(&lc, &e) < 0) {
			fprintf(stderr, "child: %s\n", e->msg);
			_exit(101);
		}
		CHECK(uname(&u) == 0 && streq(u.nodename, "hull-test") &&
		      streq(u.domainname, "hull.example"));
		CHECK(hull_read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", &v1, NULL) == 0);
		CHECK(streq(v1, "1\n"));
		CHECK(hull_read_file_at(AT_FDCWD, "/proc/sys/kernel/shmmni", &v2, NULL) == 0);
		CHECK(streq(v2, "1234\n"));
		_exit(0);
	}
	assert_child_ok(pid);
	/* the host's own value is untouched */
	assert_int_equal(
		hull_read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", &host_fwd2, NULL), 0);
	assert_string_equal(host_fwd, host_fwd2);
}

static void expect_sysctl_invalid(const struct hull_oci_config *c, const char *msg)
{
	_cleanup_error_ struct hull_error *err = NULL;

	assert_int_equal(hull_sysctl_validate(c, &err), -EINVAL);
	assert_string_equal(err->msg, msg);
}

static void test_sysctl_and_uts_validation(void **state)
{
	_cleanup_error_ struct hull_error *err = NULL;
	struct hull_oci_namespace host_net[] = { { .type = HULL_NS_NET,
						   .path = "/proc/self/ns/net" } };
	char *net[] = { "net.ipv4.ip_forward", "1", NULL };
	char *ipc[] = { "fs.mqueue.queues_max", "10", NULL };
	char *global[] = { "kernel.panic", "10", NULL };
	char *hostname[] = { "kernel.hostname", "x", NULL };
	char *escape[] = { "net/../../kernel/panic", "1", NULL };
	struct hull_oci_linux lc = {};
	struct hull_oci_config c = { .linux_config = &lc };

	lc.sysctl = net;
	expect_sysctl_invalid(&c, "linux.sysctl: 'net.ipv4.ip_forward' is not allowed in the "
				  "host's network namespace");
	lc.namespaces = host_net;
	lc.n_namespaces = 1;
	expect_sysctl_invalid(&c, "linux.sysctl: 'net.ipv4.ip_forward' is not allowed in the "
				  "host's network namespace");
	lc.n_namespaces = 0;
	lc.sysctl = ipc;
	expect_sysctl_invalid(&c, "linux.sysctl: 'fs.mqueue.queues_max' is not allowed in the "
				  "host's ipc namespace");
	lc.sysctl = global;
	expect_sysctl_invalid(&c, "linux.sysctl: 'kernel.panic' is not in a separate kernel "
				  "namespace");
	lc.sysctl = hostname;
	expect_sysctl_invalid(&c, "linux.sysctl: 'kernel.hostname' conflicts with the 'hostname' "
				  "field");
	lc.sysctl = escape;
	expect_sysctl_invalid(&c, "linux.sysctl: invalid key 'net/../../kernel/panic'");

	lc.sysctl = NULL;
	c.hostname = "web";
	assert_int_equal(hull_uts_validate(&c, &err), -EINVAL);
	assert_string_equal(err->msg, "hostname: cannot set 'web' without a private uts namespace");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_as_root),
		cmocka_unit_test(test_uid_switch_keeps_caps),
		cmocka_unit_test(test_capset_failure_names_step),
		cmocka_unit_test(test_exec_check_as_the_user),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_rlimit_eperm_names_the_limit),
		cmocka_unit_test(test_umask),
		cmocka_unit_test(test_oom_score_adj),
		cmocka_unit_test(test_personality),
		cmocka_unit_test(test_personality_bad_flag),
		cmocka_unit_test(test_scheduler_and_io_priority),
		cmocka_unit_test(test_session_keyring),
		cmocka_unit_test(test_seccomp_without_nnp),
		cmocka_unit_test(test_seccomp_with_nnp),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_find_exec),
		cmocka_unit_test(test_exec_sets_home),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_uts_and_sysctl),
		cmocka_unit_test(test_sysctl_and_uts_validation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
