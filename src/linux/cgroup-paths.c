/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: naming.  cgroupsPath to the resolved path (empty and relative
 * ones under hull's own subtree), systemd's slice:prefix:name, and exec
 * --cgroup's sub-cgroup specs.
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

/* Where empty and relative cgroupsPaths go: never below the caller's own cgroup. */
#define HULL_CGROUP_BASE "/hull"

/* Joins the '/'-separated components of `p` as "/a/b", refusing "." and "..". */
static int normalize(const char *p, char **ret)
{
	_cleanup_free_ char *out = malloc(strlen(p) + 2);
	size_t o = 0;

	if (!out)
		return -ENOMEM;
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

int hull_cgroup_resolve_path(const char *cgroups_path, const char *id, char **ret,
			     struct hull_error **reterr)
{
	_cleanup_free_ char *joined = NULL, *norm = NULL;
	int r;

	if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/') || streq_dots(id))
			return hull_error_set(reterr, -EINVAL,
					      "cgroup of container '%s': invalid container id",
					      id ? id : "");
		joined = hull_strdup_printf(HULL_CGROUP_BASE "/%s", id);
	} else if (cgroups_path[0] != '/') {
		joined = hull_strdup_printf(HULL_CGROUP_BASE "/%s", cgroups_path);
	} else {
		joined = strdup(cgroups_path);
	}
	if (!joined)
		return -ENOMEM;
	r = normalize(joined, &norm);
	if (r == -EINVAL)
		return hull_error_set(reterr, r,
				      "linux.cgroupsPath: '.' and '..' are not allowed in '%s'",
				      cgroups_path);
	if (r < 0)
		return r;
	if (!*norm)
		return hull_error_set(reterr, -EINVAL,
				      "linux.cgroupsPath: the root cgroup cannot be used");
	*ret = TAKE_PTR(norm);
	return 0;
}

int hull_cgroup_sub_parse(char *const *specs, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **map = NULL;
	size_t n = hull_strv_length((char **)specs);
	int r;

	hull_strv_foreach (spec, (char **)specs) {
		_cleanup_free_ char *path = NULL, *ctrls = NULL;
		const char *colon = strchr(spec, ':');
		char *list, *c;

		if (colon && strchr(colon + 1, ':'))
			return hull_error_set(
				reterr, -EINVAL,
				"--cgroup '%s': expected [CONTROLLER[,CONTROLLER...]:]PATH", spec);
		r = normalize(colon ? colon + 1 : spec, &path);
		if (r == -EINVAL)
			return hull_error_set(reterr, r,
					      "--cgroup '%s': '.' and '..' are not allowed: the "
					      "sub-cgroup must lie inside the container's cgroup",
					      spec);
		if (r < 0)
			return r;
		if (!colon) {
			if (n != 1)
				return hull_error_set(
					reterr, -EINVAL,
					"--cgroup '%s': a PATH without CONTROLLER: must "
					"be the only --cgroup",
					spec);
			if ((r = hull_strv_push(&map, "")) < 0 ||
			    (r = hull_strv_push(&map, path)) < 0)
				return r;
			continue;
		}
		ctrls = strndup(spec, (size_t)(colon - spec));
		if (!ctrls)
			return -ENOMEM;
		list = ctrls;
		while ((c = strsep(&list, ","))) {
			if (!*c)
				return hull_error_set(reterr, -EINVAL,
						      "--cgroup '%s': empty controller name", spec);
			for (char **m = map; m && m[0]; m += 2)
				if (streq(m[0], c))
					return hull_error_set(
						reterr, -EINVAL,
						"--cgroup: controller '%s' given twice", c);
			if ((r = hull_strv_push(&map, c)) < 0 ||
			    (r = hull_strv_push(&map, path)) < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(map);
	return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "". */
static int expand_slice(const char *slice, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t len = strlen(slice), stem;
	const char *dash;

	if (streq(slice, "-.slice")) {
		out = strdup("");
		goto done;
	}
	if (len <= 6 || !streq(slice + len - 6, ".slice") || strchr(slice, '/'))
		return -EINVAL;
	stem = len - 6;
	if (slice[0] == '-' || slice[stem - 1] == '-' || strstr(slice, "--"))
		return -EINVAL;
	out = strdup("");
	for (dash = slice; out && (dash = memchr(dash, '-', stem - (size_t)(dash - slice)));
	     dash++) {
		char *n = hull_strdup_printf("%s/%.*s.slice", out, (int)(dash - slice), slice);

		free(out);
		out = n;
	}
	if (out) {
		char *n = hull_strdup_printf("%s/%s", out, slice);

		free(out);
		out = n;
	}
done:
	if (!out)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int hull_cgroup_systemd_path(const char *spec, const char *id, char **ret,
			     struct hull_error **reterr)
{
	_cleanup_free_ char *copy = NULL, *slice_path = NULL, *unit = NULL, *path = NULL;
	const char *slice, *prefix, *name;
	char *c1, *c2;
	int r;

	copy = strdup(spec ? spec : "");
	if (!copy)
		return -ENOMEM;
	c1 = *copy ? strchr(copy, ':') : NULL;
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (*copy && (!c2 || strchr(c2 + 1, ':')))
		return hull_error_set(reterr, -EINVAL,
				      "linux.cgroupsPath: expected 'slice:prefix:name' with the "
				      "systemd cgroup driver, got '%s'",
				      spec);
	if (*copy) {
		*c1 = *c2 = '\0';
		slice = copy;
		prefix = c1 + 1;
		name = c2 + 1;
	} else {
		slice = "";
		prefix = "hull";
		name = "";
	}
	if (!*slice)
		slice = "system.slice";
	if (!*name)
		name = id;
	if (!name || !*name || strchr(name, '/') || strchr(prefix, '/') || streq_dots(name))
		return hull_error_set(reterr, -EINVAL,
				      "linux.cgroupsPath: invalid unit name in '%s'",
				      spec ? spec : "");
	r = expand_slice(slice, &slice_path);
	if (r == -EINVAL)
		return hull_error_set(reterr, r, "linux.cgroupsPath: invalid slice '%s'", slice);
	if (r < 0)
		return r;
	if (strlen(name) > 6 && streq(name + strlen(name) - 6, ".slice"))
		unit = strdup(name);
	else if (*prefix)
		unit = hull_strdup_printf("%s-%s.scope", prefix, name);
	else
		unit = hull_strdup_printf("%s.scope", name);
	if (!unit)
		return -ENOMEM;
	path = hull_strdup_printf("%s/%s", slice_path, unit);
	if (!path)
		return -ENOMEM;
	return hull_cgroup_resolve_path(path, NULL, ret, reterr);
}
