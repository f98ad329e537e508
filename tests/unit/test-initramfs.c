/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The initramfs writer: archives read back by a newc reader written here
 * (strict: magic, hex fields, padding, trailer), through zlib for the gzip
 * variant, and by Debian's cpio for the listing.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "util/file.h"
#include "util/macro.h"
#include "vmm/initramfs.h"

struct entry {
	char name[256];
	unsigned mode, nlink, rmajor, rminor;
	const uint8_t *data;
	size_t size;
};

static unsigned hex8(const uint8_t *p)
{
	char b[9];

	memcpy(b, p, 8);
	b[8] = 0;
	for (int i = 0; i < 8; i++)
		assert_non_null(strchr("0123456789ABCDEF", b[i]));
	return (unsigned)strtoul(b, NULL, 16);
}

/* Parses a whole newc archive into entries (trailer excluded); asserts its structure. */
static size_t parse_newc(const uint8_t *a, size_t len, struct entry *e, size_t max)
{
	size_t off = 0, n = 0;

	for (;;) {
		unsigned namesize, size;
		struct entry x = { 0 };

		assert_true(off + 110 <= len);
		assert_memory_equal(a + off, "070701", 6);
		x.mode = hex8(a + off + 14);
		assert_int_equal(hex8(a + off + 22), 0); /* uid */
		assert_int_equal(hex8(a + off + 30), 0); /* gid */
		x.nlink = hex8(a + off + 38);
		size = hex8(a + off + 54);
		x.rmajor = hex8(a + off + 78);
		x.rminor = hex8(a + off + 86);
		namesize = hex8(a + off + 94);
		off += 110;
		assert_true(namesize >= 2 && namesize < sizeof(x.name) && off + namesize <= len);
		assert_int_equal(a[off + namesize - 1], 0);
		memcpy(x.name, a + off, namesize);
		off += namesize;
		off = (off + 3) & ~(size_t)3;
		if (strcmp(x.name, "TRAILER!!!") == 0) {
			assert_int_equal(size, 0);
			assert_true(off == len);
			return n;
		}
		assert_true(off + size <= len);
		x.data = a + off;
		x.size = size;
		off = (off + size + 3) & ~(size_t)3;
		assert_true(n < max);
		e[n++] = x;
	}
}

static const struct entry *find(const struct entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].name, name) == 0)
			return &e[i];
	}
	return NULL;
}

/* find() that fails the test (and tells the compiler) when the entry is missing */
static const struct entry *must(const struct entry *x)
{
	if (!x) {
		fail_msg("entry missing");
		abort();
	}
	return x;
}

static int write_archive(const struct hull_initramfs_file *extra, size_t n, unsigned flags,
			 uint8_t **ret, size_t *ret_len, struct hull_error **err)
{
	_cleanup_close_ int fd = memfd_create("initramfs", MFD_CLOEXEC);
	int r;

	assert_true(fd >= 0);
	r = hull_initramfs_write(fd, "/proc/self/exe", extra, n, flags, err);
	if (r < 0)
		return r;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	{
		char *buf = NULL;
		assert_int_equal(hull_read_fd(fd, &buf, ret_len), 0);
		*ret = (uint8_t *)buf;
	}
	return 0;
}

static void check_contents(const uint8_t *a, size_t len)
{
	struct entry e[64];
	size_t n = parse_newc(a, len, e, ELEMENTSOF(e));
	const struct entry *x;
	char *self = NULL;
	size_t self_len;

	/* the base: directories first, then the console, then init */
	for (const char *const *d =
		     (const char *const[]){ "dev", "proc", "sys", "run", "tmp", NULL };
	     *d; d++) {
		x = must(find(e, n, *d));
		assert_true(S_ISDIR(x->mode));
	}
	x = must(find(e, n, "dev/console"));
	assert_true(S_ISCHR(x->mode));
	assert_int_equal(x->rmajor, 5);
	assert_int_equal(x->rminor, 1);
	assert_true(x > must(find(e, n, "dev"))); /* after its directory */
	x = must(find(e, n, "init"));
	assert_int_equal(x->mode, S_IFREG | 0755);
	assert_int_equal(hull_read_file_at(AT_FDCWD, "/proc/self/exe", &self, &self_len), 0);
	assert_int_equal(x->size, self_len);
	assert_memory_equal(x->data, self, self_len);
	free(self);
	/* the extra file with the parents it needed, in order */
	x = must(find(e, n, "lib/modules/6.1/vsock.ko"));
	assert_int_equal(x->mode, S_IFREG | 0600);
	assert_int_equal(x->size, 5);
	assert_memory_equal(x->data, "hello", 5);
	assert_non_null(find(e, n, "lib"));
	assert_true(must(find(e, n, "lib")) < must(find(e, n, "lib/modules")));
	assert_true(must(find(e, n, "lib/modules/6.1")) < x);
	x = must(find(e, n, "etc/hostname"));
	assert_int_equal(x->mode, S_IFREG | 0644);
	/* every name once */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(e[i].name, e[j].name);
	}
}

static const struct hull_initramfs_file extras[] = {
	{ .path = "lib/modules/6.1/vsock.ko", .data = "hello", .len = 5, .mode = 0600 },
	{ .path = "etc/hostname", .data = "vm\n", .len = 3 },
};

static void test_plain(void **state)
{
	_cleanup_free_ uint8_t *a = NULL;
	size_t len;

	assert_int_equal(write_archive(extras, ELEMENTSOF(extras), 0, &a, &len, NULL), 0);
	check_contents(a, len);
}

static void test_gzip(void **state)
{
	_cleanup_free_ uint8_t *a = NULL, *plain = NULL;
	size_t len, cap;
	z_stream z = { 0 };
	int zr;

	assert_int_equal(
		write_archive(extras, ELEMENTSOF(extras), HULL_INITRAMFS_GZIP, &a, &len, NULL), 0);
	assert_int_equal(a[0], 0x1f); /* gzip magic */
	assert_int_equal(a[1], 0x8b);
	cap = 64 * 1024 * 1024;
	plain = malloc(cap);
	assert_non_null(plain);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = a;
	z.avail_in = (uInt)len;
	z.next_out = plain;
	z.avail_out = (uInt)cap;
	zr = inflate(&z, Z_FINISH);
	assert_int_equal(zr, Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	check_contents(plain, z.total_out);
	inflateEnd(&z);
}

/* Debian's cpio lists the same names. */
static void test_cpio_lists_it(void **state)
{
	_cleanup_free_ uint8_t *a = NULL;
	char path[] = "/tmp/hull-initramfs-XXXXXX", cmd[256], line[256];
	size_t len;
	int fd, found = 0;
	FILE *p;

	assert_int_equal(write_archive(extras, ELEMENTSOF(extras), 0, &a, &len, NULL), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(hull_write_all(fd, a, len), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cpio -it --quiet < %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "init") || !strcmp(line, "dev/console") ||
		    !strcmp(line, "lib/modules/6.1/vsock.ko") || !strcmp(line, "etc/hostname"))
			found++;
	}
	assert_int_equal(pclose(p), 0);
	unlink(path);
	assert_int_equal(found, 4);
}

static void test_refusals(void **state)
{
	static const char *const bad[] = { "/abs", "a/../b", "",    "a//b",	  "./x",
					   "a/.",  "init",   "dev", "dev/console" };
	_cleanup_close_ int fd = memfd_create("initramfs", MFD_CLOEXEC);

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct hull_initramfs_file f = { .path = bad[i], .data = "x", .len = 1 };
		struct hull_error *err = NULL;

		assert_int_not_equal(hull_initramfs_write(fd, "/proc/self/exe", &f, 1, 0, &err), 0);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "initramfs"));
		hull_error_free(err);
	}
	{
		struct hull_error *err = NULL;

		assert_int_equal(
			hull_initramfs_write(fd, "/nonexistent/hull-agent", NULL, 0, 0, &err),
			-ENOENT);
		assert_non_null(strstr(err->msg, "/nonexistent/hull-agent"));
		hull_error_free(err);
		err = NULL;
		assert_int_equal(hull_initramfs_write(fd, "/tmp", NULL, 0, 0, &err), -EINVAL);
		assert_non_null(strstr(err->msg, "not a regular file"));
		hull_error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_cpio_lists_it),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
