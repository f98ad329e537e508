/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's seccomp filters, one per thread role (as Firecracker does),
 * installed by each thread on itself once set-up is done: from then on a
 * thread can only run the guest, move bytes through fds it already holds,
 * and manage its own memory and threads.  No execve, no open, no new
 * sockets of any family but AF_UNIX (vsock bridging), no ptrace, mount,
 * bpf or namespaces.  A denied call fails with EPERM rather than killing
 * the process, so a guest that drives the VMM into a path nobody foresaw
 * gets an error, and the VM still shuts down cleanly.
 */
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>

#include "vmm/vmm-internal.h"

static const int common_calls[] = {
	SCMP_SYS(read),		  SCMP_SYS(write),
	SCMP_SYS(readv),	  SCMP_SYS(writev),
	SCMP_SYS(pread64),	  SCMP_SYS(pwrite64),
	SCMP_SYS(preadv),	  SCMP_SYS(pwritev),
	SCMP_SYS(lseek),	  SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),	  SCMP_SYS(close),
	SCMP_SYS(fstat),	  SCMP_SYS(newfstatat),
	SCMP_SYS(poll),		  SCMP_SYS(ppoll),
	SCMP_SYS(epoll_wait),	  SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),	  SCMP_SYS(eventfd2),
	SCMP_SYS(sendmsg),	  SCMP_SYS(recvmsg),
	SCMP_SYS(sendto),	  SCMP_SYS(recvfrom),
	SCMP_SYS(connect),	  SCMP_SYS(accept4),
	SCMP_SYS(shutdown),	  SCMP_SYS(getsockopt),
	SCMP_SYS(fcntl),	  SCMP_SYS(futex),
	SCMP_SYS(mmap),		  SCMP_SYS(munmap),
	SCMP_SYS(mprotect),	  SCMP_SYS(madvise),
	SCMP_SYS(mremap),	  SCMP_SYS(brk),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack),	  SCMP_SYS(getpid),
	SCMP_SYS(gettid),	  SCMP_SYS(tgkill),
	SCMP_SYS(clock_gettime),  SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),	  SCMP_SYS(sched_yield),
	SCMP_SYS(getrandom),	  SCMP_SYS(restart_syscall),
	SCMP_SYS(exit),		  SCMP_SYS(exit_group),
	SCMP_SYS(rseq),		  SCMP_SYS(set_robust_list),
	SCMP_SYS(unlink), /* a vsock listener's socket file, at teardown */
	SCMP_SYS(unlinkat),
};

static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,
	KVM_IRQ_LINE,
	KVM_IRQ_LINE_STATUS,
};

static const unsigned long main_ioctls[] = {
	KVM_IRQ_LINE,
	KVM_IRQ_LINE_STATUS,
};

int hull_vmm_seccomp_apply(enum hull_vmm_thread_role role)
{
	const unsigned long *ioctls = role == HULL_VMM_THREAD_VCPU ? vcpu_ioctls : main_ioctls;
	size_t n_ioctls =
		role == HULL_VMM_THREAD_VCPU ? ELEMENTSOF(vcpu_ioctls) : ELEMENTSOF(main_ioctls);
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(common_calls); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, common_calls[i], 0);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < n_ioctls; i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
		if (r < 0)
			goto out;
	}
	/* new sockets for the vsock bridge only: AF_UNIX */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (r < 0)
		goto out;
	/*
	 * threads only (glibc's pthread_create), never a new process: clone3's
	 * flags sit in memory a filter cannot read, so it reports ENOSYS and
	 * glibc falls back to clone, whose flags it can
	 */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		goto out;
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (r < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}
