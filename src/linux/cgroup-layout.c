/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: the host's layout, from /proc/self/mountinfo: one hierarchy per
 * mounted superblock (v1 controllers, name=systemd, the cgroup2 of a hybrid
 * host), v1 or v2 mode, cached for the life of the process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/cgroup-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

/* v1 controllers the kernel knows; anything else in the super options is an option. */
static const char *const v1_controllers[] = {
	"cpuset",     "cpu",	  "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
	"perf_event", "net_prio", "hugetlb", "pids",  "rdma",	"misc",	   "debug",
};

static bool is_v1_controller(const char *opt)
{
	if (startswith(opt, "name=") && opt[5])
		return true;
	for (size_t i = 0; i < ELEMENTSOF(v1_controllers); i++)
		if (streq(opt, v1_controllers[i]))
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void hierarchy_done(struct hull_cgroup_hierarchy *h)
{
	free(h->mount_point);
	free(h->name);
	hull_strv_free(h->controllers);
	*h = (struct hull_cgroup_hierarchy){ 0 };
}

void hull_cgroup_layout_free(struct hull_cgroup_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_hierarchies; i++)
		hierarchy_done(&l->hierarchies[i]);
	free(l->hierarchies);
	free(l);
}

struct mi_entry {
	char *devno, *root, *mount_point, *fstype, *super;
};

/* Splits one mountinfo line in place; false when it is malformed. */
static bool mi_split(char *line, struct mi_entry *e)
{
	char *fields[16], *save = NULL, *tok;
	size_t n = 0, dash = 0;

	for (tok = strtok_r(line, " ", &save); tok && n < ELEMENTSOF(fields);
	     tok = strtok_r(NULL, " ", &save)) {
		if (dash == 0 && n >= 6 && streq(tok, "-"))
			dash = n;
		fields[n++] = tok;
	}
	if (dash == 0 || n < dash + 4)
		return false;
	e->devno = fields[2];
	e->root = fields[3];
	e->mount_point = fields[4];
	e->fstype = fields[dash + 1];
	e->super = fields[dash + 3];
	return true;
}

static int layout_add(struct hull_cgroup_layout *l, char ***devnos, bool **at_root,
		      const struct mi_entry *e)
{
	_cleanup_free_ char *mp = NULL, *name = NULL;
	_cleanup_strv_free_ char **ctrls = NULL;
	bool unified = streq(e->fstype, "cgroup2");
	bool root = streq(e->root, "/");
	struct hull_cgroup_hierarchy *nh;
	const char *base;
	size_t i;
	int r;

	mp = unescape_octal(e->mount_point);
	if (!mp)
		return -ENOMEM;
	if (!unified) {
		_cleanup_free_ char *super = strdup(e->super);
		char *save = NULL;

		if (!super)
			return -ENOMEM;
		for (char *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save))
			if (is_v1_controller(o) && (r = hull_strv_push(&ctrls, o)) < 0)
				return r;
		if (!ctrls)
			return 0; /* no controller, nothing to manage */
	}

	/* one hierarchy per superblock; a mount of its root beats a bind of a subtree */
	for (i = 0; i < l->n_hierarchies; i++)
		if (streq((*devnos)[i], e->devno))
			break;
	if (i < l->n_hierarchies) {
		if ((*at_root)[i] || !root)
			return 0;
		free(l->hierarchies[i].mount_point);
		l->hierarchies[i].mount_point = TAKE_PTR(mp);
		(*at_root)[i] = true;
		return 0;
	}

	nh = realloc(l->hierarchies, (l->n_hierarchies + 1) * sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	l->hierarchies = nh;
	if ((r = hull_strv_push(devnos, e->devno)) < 0)
		return r;
	{
		bool *na = realloc(*at_root, (l->n_hierarchies + 1) * sizeof(bool));

		if (!na)
			return -ENOMEM;
		*at_root = na;
		na[l->n_hierarchies] = root;
	}
	base = strrchr(mp, '/');
	base = base && base[1] ? base + 1 : (unified ? "unified" : ctrls[0]);
	name = strdup(base);
	if (!name)
		return -ENOMEM;
	nh = &l->hierarchies[l->n_hierarchies];
	*nh = (struct hull_cgroup_hierarchy){ .unified = unified };
	nh->name = TAKE_PTR(name);
	nh->mount_point = TAKE_PTR(mp);
	nh->controllers = TAKE_PTR(ctrls);
	l->n_hierarchies++;
	return 0;
}

int hull_cgroup_layout_parse(const char *mountinfo, struct hull_cgroup_layout **ret)
{
	_cleanup_(hull_cgroup_layout_freep) struct hull_cgroup_layout *l = NULL;
	_cleanup_strv_free_ char **devnos = NULL;
	_cleanup_free_ bool *at_root = NULL;
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	bool v1 = false;
	int r, unified;

	l = calloc(1, sizeof(*l));
	text = strdup(mountinfo);
	if (!l || !text)
		return -ENOMEM;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mi_entry e;

		if (!mi_split(line, &e))
			continue;
		if (!streq(e.fstype, "cgroup") && !streq(e.fstype, "cgroup2"))
			continue;
		r = layout_add(l, &devnos, &at_root, &e);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < l->n_hierarchies; i++)
		hull_strv_foreach (c, l->hierarchies[i].controllers)
			if (!startswith(c, "name="))
				v1 = true;
	unified = hull_cgroup_layout_unified(l);
	if (v1) {
		l->mode = HULL_CGROUP_V1;
	} else if (unified >= 0) {
		/* pure v2: a lone name=systemd v1 mount beside it is not ours to manage */
		l->mode = HULL_CGROUP_V2;
		for (size_t i = 0; i < l->n_hierarchies; i++)
			if (i != (size_t)unified)
				hierarchy_done(&l->hierarchies[i]);
		if (unified != 0)
			l->hierarchies[0] = l->hierarchies[unified];
		l->n_hierarchies = 1;
	} else {
		return -ENOENT;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static struct hull_cgroup_layout *cached_layout;

int hull_cgroup_layout_get(const struct hull_cgroup_layout **ret)
{
	struct hull_cgroup_layout *l = __atomic_load_n(&cached_layout, __ATOMIC_ACQUIRE);

	if (!l) {
		_cleanup_(hull_cgroup_layout_freep) struct hull_cgroup_layout *n = NULL;
		_cleanup_free_ char *text = NULL;
		struct hull_cgroup_layout *expected = NULL;
		int r;

		r = hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL);
		if (r < 0)
			return r;
		r = hull_cgroup_layout_parse(text, &n);
		if (r < 0)
			return r;
		/* another thread may have raced us here: keep the first */
		if (__atomic_compare_exchange_n(&cached_layout, &expected, n, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			l = TAKE_PTR(n);
		else
			l = expected;
	}
	*ret = l;
	return 0;
}

int hull_cgroup_layout_find(const struct hull_cgroup_layout *l, const char *controller)
{
	for (size_t i = 0; i < l->n_hierarchies; i++)
		if (!l->hierarchies[i].unified &&
		    hull_strv_contains(l->hierarchies[i].controllers, controller))
			return (int)i;
	return -1;
}

int hull_cgroup_layout_unified(const struct hull_cgroup_layout *l)
{
	for (size_t i = 0; i < l->n_hierarchies; i++)
		if (l->hierarchies[i].unified)
			return (int)i;
	return -1;
}

int hull_cgroup_mode_detect(enum hull_cgroup_mode *ret)
{
	const struct hull_cgroup_layout *l = NULL;
	int r;

	r = hull_cgroup_layout_get(&l);
	if (r < 0)
		return r;
	*ret = l->mode;
	return 0;
}
