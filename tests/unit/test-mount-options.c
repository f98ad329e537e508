/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mount.h>

#include "linux/mount-options.h"
#include "util/str.h"

/* option lists are strv: char *const *, so string literals need a cast */
#define STRV(...) ((char *const *)(const char *const[]){ __VA_ARGS__, NULL })

/* one option (or a short list) and everything the parser must make of it */
struct row {
	const char *opts[4];
	unsigned long flags, clear;
	unsigned long prop; /* the single propagation entry expected, 0 for none */
	uint64_t attr_set, attr_clr;
	const char *data;
};

static const struct row rows[] = {
	{ { "defaults" }, 0, 0, 0, 0, 0, NULL },
	{ { "ro" }, MS_RDONLY, 0, 0, 0, 0, NULL },
	{ { "rw" }, 0, MS_RDONLY, 0, 0, 0, NULL },
	{ { "suid" }, 0, MS_NOSUID, 0, 0, 0, NULL },
	{ { "nosuid" }, MS_NOSUID, 0, 0, 0, 0, NULL },
	{ { "dev" }, 0, MS_NODEV, 0, 0, 0, NULL },
	{ { "nodev" }, MS_NODEV, 0, 0, 0, 0, NULL },
	{ { "exec" }, 0, MS_NOEXEC, 0, 0, 0, NULL },
	{ { "noexec" }, MS_NOEXEC, 0, 0, 0, 0, NULL },
	{ { "sync" }, MS_SYNCHRONOUS, 0, 0, 0, 0, NULL },
	{ { "async" }, 0, MS_SYNCHRONOUS, 0, 0, 0, NULL },
	{ { "dirsync" }, MS_DIRSYNC, 0, 0, 0, 0, NULL },
	{ { "remount" }, MS_REMOUNT, 0, 0, 0, 0, NULL },
	{ { "mand" }, MS_MANDLOCK, 0, 0, 0, 0, NULL },
	{ { "nomand" }, 0, MS_MANDLOCK, 0, 0, 0, NULL },
	{ { "atime" }, 0, MS_NOATIME, 0, 0, 0, NULL },
	{ { "noatime" }, MS_NOATIME, 0, 0, 0, 0, NULL },
	{ { "diratime" }, 0, MS_NODIRATIME, 0, 0, 0, NULL },
	{ { "nodiratime" }, MS_NODIRATIME, 0, 0, 0, 0, NULL },
	{ { "relatime" }, MS_RELATIME, 0, 0, 0, 0, NULL },
	{ { "norelatime" }, 0, MS_RELATIME, 0, 0, 0, NULL },
	{ { "strictatime" }, MS_STRICTATIME, 0, 0, 0, 0, NULL },
	{ { "nostrictatime" }, 0, MS_STRICTATIME, 0, 0, 0, NULL },
	{ { "bind" }, MS_BIND, 0, 0, 0, 0, NULL },
	{ { "rbind" }, MS_BIND | MS_REC, 0, 0, 0, 0, NULL },
	{ { "nosymfollow" }, MS_NOSYMFOLLOW, 0, 0, 0, 0, NULL },
	{ { "lazytime" }, MS_LAZYTIME, 0, 0, 0, 0, NULL },
	{ { "private" }, 0, 0, MS_PRIVATE, 0, 0, NULL },
	{ { "rprivate" }, 0, 0, MS_PRIVATE | MS_REC, 0, 0, NULL },
	{ { "shared" }, 0, 0, MS_SHARED, 0, 0, NULL },
	{ { "rshared" }, 0, 0, MS_SHARED | MS_REC, 0, 0, NULL },
	{ { "slave" }, 0, 0, MS_SLAVE, 0, 0, NULL },
	{ { "rslave" }, 0, 0, MS_SLAVE | MS_REC, 0, 0, NULL },
	{ { "unbindable" }, 0, 0, MS_UNBINDABLE, 0, 0, NULL },
	{ { "runbindable" }, 0, 0, MS_UNBINDABLE | MS_REC, 0, 0, NULL },
	{ { "rro" }, 0, 0, 0, MOUNT_ATTR_RDONLY, 0, NULL },
	{ { "rrw" }, 0, 0, 0, 0, MOUNT_ATTR_RDONLY, NULL },
	{ { "rnosuid" }, 0, 0, 0, MOUNT_ATTR_NOSUID, 0, NULL },
	{ { "rnodev" }, 0, 0, 0, MOUNT_ATTR_NODEV, 0, NULL },
	{ { "rnoexec" }, 0, 0, 0, MOUNT_ATTR_NOEXEC, 0, NULL },
	{ { "rexec" }, 0, 0, 0, 0, MOUNT_ATTR_NOEXEC, NULL },
	{ { "rnodiratime" }, 0, 0, 0, MOUNT_ATTR_NODIRATIME, 0, NULL },
	{ { "rnosymfollow" }, 0, 0, 0, MOUNT_ATTR_NOSYMFOLLOW, 0, NULL },
	/* atime modes are an enum: every change clears the whole field */
	{ { "rrelatime" }, 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, NULL },
	{ { "rnoatime" }, 0, 0, 0, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, NULL },
	{ { "rstrictatime" }, 0, 0, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, NULL },
	{ { "ratime" }, 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, NULL },
	{ { "rnoatime", "rstrictatime" },
	  0,
	  0,
	  0,
	  MOUNT_ATTR_STRICTATIME,
	  MOUNT_ATTR__ATIME,
	  NULL },
	/* later options win */
	{ { "ro", "rw" }, 0, MS_RDONLY, 0, 0, 0, NULL },
	{ { "rw", "ro" }, MS_RDONLY, 0, 0, 0, 0, NULL },
	{ { "nosuid", "suid", "nosuid" }, MS_NOSUID, 0, 0, 0, 0, NULL },
	{ { "rro", "rrw" }, 0, 0, 0, 0, MOUNT_ATTR_RDONLY, NULL },
	/* everything else is data for the filesystem, in order */
	{ { "mode=755" }, 0, 0, 0, 0, 0, "mode=755" },
	{ { "nosuid", "mode=1777", "size=65536k" },
	  MS_NOSUID,
	  0,
	  0,
	  0,
	  0,
	  "mode=1777,size=65536k" },
	{ { "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" },
	  0,
	  0,
	  0,
	  0,
	  0,
	  "newinstance,ptmxmode=0666,mode=0620,gid=5" },
	{ { "" }, 0, 0, 0, 0, 0, NULL },
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct hull_mount_options o;
		const char *opts[5] = {};

		for (size_t j = 0; j < 4 && w->opts[j]; j++)
			opts[j] = w->opts[j];
		assert_int_equal(hull_mount_options_parse((char *const *)opts, &o), 0);
		assert_int_equal(o.flags, w->flags);
		assert_int_equal(o.clear_flags, w->clear);
		if (w->prop) {
			assert_int_equal(o.n_propagation, 1);
			assert_int_equal(o.propagation[0], w->prop);
		} else {
			assert_int_equal(o.n_propagation, 0);
		}
		assert_int_equal(o.attr_set, w->attr_set);
		assert_int_equal(o.attr_clr, w->attr_clr);
		if (w->data)
			assert_string_equal(o.data, w->data);
		else
			assert_null(o.data);
		assert_false(o.tmpcopyup);
		assert_int_equal(o.idmap, HULL_MOUNT_IDMAP_NONE);
		hull_mount_options_done(&o);
	}
}

static void test_extensions(void **state)
{
	char *const *opts = STRV("tmpcopyup", "ridmap", "rprivate", "shared");
	char *const *idmap = STRV("idmap");
	struct hull_mount_options o;

	assert_int_equal(hull_mount_options_parse(opts, &o), 0);
	assert_true(o.tmpcopyup);
	assert_int_equal(o.idmap, HULL_MOUNT_IDMAP_RECURSIVE);
	/* propagation changes are kept in order */
	assert_int_equal(o.n_propagation, 2);
	assert_int_equal(o.propagation[0], MS_PRIVATE | MS_REC);
	assert_int_equal(o.propagation[1], MS_SHARED);
	assert_null(o.data);
	hull_mount_options_done(&o);

	assert_int_equal(hull_mount_options_parse(idmap, &o), 0);
	assert_int_equal(o.idmap, HULL_MOUNT_IDMAP);
	hull_mount_options_done(&o);

	/* NULL options are no options */
	assert_int_equal(hull_mount_options_parse(NULL, &o), 0);
	assert_int_equal(o.flags, 0);
	assert_null(o.data);
	hull_mount_options_done(&o);
	/* done() twice is harmless */
	hull_mount_options_done(&o);
}

static void test_propagation_parse(void **state)
{
	unsigned long p = 0;

	assert_int_equal(hull_mount_propagation_parse("rslave", &p), 0);
	assert_int_equal(p, MS_SLAVE | MS_REC);
	assert_int_equal(hull_mount_propagation_parse("shared", &p), 0);
	assert_int_equal(p, MS_SHARED);
	assert_int_equal(hull_mount_propagation_parse("ro", &p), -EINVAL);
	assert_int_equal(hull_mount_propagation_parse("", &p), -EINVAL);
	assert_int_equal(p, MS_SHARED); /* untouched on failure */
}

static void test_flags_to_attr(void **state)
{
	assert_int_equal(hull_mount_flags_to_attr(0), MOUNT_ATTR_RELATIME);
	assert_int_equal(hull_mount_flags_to_attr(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC),
			 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				 MOUNT_ATTR_NOEXEC);
	assert_int_equal(hull_mount_flags_to_attr(MS_NOATIME), MOUNT_ATTR_NOATIME);
	/* as in mount(2), strictatime beats noatime */
	assert_int_equal(hull_mount_flags_to_attr(MS_NOATIME | MS_STRICTATIME),
			 MOUNT_ATTR_STRICTATIME);
	assert_int_equal(hull_mount_flags_to_attr(MS_NODIRATIME | MS_NOSYMFOLLOW),
			 MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW);
	/* superblock flags are no mount attributes */
	assert_int_equal(hull_mount_flags_to_attr(MS_SYNCHRONOUS | MS_BIND | MS_REC),
			 MOUNT_ATTR_RELATIME);
}

static void test_to_setattr(void **state)
{
	char *const *bind_ro = STRV("rbind", "ro", "nosuid");
	char *const *bind_rw = STRV("bind", "rw", "suid", "noatime");
	char *const *plain = STRV("rbind", "rprivate");
	struct hull_mount_options o;
	uint64_t set = 7, clr = 7;

	assert_int_equal(hull_mount_options_parse(bind_ro, &o), 0);
	assert_true(hull_mount_options_to_setattr(&o, &set, &clr));
	assert_int_equal(set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
	assert_int_equal(clr, 0); /* nodev etc. are left as the source mount has them */
	hull_mount_options_done(&o);

	assert_int_equal(hull_mount_options_parse(bind_rw, &o), 0);
	assert_true(hull_mount_options_to_setattr(&o, &set, &clr));
	assert_int_equal(set, MOUNT_ATTR_NOATIME);
	assert_int_equal(clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR__ATIME);
	hull_mount_options_done(&o);

	set = clr = 7;
	assert_int_equal(hull_mount_options_parse(plain, &o), 0);
	assert_false(hull_mount_options_to_setattr(&o, &set, &clr));
	assert_int_equal(set, 7); /* untouched when there is nothing to do */
	assert_int_equal(clr, 7);
	assert_false(hull_mount_options_has_rec_attrs(&o));
	hull_mount_options_done(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_propagation_parse),
		cmocka_unit_test(test_flags_to_attr),
		cmocka_unit_test(test_to_setattr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
