/* kvm-smoke: proves that a /dev/kvm runs guest code (docs/vm.md, the lab).
 *
 * Creates a VM with one vCPU and 4 KiB of memory at guest physical 0x1000,
 * runs 13 bytes of real-mode code there that write "ok\n" to the serial port
 * 0x3f8 and halt, and prints what the guest wrote:
 *     kvm-smoke: api 12, guest wrote "ok\n", halted
 * Exits 0 only when the guest wrote exactly "ok\n" and then halted; any
 * other exit reason or error is printed and exits 1. Built static so it runs
 * in the lab's busybox initramfs as is. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000u
#define GUEST_SIZE 0x1000u

static const uint8_t code[] = {
	0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
	0xb0, 'o',	  /* mov al, 'o' */
	0xee,		  /* out dx, al */
	0xb0, 'k',	  /* mov al, 'k' */
	0xee,		  /* out dx, al */
	0xb0, '\n',	  /* mov al, '\n' */
	0xee,		  /* out dx, al */
	0xf4,		  /* hlt */
};

static int fail(const char *what)
{
	fprintf(stderr, "kvm-smoke: %s: %s\n", what, strerror(errno));
	return 1;
}

static void print_escaped(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-smoke: KVM api version %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	uint8_t *mem =
		mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = GUEST_ADDR,
		.memory_size = GUEST_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run =
		mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = GUEST_ADDR, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	char out[64];
	size_t n = 0;
	for (int exits = 0; exits < 100; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3f8 &&
			    run->io.size == 1) {
				const uint8_t *p = (const uint8_t *)run + run->io.data_offset;
				for (uint32_t i = 0; i < run->io.count && n < sizeof(out); i++)
					out[n++] = (char)p[i];
				break;
			}
			fprintf(stderr, "kvm-smoke: unexpected io: dir %u port %#x size %u\n",
				run->io.direction, run->io.port, run->io.size);
			return 1;
		case KVM_EXIT_HLT:
			printf("kvm-smoke: api %d, guest wrote ", api);
			print_escaped(out, n);
			printf(", halted\n");
			return n == 3 && memcmp(out, "ok\n", 3) == 0 ? 0 : 1;
		default:
			fprintf(stderr, "kvm-smoke: unexpected exit reason %u (hw reason %#llx)\n",
				run->exit_reason, (unsigned long long)run->hw.hardware_exit_reason);
			return 1;
		}
	}
	fprintf(stderr, "kvm-smoke: the guest did not halt after 100 exits\n");
	return 1;
}
