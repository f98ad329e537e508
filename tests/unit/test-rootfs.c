/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds real root filesystems from busybox in a temp dir and enters them.
 *
 * Each case forks a child that unshares a mount and a pid namespace and
 * forks again; the grandchild (pid 1 of the new namespace) runs the rootfs
 * phases, looks around from inside and reports "key=value" lines through a
 * pipe.  The parent asserts on them.  Everything is mounted in the child's
 * private mount namespace, so nothing outlives it; the temp dir is removed
 * afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/namespace.h"
#include "linux/rootfs.h"
#include "util/error.h"
#include "util/file.h"
#include "util/str.h"

#define S(s) ((char *)(s))
#define STRV(...) ((char **)(const char *const[]){ __VA_ARGS__, NULL })

static const bool use_openat2 = true, use_walk = false;

struct fixture {
	char dir[64]; /* the bundle */
	int dir_fd;
	char *report; /* what the grandchild said */
};

static int write_file(int dirfd, const char *path, const char *text, mode_t mode)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = hull_write_all(fd, text, strlen(text));
	close(fd);
	return r;
}

static int copy_busybox(int dirfd, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	int r, fd;

	r = hull_read_file_at(AT_FDCWD, "/bin/busybox", &data, &len);
	if (r < 0)
		return r;
	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0) {
		free(data);
		return -errno;
	}
	r = hull_write_all(fd, data, len);
	close(fd);
	free(data);
	return r;
}

/* bundle/{rootfs/{bin/busybox,etc/...},shared/hello} */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->dir_fd = -EBADF;
	snprintf(f->dir, sizeof(f->dir), "/tmp/hull-test-rootfs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->dir_fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dir_fd < 0)
		return -1;
	if (hull_mkdir_p_at(f->dir_fd, "rootfs/bin", 0755) < 0 ||
	    hull_mkdir_p_at(f->dir_fd, "rootfs/etc/tmpcopy/sub", 0755) < 0 ||
	    hull_mkdir_p_at(f->dir_fd, "shared", 0755) < 0)
		return -1;
	if (copy_busybox(f->dir_fd, "rootfs/bin/busybox") < 0 ||
	    symlinkat("busybox", f->dir_fd, "rootfs/bin/sh") < 0)
		return -1;
	if (write_file(f->dir_fd, "rootfs/etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 0644) < 0 ||
	    write_file(f->dir_fd, "rootfs/etc/group", "root:x:0:\n", 0644) < 0 ||
	    write_file(f->dir_fd, "rootfs/etc/tmpcopy/sub/file", "copyme", 0640) < 0 ||
	    symlinkat("sub/file", f->dir_fd, "rootfs/etc/tmpcopy/link") < 0 ||
	    write_file(f->dir_fd, "shared/hello", "hello", 0644) < 0)
		return -1;
	if (fchmodat(f->dir_fd, "rootfs/etc/tmpcopy", 0750, 0) < 0 ||
	    fchownat(f->dir_fd, "rootfs/etc/tmpcopy/sub/file", 7, 8, 0) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r = 0;

	if (!f)
		return 0;
	if (f->dir[0] && !strstr(f->dir, "XXXXXX"))
		r = hull_rm_rf_at(AT_FDCWD, f->dir);
	safe_close(f->dir_fd);
	free(f->report);
	free(f);
	unsetenv("HULL_NO_OPENAT2");
	return r < 0 ? -1 : 0;
}

/* ---- the grandchild's side ---- */

static void report(int fd, const char *key, const char *fmt, ...) _printf_(3, 4);
static void report(int fd, const char *key, const char *fmt, ...)
{
	va_list ap;

	dprintf(fd, "%s=", key);
	va_start(ap, fmt);
	vdprintf(fd, fmt, ap);
	va_end(ap);
	dprintf(fd, "\n");
}

static void report_result(int fd, const char *key, int r, struct hull_error *err)
{
	if (r < 0)
		report(fd, key, "%d %s", r, err && err->msg ? err->msg : "");
	else
		report(fd, key, "ok");
}

/* "mnt:<mount point>=<fstype> <options>" for the top mount at each point */
static void report_mounts(int fd)
{
	char *info = NULL, *save = NULL;

	if (hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL) < 0) {
		report(fd, "mountinfo", "unreadable");
		return;
	}
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char point[512], opts[512], fstype[64], *dash;

		dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s %511s", point, opts) != 2 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		dprintf(fd, "mnt:%s=%s %s%s\n", point, fstype, opts,
			strstr(line, " shared:") ? " shared" : "");
	}
	free(info);
}

static void report_node(int fd, const char *path)
{
	struct stat st;
	char key[128];

	snprintf(key, sizeof(key), "node:%s", path);
	if (lstat(path, &st) < 0) {
		report(fd, key, "%d", -errno);
		return;
	}
	report(fd, key, "%c %u:%u %04o %u:%u",
	       S_ISCHR(st.st_mode)    ? 'c'
	       : S_ISBLK(st.st_mode)  ? 'b'
	       : S_ISLNK(st.st_mode)  ? 'l'
	       : S_ISDIR(st.st_mode)  ? 'd'
	       : S_ISFIFO(st.st_mode) ? 'p'
				      : 'f',
	       major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777, st.st_uid, st.st_gid);
}

static void report_link(int fd, const char *path)
{
	char buf[256], key[128];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	snprintf(key, sizeof(key), "link:%s", path);
	if (n < 0) {
		report(fd, key, "%d", -errno);
		return;
	}
	buf[n] = '\0';
	report(fd, key, "%s", buf);
}

static void report_content(int fd, const char *path)
{
	char *data = NULL, key[128];
	int r = hull_read_file_at(AT_FDCWD, path, &data, NULL);

	snprintf(key, sizeof(key), "read:%s", path);
	if (r < 0)
		report(fd, key, "%d", r);
	else
		report(fd, key, "%s", data);
	free(data);
}

static void report_write(int fd, const char *path)
{
	char key[128];
	int w = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	snprintf(key, sizeof(key), "write:%s", path);
	report(fd, key, "%d", w < 0 ? -errno : 0);
	if (w >= 0)
		close(w);
}

/* Runs busybox inside, with stdio on /dev/null. */
static void report_busybox(int fd, const char *key, char *const argv[])
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execv("/bin/busybox", argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	report(fd, key, "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

struct run {
	const struct hull_rootfs_opts *opts;
	bool enter;  /* pivot and finalize, then look from inside */
	bool userns; /* in a user namespace (identity-mapped by the parent) */
	void (*inspect)(int fd, const struct fixture *f);
};

static void grandchild(int fd, const struct fixture *f, const struct run *run)
{
	struct hull_error *err = NULL;
	int rootfs = -EBADF, r;

	r = hull_rootfs_prepare(run->opts, &rootfs, &err);
	report_result(fd, "prepare", r, err);
	if (r < 0)
		_exit(1);
	if (run->enter) {
		r = hull_rootfs_pivot(run->opts, rootfs, &err);
		report_result(fd, "pivot", r, err);
		if (r < 0)
			_exit(1);
		close(rootfs);
		r = hull_rootfs_finalize(run->opts, &err);
		report_result(fd, "finalize", r, err);
		if (r < 0)
			_exit(1);
	}
	run->inspect(fd, f);
	report(fd, "done", "yes");
	_exit(0);
}

/* Shows what a child said, as TAP comments. */
static void print_report(const char *r)
{
	for (const char *l = r; l && *l;) {
		size_t len = strcspn(l, "\n");

		print_message("# %.*s\n", (int)len, l);
		l += len + (l[len] ? 1 : 0);
	}
}

/* Runs `run` in a new mount + pid namespace and collects the report into f->report. */
static void run_in_namespaces(struct fixture *f, const struct run *run)
{
	static const struct hull_oci_idmap ids[] = { { 0, 0, 65536 } };
	int p[2], go[2], ready[2], status;
	char c = 0;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	fflush(NULL); /* or the children inherit unwritten TAP lines */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t gc;

		close(p[0]);
		close(go[1]);
		close(ready[0]);
		/* a test killed by its timeout takes its children along */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (run->userns) {
			/* the parent writes our maps in between */
			if (unshare(CLONE_NEWUSER) < 0 || write(ready[1], "u", 1) != 1 ||
			    read(go[0], &c, 1) != 1) {
				report(p[1], "unshare-user", "%d", -errno);
				_exit(1);
			}
		}
		if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0) {
			report(p[1], "unshare", "%d", -errno);
			_exit(1);
		}
		gc = fork();
		if (gc == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			grandchild(p[1], f, run);
		}
		if (gc < 0 || waitpid(gc, &status, 0) < 0)
			_exit(1);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	close(p[1]);
	close(go[0]);
	close(ready[1]);
	if (run->userns) {
		struct hull_error *err = NULL;

		assert_int_equal(read(ready[0], &c, 1), 1);
		if (hull_idmap_write(pid, ids, 1, ids, 1, &err) < 0)
			print_message("# %s\n", err->msg);
		assert_null(err);
		assert_int_equal(write(go[1], "g", 1), 1);
	}
	close(go[1]);
	close(ready[0]);
	free(f->report);
	f->report = NULL;
	assert_int_equal(hull_read_fd(p[0], &f->report, NULL), 0);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	print_report(f->report);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the parent's side ---- */

/*
 * The value of the last "key=" line in the report (a static copy; the last,
 * so the top of stacked mounts wins), NULL when absent.
 */
static const char *get(const struct fixture *f, const char *key)
{
	static char value[1024];
	size_t klen = strlen(key);
	bool found = false;

	for (const char *l = f->report; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);

		if (len > klen && strncmp(l, key, klen) == 0 && l[klen] == '=') {
			snprintf(value, sizeof(value), "%.*s", (int)(len - klen - 1), l + klen + 1);
			found = true;
		}
		l += len + (e ? 1 : 0);
	}
	return found ? value : NULL;
}

static void assert_value(const struct fixture *f, const char *key, const char *want)
{
	const char *v = get(f, key);

	if (!v)
		print_message("# missing '%s'\n", key);
	assert_non_null(v);
	assert_string_equal(v, want);
}

/* "fstype opt,opt,..." of mount point `point` has each of the comma-separated `opts` */
static void assert_mount(const struct fixture *f, const char *point, const char *fstype,
			 const char *has, const char *lacks)
{
	char key[128], opts[1024], *save = NULL, list[256];
	const char *v;

	snprintf(key, sizeof(key), "mnt:%s", point);
	v = get(f, key);
	if (!v)
		print_message("# no mount at '%s'\n", point);
	assert_non_null(v);
	assert_true(strncmp(v, fstype, strlen(fstype)) == 0 && v[strlen(fstype)] == ' ');
	snprintf(opts, sizeof(opts), ",%s,", v + strlen(fstype) + 1);
	*strchrnul(opts + 1, ' ') = '\0';
	strcat(opts, ",");
	snprintf(list, sizeof(list), "%s", has ? has : "");
	for (char *o = strtok_r(list, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char tok[64];

		snprintf(tok, sizeof(tok), ",%s,", o);
		if (!strstr(opts, tok))
			print_message("# '%s' lacks '%s': %s\n", point, o, v);
		assert_non_null(strstr(opts, tok));
	}
	snprintf(list, sizeof(list), "%s", lacks ? lacks : "");
	for (char *o = strtok_r(list, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char tok[64];

		snprintf(tok, sizeof(tok), ",%s,", o);
		assert_null(strstr(opts, tok));
	}
}

static void set_mode(void **state, const bool *openat2)
{
	if (*openat2)
		unsetenv("HULL_NO_OPENAT2");
	else
		setenv("HULL_NO_OPENAT2", "1", 1);
}

/* ---- a full container rootfs ---- */

/* on-disk ids (the container's) 0 show as 1000 and 2000 through the mount */
static struct hull_oci_idmap idmap_uids[] = { { 0, 1000, 1 } };
static struct hull_oci_idmap idmap_gids[] = { { 0, 2000, 1 } };

static struct hull_oci_mount full_mounts[] = {
	{ .destination = S("/proc"), .type = S("proc"), .source = S("proc") },
	{ .destination = S("/dev"),
	  .type = S("tmpfs"),
	  .source = S("tmpfs"),
	  .options = STRV("nosuid", "strictatime", "mode=755", "size=65536k") },
	{ .destination = S("/dev/pts"),
	  .type = S("devpts"),
	  .source = S("devpts"),
	  .options =
		  STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5") },
	{ .destination = S("/dev/shm"),
	  .type = S("tmpfs"),
	  .source = S("shm"),
	  .options = STRV("nosuid", "noexec", "nodev", "mode=1777", "size=65536k") },
	{ .destination = S("/dev/mqueue"),
	  .type = S("mqueue"),
	  .source = S("mqueue"),
	  .options = STRV("nosuid", "noexec", "nodev") },
	{ .destination = S("/sys"),
	  .type = S("sysfs"),
	  .source = S("sysfs"),
	  .options = STRV("nosuid", "noexec", "nodev", "ro") },
	/* relative to the bundle */
	{ .destination = S("/data"),
	  .type = S("bind"),
	  .source = S("shared"),
	  .options = STRV("rbind", "ro", "nosuid") },
	/* a file target */
	{ .destination = S("/etc/hello"),
	  .type = S("none"),
	  .source = S("shared/hello"),
	  .options = STRV("bind", "rprivate") },
	{ .destination = S("/etc/tmpcopy"),
	  .type = S("tmpfs"),
	  .source = S("tmpfs"),
	  .options = STRV("tmpcopyup", "nodev") },
	{ .destination = S("/idmapped"),
	  .type = S("bind"),
	  .source = S("shared"),
	  .options = STRV("bind", "idmap"),
	  .uid_mappings = idmap_uids,
	  .n_uid_mappings = 1,
	  .gid_mappings = idmap_gids,
	  .n_gid_mappings = 1 },
	{ .destination = S("/rec"),
	  .type = S("tmpfs"),
	  .source = S("tmpfs"),
	  .options = STRV("rro", "rnosuid") },
};

static struct hull_oci_device full_devices[] = {
	{ .type = 'c',
	  .path = S("/dev/hull-null"),
	  .major = 1,
	  .minor = 3,
	  .file_mode = { 0640, true },
	  .uid = { 1, true },
	  .gid = { 2, true } },
	{ .type = 'p', .path = S("/dev/sub/fifo") },
};

static void inspect_full(int fd, const struct fixture *f)
{
	struct statfs sfs;

	report_mounts(fd);
	report(fd, "pid", "%d", (int)getpid());
	report_link(fd, "/proc/self");
	report_node(fd, "/dev/null");
	report_node(fd, "/dev/zero");
	report_node(fd, "/dev/full");
	report_node(fd, "/dev/random");
	report_node(fd, "/dev/urandom");
	report_node(fd, "/dev/tty");
	report_node(fd, "/dev/hull-null");
	report_node(fd, "/dev/sub/fifo");
	report_node(fd, "/dev/pts");
	report_node(fd, "/dev/shm");
	report_link(fd, "/dev/ptmx");
	report_link(fd, "/dev/fd");
	report_link(fd, "/dev/stdin");
	report_link(fd, "/dev/stdout");
	report_link(fd, "/dev/stderr");
	report_link(fd, "/dev/core");
	report_node(fd, "/dev/pts/ptmx");
	report_content(fd, "/data/hello");
	report_write(fd, "/data/new");
	report_content(fd, "/etc/hello");
	report_write(fd, "/new-in-root");
	report_content(fd, "/etc/tmpcopy/sub/file");
	report_node(fd, "/etc/tmpcopy/sub/file");
	report_node(fd, "/etc/tmpcopy");
	report_link(fd, "/etc/tmpcopy/link");
	report_write(fd, "/etc/tmpcopy/new");
	report_node(fd, "/idmapped/hello");
	report_write(fd, "/rec/x");
	report_node(fd, "/proc/keys");
	report_write(fd, "/proc/sys/kernel/hostname");
	if (statfs("/proc/acpi", &sfs) == 0)
		report(fd, "statfs:/proc/acpi", "%s%s",
		       sfs.f_type == TMPFS_MAGIC ? "tmpfs" : "other",
		       (sfs.f_flags & ST_RDONLY) ? " ro" : "");
	/* the host is gone */
	report(fd, "host-bundle", "%d", access(f->dir, F_OK) < 0 ? -errno : 0);
	report_busybox(fd, "busybox",
		       STRV("busybox", "sh", "-c", "test -c /dev/null && test -d /proc/1"));
}

static void check_full(const struct fixture *f)
{
	assert_value(f, "prepare", "ok");
	assert_value(f, "pivot", "ok");
	assert_value(f, "finalize", "ok");
	assert_value(f, "done", "yes");

	/* root.readonly and rootfsPropagation "shared" */
	assert_mount(f, "/", "ext4", "ro", NULL);
	assert_true(strstr(get(f, "mnt:/"), " shared") != NULL);
	assert_value(f, "write:/new-in-root", "-30"); /* EROFS */

	/* a fresh proc of the new pid namespace */
	assert_mount(f, "/proc", "proc", "rw", NULL);
	assert_value(f, "pid", "1");
	assert_value(f, "link:/proc/self", "1");

	assert_mount(f, "/dev", "tmpfs", "rw,nosuid", "ro");
	assert_mount(f, "/dev/pts", "devpts", "nosuid,noexec", NULL);
	assert_mount(f, "/dev/shm", "tmpfs", "nosuid,nodev,noexec", NULL);
	assert_mount(f, "/dev/mqueue", "mqueue", "nosuid,nodev,noexec", NULL);
	assert_mount(f, "/sys", "sysfs", "ro,nosuid,nodev,noexec", NULL);

	/* the default devices with runc's modes, linux.devices with theirs */
	assert_value(f, "node:/dev/null", "c 1:3 0666 0:0");
	assert_value(f, "node:/dev/zero", "c 1:5 0666 0:0");
	assert_value(f, "node:/dev/full", "c 1:7 0666 0:0");
	assert_value(f, "node:/dev/random", "c 1:8 0666 0:0");
	assert_value(f, "node:/dev/urandom", "c 1:9 0666 0:0");
	assert_value(f, "node:/dev/tty", "c 5:0 0666 0:0");
	assert_value(f, "node:/dev/hull-null", "c 1:3 0640 1:2");
	assert_value(f, "node:/dev/sub/fifo", "p 0:0 0666 0:0");
	assert_value(f, "node:/dev/pts", "d 0:0 0755 0:0");
	assert_value(f, "node:/dev/shm", "d 0:0 1777 0:0");
	assert_value(f, "link:/dev/ptmx", "pts/ptmx");
	assert_value(f, "link:/dev/fd", "/proc/self/fd");
	assert_value(f, "link:/dev/stdin", "/proc/self/fd/0");
	assert_value(f, "link:/dev/stdout", "/proc/self/fd/1");
	assert_value(f, "link:/dev/stderr", "/proc/self/fd/2");
	/* /dev/core only where the host has a /proc/kcore */
	assert_value(f, "link:/dev/core", access("/proc/kcore", F_OK) == 0 ? "/proc/kcore" : "-2");
	assert_value(f, "node:/dev/pts/ptmx", "c 5:2 0666 0:0");

	/* a read-only bind from the bundle, and a file bind */
	assert_mount(f, "/data", "ext4", "ro,nosuid", NULL);
	assert_value(f, "read:/data/hello", "hello");
	assert_value(f, "write:/data/new", "-30");
	assert_value(f, "read:/etc/hello", "hello");

	/* tmpcopyup kept content, owners, modes and links */
	assert_mount(f, "/etc/tmpcopy", "tmpfs", "nodev", NULL);
	assert_value(f, "read:/etc/tmpcopy/sub/file", "copyme");
	assert_value(f, "node:/etc/tmpcopy/sub/file", "f 0:0 0640 7:8");
	assert_value(f, "node:/etc/tmpcopy", "d 0:0 0750 0:0");
	assert_value(f, "link:/etc/tmpcopy/link", "sub/file");
	assert_value(f, "write:/etc/tmpcopy/new", "0");

	/* idmapped: the host's root shows as 1000:2000 */
	assert_value(f, "node:/idmapped/hello", "f 0:0 0644 1000:2000");

	/* recursive attributes */
	assert_mount(f, "/rec", "tmpfs", "ro,nosuid", NULL);
	assert_value(f, "write:/rec/x", "-30");

	/* masked and read-only paths */
	assert_value(f, "node:/proc/keys", "c 1:3 0666 0:0");
	assert_value(f, "statfs:/proc/acpi", "tmpfs ro");
	assert_mount(f, "/proc/sys", "proc", "ro", NULL);
	assert_mount(f, "/proc/bus", "proc", "ro", NULL);
	assert_value(f, "write:/proc/sys/kernel/hostname", "-30");

	/* pivot_root left nothing of the host behind */
	assert_value(f, "host-bundle", "-2");
	assert_value(f, "busybox", "0");
}

static char **full_masked = STRV("/proc/kcore", "/proc/keys", "/proc/acpi", "/proc/scsi");
static char **full_readonly = STRV("/proc/sys", "/proc/bus", "/proc/sysrq-trigger");

static void full_config(struct hull_oci_config *c, struct hull_oci_linux *lc)
{
	*lc = (struct hull_oci_linux){
		.devices = full_devices,
		.n_devices = ELEMENTSOF(full_devices),
		.masked_paths = full_masked,
		.readonly_paths = full_readonly,
		.rootfs_propagation = S("shared"),
	};
	*c = (struct hull_oci_config){
		.root = { .path = S("rootfs"), .readonly = true },
		.mounts = full_mounts,
		.n_mounts = ELEMENTSOF(full_mounts),
		.linux_config = lc,
	};
}

static void test_full(void **state)
{
	struct fixture *f = *state;
	struct hull_oci_config c;
	struct hull_oci_linux lc;
	struct hull_rootfs_opts o = { .config = &c, .bundle_fd = f->dir_fd };
	struct run run = { .opts = &o, .enter = true, .inspect = inspect_full };
	int before = open("/dev/null", O_PATH | O_CLOEXEC);
	struct stat st;

	full_config(&c, &lc);
	run_in_namespaces(f, &run);
	check_full(f);
	/* never chown or chmod the host's /dev/null (crun had that bug) */
	assert_int_equal(fstat(before, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	close(before);
}

static void test_full_openat2(void **state)
{
	set_mode(state, &use_openat2);
	test_full(state);
}

static void test_full_walk(void **state)
{
	set_mode(state, &use_walk);
	test_full(state);
}

/* ---- no_pivot: MS_MOVE + chroot ---- */

static struct hull_oci_mount small_mounts[] = {
	{ .destination = S("/proc"), .type = S("proc"), .source = S("proc") },
	{ .destination = S("/dev"),
	  .type = S("tmpfs"),
	  .source = S("tmpfs"),
	  .options = STRV("nosuid", "mode=755") },
};

static void inspect_small(int fd, const struct fixture *f)
{
	report_mounts(fd);
	report_link(fd, "/proc/self");
	report_node(fd, "/dev/null");
	report_node(fd, "/bin/busybox");
	report(fd, "host-bundle", "%d", access(f->dir, F_OK) < 0 ? -errno : 0);
}

static void test_no_pivot(void **state)
{
	struct fixture *f = *state;
	struct hull_oci_linux lc = { .rootfs_propagation = S("rslave") };
	struct hull_oci_config c = {
		.root = { .path = S("rootfs") },
		.mounts = small_mounts,
		.n_mounts = ELEMENTSOF(small_mounts),
		.linux_config = &lc,
	};
	/* an absolute root.path works as well as a bundle-relative one */
	char root[128];
	struct hull_rootfs_opts o = { .config = &c, .bundle_fd = f->dir_fd, .no_pivot = true };
	struct run run = { .opts = &o, .enter = true, .inspect = inspect_small };

	snprintf(root, sizeof(root), "%s/rootfs", f->dir);
	c.root.path = root;
	unsetenv("HULL_NO_OPENAT2");
	run_in_namespaces(f, &run);
	assert_value(f, "prepare", "ok");
	assert_value(f, "pivot", "ok");
	assert_value(f, "finalize", "ok");
	assert_mount(f, "/", "ext4", "rw", NULL);
	assert_mount(f, "/proc", "proc", NULL, NULL);
	assert_value(f, "link:/proc/self", "1");
	assert_value(f, "node:/dev/null", "c 1:3 0666 0:0");
	assert_value(f, "node:/bin/busybox", "f 0:0 0755 0:0");
	assert_value(f, "host-bundle", "-2");
}

/* ---- in a user namespace: host devices are bound, sysfs falls back to /sys ---- */

static struct hull_oci_mount userns_mounts[] = {
	{ .destination = S("/proc"), .type = S("proc"), .source = S("proc") },
	{ .destination = S("/dev"),
	  .type = S("tmpfs"),
	  .source = S("tmpfs"),
	  .options = STRV("nosuid", "strictatime", "mode=755", "size=65536k") },
	{ .destination = S("/dev/pts"),
	  .type = S("devpts"),
	  .source = S("devpts"),
	  .options = STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620") },
	{ .destination = S("/sys"),
	  .type = S("sysfs"),
	  .source = S("sysfs"),
	  .options = STRV("nosuid", "noexec", "nodev", "ro") },
	{ .destination = S("/data"),
	  .type = S("bind"),
	  .source = S("shared"),
	  .options = STRV("rbind", "ro") },
};

static struct hull_oci_device userns_devices[] = {
	{ .type = 'c', .path = S("/dev/net/tun"), .major = 10, .minor = 200 },
};

static void inspect_userns(int fd, const struct fixture *f)
{
	report_mounts(fd);
	report_node(fd, "/dev/null");
	report_node(fd, "/dev/net/tun");
	report_link(fd, "/proc/self");
	report_write(fd, "/sys/kernel/x");
	report_content(fd, "/data/hello");
	report_node(fd, "/proc/keys");
}

static void test_userns(void **state)
{
	struct fixture *f = *state;
	struct hull_oci_linux lc = {
		.devices = userns_devices,
		.n_devices = ELEMENTSOF(userns_devices),
		.masked_paths = full_masked,
		.readonly_paths = full_readonly,
	};
	struct hull_oci_config c = {
		.root = { .path = S("rootfs"), .readonly = true },
		.mounts = userns_mounts,
		.n_mounts = ELEMENTSOF(userns_mounts),
		.linux_config = &lc,
	};
	struct hull_rootfs_opts o = { .config = &c, .bundle_fd = f->dir_fd, .in_userns = true };
	struct run run = { .opts = &o, .enter = true, .userns = true, .inspect = inspect_userns };

	unsetenv("HULL_NO_OPENAT2");
	run_in_namespaces(f, &run);
	assert_value(f, "prepare", "ok");
	assert_value(f, "pivot", "ok");
	assert_value(f, "finalize", "ok");
	assert_mount(f, "/", "ext4", "ro", NULL);
	assert_value(f, "link:/proc/self", "1");
	/* the host's nodes, bound onto empty files */
	assert_mount(f, "/dev/null", "devtmpfs", NULL, NULL);
	assert_value(f, "node:/dev/null", "c 1:3 0666 0:0");
	assert_mount(f, "/dev/net/tun", "devtmpfs", NULL, NULL);
	assert_true(strncmp(get(f, "node:/dev/net/tun"), "c 10:200 ", 9) == 0);
	/* sysfs of a network namespace we do not own: the host's /sys, read-only throughout */
	assert_mount(f, "/sys", "sysfs", "ro,nosuid,nodev,noexec", NULL);
	assert_mount(f, "/sys/fs/cgroup", "tmpfs", "ro", NULL);
	assert_value(f, "write:/sys/kernel/x", "-30");
	assert_mount(f, "/data", "ext4", "ro", NULL);
	assert_value(f, "read:/data/hello", "hello");
	assert_value(f, "node:/proc/keys", "c 1:3 0666 0:0");
	assert_mount(f, "/proc/sys", "proc", "ro", NULL);
}

/* ---- symlinks in the rootfs never lead a mount out of it ---- */

/* True when mountinfo has a line containing `needle` (" /mount/point "). */
static bool mounted(const char *needle)
{
	char *info = NULL;
	bool found;

	if (hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL) < 0)
		return false;
	found = strstr(info, needle) != NULL;
	free(info);
	return found;
}

static void inspect_escape(int fd, const struct fixture *f)
{
	struct statfs sfs;
	char path[256];
	int n = 0;
	char *info = NULL;

	/* proc landed on rootfs/proc (rootfs/up -> "/") */
	snprintf(path, sizeof(path), "%s/rootfs/proc", f->dir);
	report(fd, "rootfs-is-proc", "%d",
	       statfs(path, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC);
	/* and nowhere near the host's / */
	report(fd, "host-root-is-proc", "%d",
	       statfs("/", &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC);
	/* the host keeps exactly one mount at /proc */
	if (hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL) == 0) {
		for (char *l = info; (l = strstr(l, " /proc ")); l++)
			n++;
		free(info);
	}
	report(fd, "host-proc-mounts", "%d", n);
	/*
	 * The bind through "evil -> ../../../../../../etc" and the tmpfs through
	 * "abs -> /tmp" landed in the rootfs (proc now covers it, so ask
	 * mountinfo rather than the paths).
	 */
	snprintf(path, sizeof(path), " %s/rootfs/etc/hull-escape ", f->dir);
	report(fd, "inside-bind", "%d", mounted(path));
	snprintf(path, sizeof(path), " %s/rootfs/tmp/hull-escape-tmp ", f->dir);
	report(fd, "inside-tmpfs", "%d", mounted(path));
	report(fd, "host-etc", "%d", access("/etc/hull-escape", F_OK) < 0 ? -errno : 0);
	report(fd, "host-tmp", "%d", access("/tmp/hull-escape-tmp", F_OK) < 0 ? -errno : 0);
}

static struct hull_oci_mount escape_mounts[] = {
	{ .destination = S("/evil/hull-escape"),
	  .type = S("bind"),
	  .source = S("shared"),
	  .options = STRV("rbind") },
	{ .destination = S("/abs/hull-escape-tmp"), .type = S("tmpfs"), .source = S("tmpfs") },
	/* proc through a parent that is a symlink to "/": lands on rootfs/proc */
	{ .destination = S("/up/proc"), .type = S("proc"), .source = S("proc") },
};

static void test_symlink_escape(void **state)
{
	struct fixture *f = *state;
	struct hull_oci_config c = {
		.root = { .path = S("rootfs") },
		.mounts = escape_mounts,
		.n_mounts = ELEMENTSOF(escape_mounts),
	};
	struct hull_rootfs_opts o = { .config = &c, .bundle_fd = f->dir_fd };
	struct run run = { .opts = &o, .enter = false, .inspect = inspect_escape };

	assert_int_equal(symlinkat("/", f->dir_fd, "rootfs/up"), 0);
	assert_int_equal(symlinkat("../../../../../../etc", f->dir_fd, "rootfs/evil"), 0);
	assert_int_equal(symlinkat("/tmp", f->dir_fd, "rootfs/abs"), 0);
	for (int i = 0; i < 2; i++) {
		set_mode(state, i == 0 ? &use_openat2 : &use_walk);
		run_in_namespaces(f, &run);
		assert_value(f, "prepare", "ok");
		assert_value(f, "rootfs-is-proc", "1");
		assert_value(f, "host-root-is-proc", "0");
		assert_value(f, "host-proc-mounts", "1");
		assert_value(f, "inside-bind", "1");
		assert_value(f, "inside-tmpfs", "1");
		assert_value(f, "host-etc", "-2");
		assert_value(f, "host-tmp", "-2");
	}
	assert_int_equal(access("/etc/hull-escape", F_OK), -1);
	assert_int_equal(access("/tmp/hull-escape-tmp", F_OK), -1);
}

/* ---- errors name the mount and its target ---- */

static struct hull_oci_mount bad_type_mounts[] = {
	{ .destination = S("/x"), .type = S("hull-no-such-fs"), .source = S("none") },
};
static struct hull_oci_mount bad_source_mounts[] = {
	{ .destination = S("/y"),
	  .type = S("bind"),
	  .source = S("no-such-dir"),
	  .options = STRV("rbind") },
};
static struct hull_oci_mount bad_option_mounts[] = {
	{ .destination = S("/z"),
	  .type = S("tmpfs"),
	  .source = S("tmpfs"),
	  .options = STRV("mode=banana") },
};
static struct hull_oci_mount proc_symlink_mounts[] = {
	{ .destination = S("/proc"), .type = S("proc"), .source = S("proc") },
};
static struct hull_oci_mount proc_target_mounts[] = {
	{ .destination = S("/proc"), .type = S("proc"), .source = S("proc") },
	{ .destination = S("/proc/self/attr"), .type = S("tmpfs"), .source = S("tmpfs") },
};

/*
 * Runs hull_rootfs_prepare() with `mounts` in a new mount namespace and
 * checks it fails with `code` and exactly `msg`.
 */
static void assert_prepare_fails(struct fixture *f, struct hull_oci_mount *mounts, size_t n,
				 int code, const char *msg)
{
	struct hull_oci_config c = { .root = { .path = S("rootfs") },
				     .mounts = mounts,
				     .n_mounts = n };
	struct hull_rootfs_opts o = { .config = &c, .bundle_fd = f->dir_fd };
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL); /* or the children inherit unwritten TAP lines */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hull_error *err = NULL;
		int rootfs = -EBADF, r;

		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNS) < 0)
			_exit(1);
		r = hull_rootfs_prepare(&o, &rootfs, &err);
		dprintf(p[1], "%d\n%s", r, err && err->msg ? err->msg : "");
		_exit(0);
	}
	close(p[1]);
	free(f->report);
	f->report = NULL;
	assert_int_equal(hull_read_fd(p[0], &f->report, NULL), 0);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_report(f->report);
	assert_int_equal(atoi(f->report), code);
	assert_string_equal(strchr(f->report, '\n') + 1, msg);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;

	unsetenv("HULL_NO_OPENAT2");
	assert_prepare_fails(f, bad_type_mounts, ELEMENTSOF(bad_type_mounts), -ENODEV,
			     "mount 'none' on '/x': No such device");
	assert_prepare_fails(f, bad_source_mounts, ELEMENTSOF(bad_source_mounts), -ENOENT,
			     "mount 'no-such-dir' on '/y': No such file or directory");
	assert_prepare_fails(f, proc_target_mounts, ELEMENTSOF(proc_target_mounts), -EPERM,
			     "mount 'tmpfs' on '/proc/self/attr': the target is inside /proc");
	assert_prepare_fails(
		f, bad_option_mounts, ELEMENTSOF(bad_option_mounts), -EINVAL,
		"mount 'tmpfs' on '/z' (tmpfs: Bad value for 'mode'): Invalid argument");
	/* as runc: proc (or sysfs) is never mounted through a symlink */
	assert_int_equal(renameat(f->dir_fd, "rootfs/proc", f->dir_fd, "rootfs/proc.dir"), 0);
	assert_int_equal(symlinkat("/", f->dir_fd, "rootfs/proc"), 0);
	assert_prepare_fails(f, proc_symlink_mounts, ELEMENTSOF(proc_symlink_mounts), -ENOTDIR,
			     "mounts[0].destination: filesystem 'proc' must be mounted on ordinary "
			     "directory ('/proc' is a symlink)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_openat2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pivot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
