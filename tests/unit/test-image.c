/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/image.h"
#include "util/file.h"
#include "util/str.h"

struct entry {
	const char *name;
	mode_t type;
	const char *data; /* file content or symlink target or hard link target */
};

/* Writes a gzip'ed tar of entries to path. */
static void make_tar(const char *path, const struct entry *e, size_t n)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		if (e[i].type == 0) { /* hard link */
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_hardlink(ae, e[i].data);
			archive_entry_set_size(ae, 0);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
			archive_entry_set_perm(ae, e[i].type == AE_IFDIR ? 0755 : 0644);
			if (e[i].type == AE_IFLNK)
				archive_entry_set_symlink(ae, e[i].data);
			if (e[i].type == AE_IFCHR)
				archive_entry_set_rdev(ae, makedev(1, 3));
			archive_entry_set_size(ae, e[i].type == AE_IFREG ? strlen(e[i].data) : 0);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].type == AE_IFREG)
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

struct fixture {
	char dir[64];
	int dirfd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/hull-test-image-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->dirfd);
	hull_rm_rf_at(AT_FDCWD, f->dir);
	free(f);
	return 0;
}

static void test_alias_check(void **state)
{
	assert_int_equal(hull_image_alias_check("debian/12", NULL), 0);
	assert_int_equal(hull_image_alias_check("my-image_1.0+x:y", NULL), 0);
	assert_true(hull_image_alias_check("", NULL) < 0);
	assert_true(hull_image_alias_check("/abs", NULL) < 0);
	assert_true(hull_image_alias_check("a/../b", NULL) < 0);
	assert_true(hull_image_alias_check("a//b", NULL) < 0);
	assert_true(hull_image_alias_check("sp ace", NULL) < 0);
}

static void test_sha256(void **state)
{
	struct fixture *f = *state;
	char fp[HULL_IMAGE_FINGERPRINT_LEN + 1];
	int fd = openat(f->dirfd, "x", O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(hull_write_all(fd, "abc", 3), 0);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(hull_sha256_fd(fd, fp), 0);
	assert_string_equal(fp, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	close(fd);
}

static void test_sha256_fds(void **state)
{
	struct fixture *f = *state;
	char fp[HULL_IMAGE_FINGERPRINT_LEN + 1];
	int fds[2] = { openat(f->dirfd, "a", O_RDWR | O_CREAT | O_CLOEXEC, 0600),
		       openat(f->dirfd, "b", O_RDWR | O_CREAT | O_CLOEXEC, 0600) };

	assert_true(fds[0] >= 0 && fds[1] >= 0);
	/* "ab" then "c": the digest of "abc", as one stream */
	assert_int_equal(hull_write_all(fds[0], "ab", 2), 0);
	assert_int_equal(hull_write_all(fds[1], "c", 1), 0);
	lseek(fds[0], 0, SEEK_SET);
	lseek(fds[1], 0, SEEK_SET);
	assert_int_equal(hull_sha256_fds(fds, 2, fp), 0);
	assert_string_equal(fp, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	close(fds[0]);
	close(fds[1]);
}

static const char *property(const struct hull_image *img, const char *key)
{
	for (char **p = img->properties; p && p[0] && p[1]; p += 2)
		if (streq(p[0], key))
			return p[1];
	return NULL;
}

/* Imports the rootfs tar with a metadata tar holding `yaml`; returns the error or 0. */
static int import_meta(struct fixture *f, const char *yaml, struct hull_image **img, char *msg,
		       size_t msg_size)
{
	_cleanup_(hull_image_store_freep) struct hull_image_store *s = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	const struct entry rootfs[] = { { "etc", AE_IFDIR, NULL }, { "etc/os", AE_IFREG, "x\n" } };
	const struct entry meta[] = { { "metadata.yaml", AE_IFREG, yaml },
				      { "templates/hostname.tpl", AE_IFREG, "{{ name }}\n" } };
	char tar[128], mtar[128];
	int r;

	snprintf(tar, sizeof(tar), "%s/rootfs.tar.gz", f->dir);
	snprintf(mtar, sizeof(mtar), "%s/meta.tar.gz", f->dir);
	make_tar(tar, rootfs, 2);
	make_tar(mtar, meta, 2);
	assert_int_equal(hull_image_store_open(f->dirfd, "images", &s, NULL), 0);
	r = hull_image_import(s, tar, mtar, "m", img, &err);
	if (r < 0)
		snprintf(msg, msg_size, "%s", err->msg);
	return r;
}

static void test_import_metadata(void **state)
{
	struct fixture *f = *state;
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	char msg[512] = "";
	static const struct {
		const char *yaml, *msg;
	} bad[] = {
		{ "architecture: vax\ncreation_date: 1\n",
		  "architecture: unknown architecture 'vax'" },
		{ "creation_date: 1\n", "architecture: missing" },
		{ "architecture: x86_64\ncreation_date: 1.5\n", "creation_date: expected seconds" },
		{ "architecture: x86_64\ncreation_date: 99999999999999\n",
		  "creation_date: expected seconds" },
		{ "architecture: x86_64\ncreation_date: 1\nproperties: 3\n",
		  "properties: expected a mapping" },
		{ "architecture: x86_64\ncreation_date: 1\nproperties:\n  os: a\n  os: b\n",
		  "properties.os: given twice" },
		{ "a: &x [1]\nb: *y\n", "metadata.yaml line" },
	};

	/* anchors and aliases are resolved by libyaml into shared nodes, not copies */
	assert_int_equal(import_meta(f,
				     "architecture: &a aarch64\n"
				     "creation_date: 1700000000\n"
				     "properties: &p\n"
				     "  os: debian\n"
				     "  release: \"12\"\n"
				     "  description: Debian 12 arm64\n"
				     "other: *p\n",
				     &img, msg, sizeof(msg)),
			 0);
	assert_string_equal(img->architecture, "aarch64");
	assert_string_equal(img->creation_date, "2023-11-14T22:13:20Z");
	assert_string_equal(property(img, "os"), "debian");
	assert_string_equal(property(img, "release"), "12");
	assert_string_equal(property(img, "description"), "Debian 12 arm64");
	assert_null(property(img, "other"));
	assert_int_equal(img->templates, 1);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(hull_image_freep) struct hull_image *none = NULL;

		msg[0] = '\0';
		assert_true(import_meta(f, bad[i].yaml, &none, msg, sizeof(msg)) < 0);
		if (!strstr(msg, bad[i].msg))
			fail_msg("'%s' does not contain '%s'", msg, bad[i].msg);
	}
}

static void test_import_list_alias_delete(void **state)
{
	static const struct entry entries[] = {
		{ "./", AE_IFDIR, NULL },
		{ "./etc/", AE_IFDIR, NULL },
		{ "./etc/os-release", AE_IFREG, "ID=test\n" },
		{ "./etc/link", 0, "etc/os-release" },
		{ "./bin", AE_IFLNK, "usr/bin" },
		{ "./usr/bin/tool", AE_IFREG, "#!/bin/sh\n" }, /* parents not in the archive */
	};
	_cleanup_(hull_image_store_freep) struct hull_image_store *s = NULL;
	_cleanup_(hull_image_freep) struct hull_image *img = NULL, *again = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	struct fixture *f = *state;
	struct hull_image **l = NULL;
	char tar[128], path[256];
	struct stat a, b;
	size_t n = 0;

	snprintf(tar, sizeof(tar), "%s/ok.tar.gz", f->dir);
	make_tar(tar, entries, ELEMENTSOF(entries));
	assert_int_equal(hull_image_store_open(f->dirfd, "images", &s, &err), 0);
	assert_int_equal(hull_image_import(s, tar, NULL, "test/1", &img, &err), 0);
	assert_int_equal(strlen(img->fingerprint), 64);
	assert_string_equal(img->aliases[0], "test/1");
	assert_string_equal(img->source, "import:ok.tar.gz");

	snprintf(path, sizeof(path), "%s/images/%s/rootfs/etc/os-release", f->dir,
		 img->fingerprint);
	assert_int_equal(stat(path, &a), 0);
	snprintf(path, sizeof(path), "%s/images/%s/rootfs/etc/link", f->dir, img->fingerprint);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino); /* a hard link inside the tree */
	snprintf(path, sizeof(path), "%s/images/%s/rootfs/usr/bin/tool", f->dir, img->fingerprint);
	assert_int_equal(stat(path, &a), 0);

	/* the same tarball again: no second copy, a second alias */
	assert_int_equal(hull_image_import(s, tar, NULL, "test/2", &again, &err), 0);
	assert_string_equal(again->fingerprint, img->fingerprint);
	assert_int_equal(hull_strv_length(again->aliases), 2);
	assert_int_equal(hull_image_list(s, &l, &n, &err), 0);
	assert_int_equal(n, 1);
	hull_image_list_free(l, n);

	hull_image_free(TAKE_PTR(again));
	assert_int_equal(hull_image_get(s, "test/2", &again, &err), 0);
	hull_image_free(TAKE_PTR(again));
	/* a fingerprint prefix of 12 characters finds it too */
	snprintf(path, sizeof(path), "%.12s", img->fingerprint);
	assert_int_equal(hull_image_get(s, path, &again, &err), 0);
	hull_image_free(TAKE_PTR(again));
	assert_int_equal(hull_image_alias_delete(s, "test/2", &err), 0);
	assert_int_equal(hull_image_get(s, "test/2", &again, &err), -ENOENT);
	assert_string_equal(err->msg, "unknown image 'test/2'");

	assert_int_equal(hull_image_delete(s, "test/1", &err), 0);
	assert_int_equal(hull_image_list(s, &l, &n, &err), 0);
	assert_int_equal(n, 0);
	hull_image_list_free(l, n);
	snprintf(path, sizeof(path), "%s/images/%s", f->dir, img->fingerprint);
	assert_int_equal(access(path, F_OK), -1);
}

static void expect_refused(struct fixture *f, const struct entry *e, size_t n, const char *msg)
{
	_cleanup_(hull_image_store_freep) struct hull_image_store *s = NULL;
	_cleanup_error_ struct hull_error *err = NULL;
	char tar[128], store[160];
	struct hull_image **l = NULL;
	size_t count = 0;

	snprintf(tar, sizeof(tar), "%s/bad.tar.gz", f->dir);
	make_tar(tar, e, n);
	assert_int_equal(hull_image_store_open(f->dirfd, "images", &s, NULL), 0);
	assert_true(hull_image_import(s, tar, NULL, "bad", NULL, &err) < 0);
	if (!strstr(err->msg, msg))
		fail_msg("'%s' does not contain '%s'", err->msg, msg);
	/* nothing left: no image, no alias, no temp dir */
	assert_int_equal(hull_image_list(s, &l, &count, NULL), 0);
	assert_int_equal(count, 0);
	hull_image_list_free(l, count);
	snprintf(store, sizeof(store), "%s/images", f->dir);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s | grep -v '^.lock$')\"", store);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_hostile_entries(void **state)
{
	struct fixture *f = *state;
	const struct entry dotdot[] = { { "../evil", AE_IFREG, "x" } };
	const struct entry abs[] = { { "/etc/evil", AE_IFREG, "x" } };
	const struct entry through[] = { { "d", AE_IFLNK, "/tmp" }, { "d/evil", AE_IFREG, "x" } };
	const struct entry hard[] = { { "h", 0, "../../etc/passwd" } };
	const struct entry dev[] = { { "dev/null", AE_IFCHR, NULL } };

	expect_refused(f, dotdot, 1, "entry '../evil': '..' in the path");
	expect_refused(f, abs, 1, "entry '/etc/evil': absolute path");
	expect_refused(f, through, 2, "entry 'd/evil': goes through a symlink");
	expect_refused(f, hard, 1, "entry 'h': hard link target leaves the image root");
	expect_refused(f, dev, 1, "entry 'dev/null': device nodes are refused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alias_check),
		cmocka_unit_test_setup_teardown(test_sha256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha256_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_list_alias_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
