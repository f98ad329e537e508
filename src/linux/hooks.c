/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI hooks.  Each hook is forked and executed with the state JSON on a
 * pipe as its stdin and stdout+stderr captured (up to 64 KiB, quoted in the
 * error when the hook fails, as runc does).  A pidfd tells when it exits; the
 * poll on it carries the timeout, after which the hook's process group is
 * killed.  Every hook is reaped before hull_hooks_run() returns.
 */
#include "linux/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define OUTPUT_MAX (64 * 1024)

struct hook_run {
	const char *kind;
	const struct hull_oci_hook *hook;
	size_t index;
	pid_t pid;
	int pidfd;
	char *out;
	size_t out_len;
};

static void pipe_closep(int (*p)[2])
{
	(*p)[0] = safe_close((*p)[0]);
	(*p)[1] = safe_close((*p)[1]);
}

/* ---- the child, between fork and execve: async-signal-safe calls only --- */

/* Moves `fd` onto `target` without CLOEXEC, even when it already is `target`. */
static int move_to(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target);
}

_noreturn_ static void child(const struct hull_oci_hook *h, int in_fd, int out_fd, int err_fd)
{
	char *const empty[] = { NULL };
	char *argv0[] = { h->path, NULL };
	char *const *argv = h->args && h->args[0] ? h->args : argv0;
	char *const *envp = h->env ? h->env : empty;
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int e;

	/* a pristine signal state: the runtime may block or ignore signals the hook needs */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* its own process group, so a timeout kills what it started too */
	setpgid(0, 0);

	/* lift the three above stdio first so that moving one cannot clobber another */
	in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	if (in_fd < 0 || out_fd < 0 || move_to(in_fd, 0) < 0 || move_to(out_fd, 1) < 0 ||
	    move_to(out_fd, 2) < 0)
		goto fail;

	/* nothing of the runtime's leaks into the hook; err_fd (CLOEXEC) stays until execve */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		struct rlimit rl;
		int max = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)INT_MAX)
			max = (int)rl.rlim_cur;
		for (int fd = 3; fd < max; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	execve(h->path, argv, envp);
fail:
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(127);
}

/* ---- the parent ------------------------------------------------------- */

/*
 * A signal's name as Go prints it (runc reports a hook killed by a signal
 * as "signal: bad system call"); glibc's strsignal() words differ.
 */
static const char *go_signal_name(int sig, char *buf, size_t size)
{
	static const char *const names[] = {
		[SIGHUP] = "hangup",
		[SIGINT] = "interrupt",
		[SIGQUIT] = "quit",
		[SIGILL] = "illegal instruction",
		[SIGTRAP] = "trace/breakpoint trap",
		[SIGABRT] = "aborted",
		[SIGBUS] = "bus error",
		[SIGFPE] = "floating point exception",
		[SIGKILL] = "killed",
		[SIGUSR1] = "user defined signal 1",
		[SIGSEGV] = "segmentation fault",
		[SIGUSR2] = "user defined signal 2",
		[SIGPIPE] = "broken pipe",
		[SIGALRM] = "alarm clock",
		[SIGTERM] = "terminated",
		[SIGSTKFLT] = "stack fault",
		[SIGCHLD] = "child exited",
		[SIGCONT] = "continued",
		[SIGSTOP] = "stopped (signal)",
		[SIGTSTP] = "stopped",
		[SIGTTIN] = "stopped (tty input)",
		[SIGTTOU] = "stopped (tty output)",
		[SIGURG] = "urgent I/O condition",
		[SIGXCPU] = "CPU time limit exceeded",
		[SIGXFSZ] = "file size limit exceeded",
		[SIGVTALRM] = "virtual timer expired",
		[SIGPROF] = "profiling timer expired",
		[SIGWINCH] = "window changed",
		[SIGIO] = "I/O possible",
		[SIGPWR] = "power failure",
		[SIGSYS] = "bad system call",
	};

	if (sig > 0 && (size_t)sig < ELEMENTSOF(names) && names[sig])
		return names[sig];
	snprintf(buf, size, "signal %d", sig);
	return buf;
}

static void kill_and_reap(struct hook_run *run)
{
	siginfo_t si;

	if (run->pid <= 0)
		return;
	if (run->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, run->pidfd, SIGKILL, NULL, 0);
	else
		kill(run->pid, SIGKILL);
	kill(-run->pid, SIGKILL); /* whatever it started in its group */
	RETRY_EINTR(waitid(P_PID, (id_t)run->pid, &si, WEXITED));
	run->pid = 0;
}

static void append_output(struct hook_run *run, const char *buf, size_t n)
{
	size_t room = OUTPUT_MAX - run->out_len;

	if (n > room)
		n = room; /* keep reading, so the hook never blocks on a full pipe */
	memcpy(run->out + run->out_len, buf, n);
	run->out_len += n;
}

/* Reads what the pipe has now; returns 0 at EOF, 1 when more may come. */
static int drain(struct hook_run *run, int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -errno;
		}
		if (n == 0)
			return 0;
		append_output(run, buf, (size_t)n);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The failure message, with the trimmed output after ", output: " when there is some. */
static int fail(struct hook_run *run, int code, struct hull_error **reterr, const char *what)
{
	char *s = run->out, *e = run->out + run->out_len;

	while (s < e && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	if (s < e)
		return hull_error_set(reterr, code, "%s hook '%s' (#%zu): %s, output: %s",
				      run->kind, run->hook->path, run->index, what, s);
	return hull_error_set(reterr, code, "%s hook '%s' (#%zu): %s", run->kind, run->hook->path,
			      run->index, what);
}

/*
 * Feeds stdin, collects stdout/stderr and waits for the exit, all in one
 * poll loop so that neither a hook that does not read nor one that writes a
 * lot can block the runtime.  Returns 1 on timeout.
 */
static int communicate(struct hook_run *run, int stdin_fd, int out_fd, const char *state,
		       int64_t deadline)
{
	_cleanup_close_ int in_fd = stdin_fd;
	size_t len = strlen(state), done = 0;
	int r;

	if (len == 0)
		in_fd = safe_close(in_fd);
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = run->pidfd, .events = POLLIN },
			{ .fd = out_fd, .events = POLLIN },
			{ .fd = in_fd, .events = POLLOUT },
		};
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return 1;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		r = poll(pfd, ELEMENTSOF(pfd), timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			continue; /* the deadline check above decides */

		if (in_fd >= 0 && pfd[2].revents) {
			ssize_t n = write(in_fd, state + done, len - done);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* EPIPE: the hook does not read its stdin, which is its right */
				hull_debug("%s hook '%s': stdin: %m", run->kind, run->hook->path);
				in_fd = safe_close(in_fd);
			} else if (n > 0) {
				done += (size_t)n;
				if (done == len)
					in_fd = safe_close(in_fd); /* EOF for the hook */
			}
		}
		if (out_fd >= 0 && pfd[1].revents) {
			r = drain(run, out_fd);
			if (r < 0)
				return r;
			if (r == 0)
				out_fd = -EBADF; /* closed by the caller */
		}
		if (pfd[0].revents) {
			/* exited: take what is buffered, but do not wait for children holding the
			 * pipe */
			if (out_fd >= 0) {
				r = drain(run, out_fd);
				if (r < 0)
					return r;
			}
			return 0;
		}
	}
}

static int run_one(const struct hull_oci_hook *h, size_t index, const char *kind, const char *state,
		   struct hull_error **reterr)
{
	_cleanup_(pipe_closep) int in[2] = { -EBADF, -EBADF };
	_cleanup_(pipe_closep) int out[2] = { -EBADF, -EBADF };
	_cleanup_(pipe_closep) int err[2] = { -EBADF, -EBADF };
	_cleanup_close_ int pidfd = -EBADF;
	_cleanup_free_ char *output = NULL;
	struct hook_run run = { .kind = kind, .hook = h, .index = index, .pidfd = -EBADF };
	int64_t deadline = -1;
	siginfo_t si = {};
	char what[96], name[32];
	ssize_t n;
	int e = 0, r;

	output = malloc(OUTPUT_MAX + 1);
	if (!output)
		return hull_error_errno(reterr, -ENOMEM, "%s hook '%s' (#%zu)", kind, h->path,
					index);
	run.out = output;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, negative_errno(), "%s hook '%s' (#%zu): pipe", kind,
					h->path, index);

	run.pid = fork();
	if (run.pid < 0)
		return hull_error_errno(reterr, negative_errno(), "%s hook '%s' (#%zu): fork", kind,
					h->path, index);
	if (run.pid == 0)
		child(h, in[0], out[1], err[1]);

	/* both sides call setpgid so neither order of events leaves a window */
	setpgid(run.pid, run.pid);
	in[0] = safe_close(in[0]);
	out[1] = safe_close(out[1]);
	err[1] = safe_close(err[1]);

	/* our unreaped child: its pid cannot be reused, so this is the right process */
	pidfd = (int)syscall(SYS_pidfd_open, run.pid, 0);
	if (pidfd < 0) {
		r = negative_errno();
		kill_and_reap(&run);
		return hull_error_errno(reterr, r, "%s hook '%s' (#%zu): pidfd_open", kind, h->path,
					index);
	}
	run.pidfd = pidfd;

	/* EOF here means execve() succeeded (the pipe is CLOEXEC) */
	n = RETRY_EINTR(read(err[0], &e, sizeof(e)));
	if (n == sizeof(e)) {
		kill_and_reap(&run);
		return hull_error_errno(reterr, -e, "%s hook '%s' (#%zu): exec", kind, h->path,
					index);
	}

	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(out[0], F_SETFL, O_NONBLOCK) < 0) {
		r = negative_errno();
		kill_and_reap(&run);
		return hull_error_errno(reterr, r, "%s hook '%s' (#%zu): fcntl", kind, h->path,
					index);
	}
	if (h->timeout.set && h->timeout.v > 0)
		deadline = now_ms() +
			   (h->timeout.v > INT64_MAX / 2000 ? INT64_MAX / 2 : h->timeout.v * 1000);

	r = communicate(&run, TAKE_FD(in[1]), out[0], state ? state : "", deadline);
	if (r != 0) {
		kill_and_reap(&run);
		if (r > 0) {
			snprintf(what, sizeof(what), "timed out after %" PRId64 " s", h->timeout.v);
			return fail(&run, -ETIMEDOUT, reterr, what);
		}
		return hull_error_errno(reterr, r, "%s hook '%s' (#%zu)", kind, h->path, index);
	}

	if (RETRY_EINTR(waitid(P_PID, (id_t)run.pid, &si, WEXITED)) < 0) {
		r = negative_errno();
		kill_and_reap(&run);
		return hull_error_errno(reterr, r, "%s hook '%s' (#%zu): waitid", kind, h->path,
					index);
	}
	run.pid = 0;
	if (si.si_code == CLD_EXITED && si.si_status == 0) {
		hull_debug("%s hook '%s' (#%zu) done", kind, h->path, index);
		return 0;
	}
	if (si.si_code == CLD_EXITED)
		snprintf(what, sizeof(what), "error running hook: exit status %d", si.si_status);
	else
		snprintf(what, sizeof(what), "error running hook: signal: %s%s",
			 go_signal_name(si.si_status, name, sizeof(name)),
			 si.si_code == CLD_DUMPED ? " (core dumped)" : "");
	return fail(&run, -EIO, reterr, what);
}

int hull_hooks_run(const struct hull_oci_hook *hooks, size_t n, const char *kind,
		   const char *state_json, struct hull_error **reterr)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int r = 0;

	if (n == 0)
		return 0;

	/*
	 * A hook that exits without reading its stdin turns our write into
	 * SIGPIPE; block it for the duration (EPIPE is handled) and swallow
	 * the one we caused.
	 */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	sigprocmask(SIG_BLOCK, &pipe_set, &old);

	for (size_t i = 0; i < n && r >= 0; i++)
		r = run_one(&hooks[i], i, kind, state_json, reterr);

	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE) == 1) {
		struct timespec zero = { 0, 0 };

		RETRY_EINTR(sigtimedwait(&pipe_set, NULL, &zero));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
