/* SPDX-License-Identifier: Apache-2.0 */
/* hull-agent as PID 1: the listening socket, the guest's mounts, the end of
 * the VM: see agent.c. */
#include "agent/agent-internal.h"

/* ---- set-up ---- */

/*
 * A unix socket is bound at a temporary name and renamed to PATH once it
 * listens: whoever waits for PATH to appear can connect at once. PATH already
 * there (another agent's socket) is refused, as bind() would.
 */
static int listen_unix(const char *spec, const char *path, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (!*path || snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d", path, (int)getpid()) >=
			      (int)sizeof(sa.sun_path))
		return hull_error_set(reterr, -EINVAL, "--listen '%s': bad path", spec);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_error_errno(reterr, -errno, "listen on '%s'", path);
	if (listen(fd, 4) < 0 ||
	    renameat2(AT_FDCWD, sa.sun_path, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		r = -errno;
		unlink(sa.sun_path);
		return hull_error_errno(reterr, r, "listen on '%s'", path);
	}
	return TAKE_FD(fd);
}

int agent_listen_on(const char *spec, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	const char *v;
	char *end;
	unsigned long port;

	if ((v = startswith(spec, "unix:")))
		return listen_unix(spec, v, reterr);
	v = startswith(spec, "vsock:");
	if (!v)
		return hull_error_set(reterr, -EINVAL,
				      "--listen '%s': expected unix:PATH or vsock:PORT", spec);
	errno = 0;
	port = strtoul(v, &end, 10);
	if (errno || *end || end == v || port > UINT32_MAX)
		return hull_error_set(reterr, -EINVAL, "--listen '%s': bad port", spec);
	sa.svm_port = (unsigned)port;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_error_errno(reterr, -errno, "listen on vsock port %lu", port);
	if (listen(fd, 4) < 0)
		return hull_error_errno(reterr, -errno, "listen on '%s'", spec);
	return TAKE_FD(fd);
}

bool agent_is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

/* Whether path is on another filesystem than its parent. */
static bool is_mount_point(const char *path)
{
	char parent[PATH_MAX];
	struct stat a, b;

	if (snprintf(parent, sizeof(parent), "%s/..", path) >= (int)sizeof(parent))
		return false;
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int agent_mount_at(const char *src, const char *dst, const char *type, unsigned long flags,
		   const char *data, struct hull_error **reterr)
{
	(void)mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0)
		return hull_error_errno(reterr, -errno, "mount %s on '%s'", type, dst);
	return 0;
}

/* Reads hull.* options from the kernel command line. */
static void guest_options(bool *ret_rw, char *root, size_t size)
{
	_cleanup_free_ char *cmdline = NULL;
	size_t len;
	char *save = NULL;

	*ret_rw = false;
	snprintf(root, size, "/dev/vda");
	if (hull_read_file_at(AT_FDCWD, "/proc/cmdline", &cmdline, &len) < 0)
		return;
	for (char *w = strtok_r(cmdline, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		const char *v;

		if (streq(w, "hull.rw"))
			*ret_rw = true;
		else if ((v = startswith(w, "hull.root=")))
			snprintf(root, size, "%s", v);
	}
}

/* PID 1: the file systems the guest and the container need, then the root image. */
int agent_guest_setup(struct agent *a, struct hull_error **reterr)
{
	char dev[128];
	bool rw;
	int r;

	if (!agent_is_fs("/proc", PROC_SUPER_MAGIC)) {
		r = agent_mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
				   reterr);
		if (r < 0)
			return r;
	}
	if (!agent_is_fs("/sys", SYSFS_MAGIC)) {
		r = agent_mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
				   reterr);
		if (r < 0)
			return r;
	}
	/* devtmpfs reports the tmpfs magic, and so does the initramfs's own root
	 * (/dev's directory on it): only a mount point of its own is devtmpfs */
	if (!is_mount_point("/dev") || !agent_is_fs("/dev", TMPFS_MAGIC)) {
		r = agent_mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", reterr);
		if (r < 0)
			return r;
	}
	if (!agent_is_fs("/dev/pts", DEVPTS_SUPER_MAGIC)) {
		r = agent_mount_at("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
				   "ptmxmode=0666,mode=0620,gid=5", reterr);
		if (r < 0)
			return r;
	}
	if (!agent_is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
		r = agent_mount_at("cgroup2", "/sys/fs/cgroup", "cgroup2",
				   MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, reterr);
		if (r < 0)
			return r;
	}
	if (!agent_is_fs("/run", TMPFS_MAGIC)) {
		r = agent_mount_at("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755",
				   reterr);
		if (r < 0)
			return r;
	}
	(void)mkdir(DEFAULT_STATE, 0700);
	guest_options(&rw, dev, sizeof(dev));
	/* virtio-blk probes before init runs; a short bounded wait covers a slow probe */
	for (int i = 0; i < 50 && access(dev, F_OK) < 0; i++)
		usleep(100 * 1000);
	if (access(dev, F_OK) < 0) {
		hull_warn("no root image '%s': RUN must name a rootfs", dev);
		return 0;
	}
	if (rw) {
		r = agent_mount_at(dev, GUEST_ROOTFS, "ext4", 0, NULL, reterr);
		if (r < 0)
			return r;
	} else {
		r = agent_mount_at(dev, DEFAULT_STATE "/base", "ext4", MS_RDONLY, NULL, reterr);
		if (r >= 0)
			r = agent_mount_at("tmpfs", DEFAULT_STATE "/rw", "tmpfs", 0, "mode=0755",
					   reterr);
		if (r < 0)
			return r;
		(void)mkdir(DEFAULT_STATE "/rw/upper", 0755);
		(void)mkdir(DEFAULT_STATE "/rw/work", 0755);
		r = agent_mount_at("overlay", GUEST_ROOTFS, "overlay", 0,
				   "lowerdir=" DEFAULT_STATE "/base,upperdir=" DEFAULT_STATE
				   "/rw/upper,workdir=" DEFAULT_STATE "/rw/work",
				   reterr);
		if (r < 0)
			return r;
	}
	a->rootfs = GUEST_ROOTFS;
	return 0;
}

/*
 * Ends the VM.  A micro-VM has no ACPI, so a power-off would only halt the
 * vCPUs (and an in-kernel irqchip keeps HLT from ever reaching the VMM): the
 * agent restarts instead, which with hull-vmm's `reboot=k` is the i8042
 * reset the VMM takes as the end of the VM (Firecracker does the same).
 */
_noreturn_ void agent_power_off(void)
{
	sync();
	(void)reboot(RB_AUTOBOOT);
	(void)reboot(RB_POWER_OFF);
	/* PID 1 must not exit: the kernel would panic */
	for (;;)
		pause();
}

/*
 * Half-closes the connection and waits, at most LINGER_MS, for the host to
 * close its side: a reset of the VM would otherwise drop what is still in
 * flight (the exit status) on the way through the vsock device.
 */
#define LINGER_MS 3000
void agent_linger(int fd)
{
	char buf[256];

	if (fd < 0 || shutdown(fd, SHUT_WR) < 0)
		return;
	for (int waited = 0; waited < LINGER_MS; waited += 50) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
	}
}
