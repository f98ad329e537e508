/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: the filesystem under the backends.  Reading and writing cgroup
 * files, making and removing cgroup directories level by level, listing and
 * signalling the processes of a cgroup tree (by pid namespace through
 * pidfds when asked), and the checks before a container joins a cgroup.
 */
#include <dirent.h>
#include <linux/nsfs.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

int hull_cgroup_write(int dfd, const char *file, const char *value, struct hull_error **reterr)
{
	int r = hull_write_string_at(dfd, file, value);

	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s' = '%s'", file, value);
	hull_debug("cgroup: wrote '%s' = '%s'", file, value);
	return 0;
}

int hull_cgroup_writef(int dfd, const char *file, struct hull_error **reterr, const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return hull_cgroup_write(dfd, file, v, reterr);
}

int hull_cgroup_read(int dfd, const char *file, char **ret)
{
	char *s = NULL;
	size_t len = 0;
	int r;

	r = hull_read_file_at(dfd, file, &s, &len);
	if (r < 0)
		return r;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	*ret = s;
	return 0;
}

int hull_cgroup_read_u64(int dfd, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = hull_cgroup_read(dfd, file, &s);
	if (r < 0)
		return r;
	if (streq(s, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	return hull_parse_u64(s, ret);
}

int hull_cgroup_read_keyed(int dfd, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	size_t klen = strlen(key);
	int r;

	r = hull_cgroup_read(dfd, file, &s);
	if (r < 0)
		return r;
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return hull_parse_u64(line + klen + 1, ret);
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

bool hull_cgroup_file_exists(int dfd, const char *file)
{
	return faccessat(dfd, file, F_OK, 0) == 0;
}

int hull_cgroup_open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Copies parent/file into dir/file when the latter is empty (cpuset.cpus, cpuset.mems). */
static int cpuset_inherit(const char *parent, const char *dir, const char *file,
			  struct hull_error **reterr)
{
	_cleanup_close_ int pfd = -EBADF, dfd = -EBADF;
	_cleanup_free_ char *mine = NULL, *theirs = NULL;
	int r;

	dfd = hull_cgroup_open_dir(dir);
	if (dfd < 0)
		return hull_error_errno(reterr, dfd, "open cgroup '%s'", dir);
	r = hull_cgroup_read(dfd, file, &mine);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s/%s'", dir, file);
	if (*mine)
		return 0;
	pfd = hull_cgroup_open_dir(parent);
	if (pfd < 0)
		return hull_error_errno(reterr, pfd, "open cgroup '%s'", parent);
	r = hull_cgroup_read(pfd, file, &theirs);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s/%s'", parent, file);
	if (!*theirs)
		return 0;
	return hull_cgroup_write(dfd, file, theirs, reterr);
}

static size_t count_levels(const char *path)
{
	size_t n = 0;

	for (const char *p = path; *p; p++)
		if (*p == '/')
			n++;
	return n;
}

static int mkdir_levels_once(const char *mount_point, const char *path, bool cpuset,
			     size_t *ret_first, struct hull_error **reterr)
{
	_cleanup_free_ char *cur = NULL;
	size_t first = (size_t)-1, level = 0, mlen = strlen(mount_point);
	const char *p = path;
	int r;

	cur = malloc(mlen + strlen(path) + 1);
	if (!cur)
		return -ENOMEM;
	memcpy(cur, mount_point, mlen + 1);
	while (*p) {
		size_t n, clen = strlen(cur);

		p++; /* the '/' */
		n = strcspn(p, "/");
		cur[clen] = '/';
		memcpy(cur + clen + 1, p, n);
		cur[clen + 1 + n] = '\0';
		p += n;

		if (mkdir(cur, 0755) == 0) {
			if (first == (size_t)-1)
				first = level;
		} else if (errno != EEXIST) {
			r = hull_error_errno(reterr, -errno, "create cgroup '%s'", cur);
			goto fail;
		}
		if (cpuset) {
			_cleanup_free_ char *parent = strndup(cur, clen);

			if (!parent) {
				r = -ENOMEM;
				goto fail;
			}
			/* a v1 cpuset with empty cpus or mems refuses tasks: inherit them */
			if ((r = cpuset_inherit(parent, cur, "cpuset.cpus", reterr)) < 0 ||
			    (r = cpuset_inherit(parent, cur, "cpuset.mems", reterr)) < 0)
				goto fail;
		}
		level++;
	}
	*ret_first = first;
	return 0;
fail:
	if (first != (size_t)-1)
		hull_cgroup_rmdir_levels(mount_point, path, first);
	return r;
}

int hull_cgroup_mkdir_levels(const char *mount_point, const char *path, bool cpuset,
			     size_t *ret_first, struct hull_error **reterr)
{
	int r;

	/*
	 * A concurrent delete may remove an empty shared parent (/hull) under us:
	 * mkdir then fails with ENOENT, and a file of the removed cgroup read or
	 * written in between (cpuset.cpus) with ENODEV.  Both mean "start again".
	 */
	for (int attempt = 0;; attempt++) {
		r = mkdir_levels_once(mount_point, path, cpuset, ret_first, reterr);
		if ((r != -ENOENT && r != -ENODEV) || attempt == 5)
			return r;
	}
}

void hull_cgroup_rmdir_parents(const char *mount_point, const char *path)
{
	_cleanup_free_ char *parent = NULL;
	char *slash;

	/* only hull's own subtree: an absolute cgroupsPath's parents belong to someone else */
	if (!startswith(path, "/hull/"))
		return;
	parent = strdup(path);
	if (!parent)
		return;
	slash = strrchr(parent, '/');
	*slash = '\0';
	hull_cgroup_rmdir_levels(mount_point, parent, 0);
}

void hull_cgroup_rmdir_levels(const char *mount_point, const char *path, size_t first)
{
	_cleanup_free_ char *cur = NULL;
	size_t levels = count_levels(path);

	if (first == (size_t)-1)
		return;
	cur = hull_strdup_printf("%s%s", mount_point, path);
	if (!cur)
		return;
	/* leaf first; stop at the first level that is not ours or not empty */
	for (size_t l = levels; l > first; l--) {
		char *slash;

		if (rmdir(cur) < 0 && errno != ENOENT) {
			hull_debug("cgroup: rmdir '%s': %m", cur);
			return;
		}
		slash = strrchr(cur, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int collect_pids_rec(const char *dir, pid_t **pids, size_t *n, unsigned depth)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_close_ int dfd = -EBADF;
	DIR *d;
	struct dirent *de;
	int r;

	if (depth > 256)
		return -ELOOP;
	dfd = hull_cgroup_open_dir(dir);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	r = hull_cgroup_read(dfd, "cgroup.procs", &procs);
	if (r == -ENOENT || r == -ENODEV)
		return 0; /* removed under us */
	if (r < 0)
		return r;
	for (char *line = procs, *save = NULL, *tok = strtok_r(line, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		int pid;

		if (hull_parse_int(tok, &pid) < 0 || pid <= 0)
			continue; /* 0: a process outside our pid namespace */
		if (*n % 64 == 0) {
			pid_t *np = realloc(*pids, (*n + 64) * sizeof(pid_t));

			if (!np)
				return -ENOMEM;
			*pids = np;
		}
		(*pids)[(*n)++] = pid;
	}

	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return -errno;
	r = 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (de->d_type != DT_DIR || streq_dots(de->d_name))
			continue;
		sub = hull_strdup_printf("%s/%s", dir, de->d_name);
		if (!sub) {
			r = -ENOMEM;
			break;
		}
		r = collect_pids_rec(sub, pids, n, depth + 1);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int hull_cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n)
{
	size_t o = 0;
	int r;

	r = collect_pids_rec(dir, pids, n, 0);
	if (r < 0)
		return r;
	if (*n == 0)
		return 0;
	qsort(*pids, *n, sizeof(pid_t), pid_cmp);
	for (size_t i = 0; i < *n; i++)
		if (o == 0 || (*pids)[o - 1] != (*pids)[i])
			(*pids)[o++] = (*pids)[i];
	*n = o;
	return 0;
}

/* Is the pid namespace `fd` (taken over) `ns` or one below it? */
static bool pidns_within(int fd, const struct stat *ns)
{
	_cleanup_close_ int cur = fd;

	/* pid namespaces nest at most 32 deep */
	for (unsigned depth = 0; cur >= 0 && depth <= 32; depth++) {
		struct stat st;
		int parent;

		if (fstat(cur, &st) < 0)
			return false;
		if (st.st_dev == ns->st_dev && st.st_ino == ns->st_ino)
			return true;
		parent = ioctl(cur, NS_GET_PARENT);
		safe_close(cur);
		cur = parent < 0 ? -EBADF : parent;
	}
	return false;
}

/* Signals pid through a pidfd when it is in pid namespace `ns` (or one below it). */
static void signal_in_pidns(pid_t pid, int sig, const struct stat *ns)
{
	_cleanup_close_ int pidfd = -EBADF;
	char path[64];

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (!pidns_within(open(path, O_RDONLY | O_CLOEXEC), ns))
		return;
	/*
	 * If the pidfd's process is alive now, it was alive when its namespace
	 * was read, so the pid named it then; a dead one makes this ESRCH.
	 */
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		hull_debug("cgroup: kill %d: %m", (int)pid);
}

void hull_cgroup_signal_pids(const pid_t *pids, size_t n, int sig, const struct stat *pidns)
{
	for (size_t i = 0; i < n; i++) {
		/* never 0 or negative: kill() would reach a whole process group or everyone */
		if (pids[i] <= 0)
			continue;
		if (pidns)
			signal_in_pidns(pids[i], sig, pidns);
		else if (kill(pids[i], sig) < 0 && errno != ESRCH)
			hull_debug("cgroup: kill %d: %m", (int)pids[i]);
	}
}

int hull_cgroup_check_join(const struct hull_cgroup *cg, bool frozen, struct hull_error **reterr)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	/* runc's words: engines and people search for them */
	if (frozen)
		return hull_error_set(
			reterr, -EBUSY,
			"cgroup '%s': container's cgroup unexpectedly frozen (thaw it "
			"or use another cgroup)",
			cg->path);
	if (cg->ops->pids(cg, &pids, &n, NULL) >= 0 && n > 0)
		hull_warn("container's cgroup is not empty: %zu process(es) found in '%s'", n,
			  cg->path);
	return 0;
}

void hull_cgroup_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int rmdir_tree_rec(const char *dir, unsigned depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 256)
		return -ELOOP;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		int k;

		if (de->d_type != DT_DIR || streq_dots(de->d_name))
			continue;
		sub = hull_strdup_printf("%s/%s", dir, de->d_name);
		if (!sub) {
			r = -ENOMEM;
			continue;
		}
		k = rmdir_tree_rec(sub, depth + 1);
		if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	if (r < 0)
		return r;
	/* tasks that were just killed leave the cgroup a moment later: EBUSY for a while */
	for (unsigned i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= 100)
			return -errno;
		hull_cgroup_sleep_ms(10);
	}
}

int hull_cgroup_rmdir_tree(const char *dir)
{
	return rmdir_tree_rec(dir, 0);
}
