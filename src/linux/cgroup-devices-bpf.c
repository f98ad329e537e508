/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 device controller: an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE, assembled here by hand (no libbpf), as crun
 * and runc do.
 *
 * The kernel calls it with struct bpf_cgroup_dev_ctx:
 *   u32 access_type  (low 16 bits: BPF_DEVCG_DEV_*, high 16: BPF_DEVCG_ACC_*)
 *   u32 major, minor
 * and lets the access through when it returns 1.
 *
 * OCI rules are applied in order, a later rule overriding an earlier one,
 * starting from deny-all (as hull does on v1 by writing "a" to
 * devices.deny).  The program therefore tests the rules last to first and
 * returns at the first that matches.  An allow rule matches when it grants
 * every access asked for; a deny rule when it refuses any of them (the v1
 * controller behaves the same).  Rules of type 'a' match every device.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/log.h"
#include "util/str.h"

/* The name hull's programs carry, so that an update replaces only them. */
#define PROG_NAME "hull_devices"

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV32_IMM(dst, imm) INSN(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) INSN(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5 };

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : (int)r;
}

static int32_t access_bits(const char *access)
{
	int32_t a = 0;

	if (!*access)
		return ACC_ALL;
	for (const char *p = access; *p; p++)
		a |= *p == 'r'	 ? BPF_DEVCG_ACC_READ
		     : *p == 'w' ? BPF_DEVCG_ACC_WRITE
		     : *p == 'm' ? BPF_DEVCG_ACC_MKNOD
				 : 0;
	return a;
}

/*
 * Appends the block for rule `d` to insns at *n (room for 8 more).  Every
 * "goto next" jumps just past the block.
 */
static void emit_rule(const struct hull_oci_device_rule *d, struct bpf_insn *insns, size_t *n)
{
	struct bpf_insn b[8];
	size_t len = 0;
	int32_t acc = access_bits(d->access);

	if (d->type != 'a') {
		/* the jump offsets are patched below once the block length is known */
		b[len++] = JMP_IMM(BPF_JNE, R2,
				   d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
		if (acc != ACC_ALL) {
			b[len++] = MOV32_REG(R1, R3);
			if (d->allow) {
				/* allow: nothing asked for beyond acc */
				b[len++] = ALU32_IMM(BPF_AND, R1, ~acc & ACC_ALL);
				b[len++] = JMP_IMM(BPF_JNE, R1, 0, 0);
			} else {
				/* deny: something asked for within acc */
				b[len++] = ALU32_IMM(BPF_AND, R1, acc);
				b[len++] = JMP_IMM(BPF_JEQ, R1, 0, 0);
			}
		}
		if (d->major >= 0)
			b[len++] = JMP_IMM(BPF_JNE, R4, (int32_t)d->major, 0);
		if (d->minor >= 0)
			b[len++] = JMP_IMM(BPF_JNE, R5, (int32_t)d->minor, 0);
	}
	b[len++] = MOV32_IMM(R0, d->allow ? 1 : 0);
	b[len++] = EXIT_INSN();
	for (size_t i = 0; i < len; i++)
		if (BPF_CLASS(b[i].code) == BPF_JMP && BPF_OP(b[i].code) != BPF_EXIT)
			b[i].off = (int16_t)(len - i - 1);
	memcpy(insns + *n, b, len * sizeof(*b));
	*n += len;
}

static int build_program(const struct hull_oci_device_rule *rules, size_t n_rules,
			 struct bpf_insn **ret, size_t *ret_n)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n = 0;

	if (n_rules > 10000)
		return -E2BIG;
	insns = calloc(8 * n_rules + 8, sizeof(*insns));
	if (!insns)
		return -ENOMEM;
	insns[n++] = LDX_W(R2, R1, 0); /* type */
	insns[n++] = ALU32_IMM(BPF_AND, R2, 0xFFFF);
	insns[n++] = LDX_W(R3, R1, 0); /* access */
	insns[n++] = ALU32_IMM(BPF_RSH, R3, 16);
	insns[n++] = LDX_W(R4, R1, 4); /* major */
	insns[n++] = LDX_W(R5, R1, 8); /* minor */
	for (size_t i = n_rules; i > 0; i--) {
		emit_rule(&rules[i - 1], insns, &n);
		/* an 'a' rule matches everything: what follows is unreachable, which the verifier
		 * refuses */
		if (rules[i - 1].type == 'a')
			goto done;
	}
	insns[n++] = MOV32_IMM(R0, 0); /* nothing matched: deny */
	insns[n++] = EXIT_INSN();
done:
	*ret = TAKE_PTR(insns);
	*ret_n = n;
	return 0;
}

static int load_program(const struct bpf_insn *insns, size_t n, struct hull_error **reterr)
{
	static const char license[] = "Apache";
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)license;
	memcpy(attr.prog_name, PROG_NAME, sizeof(PROG_NAME));
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	if (fd == -EACCES || fd == -EINVAL) {
		/* the verifier refused it: ask again with its log, for the debug output */
		_cleanup_free_ char *log = calloc(1, 65536);

		if (log) {
			int k;

			attr.log_buf = (uint64_t)(uintptr_t)log;
			attr.log_size = 65536;
			attr.log_level = 1;
			k = sys_bpf(BPF_PROG_LOAD, &attr);
			if (k >= 0)
				close(k);
			hull_debug("cgroup: device program refused: %s", log);
		}
	}
	return hull_error_errno(reterr, fd, "load the cgroup device program (bpf)");
}

/* The programs of type BPF_CGROUP_DEVICE on dfd that hull attached (fds, O_CLOEXEC). */
static int hull_programs(int dfd, int **ret, size_t *ret_n)
{
	_cleanup_free_ uint32_t *ids = NULL;
	_cleanup_free_ int *fds = NULL;
	uint32_t cap = 64;
	union bpf_attr attr;
	size_t n = 0;
	int r;

	for (;;) {
		uint32_t *ni = realloc(ids, cap * sizeof(uint32_t));

		if (!ni)
			return -ENOMEM;
		ids = ni;
		memset(&attr, 0, sizeof(attr));
		attr.query.target_fd = (uint32_t)dfd;
		attr.query.attach_type = BPF_CGROUP_DEVICE;
		attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
		attr.query.prog_cnt = cap;
		r = sys_bpf(BPF_PROG_QUERY, &attr);
		if (r == -ENOSPC && cap < 65536) {
			cap *= 4;
			continue;
		}
		if (r < 0)
			return r;
		break;
	}
	fds = calloc(attr.query.prog_cnt + 1, sizeof(int));
	if (!fds)
		return -ENOMEM;
	for (uint32_t i = 0; i < attr.query.prog_cnt; i++) {
		struct bpf_prog_info info;
		union bpf_attr a;
		int fd;

		memset(&a, 0, sizeof(a));
		a.prog_id = ids[i];
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue; /* detached meanwhile */
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (uint32_t)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (uint64_t)(uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) >= 0 &&
		    strncmp(info.name, PROG_NAME, sizeof(info.name)) == 0)
			fds[n++] = fd;
		else
			close(fd);
	}
	*ret = TAKE_PTR(fds);
	*ret_n = n;
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		safe_close(fds[i]);
}

int hull_cgroup_devices_bpf_count(int dfd, size_t *ret)
{
	_cleanup_free_ int *fds = NULL;
	size_t n = 0;
	int r;

	r = hull_programs(dfd, &fds, &n);
	if (r < 0)
		return r;
	close_all(fds, n);
	*ret = n;
	return 0;
}

int hull_cgroup_devices_bpf_apply(int dfd, const struct hull_oci_device_rule *rules, size_t n,
				  struct hull_error **reterr)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_free_ int *old = NULL;
	_cleanup_close_ int prog = -EBADF;
	union bpf_attr attr;
	size_t n_insns = 0, n_old = 0;
	bool replaced = false;
	int r;

	for (size_t i = 0; i < n; i++)
		if (rules[i].major > INT32_MAX || rules[i].minor > INT32_MAX)
			return hull_error_set(reterr, -EINVAL,
					      "linux.resources.devices[%zu]: device number out of "
					      "range",
					      i);
	r = build_program(rules, n, &insns, &n_insns);
	if (r < 0)
		return hull_error_errno(reterr, r, "build the cgroup device program");
	prog = load_program(insns, n_insns, reterr);
	if (prog < 0)
		return prog;
	r = hull_programs(dfd, &old, &n_old);
	if (r < 0)
		return hull_error_errno(reterr, r, "query the cgroup device programs (bpf)");

	/* one program of ours there: swap it atomically, no moment without a filter */
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)dfd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (n_old == 1) {
		attr.attach_flags |= BPF_F_REPLACE;
		attr.replace_bpf_fd = (uint32_t)old[0];
		r = sys_bpf(BPF_PROG_ATTACH, &attr);
		replaced = r >= 0;
		attr.attach_flags = BPF_F_ALLOW_MULTI;
		attr.replace_bpf_fd = 0;
	}
	if (!replaced) {
		/* attach the new one first, then drop the old ones */
		r = sys_bpf(BPF_PROG_ATTACH, &attr);
		if (r < 0) {
			close_all(old, n_old);
			return hull_error_errno(reterr, r,
						"attach the cgroup device program (bpf)");
		}
		for (size_t i = 0; i < n_old; i++) {
			union bpf_attr d;

			memset(&d, 0, sizeof(d));
			d.target_fd = (uint32_t)dfd;
			d.attach_bpf_fd = (uint32_t)old[i];
			d.attach_type = BPF_CGROUP_DEVICE;
			r = sys_bpf(BPF_PROG_DETACH, &d);
			if (r < 0 && r != -ENOENT) {
				close_all(old, n_old);
				return hull_error_errno(
					reterr, r, "detach the old cgroup device program (bpf)");
			}
		}
	}
	close_all(old, n_old);
	hull_debug("cgroup: device program of %zu instructions attached", n_insns);
	return 0;
}
