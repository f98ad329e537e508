/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolving paths inside a rootfs as if it were "/".
 *
 * openat2(RESOLVE_IN_ROOT) does it in the kernel.  Where it is missing
 * (ENOSYS, or HULL_NO_OPENAT2=1 so tests exercise this path) the same rules
 * are applied by walking one component at a time with O_PATH|O_NOFOLLOW:
 * ".." stops at the root, symlinks are read and their target is resolved
 * again from the root (absolute) or the current directory (relative).
 */
#include "linux/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

#define MAX_SYMLINKS 40	   /* the kernel's MAXSYMLINKS */
#define CREATE_MODE 0644   /* files hull_open_in_root() creates with O_CREAT */
#define OPENAT2_RETRIES 32 /* EAGAIN: a rename or mount raced with ".." */

static bool openat2_missing;

static bool use_openat2(void)
{
	const char *e = getenv("HULL_NO_OPENAT2");

	if (e && streq(e, "1"))
		return false;
	return !__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED);
}

/* Returns the fd, -ENOSYS when openat2 is unavailable, or another -errno. */
static int open_openat2(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0, /* openat2 wants 0 otherwise */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	for (int i = 0; i < OPENAT2_RETRIES; i++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno == ENOSYS) {
			__atomic_store_n(&openat2_missing, true, __ATOMIC_RELAXED);
			hull_debug("openat2 is not available, resolving paths by hand");
			return -ENOSYS;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

struct walk {
	int *fds; /* fds[0] is the root; fds[n-1] the current directory */
	size_t n, cap;
};

static void walk_done(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		safe_close(w->fds[i]);
	free(w->fds);
	w->fds = NULL;
	w->n = w->cap = 0;
}

static int walk_push(struct walk *w, int fd)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		int *n = reallocarray(w->fds, cap, sizeof(int));

		if (!n) {
			safe_close(fd);
			return -ENOMEM;
		}
		w->fds = n;
		w->cap = cap;
	}
	w->fds[w->n++] = fd;
	return 0;
}

static void walk_pop_to(struct walk *w, size_t n)
{
	while (w->n > n)
		safe_close(w->fds[--w->n]);
}

/* Splits off the next component of *rest ("" at the end); skips slashes. */
static const char *next_component(char **rest)
{
	char *s = *rest, *e;

	while (*s == '/')
		s++;
	e = strchr(s, '/');
	if (e) {
		*e = '\0';
		*rest = e + 1;
	} else {
		*rest = s + strlen(s);
	}
	return s;
}

/* True when nothing but slashes and "." components remain. */
static bool only_dots_left(const char *rest)
{
	for (const char *s = rest; *s;) {
		if (*s == '/') {
			s++;
		} else if (s[0] == '.' && (s[1] == '/' || s[1] == '\0')) {
			s++;
		} else {
			return false;
		}
	}
	return true;
}

/* The component walk.  `rest` is a malloc'ed copy of the path it consumes. */
static int open_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	_cleanup_free_ char *buf = NULL;
	struct walk w = {};
	char *rest;
	unsigned links = 0;
	bool must_be_dir;
	int fd, r;

	if (path[0] == '\0')
		return -ENOENT; /* as open("") */
	buf = strdup(path);
	if (!buf)
		return -ENOMEM;
	rest = buf;
	/* a trailing slash or "/." asks for a directory, as in path_lookup */
	must_be_dir = !only_dots_left(path) && strlen(path) > 0 &&
		      (path[strlen(path) - 1] == '/' ||
		       (strlen(path) >= 2 && streq(path + strlen(path) - 2, "/.")));

	fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = walk_push(&w, fd);
	if (r < 0)
		return r;

	for (;;) {
		const char *c = next_component(&rest);
		int cur = w.fds[w.n - 1];
		bool last;
		struct stat st;
		int cfd;

		if (c[0] == '\0')
			break; /* resolved to the current directory */
		if (streq(c, "."))
			continue;
		if (streq(c, "..")) {
			/* ".." of the root is the root itself */
			if (w.n > 1)
				walk_pop_to(&w, w.n - 1);
			continue;
		}
		last = only_dots_left(rest);

		cfd = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			r = -errno;
			if (r == -ENOENT && last && (flags & O_CREAT)) {
				fd = openat(cur, c, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				r = fd < 0 ? -errno : fd;
			}
			walk_done(&w);
			return r;
		}
		if (fstat(cfd, &st) < 0) {
			r = -errno;
			safe_close(cfd);
			walk_done(&w);
			return r;
		}

		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW) && !must_be_dir)) {
			char target[PATH_MAX + 1];
			ssize_t len;
			char *nrest;

			if (++links > MAX_SYMLINKS) {
				safe_close(cfd);
				walk_done(&w);
				return -ELOOP;
			}
			len = readlinkat(cfd, "", target, sizeof(target) - 1);
			r = len < 0 ? -errno : 0;
			safe_close(cfd);
			if (r < 0 || len >= PATH_MAX) {
				walk_done(&w);
				return r < 0 ? r : -ENAMETOOLONG;
			}
			if (len == 0) {
				walk_done(&w);
				return -ENOENT;
			}
			target[len] = '\0';
			if (target[0] == '/')
				walk_pop_to(&w, 1); /* absolute: back to the root */
			nrest = hull_strdup_printf("%s/%s", target, rest);
			if (!nrest) {
				walk_done(&w);
				return -ENOMEM;
			}
			free(buf);
			buf = nrest;
			rest = buf;
			continue;
		}

		if (!last) {
			if (!S_ISDIR(st.st_mode)) {
				safe_close(cfd);
				walk_done(&w);
				return -ENOTDIR;
			}
			r = walk_push(&w, cfd);
			if (r < 0) {
				walk_done(&w);
				return r;
			}
			continue;
		}

		/* the final component: open it for real, never following a symlink */
		safe_close(cfd);
		if (must_be_dir)
			flags |= O_DIRECTORY;
		fd = openat(cur, c, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		r = fd < 0 ? -errno : fd;
		walk_done(&w);
		return r;
	}

	fd = openat(w.fds[w.n - 1], ".", (flags & ~(O_CREAT | O_NOFOLLOW)) | O_CLOEXEC);
	r = fd < 0 ? -errno : fd;
	walk_done(&w);
	return r;
}

static int open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	int r;

	if (use_openat2()) {
		r = open_openat2(root_fd, path, flags, mode);
		if (r != -ENOSYS)
			return r;
	}
	return open_walk(root_fd, path, flags, mode);
}

int hull_open_in_root(int root_fd, const char *path, int flags, struct hull_error **reterr)
{
	int r;

	if ((flags & O_TMPFILE) == O_TMPFILE) /* O_TMPFILE includes O_DIRECTORY */
		return hull_error_set(reterr, -EINVAL,
				      "open '%s' in rootfs: O_TMPFILE is not supported", path);
	r = open_in_root(root_fd, path, flags, CREATE_MODE);
	if (r < 0)
		return hull_error_errno(reterr, r, "open '%s' in rootfs", path);
	return r;
}

/*
 * A missing component turned out to be a dangling symlink: returns the path
 * to create instead, its target spliced in (resolved from the root when
 * absolute, from the directory holding the link otherwise).
 */
static int splice_link(int parent, const char *name, const char *dir_prefix, const char *rest,
		       char **ret)
{
	char target[PATH_MAX];
	ssize_t n;
	char *s;

	n = readlinkat(parent, name, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT;
	target[n] = '\0';
	if (target[0] == '/')
		s = hull_strdup_printf("%s/%s", target, rest);
	else
		s = hull_strdup_printf("%s/%s/%s", dir_prefix, target, rest);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int hull_mkdir_in_root(int root_fd, const char *path, bool file, mode_t mode,
		       struct hull_error **reterr)
{
	_cleanup_free_ char *cur = NULL, *prefix = NULL;
	_cleanup_close_ int parent = -EBADF;
	unsigned links = 0;
	const char *p;
	size_t plen;
	int r;

	cur = strdup(path);
	if (!cur)
		return hull_error_errno(reterr, -ENOMEM, "create '%s' in rootfs", path);
restart:
	free(prefix);
	prefix = malloc(strlen(cur) + 2);
	if (!prefix)
		return hull_error_errno(reterr, -ENOMEM, "create '%s' in rootfs", path);
	prefix[0] = '\0';
	plen = 0;
	p = cur;

	safe_close(parent);
	parent = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
	if (parent < 0)
		return hull_error_errno(reterr, parent, "open rootfs");

	/*
	 * Resolve ever longer prefixes from the root, creating what is missing
	 * in the directory the previous prefix resolved to; the kernel (or the
	 * walk) resolves each prefix, so symlinks on the way stay inside.
	 */
	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		size_t clen, dir_len = plen;
		const char *c;
		bool last;
		int oflags;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		c = p;
		clen = strcspn(c, "/");
		p = c + clen;
		if (clen == 1 && c[0] == '.')
			continue;
		last = only_dots_left(p);

		prefix[plen++] = '/';
		memcpy(prefix + plen, c, clen);
		plen += clen;
		prefix[plen] = '\0';

		oflags = O_PATH | ((last && file) ? 0 : O_DIRECTORY);
		for (int attempt = 0;; attempt++) {
			_cleanup_free_ char *name = NULL, *spliced = NULL;
			struct stat st;

			fd = open_in_root(root_fd, prefix, oflags, 0);
			if (fd >= 0 || fd != -ENOENT || attempt > 0)
				break;

			name = strndup(c, clen);
			if (!name)
				return hull_error_errno(reterr, -ENOMEM, "create '%s' in rootfs",
							path);
			if (streq_dots(name))
				break;
			if (last && file) {
				int nfd = openat(
					parent, name,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
				r = nfd < 0 ? -errno : 0;
				safe_close(nfd);
			} else {
				r = mkdirat(parent, name, mode) < 0 ? -errno : 0;
			}
			if (r >= 0)
				continue;
			if (r != -EEXIST)
				return hull_error_errno(reterr, r, "create '%s' in rootfs", prefix);
			if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISLNK(st.st_mode))
				continue; /* a race: the retry sees what is there now */

			/* a dangling symlink: create what it points to, as mkdir -p would */
			if (++links > MAX_SYMLINKS)
				return hull_error_errno(reterr, -ELOOP, "create '%s' in rootfs",
							path);
			prefix[dir_len] = '\0';
			r = splice_link(parent, name, prefix, p, &spliced);
			if (r < 0)
				return hull_error_errno(reterr, r, "create '%s' in rootfs", path);
			free(cur);
			cur = TAKE_PTR(spliced);
			goto restart;
		}
		if (fd < 0)
			return hull_error_errno(reterr, fd, "create '%s' in rootfs", prefix);
		safe_close(parent);
		parent = TAKE_FD(fd);
	}
	return TAKE_FD(parent);
}
