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

/* A trailing slash or "/." asks for a directory, as in path_lookup. */
static bool wants_dir(const char *path)
{
	size_t len = strlen(path);

	if (only_dots_left(path))
		return false;
	return path[len - 1] == '/' || (len >= 2 && streq(path + len - 2, "/."));
}

/*
 * A symlink met on the way (`link_fd`, O_PATH|O_NOFOLLOW): the path left
 * becomes its target followed by *rest, resolved again from the root when
 * the target is absolute.
 */
static int walk_follow(struct walk *w, int link_fd, char **buf, char **rest, unsigned *links)
{
	char target[PATH_MAX + 1];
	ssize_t len;
	char *n;

	if (++*links > MAX_SYMLINKS)
		return -ELOOP;
	len = readlinkat(link_fd, "", target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (len == 0)
		return -ENOENT;
	target[len] = '\0';
	if (target[0] == '/')
		walk_pop_to(w, 1);
	n = hull_strdup_printf("%s/%s", target, *rest);
	if (!n)
		return -ENOMEM;
	free(*buf);
	*buf = *rest = n;
	return 0;
}

/* The final component, opened for real and never followed. */
static int open_last(int dir, const char *name, int flags, mode_t mode)
{
	int fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);

	return fd < 0 ? -errno : fd;
}

/* The component walk: one O_PATH|O_NOFOLLOW step per component. */
static int open_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	_cleanup_(walk_done) struct walk w = {};
	_cleanup_free_ char *buf = NULL;
	unsigned links = 0;
	bool must_be_dir;
	char *rest;
	int fd, r;

	if (path[0] == '\0')
		return -ENOENT; /* as open("") */
	buf = strdup(path);
	if (!buf)
		return -ENOMEM;
	rest = buf;
	must_be_dir = wants_dir(path);
	fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = walk_push(&w, fd);
	if (r < 0)
		return r;

	for (;;) {
		const char *c = next_component(&rest);
		int cur = w.fds[w.n - 1];
		_cleanup_close_ int cfd = -EBADF;
		struct stat st;
		bool last;

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
			if (errno == ENOENT && last && (flags & O_CREAT))
				return open_last(cur, c, flags, mode);
			return -errno;
		}
		if (fstat(cfd, &st) < 0)
			return -errno;
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW) && !must_be_dir)) {
			r = walk_follow(&w, cfd, &buf, &rest, &links);
			if (r < 0)
				return r;
			continue;
		}
		if (last)
			return open_last(cur, c, flags | (must_be_dir ? O_DIRECTORY : 0), mode);
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		r = walk_push(&w, TAKE_FD(cfd));
		if (r < 0)
			return r;
	}
	fd = openat(w.fds[w.n - 1], ".", (flags & ~(O_CREAT | O_NOFOLLOW)) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
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

/* Creates `name` in `parent`: a directory, or an empty file when `file`. */
static int make_component(int parent, const char *name, bool file, mode_t mode)
{
	int fd;

	if (!file)
		return mkdirat(parent, name, mode) < 0 ? -errno : 0;
	fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	safe_close(fd);
	return 0;
}

/*
 * One pass of mkdir -p inside the root: ever longer prefixes of `path` are
 * resolved from the root (the kernel, or the walk, resolves each, so
 * symlinks on the way stay inside) and what is missing is created in the
 * directory the previous prefix resolved to.  Returns 0 with the final
 * O_PATH fd in *ret_fd, or, on a dangling symlink, 0 with *ret_path set to
 * the path to create instead; -errno on failure.
 */
static int mkdir_pass(int root_fd, const char *path, bool file, mode_t mode, int *ret_fd,
		      char **ret_path)
{
	_cleanup_free_ char *prefix = NULL;
	_cleanup_close_ int parent = -EBADF;
	const char *p = path;
	size_t plen = 0;
	int r;

	prefix = malloc(strlen(path) + 2);
	if (!prefix)
		return -ENOMEM;
	prefix[0] = '\0';
	parent = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
	if (parent < 0)
		return parent;

	for (;;) {
		_cleanup_free_ char *name = NULL;
		size_t clen, dir_len = plen;
		struct stat st;
		bool last;
		int fd;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			*ret_fd = TAKE_FD(parent);
			return 0;
		}
		clen = strcspn(p, "/");
		name = strndup(p, clen);
		if (!name)
			return -ENOMEM;
		p += clen;
		if (streq(name, "."))
			continue;
		last = only_dots_left(p);
		prefix[plen++] = '/';
		memcpy(prefix + plen, name, clen);
		plen += clen;
		prefix[plen] = '\0';

		fd = open_in_root(root_fd, prefix, O_PATH | ((last && file) ? 0 : O_DIRECTORY), 0);
		if (fd == -ENOENT && !streq(name, "..")) {
			r = make_component(parent, name, last && file, mode);
			if (r == -EEXIST && fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode)) {
				/* a dangling symlink: create what it points to, as mkdir -p would
				 */
				prefix[dir_len] = '\0';
				return splice_link(parent, name, prefix, p, ret_path);
			}
			if (r < 0 && r != -EEXIST)
				return r;
			/* made (or made meanwhile by someone else): resolve it as it is now */
			fd = open_in_root(root_fd, prefix,
					  O_PATH | ((last && file) ? 0 : O_DIRECTORY), 0);
		}
		if (fd < 0)
			return fd;
		safe_close(parent);
		parent = fd;
	}
}

int hull_mkdir_in_root(int root_fd, const char *path, bool file, mode_t mode,
		       struct hull_error **reterr)
{
	_cleanup_free_ char *cur = NULL;
	int fd = -EBADF, r;

	/* the common case, in one resolution: it is there already */
	fd = open_in_root(root_fd, path, O_PATH | (file ? 0 : O_DIRECTORY), 0);
	if (fd >= 0)
		return fd;
	cur = strdup(path);
	if (!cur)
		return hull_error_errno(reterr, -ENOMEM, "create '%s' in rootfs", path);
	for (unsigned links = 0;; links++) {
		char *spliced = NULL;

		if (links > MAX_SYMLINKS)
			return hull_error_errno(reterr, -ELOOP, "create '%s' in rootfs", path);
		r = mkdir_pass(root_fd, cur, file, mode, &fd, &spliced);
		if (r < 0)
			return hull_error_errno(reterr, r, "create '%s' in rootfs", path);
		if (!spliced)
			return fd;
		free(cur);
		cur = spliced;
	}
}
