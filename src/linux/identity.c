/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container user: supplementary groups, gid, uid, umask, and the home
 * directory used for $HOME when the config does not set it.
 */
#include "linux/process-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

int hull_identity_apply(const struct hull_oci_user *u, struct hull_error **reterr)
{
	_cleanup_free_ gid_t *gids = NULL;
	size_t n = u->n_additional_gids;

	if (n > 0) {
		gids = calloc(n, sizeof(gid_t));
		if (!gids)
			return hull_error_errno(reterr, -ENOMEM, "setgroups");
		for (size_t i = 0; i < n; i++)
			gids[i] = (gid_t)u->additional_gids[i];
	}
	/*
	 * Always clear or set the supplementary groups: a process joining a
	 * container must not keep its caller's.  The kernel alone says whether
	 * that is allowed: EPERM for an empty list means a user namespace mapped
	 * with setgroups "deny" (never /proc/self/setgroups, which inside the
	 * container may be a file the container put there).
	 */
	if (setgroups(n, gids) < 0 && !(n == 0 && errno == EPERM))
		return hull_error_errno(reterr, negative_errno(), "setgroups");
	if (setresgid((gid_t)u->gid, (gid_t)u->gid, (gid_t)u->gid) < 0)
		return hull_error_errno(reterr, negative_errno(), "setresgid %" PRIu32, u->gid);
	if (setresuid((uid_t)u->uid, (uid_t)u->uid, (uid_t)u->uid) < 0)
		return hull_error_errno(reterr, negative_errno(), "setresuid %" PRIu32, u->uid);
	return 0;
}

int hull_umask_apply(const struct hull_oci_user *u, struct hull_error **reterr)
{
	if (u->umask.set && u->umask.v > 07777)
		return hull_error_set(reterr, -EINVAL,
				      "process.user.umask: %#llo is not a valid umask",
				      (unsigned long long)u->umask.v);
	umask(u->umask.set ? (mode_t)u->umask.v : 0022);
	return 0;
}

/* Parses one passwd line; returns the home field when the uid matches. */
static const char *passwd_home(char *line, uint32_t uid)
{
	char *field[7] = {};
	char *p = line;
	uint32_t v;

	line[strcspn(line, "\n")] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(field); i++) {
		field[i] = p;
		p = strchr(p, ':');
		if (!p) {
			if (i < 5)
				return NULL;
			break;
		}
		*p++ = '\0';
	}
	if (!field[5] || hull_parse_u32(field[2], &v) < 0 || v != uid)
		return NULL;
	return field[5];
}

int hull_identity_home(uint32_t uid, char **ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ char *home = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f;

	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	/* only a regular file: the rootfs is not trusted (a fifo or /dev/zero would hang us) */
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		f = fdopen(fd, "re");
		if (!f)
			return -errno;
		fd = -EBADF; /* the FILE owns it now */
		while (getline(&line, &cap, f) > 0) {
			const char *h = passwd_home(line, uid);

			if (h && h[0] != '\0') {
				home = strdup(h);
				if (!home) {
					fclose(f);
					return -ENOMEM;
				}
				break;
			}
		}
		fclose(f);
	}
	if (!home) {
		home = strdup("/");
		if (!home)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(home);
	return 0;
}
