/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolving paths inside a rootfs: every test runs twice, once through
 * openat2(RESOLVE_IN_ROOT) and once through the component walk
 * (HULL_NO_OPENAT2=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/rootfs.h"
#include "util/error.h"
#include "util/file.h"
#include "util/str.h"

static char tmpdir[] = "/tmp/hull-test-pir-XXXXXX";
static int tmp_fd = -EBADF;  /* the temp dir */
static int root_fd = -EBADF; /* tmpdir/root, the "rootfs" */

static const bool use_openat2 = true, use_walk = false;

static int write_file(int dirfd, const char *path, const char *text)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return -errno;
	r = hull_write_all(fd, text, strlen(text));
	close(fd);
	return r;
}

static int setup_tree(void **state)
{
	static const char *const links[][2] = {
		{ "/etc", "abs" },
		{ "../../../../..", "up" },
		{ "../../../etc", "dir/up2" },
		{ "c2", "c1" },
		{ "/dir/c3", "c2" },
		{ "../etc/marker", "dir/c3" },
		{ "l2", "l1" },
		{ "l1", "l2" },
		{ "/nonexistent/x", "dangling" },
		{ "../reldir", "dir/rel" },
		{ "/", "slash" },
		{ "/../../..", "abs-up" },
	};

	if (!mkdtemp(tmpdir))
		return -1;
	tmp_fd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tmp_fd < 0)
		return -1;
	/* a decoy outside the root: nothing may ever resolve to it */
	if (hull_mkdir_p_at(tmp_fd, "etc", 0755) < 0 ||
	    hull_mkdir_p_at(tmp_fd, "root/etc", 0755) < 0 ||
	    hull_mkdir_p_at(tmp_fd, "root/dir/sub", 0755) < 0)
		return -1;
	if (write_file(tmp_fd, "etc/marker", "outside") < 0 ||
	    write_file(tmp_fd, "root/etc/marker", "inside") < 0)
		return -1;
	root_fd = openat(tmp_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][0], root_fd, links[i][1]) < 0)
			return -1;
	return 0;
}

static int teardown_tree(void **state)
{
	root_fd = safe_close(root_fd);
	tmp_fd = safe_close(tmp_fd);
	return hull_rm_rf_at(AT_FDCWD, tmpdir) < 0 ? -1 : 0;
}

static void set_mode(void **state)
{
	const bool *openat2 = *state;

	if (*openat2)
		unsetenv("HULL_NO_OPENAT2");
	else
		setenv("HULL_NO_OPENAT2", "1", 1);
}

/* Opens `path` in the root and checks it is the "inside" marker. */
static void assert_marker(const char *path)
{
	struct hull_error *err = NULL;
	char buf[16] = "";
	int fd;

	print_message("# %s: %s\n", getenv("HULL_NO_OPENAT2") ? "walk" : "openat2", path);
	fd = hull_open_in_root(root_fd, path, O_RDONLY, &err);
	if (fd < 0)
		print_message("# error: %s\n", err ? err->msg : "?");
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	assert_string_equal(buf, "inside");
	close(fd);
	hull_error_free(err);
}

static void assert_is_root(const char *path)
{
	struct stat a, b;
	int fd;

	fd = hull_open_in_root(root_fd, path, O_PATH | O_DIRECTORY, NULL);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(root_fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_dev, b.st_dev);
	close(fd);
}

static void test_plain(void **state)
{
	set_mode(state);
	assert_marker("etc/marker");
	assert_marker("/etc/marker");
	assert_marker("//etc//./marker");
	assert_marker("dir/sub/../../etc/marker");
	assert_is_root("/");
	assert_int_equal(hull_open_in_root(root_fd, "", O_PATH, NULL), -ENOENT); /* as open("") */
	assert_is_root(".");
}

static void test_dotdot_stays_inside(void **state)
{
	set_mode(state);
	assert_marker("../etc/marker");
	assert_marker("/../../../../etc/marker");
	assert_marker("dir/../../../etc/marker");
	assert_is_root("..");
	assert_is_root("../../..");
}

static void test_symlink_escapes(void **state)
{
	set_mode(state);
	/* absolute symlink: "/etc" means the rootfs's /etc */
	assert_marker("abs/marker");
	/* "../../../../.." from the root is the root */
	assert_marker("up/etc/marker");
	assert_marker("dir/up2/marker");
	assert_marker("abs-up/etc/marker");
	assert_marker("slash/etc/marker");
	assert_marker("slash/slash/abs/marker");
	assert_is_root("up");
	assert_is_root("slash");
}

static void test_symlink_chain(void **state)
{
	set_mode(state);
	/* c1 -> c2 -> /dir/c3 -> ../etc/marker */
	assert_marker("c1");
}

static void test_symlink_loop(void **state)
{
	struct hull_error *err = NULL;

	set_mode(state);
	assert_int_equal(hull_open_in_root(root_fd, "l1", O_RDONLY, &err), -ELOOP);
	assert_non_null(err);
	assert_string_equal(err->msg, "open 'l1' in rootfs: Too many levels of symbolic links");
	hull_error_free(err);
	assert_int_equal(hull_open_in_root(root_fd, "l2/x", O_RDONLY, NULL), -ELOOP);
}

static void test_errors(void **state)
{
	struct hull_error *err = NULL;

	set_mode(state);
	assert_int_equal(hull_open_in_root(root_fd, "missing", O_RDONLY, &err), -ENOENT);
	assert_string_equal(err->msg, "open 'missing' in rootfs: No such file or directory");
	hull_error_free(err);
	assert_int_equal(hull_open_in_root(root_fd, "etc/marker/x", O_RDONLY, NULL), -ENOTDIR);
	assert_int_equal(hull_open_in_root(root_fd, "etc/marker", O_RDONLY | O_DIRECTORY, NULL),
			 -ENOTDIR);
	/* a dangling absolute symlink does not reach the host's /nonexistent */
	assert_int_equal(hull_open_in_root(root_fd, "dangling", O_RDONLY, NULL), -ENOENT);
}

static void test_nofollow(void **state)
{
	struct stat st;
	int fd;

	set_mode(state);
	fd = hull_open_in_root(root_fd, "abs", O_PATH | O_NOFOLLOW, NULL);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	/* a symlink as an intermediate component is still followed */
	fd = hull_open_in_root(root_fd, "abs/marker", O_RDONLY | O_NOFOLLOW, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(hull_open_in_root(root_fd, "abs", O_RDONLY | O_NOFOLLOW, NULL), -ELOOP);
}

static void test_create(void **state)
{
	const bool *openat2 = *state;
	const char *name = *openat2 ? "abs/created-openat2" : "abs/created-walk";
	char inside[64];
	struct stat st;
	int fd;

	set_mode(state);
	fd = hull_open_in_root(root_fd, name, O_WRONLY | O_CREAT | O_EXCL, NULL);
	assert_true(fd >= 0);
	close(fd);
	/* it landed in the rootfs's /etc, not in the decoy next to the rootfs */
	snprintf(inside, sizeof(inside), "etc/%s", name + strlen("abs/"));
	assert_int_equal(fstatat(root_fd, inside, &st, 0), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fstatat(tmp_fd, inside, &st, 0), -1);
	assert_int_equal(hull_open_in_root(root_fd, name, O_WRONLY | O_CREAT | O_EXCL, NULL),
			 -EEXIST);
}

static void test_mkdir(void **state)
{
	const bool *openat2 = *state;
	const char *tag = *openat2 ? "o" : "w";
	char path[128], inside[128], outside[128];
	struct hull_error *err = NULL;
	struct stat st, st2;
	int fd;

	set_mode(state);

	/* through an absolute symlink: created under root/etc, not tmpdir/etc */
	snprintf(path, sizeof(path), "abs/new-%s/deeper", tag);
	fd = hull_mkdir_in_root(root_fd, path, false, 0755, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(inside, sizeof(inside), "etc/new-%s/deeper", tag);
	assert_int_equal(fstatat(root_fd, inside, &st2, 0), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	snprintf(outside, sizeof(outside), "etc/new-%s", tag);
	assert_int_equal(fstatat(tmp_fd, outside, &st2, 0), -1);
	assert_int_equal(errno, ENOENT);
	close(fd);

	/* existing directories are fine */
	fd = hull_mkdir_in_root(root_fd, path, false, 0755, NULL);
	assert_true(fd >= 0);
	close(fd);

	/* ".." on the way and a file at the end */
	snprintf(path, sizeof(path), "../../up/dir/../made-%s", tag);
	fd = hull_mkdir_in_root(root_fd, path, true, 0640, NULL);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	snprintf(inside, sizeof(inside), "made-%s", tag);
	assert_int_equal(fstatat(root_fd, inside, &st, 0), 0);
	assert_true(S_ISREG(st.st_mode));

	/*
	 * Dangling symlinks: what they point to is created, inside the root
	 * (never the host's /nonexistent), as mkdir -p would through them.
	 */
	fd = hull_mkdir_in_root(root_fd, "dangling/x", false, 0755, &err);
	if (fd < 0)
		print_message("# error: %s\n", err->msg);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(root_fd, "nonexistent/x/x", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(access("/nonexistent", F_OK), -1);
	fd = hull_mkdir_in_root(root_fd, "dir/rel/file", true, 0600, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(root_fd, "reldir/file", &st, 0), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* a file on the way is no directory */
	assert_int_equal(hull_mkdir_in_root(root_fd, "etc/marker/x", false, 0755, NULL), -ENOTDIR);
	/* a loop stays a loop */
	assert_int_equal(hull_mkdir_in_root(root_fd, "l1/x", false, 0755, NULL), -ELOOP);
}

#define BOTH(f)                                             \
	cmocka_unit_test_prestate(f, (void *)&use_openat2), \
		cmocka_unit_test_prestate(f, (void *)&use_walk)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_plain),	    BOTH(test_dotdot_stays_inside),
		BOTH(test_symlink_escapes), BOTH(test_symlink_chain),
		BOTH(test_symlink_loop),    BOTH(test_errors),
		BOTH(test_nofollow),	    BOTH(test_create),
		BOTH(test_mkdir),
	};

	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
