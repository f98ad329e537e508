/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a hull micro-VM boots from (microvm.h): the guest kernel, the agent's
 * initramfs and the root image, each made once and cached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/microvm.h"
#include "runtime/cloned-binary.h"
#include "util/crypto-dl.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/str.h"
#include "vmm/initramfs.h"

#define TREE_MAX_DEPTH 256

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)

/* ---- the guest kernel ------------------------------------------------------------------- */

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int hull_microvm_kernel(char **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *best = NULL;
	const char *env = getenv("HULL_GUEST_KERNEL"), *cache = getenv("HULL_GUEST_KERNEL_CACHE");
	struct timespec best_time = {};
	struct dirent *de;
	DIR *d;

	if (env && *env) {
		struct stat st;
		char *p;

		if (stat(env, &st) < 0)
			return hull_error_errno(reterr, -errno, "HULL_GUEST_KERNEL '%s'", env);
		p = S_ISDIR(st.st_mode) ? hull_strdup_printf("%s/bzImage", env) : strdup(env);
		if (!p)
			return -ENOMEM;
		*ret = p;
		return 0;
	}
	if (!cache || !*cache)
		cache = HULL_MICROVM_KERNEL_CACHE;
	d = opendir(cache);
	while (d && (de = readdir(d))) {
		_cleanup_free_ char *built = NULL, *img = NULL;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		built = hull_strdup_printf("%s/%s/BUILT", cache, de->d_name);
		img = hull_strdup_printf("%s/%s/bzImage", cache, de->d_name);
		if (!built || !img) {
			closedir(d);
			return -ENOMEM;
		}
		/* BUILT marks a complete build; the newest one wins */
		if (stat(built, &st) < 0 || !is_file(img))
			continue;
		if (!best || st.st_mtim.tv_sec > best_time.tv_sec ||
		    (st.st_mtim.tv_sec == best_time.tv_sec &&
		     st.st_mtim.tv_nsec > best_time.tv_nsec)) {
			free(best);
			best = TAKE_PTR(img);
			best_time = st.st_mtim;
		}
	}
	if (d)
		closedir(d);
	if (!best)
		return hull_error_set(reterr, -ENOENT,
				      "no guest kernel in '%s': run `make guest-kernel` (or set "
				      "HULL_GUEST_KERNEL)",
				      cache);
	*ret = TAKE_PTR(best);
	return 0;
}

/* ---- hashing ------------------------------------------------------------------------------ */

static int hash_fd(EVP_MD_CTX *ctx, int fd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			return -ENOMEM;
	}
}

static int hash_file(const char *path, char hex[65])
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char digest[HULL_DIGEST_MAX];
	unsigned char md[32];
	int r;

	if (fd < 0)
		return -errno;
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	r = hash_fd(ctx, fd);
	if (r < 0)
		return r;
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		return -ENOMEM;
	hull_digest_format(md, digest);
	memcpy(hex, hull_digest_hex(digest), 65);
	return 0;
}

struct tree_sum {
	EVP_MD_CTX *ctx;
	uint64_t bytes, inodes;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of an open directory (without . and ..). */
static int dir_names(int dfd, char ***ret)
{
	_cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	size_t n = 0;
	DIR *d = NULL;
	int r;

	if (!v)
		return -ENOMEM;
	r = hull_opendir_dup(dfd, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (hull_strv_push(&v, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmp_str);
	*ret = TAKE_PTR(v);
	return 0;
}

/* Feeds one entry (and what is below it) into the sum: name, metadata, content. */
static int hash_entry(struct tree_sum *s, int dfd, const char *name, unsigned depth)
{
	char head[PATH_MAX + 128];
	struct stat st;
	int n, r;

	if (depth > TREE_MAX_DEPTH)
		return -ELOOP;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	n = snprintf(head, sizeof(head), "%u %s\n%o %u %u %llu %llu\n", depth, name, st.st_mode,
		     st.st_uid, st.st_gid, (unsigned long long)st.st_size,
		     (unsigned long long)st.st_rdev);
	if (n < 0 || n >= (int)sizeof(head))
		return -ENAMETOOLONG;
	if (EVP_DigestUpdate(s->ctx, head, (size_t)n) != 1)
		return -ENOMEM;
	s->inodes++;
	s->bytes += (uint64_t)st.st_blocks * 512;
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(dfd, name, target, sizeof(target));

		if (len < 0)
			return -errno;
		return EVP_DigestUpdate(s->ctx, target, (size_t)len) == 1 ? 0 : -ENOMEM;
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		return fd < 0 ? -errno : hash_fd(s->ctx, fd);
	}
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sub =
			openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_strv_free_ char **names = NULL;

		if (sub < 0)
			return -errno;
		r = dir_names(sub, &names);
		if (r < 0)
			return r;
		for (char **p = names; *p; p++) {
			r = hash_entry(s, sub, *p, depth + 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The sha256 (hex) of a directory tree, and the room it takes. */
static int hash_tree(const char *root, char hex[65], uint64_t *ret_bytes, uint64_t *ret_inodes)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct tree_sum s = { .ctx = ctx };
	char digest[HULL_DIGEST_MAX];
	unsigned char md[32];
	int r;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	r = hash_entry(&s, AT_FDCWD, root, 0);
	if (r < 0)
		return r;
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		return -ENOMEM;
	hull_digest_format(md, digest);
	memcpy(hex, hull_digest_hex(digest), 65);
	*ret_bytes = s.bytes;
	*ret_inodes = s.inodes;
	return 0;
}

/* ---- the agent's initramfs ---------------------------------------------------------------- */

static int find_agent(char **ret)
{
	static const char *const rel[] = { "hull-agent", "../hull-agent", "../../hull-agent" };
	const char *env = getenv("HULL_AGENT");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		*ret = strdup(env);
		return *ret ? 0 : -ENOMEM;
	}
	/* the file hull runs from, not the sealed copy hull-runtime re-executes */
	n = hull_self_exe_path(self, sizeof(self));
	if (n <= 0)
		return n < 0 ? (int)n : -ENOENT;
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	slash[1] = 0;
	for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
		_cleanup_free_ char *p = hull_strdup_printf("%s%s", self, rel[i]);

		if (!p)
			return -ENOMEM;
		if (is_file(p)) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	return -ENOENT;
}

int hull_microvm_initramfs(const char *cache_dir, char **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *agent = NULL, *path = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	char hex[65];
	int r;

	r = find_agent(&agent);
	if (r < 0)
		return hull_error_set(reterr, r,
				      "no hull-agent beside this program (build it, or set "
				      "HULL_AGENT)");
	r = hash_file(agent, hex);
	if (r < 0)
		return hull_error_errno(reterr, r, "read the agent '%s'", agent);
	r = hull_mkdir_p_at(AT_FDCWD, cache_dir, 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create '%s'", cache_dir);
	hex[16] = 0;
	path = hull_strdup_printf("%s/agent-%s.cpio", cache_dir, hex);
	tmp = hull_strdup_printf("%s/.agent-%s.%d", cache_dir, hex, (int)getpid());
	if (!path || !tmp)
		return -ENOMEM;
	if (is_file(path)) {
		*ret = TAKE_PTR(path);
		return 0;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "create '%s'", tmp);
	r = hull_initramfs_write(fd, agent, NULL, 0, 0, reterr);
	if (r >= 0 && fsync(fd) < 0)
		r = hull_error_errno(reterr, -errno, "write '%s'", tmp);
	if (r >= 0 && rename(tmp, path) < 0)
		r = hull_error_errno(reterr, -errno, "rename '%s'", tmp);
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	*ret = TAKE_PTR(path);
	return 0;
}

/* ---- the root image ----------------------------------------------------------------------- */

/* mke2fs -d: its output goes to a pipe, the last line of it into the error. */
static int run_mke2fs(const char *dir, const char *image, uint64_t size_kib, uint64_t inodes,
		      struct hull_error **reterr)
{
	char size[32], ninodes[32];
	char *argv[] = {
		(char *)"mke2fs", (char *)"-q",	 (char *)"-F", (char *)"-t", (char *)"ext4",
		(char *)"-m",	  (char *)"0",	 (char *)"-N", ninodes,	     (char *)"-d",
		(char *)dir,	  (char *)image, size,	       NULL
	};
	_cleanup_free_ char *out = NULL;
	int pipefd[2], status;
	pid_t pid;

	snprintf(size, sizeof(size), "%lluk", (unsigned long long)size_kib);
	snprintf(ninodes, sizeof(ninodes), "%llu", (unsigned long long)inodes);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return hull_error_errno(reterr, -errno, "fork");
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "exec: %s", strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	(void)hull_read_fd(pipefd[0], &out, NULL);
	close(pipefd[0]);
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
		return hull_error_errno(reterr, -errno, "wait for mke2fs");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (out) {
		char *end = out + strlen(out);

		while (end > out && (end[-1] == '\n' || end[-1] == ' '))
			*--end = 0;
		end = strrchr(out, '\n');
		return hull_error_set(reterr, -EIO, "mke2fs -d '%s': %s", dir, end ? end + 1 : out);
	}
	return hull_error_set(reterr, -EIO, "mke2fs -d '%s' failed", dir);
}

int hull_microvm_rootfs_image(const char *cache_dir, const char *rootfs, const char *key,
			      char **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	uint64_t bytes = 0, inodes = 0, size_kib;
	char hex[65];
	struct stat st;
	int r;

	if (stat(rootfs, &st) < 0)
		return hull_error_errno(reterr, -errno, "rootfs '%s'", rootfs);
	if (!S_ISDIR(st.st_mode))
		return hull_error_set(reterr, -ENOTDIR, "rootfs '%s': not a directory", rootfs);
	if (key && (!*key || strspn(key, "0123456789abcdef") != strlen(key) || strlen(key) > 64))
		return hull_error_set(reterr, -EINVAL, "rootfs key '%s': expected hex", key);
	r = hull_mkdir_p_at(AT_FDCWD, cache_dir, 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create '%s'", cache_dir);
	if (!key) {
		r = hash_tree(rootfs, hex, &bytes, &inodes);
		if (r < 0)
			return hull_error_errno(reterr, r, "read rootfs '%s'", rootfs);
		key = hex;
	}
	path = hull_strdup_printf("%s/rootfs-%s.ext4", cache_dir, key);
	tmp = hull_strdup_printf("%s/.rootfs-%s.%d", cache_dir, key, (int)getpid());
	if (!path || !tmp)
		return -ENOMEM;
	if (is_file(path)) {
		*ret = TAKE_PTR(path);
		return 0;
	}
	if (inodes == 0) {
		char ignored[65];

		r = hash_tree(rootfs, ignored, &bytes, &inodes);
		if (r < 0)
			return hull_error_errno(reterr, r, "read rootfs '%s'", rootfs);
	}
	/* room for ext4's own metadata, and some for the guest to spare */
	size_kib = bytes / 1024 + bytes / 4096 + inodes / 4 + 16 * 1024;
	r = run_mke2fs(rootfs, tmp, size_kib, inodes + inodes / 4 + 1024, reterr);
	if (r >= 0 && rename(tmp, path) < 0)
		r = hull_error_errno(reterr, -errno, "rename '%s'", tmp);
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	*ret = TAKE_PTR(path);
	return 0;
}
