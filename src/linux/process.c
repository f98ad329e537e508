/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container process's last steps before execve(): hull_process_apply()
 * runs them in the order the kernel needs (see the comments inline), and
 * hull_process_find_exec()/hull_process_exec() start the workload.
 */
#include "linux/process.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "linux/process-internal.h"
#include "linux/seccomp.h"
#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

/* the user's "search" permission bit of a key (linux/key.h, not exported to userspace) */
#define KEY_USR_SEARCH 0x00080000

/* struct sched_attr (SCHED_ATTR_SIZE_VER1); linux/sched/types.h clashes with glibc's sched.h */
struct sched_attr_v1 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- procfs ------------------------------------------------------------ */

static int check_procfs(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return -EXDEV; /* not procfs: something was mounted over /proc */
	return 0;
}

int hull_procfs_write(const char *path, const char *value)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(value);
	ssize_t n;
	int r;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = check_procfs(fd);
	if (r < 0)
		return r;
	n = RETRY_EINTR(write(fd, value, len));
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int hull_procfs_open_dir(const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = check_procfs(fd);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

int hull_process_set_oom_score_adj(pid_t pid, int adj, struct hull_error **reterr)
{
	char path[64], value[16];
	int r;

	if (adj < -1000 || adj > 1000)
		return hull_error_set(reterr, -EINVAL,
				      "process.oomScoreAdj: %d is not between -1000 and 1000", adj);
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/oom_score_adj");
	snprintf(value, sizeof(value), "%d", adj);
	r = hull_procfs_write(path, value);
	if (r < 0)
		return hull_error_errno(reterr, r, "oom_score_adj: write '%s' to '%s'", value,
					path);
	return 0;
}

/* ---- validation before clone ------------------------------------------ */

int hull_process_validate(const struct hull_oci_process *p, struct hull_error **reterr)
{
	int r;

	r = hull_lsm_validate(p, reterr);
	if (r < 0)
		return r;
	r = hull_rlimits_validate(p, reterr);
	if (r < 0)
		return r;
	if (p->oom_score_adj.set && (p->oom_score_adj.v < -1000 || p->oom_score_adj.v > 1000))
		return hull_error_set(reterr, -EINVAL,
				      "process.oomScoreAdj: %" PRId64
				      " is not between -1000 and 1000",
				      p->oom_score_adj.v);
	if (p->io_priority.set) {
		int c = p->io_priority.class;

		if (c != IOPRIO_CLASS_RT && c != IOPRIO_CLASS_BE && c != IOPRIO_CLASS_IDLE)
			return hull_error_set(reterr, -EINVAL,
					      "process.ioPriority.class: unknown class %d", c);
		if (p->io_priority.priority < 0 || p->io_priority.priority > 7)
			return hull_error_set(
				reterr, -EINVAL,
				"process.ioPriority.priority: %d is not between 0 and 7",
				p->io_priority.priority);
	}
	if (p->scheduler.set && (p->scheduler.nice < -20 || p->scheduler.nice > 19))
		return hull_error_set(reterr, -EINVAL,
				      "process.scheduler.nice: %d is not between -20 and 19",
				      p->scheduler.nice);
	if (p->user.umask.set && p->user.umask.v > 07777)
		return hull_error_set(reterr, -EINVAL,
				      "process.user.umask: %#llo is not a valid umask",
				      (unsigned long long)p->user.umask.v);
	return 0;
}

/* ---- the steps -------------------------------------------------------- */

/*
 * A fresh session keyring so the container does not share the caller's keys.
 * The name only needs to be unique: joining by name would otherwise join an
 * existing keyring of that name.
 */
static int join_session_keyring(struct hull_error **reterr)
{
	char name[64], desc[256];
	uint64_t rnd = 0;
	unsigned int perm;
	long id, n;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)&rnd;
	snprintf(name, sizeof(name), "_ses.hull-%016" PRIx64, rnd);

	id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
	if (id < 0) {
		/* no keyrings (ENOSYS) or not allowed in this user ns: best effort, as runc */
		if (errno == ENOSYS || errno == EACCES) {
			hull_debug("session keyring not joined: %m");
			return 0;
		}
		return hull_error_errno(reterr, negative_errno(), "join session keyring '%s'",
					name);
	}

	/* "type;uid;gid;perm;description": make the keyring searchable by its user */
	n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof(desc) - 1, 0);
	if (n < 0)
		return hull_error_errno(reterr, negative_errno(), "describe session keyring '%s'",
					name);
	desc[(size_t)n < sizeof(desc) - 1 ? (size_t)n : sizeof(desc) - 1] = '\0';
	if (sscanf(desc, "%*[^;];%*[^;];%*[^;];%x;", &perm) != 1)
		return hull_error_set(reterr, -EIO, "describe session keyring '%s': bad reply",
				      name);
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm | KEY_USR_SEARCH, 0, 0) < 0)
		return hull_error_errno(reterr, negative_errno(),
					"set permissions of session keyring '%s'", name);
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} personality_flags[] = {
	{ "ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT }, { "ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT },
	{ "ADDR_LIMIT_3GB", ADDR_LIMIT_3GB },	      { "ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE },
	{ "FDPIC_FUNCPTRS", FDPIC_FUNCPTRS },	      { "MMAP_PAGE_ZERO", MMAP_PAGE_ZERO },
	{ "READ_IMPLIES_EXEC", READ_IMPLIES_EXEC },   { "SHORT_INODE", SHORT_INODE },
	{ "STICKY_TIMEOUTS", STICKY_TIMEOUTS },	      { "UNAME26", UNAME26 },
	{ "WHOLE_SECONDS", WHOLE_SECONDS },
};

static int apply_personality(const struct hull_oci_linux *lc, struct hull_error **reterr)
{
	unsigned long persona;
	size_t i = 0;

	if (!lc || !lc->personality.set)
		return 0;
	if (streq_ptr(lc->personality.domain, "LINUX"))
		persona = PER_LINUX;
	else if (streq_ptr(lc->personality.domain, "LINUX32"))
		persona = PER_LINUX32;
	else
		return hull_error_set(reterr, -EINVAL,
				      "linux.personality.domain: unknown domain '%s'",
				      lc->personality.domain ? lc->personality.domain : "");
	hull_strv_foreach (f, lc->personality.flags) {
		size_t k;

		for (k = 0; k < ELEMENTSOF(personality_flags); k++)
			if (streq(personality_flags[k].name, f))
				break;
		if (k == ELEMENTSOF(personality_flags))
			return hull_error_set(reterr, -EINVAL,
					      "linux.personality.flags[%zu]: unknown flag '%s'", i,
					      f);
		persona |= personality_flags[k].flag;
		i++;
	}
	if (personality(persona) < 0)
		return hull_error_errno(reterr, negative_errno(), "personality '%s'",
					lc->personality.domain);
	return 0;
}

static int apply_io_priority(const struct hull_oci_process *p, struct hull_error **reterr)
{
	int value;

	if (!p->io_priority.set)
		return 0;
	value = (p->io_priority.class << IOPRIO_CLASS_SHIFT) | p->io_priority.priority;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0)
		return hull_error_errno(reterr, negative_errno(), "ioprio_set class %d priority %d",
					p->io_priority.class, p->io_priority.priority);
	return 0;
}

static int apply_scheduler(const struct hull_oci_process *p, struct hull_error **reterr)
{
	const struct hull_oci_scheduler *s = &p->scheduler;
	struct sched_attr_v1 attr = {
		.size = sizeof(attr),
		.sched_policy = (uint32_t)s->policy,
		.sched_flags = s->flags,
		.sched_nice = s->nice,
		.sched_priority = (uint32_t)s->priority,
		.sched_runtime = s->runtime,
		.sched_deadline = s->deadline,
		.sched_period = s->period,
	};

	if (!s->set)
		return 0;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return hull_error_errno(reterr, negative_errno(), "sched_setattr policy %d",
					s->policy);
	return 0;
}

/* exec_path as the process will run it: its uid, gids and capabilities are in place by now. */
static int check_executable(const struct hull_oci_process *p, const char *exec_path,
			    struct hull_error **reterr)
{
	if (faccessat(AT_FDCWD, exec_path, X_OK, AT_EACCESS) < 0)
		return hull_error_errno(reterr, negative_errno(), "exec: '%s' as uid %u", exec_path,
					p->user.uid);
	return 0;
}

int hull_process_apply(const struct hull_oci_process *p, const struct hull_oci_linux *lc,
		       const struct hull_seccomp_program *seccomp, enum hull_process_flags flags,
		       const char *exec_path, struct hull_seccomp_listener *listener,
		       struct hull_error **reterr)
{
	int pdeathsig = 0, r;

	if (seccomp && hull_seccomp_program_has_notify(seccomp) && !listener)
		return hull_error_set(reterr, -EINVAL,
				      "seccomp: the filter has a notify action but nobody takes "
				      "its listener");

	if (flags & HULL_PROCESS_NEW_KEYRING) {
		r = join_session_keyring(reterr);
		if (r < 0)
			return r;
	}

	/* LSM labels are attributes of the next execve(): set them while /proc is still ours */
	r = hull_lsm_apply(p, reterr);
	if (r < 0)
		return r;

	/*
	 * oomScoreAdj is not set here: the process is non-dumpable by now, so in a
	 * user namespace its own /proc files belong to the host's root; the
	 * runtime writes /proc/PID/oom_score_adj from outside instead.
	 */

	r = hull_rlimits_apply(p, reterr);
	if (r < 0)
		return r;

	/* before seccomp: a profile may well forbid personality/ioprio_set/sched_setattr */
	r = apply_personality(lc, reterr);
	if (r < 0)
		return r;
	r = apply_io_priority(p, reterr);
	if (r < 0)
		return r;
	r = apply_scheduler(p, reterr);
	if (r < 0)
		return r;

	/*
	 * Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it
	 * now, before the capabilities and the uid go (runc does the same; the
	 * filter then also covers the steps below).
	 */
	if (seccomp && !p->no_new_privileges) {
		r = hull_seccomp_install(seccomp, listener, reterr);
		if (r < 0)
			return r;
	}

	/* dropping from the bounding set needs CAP_SETPCAP in the effective set */
	r = hull_caps_apply_bounding(&p->caps, reterr);
	if (r < 0)
		return r;

	/* a uid change clears the parent-death signal; remember it to restore it */
	if (prctl(PR_GET_PDEATHSIG, &pdeathsig, 0, 0, 0) < 0)
		return hull_error_errno(reterr, negative_errno(), "prctl PR_GET_PDEATHSIG");

	/* keep the permitted set across setresuid() to a non-zero uid */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_error_errno(reterr, negative_errno(), "prctl PR_SET_KEEPCAPS");
	r = hull_identity_apply(&p->user, reterr);
	if (r < 0)
		return r;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_error_errno(reterr, negative_errno(), "prctl PR_SET_KEEPCAPS");
	if (pdeathsig > 0 && prctl(PR_SET_PDEATHSIG, (unsigned long)pdeathsig, 0, 0, 0) < 0)
		return hull_error_errno(reterr, negative_errno(), "prctl PR_SET_PDEATHSIG");

	r = hull_umask_apply(&p->user, reterr);
	if (r < 0)
		return r;

	/* the uid switch emptied the effective set; capset restores what the config asks for */
	r = hull_caps_apply(&p->caps, reterr);
	if (r < 0)
		return r;

	/*
	 * As runc: a program the user may not execute is an error now, while the
	 * runtime still waits for a word (create fails, not start), and before a
	 * noNewPrivileges filter could forbid the check itself.
	 */
	if (exec_path) {
		r = check_executable(p, exec_path, reterr);
		if (r < 0)
			return r;
	}

	if (p->no_new_privileges) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return hull_error_errno(reterr, negative_errno(),
						"prctl PR_SET_NO_NEW_PRIVS");
		/* as late as possible: the filter then only sees the workload (and execve) */
		if (seccomp) {
			r = hull_seccomp_install(seccomp, listener, reterr);
			if (r < 0)
				return r;
		}
	}

	return 0;
}

/* ---- finding and executing the workload ------------------------------ */

/* The value of the last NAME= in env (execve keeps all; the last is what getenv-like merges keep).
 */
static const char *env_get(char *const *env, const char *name)
{
	const char *found = NULL;

	hull_strv_foreach (e, env) {
		const char *v = startswith(e, name);

		if (v && v[0] == '=')
			found = v + 1;
	}
	return found;
}

static bool is_executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return false;
	return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

int hull_process_find_exec(const struct hull_oci_process *p, char **ret_path,
			   struct hull_error **reterr)
{
	_cleanup_free_ char *copy = NULL;
	const char *name = p->args ? p->args[0] : NULL;
	const char *path;
	struct stat st;

	if (!name || name[0] == '\0')
		return hull_error_set(reterr, -EINVAL, "process.args: must not be empty");

	if (strchr(name, '/')) {
		char *r;

		if (stat(name, &st) < 0)
			return hull_error_errno(reterr, negative_errno(), "exec: '%s'", name);
		if (S_ISDIR(st.st_mode))
			return hull_error_set(reterr, -EACCES, "exec: '%s': is a directory", name);
		if (faccessat(AT_FDCWD, name, X_OK, AT_EACCESS) < 0)
			return hull_error_errno(reterr, negative_errno(), "exec: '%s'", name);
		r = strdup(name);
		if (!r)
			return hull_error_errno(reterr, -ENOMEM, "exec: '%s'", name);
		*ret_path = r;
		return 0;
	}

	path = env_get(p->env, "PATH");
	copy = strdup(path ? path : DEFAULT_PATH);
	if (!copy)
		return hull_error_errno(reterr, -ENOMEM, "exec: '%s'", name);

	/* strsep, not strtok: an empty PATH element means the current directory */
	for (char *rest = copy, *dir; (dir = strsep(&rest, ":"));) {
		_cleanup_free_ char *candidate = NULL;

		candidate = hull_strdup_printf("%s/%s", dir[0] ? dir : ".", name);
		if (!candidate)
			return hull_error_errno(reterr, -ENOMEM, "exec: '%s'", name);
		if (is_executable_file(candidate)) {
			hull_debug("exec: '%s' found as '%s'", name, candidate);
			*ret_path = TAKE_PTR(candidate);
			return 0;
		}
	}
	return hull_error_set(reterr, -ENOENT, "exec: '%s': executable file not found in $PATH",
			      name);
}

int hull_process_exec(const struct hull_oci_process *p, const char *path,
		      struct hull_error **reterr)
{
	_cleanup_strv_free_ char **env = NULL;
	char *const empty[] = { NULL };
	int r;

	if (!p->args || !p->args[0])
		return hull_error_set(reterr, -EINVAL, "process.args: must not be empty");

	env = hull_strv_copy(p->env ? p->env : empty);
	if (!env)
		return hull_error_errno(reterr, -ENOMEM, "exec '%s'", path);
	/* like runc: a process without $HOME gets the one /etc/passwd gives its uid */
	if (!env_get(env, "HOME")) {
		_cleanup_free_ char *home = NULL;
		char *entry;

		r = hull_identity_home(p->user.uid, &home);
		if (r < 0)
			return hull_error_errno(reterr, r, "exec '%s': look up home directory",
						path);
		entry = hull_strdup_printf("HOME=%s", home);
		if (!entry)
			return hull_error_errno(reterr, -ENOMEM, "exec '%s'", path);
		r = hull_strv_consume(&env, entry);
		if (r < 0) {
			free(entry);
			return hull_error_errno(reterr, r, "exec '%s'", path);
		}
	}

	execve(path, p->args, env);
	return hull_error_errno(reterr, negative_errno(), "exec '%s'", path);
}
