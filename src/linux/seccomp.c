/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp: compiled with libseccomp into classic BPF in the runtime,
 * installed with seccomp(2) by the container process.  Compiling early
 * means a bad profile fails before anything is cloned, and the container
 * process only needs one syscall (no allocation, no libseccomp state).
 */
#include "linux/seccomp.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/socket.h"
#include "util/str.h"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* Linux system calls have at most six arguments. */
#define SYSCALL_MAX_ARGS 6

struct hull_seccomp_program {
	struct sock_filter *insns;
	size_t n_insns;
	unsigned int flags; /* SECCOMP_FILTER_FLAG_* from the config */
	bool has_notify;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release)

void hull_seccomp_program_free(struct hull_seccomp_program *p)
{
	if (!p)
		return;
	free(p->insns);
	free(p);
}

bool hull_seccomp_program_has_notify(const struct hull_seccomp_program *p)
{
	return p && p->has_notify;
}

bool hull_seccomp_notify_supported(void)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;

	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* The libseccomp action; `path` names the errnoRet field for range errors. */
static int to_action(enum hull_seccomp_action a, const struct hull_ou64 *errno_ret,
		     const char *path, uint32_t *ret, struct hull_error **reterr)
{
	uint64_t e = errno_ret->set ? errno_ret->v : EPERM;

	if ((a == HULL_SECCOMP_ERRNO || a == HULL_SECCOMP_TRACE) && e > 0xffff)
		return hull_error_set(reterr, -EINVAL, "%s: %llu is out of range (0 to 65535)",
				      path, (unsigned long long)e);
	switch (a) {
	case HULL_SECCOMP_KILL:
	case HULL_SECCOMP_KILL_THREAD:
		*ret = SCMP_ACT_KILL_THREAD;
		return 0;
	case HULL_SECCOMP_KILL_PROCESS:
		*ret = SCMP_ACT_KILL_PROCESS;
		return 0;
	case HULL_SECCOMP_TRAP:
		*ret = SCMP_ACT_TRAP;
		return 0;
	case HULL_SECCOMP_ERRNO:
		*ret = SCMP_ACT_ERRNO((uint32_t)e);
		return 0;
	case HULL_SECCOMP_TRACE:
		*ret = SCMP_ACT_TRACE((uint32_t)e);
		return 0;
	case HULL_SECCOMP_ALLOW:
		*ret = SCMP_ACT_ALLOW;
		return 0;
	case HULL_SECCOMP_LOG:
		*ret = SCMP_ACT_LOG;
		return 0;
	case HULL_SECCOMP_NOTIFY:
		*ret = SCMP_ACT_NOTIFY;
		return 0;
	}
	return hull_error_set(reterr, -EINVAL, "%s: unknown action %d", path, (int)a);
}

static int to_op(enum hull_seccomp_op op, enum scmp_compare *ret)
{
	static const enum scmp_compare map[] = {
		[HULL_SCMP_NE] = SCMP_CMP_NE,
		[HULL_SCMP_LT] = SCMP_CMP_LT,
		[HULL_SCMP_LE] = SCMP_CMP_LE,
		[HULL_SCMP_EQ] = SCMP_CMP_EQ,
		[HULL_SCMP_GE] = SCMP_CMP_GE,
		[HULL_SCMP_GT] = SCMP_CMP_GT,
		[HULL_SCMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};

	if ((size_t)op >= ELEMENTSOF(map))
		return -EINVAL;
	*ret = map[op];
	return 0;
}

/* libseccomp's token for the spec's "SCMP_ARCH_X86_64" (its "x86_64"); 0 when unknown. */
static uint32_t arch_token(const char *name)
{
	const char *rest = startswith(name, "SCMP_ARCH_");
	char lower[32];
	size_t k;

	if (!rest || strlen(rest) >= sizeof(lower))
		return 0;
	for (k = 0; rest[k]; k++)
		lower[k] = (char)(rest[k] >= 'A' && rest[k] <= 'Z' ? rest[k] - 'A' + 'a' : rest[k]);
	lower[k] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static int add_architectures(scmp_filter_ctx ctx, char **arches, struct hull_error **reterr)
{
	size_t i = 0;

	hull_strv_foreach (a, arches) {
		uint32_t token = arch_token(a);
		int r;

		if (token == 0)
			return hull_error_set(
				reterr, -EINVAL,
				"linux.seccomp.architectures[%zu]: unknown architecture "
				"'%s'",
				i, a);
		r = seccomp_arch_add(ctx, token);
		if (r < 0 && r != -EEXIST) /* the native one is there already */
			return hull_error_errno(reterr, r,
						"linux.seccomp.architectures[%zu]: add '%s'", i, a);
		i++;
	}
	return 0;
}

/*
 * ---- ENOSYS for syscalls newer than the profile ----
 *
 * A profile names the syscalls its author knew.  A newer one (clone3 in a
 * profile from before 5.3, or any number past the table) would get the
 * default action, typically EPERM, and libc then takes the failure as final
 * instead of falling back to the older call.  As runc does, a stub in front
 * of libseccomp's program returns ENOSYS for any syscall number above the
 * largest one the profile names, per architecture (x32 numbers carry bit 30
 * on x86_64); below it, the profile decides.  Not done when the default
 * action lets syscalls through (allow, log, trace, notify: the tracer or
 * agent decides) or is already ENOSYS.
 */

#define X32_SYSCALL_BIT 0x40000000U
#define STUB_MAX_SECTIONS 8
#define STUB_MAX_INSNS 64

enum {
	LABEL_FILTER, /* the first instruction after the stub: libseccomp's program */
	LABEL_ENOSYS,
	LABEL_SECTION,				       /* + section index */
	LABEL_X32 = LABEL_SECTION + STUB_MAX_SECTIONS, /* + section index */
	_LABEL_MAX = LABEL_X32 + STUB_MAX_SECTIONS,
	NEXT = -1,
};

struct stub_section {
	uint32_t audit_arch;
	bool has_max, has_x32_max; /* x32_max only on x86_64 */
	uint32_t max, x32_max;
};

struct stub {
	struct sock_filter insns[STUB_MAX_INSNS];
	int jt[STUB_MAX_INSNS], jf[STUB_MAX_INSNS]; /* labels (NEXT: fall through) */
	int label_at[_LABEL_MAX];
	size_t n;
};

static void stub_emit(struct stub *st, uint16_t code, uint32_t k, int jt, int jf)
{
	assert(st->n < STUB_MAX_INSNS);
	st->insns[st->n] = (struct sock_filter){ .code = code, .k = k };
	st->jt[st->n] = jt;
	st->jf[st->n] = jf;
	st->n++;
}

static void stub_label(struct stub *st, int label)
{
	st->label_at[label] = (int)st->n;
}

/* Resolves labels into jump offsets (every target lies ahead and within 255). */
static void stub_link(struct stub *st)
{
	st->label_at[LABEL_FILTER] = (int)st->n;
	for (size_t i = 0; i < st->n; i++) {
		struct sock_filter *f = &st->insns[i];
		int next = (int)i + 1;

		if (BPF_CLASS(f->code) != BPF_JMP)
			continue;
		if (BPF_OP(f->code) == BPF_JA) {
			f->k = (uint32_t)(st->label_at[st->jt[i]] - next);
			continue;
		}
		f->jt = (uint8_t)(st->jt[i] == NEXT ? 0 : st->label_at[st->jt[i]] - next);
		f->jf = (uint8_t)(st->jf[i] == NEXT ? 0 : st->label_at[st->jf[i]] - next);
	}
}

/* The architectures the filter covers and the largest syscall the profile names on each. */
static size_t stub_sections(const struct hull_oci_seccomp *s, struct stub_section *sec)
{
	uint32_t tokens[STUB_MAX_SECTIONS * 2];
	size_t n_tokens = 0, n = 0;

	tokens[n_tokens++] = seccomp_arch_native();
	hull_strv_foreach (a, s->architectures) {
		uint32_t t = arch_token(a);
		bool seen = false;

		for (size_t k = 0; k < n_tokens; k++)
			seen = seen || tokens[k] == t;
		if (t && !seen && n_tokens < ELEMENTSOF(tokens))
			tokens[n_tokens++] = t;
	}
	for (size_t k = 0; k < n_tokens; k++) {
		bool x32 = tokens[k] == SCMP_ARCH_X32;
		uint32_t audit =
			x32 ? SCMP_ARCH_X86_64 : tokens[k]; /* the token is the audit arch */
		struct stub_section *c = NULL;
		int64_t max = -1;

		for (size_t i = 0; i < s->n_syscalls; i++)
			hull_strv_foreach (name, s->syscalls[i].names) {
				int nr = seccomp_syscall_resolve_name_arch(tokens[k], name);

				if (nr >= 0 && nr > max) /* negative: not a syscall of this arch */
					max = nr;
			}
		if (max < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (sec[i].audit_arch == audit)
				c = &sec[i];
		if (!c) {
			if (n == STUB_MAX_SECTIONS)
				continue;
			c = &sec[n++];
			*c = (struct stub_section){ .audit_arch = audit };
		}
		if (x32) {
			c->has_x32_max = true;
			c->x32_max = (uint32_t)max;
		} else {
			c->has_max = true;
			c->max = (uint32_t)max;
		}
	}
	return n;
}

/* The stub for profile `s` with default action `def`; st->n == 0 when none is needed. */
static void build_enosys_stub(const struct hull_oci_seccomp *s, uint32_t def, struct stub *st)
{
	struct stub_section sec[STUB_MAX_SECTIONS];
	size_t n;

	st->n = 0;
	if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG || def == SCMP_ACT_NOTIFY ||
	    (def & 0xffff0000U) == SCMP_ACT_TRACE(0) || def == SCMP_ACT_ERRNO(ENOSYS))
		return;
	n = stub_sections(s, sec);
	if (n == 0)
		return;

	stub_emit(st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), NEXT, NEXT);
	for (size_t i = 0; i < n; i++)
		stub_emit(st, BPF_JMP | BPF_JEQ | BPF_K, sec[i].audit_arch, LABEL_SECTION + (int)i,
			  NEXT);
	stub_emit(st, BPF_JMP | BPF_JA, 0, LABEL_FILTER, NEXT);
	for (size_t i = 0; i < n; i++) {
		stub_label(st, LABEL_SECTION + (int)i);
		stub_emit(st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), NEXT,
			  NEXT);
		if (sec[i].audit_arch == SCMP_ARCH_X86_64)
			stub_emit(st, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT,
				  LABEL_X32 + (int)i, NEXT);
		/* s390: unknown syscall numbers reach the filter as 0, the multiplexer */
		if (sec[i].audit_arch == SCMP_ARCH_S390 || sec[i].audit_arch == SCMP_ARCH_S390X)
			stub_emit(st, BPF_JMP | BPF_JEQ | BPF_K, 0, LABEL_ENOSYS, NEXT);
		if (sec[i].has_max)
			stub_emit(st, BPF_JMP | BPF_JGT | BPF_K, sec[i].max, LABEL_ENOSYS,
				  LABEL_FILTER);
		else
			stub_emit(st, BPF_JMP | BPF_JA, 0, LABEL_FILTER, NEXT);
		if (sec[i].audit_arch != SCMP_ARCH_X86_64)
			continue;
		/* x32 calls on x86_64; without SCMP_ARCH_X32 the filter refuses them itself */
		stub_label(st, LABEL_X32 + (int)i);
		if (sec[i].has_x32_max)
			stub_emit(st, BPF_JMP | BPF_JGT | BPF_K, sec[i].x32_max, LABEL_ENOSYS,
				  LABEL_FILTER);
		else
			stub_emit(st, BPF_JMP | BPF_JA, 0, LABEL_FILTER, NEXT);
	}
	stub_label(st, LABEL_ENOSYS);
	stub_emit(st, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, NEXT, NEXT);
	stub_link(st);
}

static int parse_flags(char **flags, unsigned int *ret, struct hull_error **reterr)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} table[] = {
		{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
		{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
		{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
		{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
		  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
	};
	unsigned int v = 0;
	size_t i = 0;

	hull_strv_foreach (f, flags) {
		size_t k;

		for (k = 0; k < ELEMENTSOF(table); k++)
			if (streq(table[k].name, f))
				break;
		if (k == ELEMENTSOF(table))
			return hull_error_set(reterr, -EINVAL,
					      "linux.seccomp.flags[%zu]: unknown flag '%s'", i, f);
		v |= table[k].flag;
		i++;
	}
	*ret = v;
	return 0;
}

/*
 * One syscall name of syscalls[i].  libseccomp refuses two comparisons of
 * the same argument in one rule, so such a list becomes one rule per
 * comparison (matching any of them), as runc does.
 */
static int add_rule(scmp_filter_ctx ctx, size_t i, const char *name, int nr, uint32_t action,
		    const struct hull_oci_seccomp_syscall *sc, struct hull_error **reterr)
{
	struct scmp_arg_cmp cmps[SYSCALL_MAX_ARGS * 4];
	unsigned int count[SYSCALL_MAX_ARGS] = {};
	bool split = false;
	int r;

	if (sc->n_args > ELEMENTSOF(cmps))
		return hull_error_set(reterr, -E2BIG, "linux.seccomp.syscalls[%zu].args: too many",
				      i);
	for (size_t j = 0; j < sc->n_args; j++) {
		const struct hull_oci_seccomp_arg *a = &sc->args[j];
		enum scmp_compare op;

		if (a->index >= SYSCALL_MAX_ARGS)
			return hull_error_set(
				reterr, -EINVAL,
				"linux.seccomp.syscalls[%zu].args[%zu].index: %u is not "
				"below %d",
				i, j, a->index, SYSCALL_MAX_ARGS);
		if (to_op(a->op, &op) < 0)
			return hull_error_set(reterr, -EINVAL,
					      "linux.seccomp.syscalls[%zu].args[%zu].op: unknown "
					      "operator %d",
					      i, j, (int)a->op);
		/* for MASKED_EQ, value is the mask and valueTwo the datum */
		cmps[j] = (struct scmp_arg_cmp){
			.arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two
		};
		if (++count[a->index] > 1)
			split = true;
	}

	if (!split)
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)sc->n_args,
					   sc->n_args ? cmps : NULL);
	else {
		r = 0;
		for (size_t j = 0; j < sc->n_args && r >= 0; j++)
			r = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[j]);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "linux.seccomp.syscalls[%zu]: add rule for '%s'",
					i, name);
	return 0;
}

/* libseccomp writes the BPF to an fd; a memfd brings it back without touching disk. */
static int export_bpf(scmp_filter_ctx ctx, const struct stub *stub, struct hull_seccomp_program *p,
		      struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, n;
	int r;

	fd = memfd_create("hull-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, negative_errno(), "seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return hull_error_errno(reterr, r, "seccomp: export bpf");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hull_error_errno(reterr, negative_errno(), "seccomp: export bpf");
	r = hull_read_fd(fd, &buf, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "seccomp: read bpf");
	if (len == 0 || len % sizeof(struct sock_filter) != 0)
		return hull_error_set(reterr, -EIO, "seccomp: export bpf: bad length %zu", len);
	n = stub->n + len / sizeof(struct sock_filter);
	if (n > BPF_MAXINSNS)
		return hull_error_set(reterr, -E2BIG,
				      "seccomp: the filter has %zu instructions, the kernel takes "
				      "at most %d",
				      n, BPF_MAXINSNS);
	p->insns = malloc(n * sizeof(struct sock_filter));
	if (!p->insns)
		return hull_error_errno(reterr, -ENOMEM, "seccomp: export bpf");
	memcpy(p->insns, stub->insns, stub->n * sizeof(struct sock_filter));
	memcpy(p->insns + stub->n, buf, len);
	p->n_insns = n;
	return 0;
}

int hull_seccomp_compile(const struct hull_oci_seccomp *s, struct hull_seccomp_program **ret,
			 struct hull_error **reterr)
{
	_cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
	_cleanup_(hull_seccomp_program_freep) struct hull_seccomp_program *p = NULL;
	struct stub stub;
	uint32_t def;
	int r;

	r = to_action(s->default_action, &s->default_errno_ret, "linux.seccomp.defaultErrnoRet",
		      &def, reterr);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return hull_error_errno(reterr, -ENOMEM, "seccomp");
	/*
	 * Unlike runc, every syscall may notify, the default too: the listener
	 * is taken with pidfd_getfd, nothing after the load is part of the
	 * hand-off (hull_seccomp_install).
	 */
	p->has_notify = def == SCMP_ACT_NOTIFY;
	r = parse_flags(s->flags, &p->flags, reterr);
	if (r < 0)
		return r;

	ctx = seccomp_init(def);
	if (!ctx)
		return hull_error_set(reterr, -EINVAL,
				      "seccomp: init filter: default action not supported here");
	/* hull sets no_new_privs itself, when the config asks for it */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "seccomp: clear the no_new_privs attribute");
	/* a binary tree beats a linear scan on long profiles (and libseccomp <= 2.5.4
	 * misbehaves with it on empty ones) */
	if (s->n_syscalls > 32 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		hull_debug("seccomp: binary tree optimization not available");

	r = add_architectures(ctx, s->architectures, reterr);
	if (r < 0)
		return r;

	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct hull_oci_seccomp_syscall *sc = &s->syscalls[i];
		_cleanup_free_ char *path =
			hull_strdup_printf("linux.seccomp.syscalls[%zu].errnoRet", i);
		uint32_t action;

		if (!path)
			return hull_error_errno(reterr, -ENOMEM, "seccomp");
		r = to_action(sc->action, &sc->errno_ret, path, &action, reterr);
		if (r < 0)
			return r;
		hull_strv_foreach (name, sc->names) {
			int nr;

			if (action == def)
				continue; /* redundant; libseccomp would refuse it */
			nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR) {
				hull_debug("seccomp: unknown syscall '%s' skipped", name);
				continue;
			}
			r = add_rule(ctx, i, name, nr, action, sc, reterr);
			if (r < 0)
				return r;
			if (action == SCMP_ACT_NOTIFY)
				p->has_notify = true;
		}
	}

	if (p->has_notify) {
		if (!s->listener_path)
			return hull_error_set(reterr, -EINVAL,
					      "linux.seccomp.listenerPath: required with "
					      "SCMP_ACT_NOTIFY");
		if (!hull_seccomp_notify_supported())
			return hull_error_set(reterr, -EOPNOTSUPP,
					      "seccomp: SCMP_ACT_NOTIFY is not supported by this "
					      "kernel");
	} else {
		/* only meaningful with a listener; the kernel refuses it otherwise */
		p->flags &= ~(unsigned int)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	}

	build_enosys_stub(s, def, &stub);
	r = export_bpf(ctx, &stub, p, reterr);
	if (r < 0)
		return r;
	hull_debug("seccomp: %zu instructions, flags %#x%s", p->n_insns, p->flags,
		   p->has_notify ? ", notify" : "");
	*ret = TAKE_PTR(p);
	return 0;
}

/*
 * The fd number the next fd of this process gets: the lowest free one.
 * eventfd needs no path and no other fd.
 */
static int lowest_free_fd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return fd;
}

int hull_seccomp_install(const struct hull_seccomp_program *p, struct hull_seccomp_listener *l,
			 struct hull_error **reterr)
{
	struct sock_fprog prog = { .len = (unsigned short)p->n_insns, .filter = p->insns };
	unsigned long flags = p->flags;
	int expected = -EBADF;
	long r;

	if (p->has_notify) {
		if (!l || !l->announce)
			return hull_error_set(reterr, -EINVAL,
					      "seccomp: the filter has a notify action but nobody "
					      "takes its listener");
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* TSYNC reports failures as a thread id, which collides with the listener fd */
		if (flags & SECCOMP_FILTER_FLAG_TSYNC)
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
		expected = lowest_free_fd();
		if (expected < 0)
			return hull_error_errno(reterr, expected, "seccomp: find a free fd");
		/* nothing opens or closes an fd from here to the load */
		r = l->announce(expected, l->userdata, reterr);
		if (r < 0)
			return (int)r;
	}
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0)
		return hull_error_errno(reterr, negative_errno(), "seccomp: install filter");
	if (!p->has_notify) {
		if (r > 0) /* TSYNC: thread r could not be synchronised */
			return hull_error_set(reterr, -EAGAIN,
					      "seccomp: install filter: thread %ld cannot be "
					      "synchronised",
					      r);
		if (l)
			l->fd = -EBADF;
		return 0;
	}
	/* the kernel gives the listener O_CLOEXEC */
	l->fd = (int)r;
	if (r != expected)
		return hull_error_set(reterr, -EBADFD,
				      "seccomp: the listener got fd %ld, not the announced %d", r,
				      expected);
	return l->loaded ? l->loaded(l->fd, l->userdata, reterr) : 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* What is left until the deadline, as a timeval for SO_SNDTIMEO (at least 1 ms). */
static struct timeval remaining_tv(uint64_t deadline)
{
	uint64_t now = now_usec(), left = deadline > now ? deadline - now : 0;

	if (left < 1000)
		left = 1000;
	return (struct timeval){ .tv_sec = (time_t)(left / 1000000),
				 .tv_usec = (suseconds_t)(left % 1000000) };
}

/*
 * Waits until the peer has taken everything we sent off its socket: the
 * bytes still queued (SIOCOUTQ) drop to 0.  A peer that closes with the
 * message unread sets ECONNRESET on our side before its queue is purged.
 */
static int wait_consumed(int sock, uint64_t deadline)
{
	unsigned backoff_ms = 1;

	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLRDHUP };
		int queued = 0, err = 0;
		socklen_t len = sizeof(err);
		uint64_t now;

		if (ioctl(sock, SIOCOUTQ, &queued) < 0)
			return -errno;
		if (queued == 0) {
			if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				return -errno;
			return err ? -err : 0;
		}
		now = now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* reading makes no event on our side: poll briefly, then look again */
		if (backoff_ms < 64)
			backoff_ms *= 2;
		if ((uint64_t)backoff_ms * 1000 > deadline - now)
			backoff_ms = (unsigned)((deadline - now + 999) / 1000);
		if (poll(&pfd, 1, (int)backoff_ms) < 0 && errno != EINTR)
			return -errno;
	}
}

int hull_seccomp_send_listener(const char *listener_path, int listener_fd,
			       const char *process_state_json, uint64_t timeout_usec,
			       struct hull_error **reterr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int sock = -EBADF;
	const char *field = "linux.seccomp.listenerPath";
	uint64_t deadline = now_usec() + timeout_usec;
	struct timeval tv;
	int r;

	if (!process_state_json || process_state_json[0] == '\0')
		return hull_error_set(reterr, -EINVAL, "seccomp: empty container process state");
	if (!listener_path || listener_path[0] == '\0')
		return hull_error_set(reterr, -EINVAL, "%s: required with SCMP_ACT_NOTIFY", field);
	if (strlen(listener_path) >= sizeof(sa.sun_path))
		return hull_error_set(reterr, -ENAMETOOLONG, "%s '%s': longer than %zu bytes",
				      field, listener_path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, listener_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return hull_error_errno(reterr, -errno, "%s '%s': socket", field, listener_path);
	/* bounds a connect to a full backlog and a send to a full socket (EAGAIN) */
	tv = remaining_tv(deadline);
	if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return hull_error_errno(reterr, -errno, "%s '%s': set send timeout", field,
					listener_path);
	if (RETRY_EINTR(connect(sock, (struct sockaddr *)&sa, sizeof(sa))) < 0) {
		r = -errno;
		if (r == -EAGAIN || r == -EINPROGRESS)
			return hull_error_set(reterr, -ETIMEDOUT,
					      "%s '%s': connect: the agent accepted no connection "
					      "within %s",
					      field, listener_path,
					      hull_seccomp_timeout_str(timeout_usec).s);
		return hull_error_errno(reterr, r, "%s '%s': connect", field, listener_path);
	}
	tv = remaining_tv(deadline);
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = hull_socket_send_fd(sock, listener_fd, process_state_json, strlen(process_state_json));
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	if (r == 0)
		r = wait_consumed(sock, deadline);
	/* not -EPIPE: callers read that as "the container process exited" */
	if (r == -ECONNRESET || r == -EPIPE)
		return hull_error_set(reterr, -ECONNRESET,
				      "%s '%s': the agent closed the connection without receiving "
				      "the listener",
				      field, listener_path);
	if (r == -ETIMEDOUT)
		return hull_error_set(
			reterr, r, "%s '%s': the agent did not receive the listener within %s",
			field, listener_path, hull_seccomp_timeout_str(timeout_usec).s);
	if (r < 0)
		return hull_error_errno(reterr, r, "%s '%s': send the listener", field,
					listener_path);
	return 0;
}

int hull_seccomp_parse_timeout(const char *s, uint64_t *ret_usec)
{
	uint64_t v = 0, unit;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > HULL_SECCOMP_TIMEOUT_MAX_USEC) /* far out of range; stop before overflow */
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (streq(p, "ms"))
		unit = 1000;
	else if (streq(p, "s") || *p == '\0')
		unit = 1000000;
	else if (streq(p, "m"))
		unit = 60 * 1000000ULL;
	else
		return -EINVAL;
	if (v == 0 || v > HULL_SECCOMP_TIMEOUT_MAX_USEC / unit)
		return -ERANGE;
	*ret_usec = v * unit;
	return 0;
}

int hull_seccomp_listener_timeout(char *const *annotations, uint64_t *ret_usec,
				  struct hull_error **reterr)
{
	uint64_t v = HULL_SECCOMP_TIMEOUT_DEFAULT_USEC;

	for (size_t i = 0; annotations && annotations[i] && annotations[i + 1]; i += 2) {
		int r;

		if (!streq(annotations[i], HULL_SECCOMP_TIMEOUT_ANNOTATION))
			continue;
		r = hull_seccomp_parse_timeout(annotations[i + 1], &v);
		if (r < 0)
			return hull_error_set(reterr, -EINVAL,
					      "annotations[\"%s\"]: '%s' is not a timeout from "
					      "1ms to 1h (like \"500ms\", \"10s\", \"2m\")",
					      HULL_SECCOMP_TIMEOUT_ANNOTATION, annotations[i + 1]);
	}
	*ret_usec = v;
	return 0;
}

struct hull_seccomp_timeout_text hull_seccomp_timeout_str(uint64_t usec)
{
	struct hull_seccomp_timeout_text t;

	if (usec % 1000000 == 0)
		snprintf(t.s, sizeof(t.s), "%llus", (unsigned long long)(usec / 1000000));
	else
		snprintf(t.s, sizeof(t.s), "%llums", (unsigned long long)(usec / 1000));
	return t;
}
