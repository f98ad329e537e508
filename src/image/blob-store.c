/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blob store (see blob-store.h).  Blobs live in one flat directory,
 * sha256/<hex>; a writer streams into sha256/.tmp-<pid>-<n>-<rand>, hashing
 * as it goes, and renames the file to its digest only once the digest and
 * size are what the caller expected.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/blob-store.h"
#include "util/crypto-dl.h"
#include "util/file.h"
#include "util/str.h"

#define ALGO_DIR "sha256"
#define TMP_PREFIX ".tmp-"
#define STALE_TMP_SECONDS 3600

struct hull_blob_store {
	int fd;	     /* the store directory */
	int algo_fd; /* its sha256/ */
};

struct hull_blob_writer {
	struct hull_blob_store *store;
	EVP_MD_CTX *ctx;
	int fd;
	char tmp[64];
	char expected[HULL_DIGEST_MAX];
	uint64_t expected_size;
	uint64_t size;
	bool done;
};

/* ---- the store -------------------------------------------------------- */

/*
 * Removes .tmp-* files a crashed writer left: those older than min_age
 * seconds (0: all).  Returns the bytes freed.
 */
static uint64_t remove_tmp(int algo_fd, time_t min_age)
{
	DIR *d = NULL;
	struct dirent *de;
	time_t now = time(NULL);
	uint64_t freed = 0;

	if (hull_opendir_dup(algo_fd, &d) < 0)
		return 0;
	rewinddir(d); /* the duplicate shares the offset of earlier scans */
	while ((de = readdir(d))) {
		struct stat st;

		if (!startswith(de->d_name, TMP_PREFIX))
			continue;
		if (fstatat(algo_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((min_age == 0 || now - st.st_mtime > min_age) &&
		    unlinkat(algo_fd, de->d_name, 0) == 0)
			freed += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return freed;
}

uint64_t hull_blob_store_remove_partial(struct hull_blob_store *s)
{
	return remove_tmp(s->algo_fd, 0);
}

int hull_blob_store_open_at(int dirfd, const char *dir, struct hull_blob_store **ret,
			    struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF, afd = -EBADF;
	struct hull_blob_store *s;
	int r;

	r = hull_mkdir_p_at(dirfd, dir, 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create blob store '%s'", dir);
	fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open blob store '%s'", dir);
	if (mkdirat(fd, ALGO_DIR, 0700) < 0 && errno != EEXIST)
		return hull_error_errno(reterr, -errno, "create blob store '%s/%s'", dir, ALGO_DIR);
	afd = openat(fd, ALGO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0)
		return hull_error_errno(reterr, -errno, "open blob store '%s/%s'", dir, ALGO_DIR);
	(void)remove_tmp(afd, STALE_TMP_SECONDS);
	s = calloc(1, sizeof(*s));
	if (!s)
		return hull_error_errno(reterr, -ENOMEM, "open blob store '%s'", dir);
	s->fd = TAKE_FD(fd);
	s->algo_fd = TAKE_FD(afd);
	*ret = s;
	return 0;
}

int hull_blob_store_open(const char *dir, struct hull_blob_store **ret, struct hull_error **reterr)
{
	return hull_blob_store_open_at(AT_FDCWD, dir, ret, reterr);
}

void hull_blob_store_free(struct hull_blob_store *s)
{
	if (!s)
		return;
	safe_close(s->fd);
	safe_close(s->algo_fd);
	free(s);
}

int hull_blob_store_fd(const struct hull_blob_store *s)
{
	return s->fd;
}

bool hull_blob_store_has(struct hull_blob_store *s, const char *digest)
{
	struct stat st;

	if (!hull_digest_valid(digest))
		return false;
	return fstatat(s->algo_fd, hull_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

int hull_blob_store_open_blob(struct hull_blob_store *s, const char *digest, int *ret_fd,
			      struct hull_error **reterr)
{
	int r = hull_digest_check(digest, reterr);
	int fd;

	if (r < 0)
		return r;
	fd = openat(s->algo_fd, hull_digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return hull_error_set(reterr, -ENOENT, "blob '%s': not in the store", digest);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open blob '%s'", digest);
	*ret_fd = fd;
	return 0;
}

int hull_blob_store_size(struct hull_blob_store *s, const char *digest, uint64_t *ret,
			 struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r = hull_blob_store_open_blob(s, digest, &fd, reterr);

	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return hull_error_errno(reterr, -errno, "stat blob '%s'", digest);
	*ret = (uint64_t)st.st_size;
	return 0;
}

int hull_blob_store_read(struct hull_blob_store *s, const char *digest, size_t max_size, char **ret,
			 size_t *ret_len, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;
	int r = hull_blob_store_open_blob(s, digest, &fd, reterr);

	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return hull_error_errno(reterr, -errno, "stat blob '%s'", digest);
	if ((uint64_t)st.st_size > max_size)
		return hull_error_set(reterr, -EFBIG, "blob '%s': %" PRIu64 " bytes, more than %zu",
				      digest, (uint64_t)st.st_size, max_size);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return hull_error_errno(reterr, -ENOMEM, "read blob '%s'", digest);
	n = hull_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return hull_error_errno(reterr, (int)n, "read blob '%s'", digest);
	if ((size_t)n != (size_t)st.st_size)
		return hull_error_set(reterr, -EIO, "read blob '%s': short read", digest);
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

int hull_blob_store_remove(struct hull_blob_store *s, const char *digest,
			   struct hull_error **reterr)
{
	int r = hull_digest_check(digest, reterr);

	if (r < 0)
		return r;
	if (unlinkat(s->algo_fd, hull_digest_hex(digest), 0) < 0 && errno != ENOENT)
		return hull_error_errno(reterr, -errno, "remove blob '%s'", digest);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hull_blob_store_list(struct hull_blob_store *s, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **l = NULL;
	DIR *d = NULL;
	struct dirent *de;
	int r;

	r = hull_opendir_dup(s->algo_fd, &d);
	if (r < 0)
		return hull_error_errno(reterr, r, "list blobs");
	rewinddir(d);
	while ((de = readdir(d))) {
		char *dg;

		if (strlen(de->d_name) != 64)
			continue;
		dg = hull_strdup_printf("sha256:%s", de->d_name);
		if (!dg || !hull_digest_valid(dg)) {
			free(dg);
			if (!dg) {
				closedir(d);
				return -ENOMEM;
			}
			continue;
		}
		r = hull_strv_consume(&l, dg);
		if (r < 0) {
			free(dg);
			closedir(d);
			return r;
		}
	}
	closedir(d);
	if (!l) {
		l = calloc(1, sizeof(char *));
		if (!l)
			return -ENOMEM;
	}
	qsort(l, hull_strv_length(l), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(l);
	return 0;
}

/* ---- writer ------------------------------------------------------------ */

int hull_blob_writer_begin(struct hull_blob_store *s, const char *expected_digest,
			   uint64_t expected_size, struct hull_blob_writer **ret,
			   struct hull_error **reterr)
{
	static unsigned counter;
	struct hull_blob_writer *w;
	uint32_t rnd = 0;
	int r;

	if (expected_digest) {
		r = hull_digest_check(expected_digest, reterr);
		if (r < 0)
			return r;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return hull_error_errno(reterr, -ENOMEM, "write blob");
	w->store = s;
	w->fd = -EBADF;
	w->expected_size = expected_size;
	if (expected_digest)
		snprintf(w->expected, sizeof(w->expected), "%s", expected_digest);
	w->ctx = EVP_MD_CTX_new();
	if (!w->ctx || EVP_DigestInit_ex(w->ctx, EVP_sha256(), NULL) != 1) {
		hull_blob_writer_free(w);
		return hull_error_errno(reterr, -ENOMEM, "write blob: sha256");
	}
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (uint32_t)time(NULL);
	snprintf(w->tmp, sizeof(w->tmp), TMP_PREFIX "%d-%u-%08x", (int)getpid(),
		 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED), rnd);
	w->fd = openat(s->algo_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0644);
	if (w->fd < 0) {
		r = -errno;
		w->tmp[0] = '\0';
		hull_blob_writer_free(w);
		return hull_error_errno(reterr, r, "write blob: create temp file");
	}
	*ret = w;
	return 0;
}

static const char *writer_name(const struct hull_blob_writer *w)
{
	return w->expected[0] ? w->expected : "(new)";
}

int hull_blob_writer_write(struct hull_blob_writer *w, const void *buf, size_t len,
			   struct hull_error **reterr)
{
	int r;

	if (w->done)
		return hull_error_set(reterr, -EINVAL, "blob '%s': already committed",
				      writer_name(w));
	if (len > UINT64_MAX - w->size ||
	    (w->expected_size != UINT64_MAX && w->size + len > w->expected_size))
		return hull_error_set(reterr, -EBADMSG,
				      "blob '%s': more data than the expected %" PRIu64 " bytes",
				      writer_name(w), w->expected_size);
	if (EVP_DigestUpdate(w->ctx, buf, len) != 1)
		return hull_error_set(reterr, -EIO, "blob '%s': sha256 update failed",
				      writer_name(w));
	r = hull_write_all(w->fd, buf, len);
	if (r < 0)
		return hull_error_errno(reterr, r, "write blob '%s'", writer_name(w));
	w->size += len;
	return 0;
}

uint64_t hull_blob_writer_size(const struct hull_blob_writer *w)
{
	return w->size;
}

static void writer_discard(struct hull_blob_writer *w)
{
	w->fd = safe_close(w->fd);
	if (w->tmp[0])
		(void)unlinkat(w->store->algo_fd, w->tmp, 0);
	w->tmp[0] = '\0';
	w->done = true;
}

int hull_blob_writer_commit(struct hull_blob_writer *w, char ret_digest[HULL_DIGEST_MAX],
			    struct hull_error **reterr)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char got[HULL_DIGEST_MAX];
	unsigned mdlen = 0;
	int r;

	if (w->done)
		return hull_error_set(reterr, -EINVAL, "blob '%s': already committed",
				      writer_name(w));
	if (EVP_DigestFinal_ex(w->ctx, md, &mdlen) != 1 || mdlen != 32) {
		writer_discard(w);
		return hull_error_set(reterr, -EIO, "blob '%s': sha256 failed", writer_name(w));
	}
	hull_digest_format(md, got);
	if (w->expected_size != UINT64_MAX && w->size != w->expected_size) {
		writer_discard(w);
		return hull_error_set(reterr, -EBADMSG,
				      "blob '%s': size mismatch (expected %" PRIu64
				      " bytes, got %" PRIu64 ")",
				      writer_name(w), w->expected_size, w->size);
	}
	if (w->expected[0] && !streq(w->expected, got)) {
		writer_discard(w);
		return hull_error_set(reterr, -EBADMSG, "blob '%s': digest mismatch (got '%s')",
				      w->expected, got);
	}
	if (fsync(w->fd) < 0) {
		r = -errno;
		writer_discard(w);
		return hull_error_errno(reterr, r, "blob '%s': fsync", got);
	}
	w->fd = safe_close(w->fd);
	/* an identical blob stored by a racing writer is replaced by the same bytes */
	if (renameat(w->store->algo_fd, w->tmp, w->store->algo_fd, hull_digest_hex(got)) < 0) {
		r = -errno;
		writer_discard(w);
		return hull_error_errno(reterr, r, "blob '%s': rename into place", got);
	}
	w->tmp[0] = '\0';
	w->done = true;
	(void)fsync(w->store->algo_fd);
	if (ret_digest)
		memcpy(ret_digest, got, HULL_DIGEST_MAX);
	return 0;
}

void hull_blob_writer_free(struct hull_blob_writer *w)
{
	if (!w)
		return;
	if (!w->done)
		writer_discard(w);
	safe_close(w->fd);
	EVP_MD_CTX_free(w->ctx);
	free(w);
}

int hull_blob_store_add_fd(struct hull_blob_store *s, int fd, const char *expected_digest,
			   uint64_t expected_size, char ret_digest[HULL_DIGEST_MAX],
			   struct hull_error **reterr)
{
	_cleanup_(hull_blob_writer_freep) struct hull_blob_writer *w = NULL;
	_cleanup_free_ char *buf = malloc(128 * 1024);
	int r;

	if (!buf)
		return -ENOMEM;
	r = hull_blob_writer_begin(s, expected_digest, expected_size, &w, reterr);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, 128 * 1024);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error_errno(reterr, -errno, "read blob data");
		if (n == 0)
			break;
		r = hull_blob_writer_write(w, buf, (size_t)n, reterr);
		if (r < 0)
			return r;
	}
	return hull_blob_writer_commit(w, ret_digest, reterr);
}

int hull_blob_store_add(struct hull_blob_store *s, const void *buf, size_t len,
			char ret_digest[HULL_DIGEST_MAX], struct hull_error **reterr)
{
	_cleanup_(hull_blob_writer_freep) struct hull_blob_writer *w = NULL;
	int r;

	r = hull_blob_writer_begin(s, NULL, len, &w, reterr);
	if (r < 0)
		return r;
	r = hull_blob_writer_write(w, buf, len, reterr);
	if (r < 0)
		return r;
	return hull_blob_writer_commit(w, ret_digest, reterr);
}
