/* SPDX-License-Identifier: Apache-2.0 */
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/str.h"

int hull_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t hull_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int hull_write_file_at(int dirfd, const char *path, const void *data, size_t len)
{
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* one write: kernel interface files (cgroup, proc) want the value in one go */
	n = RETRY_EINTR(write(fd, data, len));
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int hull_write_string_at(int dirfd, const char *path, const char *s)
{
	return hull_write_file_at(dirfd, path, s, strlen(s));
}

int hull_read_fd(int fd, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb = realloc(buf, ncap);

			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = ncap;
		}
		n = RETRY_EINTR(read(fd, buf + len, cap - len - 1));
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int hull_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return hull_read_fd(fd, ret, ret_len);
}

int hull_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			      mode_t mode, enum hull_atomic_flags flags)
{
	_cleanup_close_ int fd = -EBADF;
	char tmp[PATH_MAX];
	int r;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (strchr(name, '/'))
		return -EINVAL;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = hull_write_all(fd, data, len);
	if (r >= 0 && (flags & HULL_ATOMIC_SYNC) && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (flags & HULL_ATOMIC_SYNC)
		fsync(dirfd);
	return 0;
}

int hull_mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	char *s;

	if (!p)
		return -ENOMEM;
	s = p;
	while (*s == '/')
		s++;
	for (;;) {
		char *slash = strchr(s, '/');

		if (slash)
			*slash = '\0';
		if (*s && mkdirat(dirfd, p, mode) < 0 && errno != EEXIST)
			return -errno;
		if (!slash)
			break;
		*slash = '/';
		s = slash + 1;
	}
	return 0;
}

static int rm_rf_children(int dfd, dev_t dev)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	d = fdopendir(dfd);
	if (!d) {
		safe_close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (streq_dots(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				r = -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd;

			if (st.st_dev != dev) {
				r = -EBUSY;
				continue;
			}
			cfd = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				int k = rm_rf_children(cfd, dev);

				if (k < 0)
					r = k;
			}
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				r = -errno;
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			r = -errno;
		}
	}
	closedir(d);
	return r;
}

int hull_opendir_dup(int fd, DIR **ret)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d;

	d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		safe_close(dup_fd);
		return -errno;
	}
	*ret = d;
	return 0;
}

int hull_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = rm_rf_children(fd, st.st_dev);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r >= 0)
		r = -errno;
	return r;
}

int hull_close_fds_from(int from, const int *keep, size_t n_keep)
{
	/* close_range over the gaps between the fds to keep (keep[] need not be sorted) */
	int lo = from;

	for (;;) {
		int next = -1;

		for (size_t i = 0; i < n_keep; i++)
			if (keep[i] >= lo && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0)
			break;
		if (next > lo && syscall(SYS_close_range, lo, next - 1, 0) < 0)
			return -errno;
		lo = next + 1;
	}
	if (syscall(SYS_close_range, lo, ~0U, 0) < 0)
		return -errno;
	return 0;
}

int hull_fd_set_cloexec(int fd, bool cloexec)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -errno;
	flags = cloexec ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
	if (fcntl(fd, F_SETFD, flags) < 0)
		return -errno;
	return 0;
}

int hull_flock_bounded(int fd, int op, unsigned timeout_ms)
{
	struct timespec start, now;
	unsigned step = 1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    (long)timeout_ms)
			return -EBUSY;
		usleep(step * 1000);
		step = step * 2 > 100 ? 100 : step * 2;
	}
}
