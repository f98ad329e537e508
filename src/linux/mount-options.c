/* SPDX-License-Identifier: Apache-2.0 */
#include "linux/mount-options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "util/macro.h"
#include "util/str.h"

struct flag_option {
	const char *name;
	bool clear; /* the option turns the flag off */
	unsigned long flag;
};

/* The table of runc's libcontainer/specconv (mountFlags). */
static const struct flag_option flag_options[] = {
	{ "defaults", false, 0 },
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "suid", true, MS_NOSUID },
	{ "nosuid", false, MS_NOSUID },
	{ "dev", true, MS_NODEV },
	{ "nodev", false, MS_NODEV },
	{ "exec", true, MS_NOEXEC },
	{ "noexec", false, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC },
	{ "remount", false, MS_REMOUNT },
	{ "mand", false, MS_MANDLOCK },
	{ "nomand", true, MS_MANDLOCK },
	{ "atime", true, MS_NOATIME },
	{ "noatime", false, MS_NOATIME },
	{ "diratime", true, MS_NODIRATIME },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME },
	{ "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
	{ "bind", false, MS_BIND },
	{ "rbind", false, MS_BIND | MS_REC },
	{ "nosymfollow", false, MS_NOSYMFOLLOW },
	{ "lazytime", false, MS_LAZYTIME },
	{ "nolazytime", true, MS_LAZYTIME },
	{ "iversion", false, MS_I_VERSION },
	{ "noiversion", true, MS_I_VERSION },
	{ "silent", false, MS_SILENT },
	{ "loud", true, MS_SILENT },
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_options[] = {
	{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* runc's recAttrFlags.  Atime entries carry the whole new atime mode. */
static const struct {
	const char *name;
	bool clear;
	uint64_t attr;
	bool atime; /* attr is an atime mode (MOUNT_ATTR__ATIME enum value) */
} rec_attr_options[] = {
	{ "rro", false, MOUNT_ATTR_RDONLY, false },
	{ "rrw", true, MOUNT_ATTR_RDONLY, false },
	{ "rnosuid", false, MOUNT_ATTR_NOSUID, false },
	{ "rsuid", true, MOUNT_ATTR_NOSUID, false },
	{ "rnodev", false, MOUNT_ATTR_NODEV, false },
	{ "rdev", true, MOUNT_ATTR_NODEV, false },
	{ "rnoexec", false, MOUNT_ATTR_NOEXEC, false },
	{ "rexec", true, MOUNT_ATTR_NOEXEC, false },
	{ "rnodiratime", false, MOUNT_ATTR_NODIRATIME, false },
	{ "rdiratime", true, MOUNT_ATTR_NODIRATIME, false },
	{ "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW, false },
	{ "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW, false },
	{ "rrelatime", false, MOUNT_ATTR_RELATIME, true },
	{ "rnorelatime", false, MOUNT_ATTR_STRICTATIME, true },
	{ "rnoatime", false, MOUNT_ATTR_NOATIME, true },
	{ "ratime", false, MOUNT_ATTR_RELATIME, true },
	{ "rstrictatime", false, MOUNT_ATTR_STRICTATIME, true },
	{ "rnostrictatime", false, MOUNT_ATTR_RELATIME, true },
};

int hull_mount_propagation_parse(const char *s, unsigned long *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(propagation_options); i++)
		if (streq(s, propagation_options[i].name)) {
			*ret = propagation_options[i].flag;
			return 0;
		}
	return -EINVAL;
}

static int data_append(char **data, const char *opt)
{
	char *n;

	if (!*data) {
		n = strdup(opt);
	} else {
		n = hull_strdup_printf("%s,%s", *data, opt);
	}
	if (!n)
		return -ENOMEM;
	free(*data);
	*data = n;
	return 0;
}

static bool parse_flag_option(struct hull_mount_options *o, const char *opt)
{
	for (size_t i = 0; i < ELEMENTSOF(flag_options); i++) {
		const struct flag_option *f = &flag_options[i];

		if (!streq(opt, f->name))
			continue;
		if (f->clear) {
			o->flags &= ~f->flag;
			o->clear_flags |= f->flag;
		} else {
			o->flags |= f->flag;
			o->clear_flags &= ~f->flag;
		}
		return true;
	}
	return false;
}

static bool parse_rec_attr_option(struct hull_mount_options *o, const char *opt)
{
	for (size_t i = 0; i < ELEMENTSOF(rec_attr_options); i++) {
		if (!streq(opt, rec_attr_options[i].name))
			continue;
		if (rec_attr_options[i].atime) {
			/*
			 * mount_setattr(2): the atime mode is an enum, so a change
			 * must clear the whole MOUNT_ATTR__ATIME field.
			 */
			o->attr_clr |= MOUNT_ATTR__ATIME;
			o->attr_set = (o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) |
				      rec_attr_options[i].attr;
		} else if (rec_attr_options[i].clear) {
			o->attr_set &= ~rec_attr_options[i].attr;
			o->attr_clr |= rec_attr_options[i].attr;
		} else {
			o->attr_set |= rec_attr_options[i].attr;
			o->attr_clr &= ~rec_attr_options[i].attr;
		}
		return true;
	}
	return false;
}

int hull_mount_options_parse(char *const *options, struct hull_mount_options *ret)
{
	struct hull_mount_options o = {};
	int r;

	hull_strv_foreach (opt, options) {
		unsigned long prop;

		if (opt[0] == '\0')
			continue;
		if (parse_flag_option(&o, opt) || parse_rec_attr_option(&o, opt))
			continue;
		if (hull_mount_propagation_parse(opt, &prop) >= 0) {
			unsigned long *n =
				reallocarray(o.propagation, o.n_propagation + 1, sizeof(*n));
			if (!n) {
				hull_mount_options_done(&o);
				return -ENOMEM;
			}
			o.propagation = n;
			o.propagation[o.n_propagation++] = prop;
			continue;
		}
		if (streq(opt, "idmap")) {
			o.idmap = HULL_MOUNT_IDMAP;
			continue;
		}
		if (streq(opt, "ridmap")) {
			o.idmap = HULL_MOUNT_IDMAP_RECURSIVE;
			continue;
		}
		if (streq(opt, "tmpcopyup")) {
			o.tmpcopyup = true;
			continue;
		}
		r = data_append(&o.data, opt);
		if (r < 0) {
			hull_mount_options_done(&o);
			return r;
		}
	}
	*ret = o;
	return 0;
}

void hull_mount_options_done(struct hull_mount_options *o)
{
	if (!o)
		return;
	free(o->propagation);
	o->propagation = NULL;
	o->n_propagation = 0;
	free(o->data);
	o->data = NULL;
}

bool hull_mount_options_has_rec_attrs(const struct hull_mount_options *o)
{
	return (o->attr_set | o->attr_clr) != 0;
}

uint64_t hull_mount_flags_to_attr(unsigned long flags)
{
	uint64_t a = 0;

	if (flags & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (flags & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (flags & MS_NOSYMFOLLOW)
		a |= MOUNT_ATTR_NOSYMFOLLOW;
	/* as mount(2) does: strictatime beats noatime, relatime is the default */
	if (flags & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	else if (flags & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	else
		a |= MOUNT_ATTR_RELATIME;
	return a;
}

bool hull_mount_options_to_setattr(const struct hull_mount_options *o, uint64_t *ret_set,
				   uint64_t *ret_clr)
{
	const unsigned long simple =
		MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NODIRATIME | MS_NOSYMFOLLOW;
	const unsigned long atime = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
	uint64_t set, clr;

	set = hull_mount_flags_to_attr(o->flags & simple) & ~(uint64_t)MOUNT_ATTR__ATIME;
	clr = hull_mount_flags_to_attr(o->clear_flags & simple) & ~(uint64_t)MOUNT_ATTR__ATIME;
	if ((o->flags | o->clear_flags) & atime) {
		clr |= MOUNT_ATTR__ATIME;
		set |= hull_mount_flags_to_attr(o->flags & atime) & MOUNT_ATTR__ATIME;
	}
	if (set == 0 && clr == 0)
		return false;
	*ret_set = set;
	*ret_clr = clr;
	return true;
}
