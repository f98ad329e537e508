/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A micro-VM for one container (microvm.h): the VMM in a child process (the
 * library's hull_vmm_run(), no exec), the agent reached over vsock.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "instance/microvm.h"
#include "util/file.h"
#include "util/str.h"
#include "vmm/vmm.h"

#define DEFAULT_MEMORY_MIB 256
#define DEFAULT_BOOT_TIMEOUT_S 300
#define VM_CID 3

int hull_microvm_parse_memory(const char *s, uint64_t *ret_mib, struct hull_error **reterr)
{
	_cleanup_free_ char *num = strdup(s);
	uint64_t v, mult = 1;
	size_t n;

	if (!num)
		return -ENOMEM;
	n = strlen(num);
	if (n > 0 && strchr("mMgG", num[n - 1])) {
		mult = tolower((unsigned char)num[n - 1]) == 'g' ? 1024 : 1;
		num[--n] = 0;
	}
	if (hull_parse_u64(num, &v) < 0 || v == 0 || v > (UINT64_C(1) << 30) / mult)
		return hull_error_set(reterr, -EINVAL,
				      "--memory '%s': expected the guest's memory in MiB (256, "
				      "512m, 2g)",
				      s);
	*ret_mib = v * mult;
	return 0;
}

int hull_microvm_parse_cpus(const char *s, unsigned *ret, struct hull_error **reterr)
{
	uint32_t v;

	if (hull_parse_u32(s, &v) < 0 || v < 1 || v > 64)
		return hull_error_set(reterr, -EINVAL,
				      "--cpus '%s': expected the guest's vCPU count, 1 to 64", s);
	*ret = v;
	return 0;
}

/* ---- the VMM child ------------------------------------------------------------------------- */

/* In the child: runs the VM, writes an error line to err_fd, never returns. */
static _noreturn_ void vmm_child(struct hull_vmm_config *c, int err_fd)
{
	_cleanup_error_ struct hull_error *err = NULL;
	enum hull_vmm_end end;
	sigset_t stop;
	int null, sig_fd, r;

	/* the VM goes when whoever started it goes */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sig_fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		dprintf(err_fd, "signalfd: %s", strerror(errno));
		_exit(1);
	}
	/* the caller's fds (its state directory, its locks) are none of the VMM's business */
	(void)hull_close_fds_from(3, (int[]){ err_fd, c->console_out, sig_fd }, 3);
	if (getppid() == 1)
		_exit(1);
	c->stop_fd = sig_fd;
	r = hull_vmm_run(c, &end, &err);
	if (r < 0) {
		dprintf(err_fd, "%s", err && err->msg ? err->msg : strerror(-r));
		_exit(1);
	}
	_exit(end == HULL_VMM_END_STOPPED ? 2 : 0);
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Reaps the VMM if it has ended; true when it has. */
static bool vmm_reaped(struct hull_microvm *m, int timeout_ms)
{
	if (m->vmm_pid <= 0)
		return true;
	if (timeout_ms > 0) {
		_cleanup_close_ int pfd = pidfd_open_(m->vmm_pid);

		if (pfd >= 0)
			(void)poll(&(struct pollfd){ .fd = pfd, .events = POLLIN }, 1, timeout_ms);
	}
	if (waitpid(m->vmm_pid, NULL, WNOHANG) == m->vmm_pid) {
		m->vmm_pid = 0;
		return true;
	}
	return false;
}

int hull_microvm_wait(struct hull_microvm *m, unsigned timeout_s)
{
	if (vmm_reaped(m, (int)timeout_s * 1000))
		return 0;
	(void)kill(m->vmm_pid, SIGTERM);
	if (!vmm_reaped(m, 5000)) {
		(void)kill(m->vmm_pid, SIGKILL);
		(void)RETRY_EINTR(waitpid(m->vmm_pid, NULL, 0));
		m->vmm_pid = 0;
	}
	return -ETIMEDOUT;
}

void hull_microvm_free(struct hull_microvm *m)
{
	if (!m)
		return;
	hull_agent_client_free(m->client);
	if (m->vmm_pid > 0)
		(void)hull_microvm_wait(m, 0);
	if (m->vsock_uds)
		(void)unlink(m->vsock_uds);
	safe_close(m->err_fd);
	free(m->vsock_uds);
	free(m->console);
	free(m);
}

/* The VMM's error line, once it has ended. */
static int vmm_error(struct hull_microvm *m, struct hull_error **reterr)
{
	char line[1024];
	ssize_t n = read(m->err_fd, line, sizeof(line) - 1);

	if (n > 0) {
		line[n] = 0;
		return hull_error_set(reterr, -EIO, "vm: %s", line);
	}
	return hull_error_set(reterr, -EIO,
			      "vm: the guest ended before its agent answered (console: '%s')",
			      m->console);
}

static unsigned boot_timeout(void)
{
	const char *s = getenv("HULL_VM_BOOT_TIMEOUT");
	uint32_t v;

	if (s && hull_parse_u32(s, &v) >= 0 && v > 0)
		return v;
	return DEFAULT_BOOT_TIMEOUT_S;
}

/* Connects to the agent, retrying while the guest boots; bounded by time and the VMM's life. */
static int connect_agent(struct hull_microvm *m, struct hull_error **reterr)
{
	time_t end = time(NULL) + boot_timeout();

	for (;;) {
		_cleanup_error_ struct hull_error *e = NULL;
		int r = hull_agent_client_connect_vsock(m->vsock_uds, HULL_MICROVM_AGENT_PORT,
							&m->client, &e);

		if (r >= 0)
			return 0;
		if (vmm_reaped(m, 0))
			return vmm_error(m, reterr);
		if (r != -ENOENT && r != -ECONNREFUSED && r != -ECONNRESET && r != -ETIMEDOUT)
			return hull_error_set(reterr, r, "vm: %s", e ? e->msg : strerror(-r));
		if (time(NULL) >= end)
			return hull_error_set(reterr, -ETIMEDOUT,
					      "vm: the agent did not answer within %u s "
					      "(console: '%s')",
					      boot_timeout(), m->console);
		usleep(50 * 1000);
	}
}

int hull_microvm_connect(const char *vsock_uds, struct hull_agent_client **ret,
			 struct hull_error **reterr)
{
	return hull_agent_client_connect_vsock(vsock_uds, HULL_MICROVM_AGENT_PORT, ret, reterr);
}

int hull_microvm_boot(const struct hull_microvm_opts *o, struct hull_microvm **ret,
		      struct hull_error **reterr)
{
	_cleanup_(hull_microvm_freep) struct hull_microvm *m = NULL;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *image = NULL;
	_cleanup_close_ int console_fd = -EBADF, err_w = -EBADF;
	struct hull_vmm_disk disk = { .readonly = true };
	int pipefd[2], r;
	pid_t pid;

	r = hull_microvm_kernel(&kernel, reterr);
	if (r < 0)
		return r;
	r = hull_microvm_initramfs(o->cache_dir, &initrd, reterr);
	if (r < 0)
		return r;
	r = hull_microvm_rootfs_image(o->cache_dir, o->rootfs, o->rootfs_key, &image, reterr);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->err_fd = -EBADF;
	m->vsock_uds = hull_strdup_printf("%s/vsock", o->run_dir);
	m->console = hull_strdup_printf("%s/console.log", o->run_dir);
	if (!m->vsock_uds || !m->console)
		return -ENOMEM;
	if (strlen(m->vsock_uds) >= 100)
		return hull_error_set(reterr, -ENAMETOOLONG, "vm: socket path '%s' is too long",
				      m->vsock_uds);
	(void)unlink(m->vsock_uds);
	console_fd = open(m->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (console_fd < 0)
		return hull_error_errno(reterr, -errno, "vm: create '%s'", m->console);
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	m->err_fd = pipefd[0];
	err_w = pipefd[1];
	disk.path = image;
	pid = fork();
	if (pid < 0)
		return hull_error_errno(reterr, -errno, "vm: fork");
	if (pid == 0) {
		struct hull_vmm_config c = {
			.kernel = kernel,
			.initrd = initrd,
			.cmdline = HULL_VMM_DEFAULT_CMDLINE " quiet",
			.cpus = o->cpus ? o->cpus : 1,
			.memory_mib = o->memory_mib ? o->memory_mib : DEFAULT_MEMORY_MIB,
			.disks = &disk,
			.n_disks = 1,
			.rng = true,
			.vsock_cid = VM_CID,
			.vsock_uds = m->vsock_uds,
			.console_out = console_fd,
			.console_in = -1,
			.stop_fd = -1,
			.seccomp = true,
		};

		vmm_child(&c, err_w);
	}
	m->vmm_pid = pid;
	err_w = safe_close(err_w);
	r = connect_agent(m, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

int hull_microvm_run(const struct hull_microvm_opts *o, const char *id, struct json_object *config,
		     int *ret_exit, struct hull_error **reterr)
{
	_cleanup_(hull_microvm_freep) struct hull_microvm *m = NULL;
	struct hull_agent_stream st = {
		.id = 1,
		.in_fd = STDIN_FILENO,
		.out_fd = STDOUT_FILENO,
		.err_fd = STDERR_FILENO,
	};
	int r;

	r = hull_microvm_boot(o, &m, reterr);
	if (r < 0)
		return r;
	r = hull_agent_client_run(m->client, id, config, NULL, &st, reterr);
	if (r >= 0)
		r = hull_agent_client_wait(m->client, &st, 1, reterr);
	if (r < 0) {
		hull_agent_stream_done(&st);
		return hull_error_wrap(reterr, r, "vm");
	}
	if (st.error) {
		r = hull_error_set(reterr, -EIO, "vm: %s", st.error);
		hull_agent_stream_done(&st);
		return r;
	}
	/* the agent powers the VM off once it has sent EXIT: the session is over */
	hull_agent_client_free(TAKE_PTR(m->client));
	(void)hull_microvm_wait(m, 30);
	*ret_exit = st.code;
	hull_agent_stream_done(&st);
	return 0;
}
