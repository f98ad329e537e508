/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-vmm: boots one micro-VM in this process and exits when it ends
 * (docs/vm.md).  Exit status: 0 when the guest powered off or reset, 1 on
 * error (one line on stderr), 2 for bad usage, 128 + N when stopped by
 * signal N (SIGINT, SIGTERM, SIGHUP).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/error.h"
#include "util/str.h"
#include "vmm/vmm.h"

#define MAX_DISKS 8

static void print_help(void)
{
	printf("usage: hull-vmm --kernel PATH [options]\n\n"
	       "Boots one KVM micro-VM and exits when the guest powers off.\n\n"
	       "  --kernel PATH          bzImage, or uncompressed vmlinux with a PVH entry\n"
	       "  --initrd PATH          initramfs\n"
	       "  --cmdline STR          kernel command line (default \"%s\");\n"
	       "                         virtio_mmio.device= entries are appended\n"
	       "  --cpus N               vCPUs, 1..64 (default 1)\n"
	       "  --memory MIB           guest RAM in MiB (default 128)\n"
	       "  --disk PATH[,ro]       a raw image as virtio-blk (repeatable)\n"
	       "  --rng                  a virtio-rng device\n"
	       "  --vsock-cid N          a virtio-vsock device with guest CID N (>= 3) ...\n"
	       "  --vsock-uds PATH       ... bridged to unix sockets at PATH (Firecracker's "
	       "scheme)\n"
	       "  --console stdio|file:PATH  where the serial console goes (default stdio)\n"
	       "  --no-seccomp           do not confine the VMM's threads (debugging only)\n"
	       "  -h, --help             this help\n\n"
	       "exit status: 0 guest powered off or reset, 1 error, 2 usage, 128+N signal N\n",
	       HULL_VMM_DEFAULT_CMDLINE);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hull-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int main(int argc, char **argv)
{
	enum {
		OPT_KERNEL = 256,
		OPT_INITRD,
		OPT_CMDLINE,
		OPT_CPUS,
		OPT_MEMORY,
		OPT_DISK,
		OPT_RNG,
		OPT_VSOCK_CID,
		OPT_VSOCK_UDS,
		OPT_CONSOLE,
		OPT_NO_SECCOMP
	};
	static const struct option options[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "rng", no_argument, NULL, OPT_RNG },
		{ "vsock-cid", required_argument, NULL, OPT_VSOCK_CID },
		{ "vsock-uds", required_argument, NULL, OPT_VSOCK_UDS },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_close_ int console_fd = -EBADF, sig_fd = -EBADF;
	struct hull_vmm_disk disks[MAX_DISKS];
	char *disk_paths[MAX_DISKS] = {};
	struct hull_vmm_config c = {
		.cpus = 1,
		.memory_mib = 128,
		.disks = disks,
		.console_out = STDOUT_FILENO,
		.console_in = STDIN_FILENO,
		.stop_fd = -1,
		.seccomp = true,
	};
	enum hull_vmm_end end;
	sigset_t stop_signals;
	int opt, r, status = 1;
	uint32_t u32;
	uint64_t u64;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL:
			c.kernel = optarg;
			break;
		case OPT_INITRD:
			c.initrd = optarg;
			break;
		case OPT_CMDLINE:
			c.cmdline = optarg;
			break;
		case OPT_CPUS:
			if (hull_parse_u32(optarg, &u32) < 0 || u32 < 1 || u32 > 64)
				return usage_error("--cpus '%s': expected a number from 1 to 64",
						   optarg);
			c.cpus = u32;
			break;
		case OPT_MEMORY:
			if (hull_parse_u64(optarg, &u64) < 0 || u64 == 0)
				return usage_error("--memory '%s': expected a size in MiB", optarg);
			c.memory_mib = u64;
			break;
		case OPT_DISK: {
			char *comma;

			if (c.n_disks >= MAX_DISKS)
				return usage_error("--disk '%s': at most 8 disks", optarg);
			disk_paths[c.n_disks] = optarg;
			comma = strrchr(optarg, ',');
			disks[c.n_disks].readonly = false;
			if (comma && strcmp(comma, ",ro") == 0) {
				*comma = '\0';
				disks[c.n_disks].readonly = true;
			} else if (comma && strcmp(comma, ",rw") == 0) {
				*comma = '\0';
			}
			if (!*optarg)
				return usage_error("--disk '%s': no path", optarg);
			disks[c.n_disks].path = disk_paths[c.n_disks];
			c.n_disks++;
			break;
		}
		case OPT_RNG:
			c.rng = true;
			break;
		case OPT_VSOCK_CID:
			if (hull_parse_u32(optarg, &u32) < 0 || u32 < 3)
				return usage_error("--vsock-cid '%s': expected a number >= 3",
						   optarg);
			c.vsock_cid = u32;
			break;
		case OPT_VSOCK_UDS:
			c.vsock_uds = optarg;
			break;
		case OPT_CONSOLE:
			if (strcmp(optarg, "stdio") == 0) {
				c.console_out = STDOUT_FILENO;
				c.console_in = STDIN_FILENO;
			} else if (strncmp(optarg, "file:", 5) == 0 && optarg[5]) {
				console_fd = safe_close(console_fd);
				console_fd = open(
					optarg + 5,
					O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
				if (console_fd < 0) {
					fprintf(stderr, "hull-vmm: console '%s': %s\n", optarg + 5,
						strerror(errno));
					return 1;
				}
				c.console_out = console_fd;
				c.console_in = -1;
			} else {
				return usage_error("--console '%s': expected stdio or file:PATH",
						   optarg);
			}
			break;
		case OPT_NO_SECCOMP:
			c.seccomp = false;
			break;
		case 'h':
			print_help();
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!c.kernel)
		return usage_error("%s", "no kernel: --kernel PATH is required");
	if ((c.vsock_cid != 0) != (c.vsock_uds != NULL))
		return usage_error("%s", "--vsock-cid and --vsock-uds go together");

	/* a console reader that went away must not kill the VMM mid-teardown */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		fprintf(stderr, "hull-vmm: signalfd: %s\n", strerror(errno));
		return 1;
	}
	c.stop_fd = sig_fd;

	r = hull_vmm_run(&c, &end, &err);
	if (r < 0) {
		fprintf(stderr, "hull-vmm: %s\n", err ? err->msg : strerror(-r));
		return 1;
	}
	switch (end) {
	case HULL_VMM_END_SHUTDOWN:
	case HULL_VMM_END_RESET:
		status = 0;
		break;
	case HULL_VMM_END_STOPPED: {
		struct signalfd_siginfo si;

		status = 128 + SIGTERM;
		if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			status = 128 + (int)si.ssi_signo;
		break;
	}
	}
	return status;
}
