/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User namespace id maps: written directly when we may (root with
 * CAP_SETUID/CAP_SETGID), through the setuid helpers newuidmap/newgidmap
 * (which check /etc/subuid and /etc/subgid) when we may not.
 */
#include "linux/namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/file.h"
#include "util/macro.h"
#include "util/str.h"

#define NEWUIDMAP "/usr/bin/newuidmap"
#define NEWGIDMAP "/usr/bin/newgidmap"
#define HELPER_STDERR_MAX 4096

static bool have_cap(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t c = cap_get_proc();

	if (!c)
		return false;
	if (cap_get_flag(c, cap, CAP_EFFECTIVE, &v) < 0)
		v = CAP_CLEAR;
	cap_free(c);
	return v == CAP_SET;
}

/* "container host size\n" lines, as the kernel wants them in one write. */
static char *format_map(const struct hull_oci_idmap *m, size_t n)
{
	_cleanup_free_ char *s = NULL;
	size_t len = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		char line[64];
		int l = snprintf(line, sizeof(line), "%u %u %u\n", m[i].container_id, m[i].host_id,
				 m[i].size);

		if (len + (size_t)l + 1 > cap) {
			size_t ncap = (cap ? cap * 2 : 128) + (size_t)l;
			char *ns = realloc(s, ncap);

			if (!ns)
				return NULL;
			s = ns;
			cap = ncap;
		}
		memcpy(s + len, line, (size_t)l + 1);
		len += (size_t)l;
	}
	return s ? TAKE_PTR(s) : strdup("");
}

static int write_map(pid_t pid, const char *file, const struct hull_oci_idmap *m, size_t n,
		     struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	text = format_map(m, n);
	if (!text)
		return hull_error_errno(reterr, -ENOMEM, "write '/proc/%d/%s'", (int)pid, file);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	r = hull_write_string_at(AT_FDCWD, path, text);
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s'", path);
	return 0;
}

static void strip_trailing_space(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int push_number(char ***argv, unsigned long v)
{
	char *s = hull_strdup_printf("%lu", v);
	int r;

	if (!s)
		return -ENOMEM;
	r = hull_strv_consume(argv, s);
	if (r < 0)
		free(s);
	return r;
}

/* Runs `helper PID c h s ...`, reporting its stderr when it fails. */
static int run_helper(const char *helper, pid_t pid, const struct hull_oci_idmap *m, size_t n,
		      struct hull_error **reterr)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_close_ int rd = -EBADF, wr = -EBADF;
	posix_spawn_file_actions_t fa;
	char errbuf[HELPER_STDERR_MAX];
	int p[2], r, status;
	pid_t child;
	ssize_t len;

	r = hull_strv_push(&argv, helper);
	if (r >= 0)
		r = push_number(&argv, (unsigned long)pid);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = push_number(&argv, m[i].container_id);
		if (r >= 0)
			r = push_number(&argv, m[i].host_id);
		if (r >= 0)
			r = push_number(&argv, m[i].size);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "run '%s'", helper);

	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "run '%s'", helper);
	rd = p[0];
	wr = p[1];
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return hull_error_errno(reterr, -r, "run '%s'", helper);
	/* dup2 in the child clears O_CLOEXEC on the copy */
	r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, wr, STDERR_FILENO);
	if (r == 0)
		r = posix_spawn(&child, helper, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	wr = safe_close(wr); /* so the read below sees EOF when the helper exits */
	if (r != 0)
		return hull_error_errno(reterr, -r, "run '%s'", helper);

	len = hull_read_all(rd, errbuf, sizeof(errbuf) - 1);
	errbuf[len > 0 ? len : 0] = '\0';
	strip_trailing_space(errbuf);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return hull_error_errno(reterr, -errno, "wait for '%s'", helper);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (errbuf[0])
		return hull_error_set(reterr, -EPERM, "%s '%d': %s", helper, (int)pid, errbuf);
	if (WIFEXITED(status))
		return hull_error_set(reterr, -EPERM, "%s '%d': exited with status %d", helper,
				      (int)pid, WEXITSTATUS(status));
	return hull_error_set(reterr, -EPERM, "%s '%d': killed by signal %d", helper, (int)pid,
			      WTERMSIG(status));
}

int hull_idmap_write(pid_t pid, const struct hull_oci_idmap *uids, size_t n_uids,
		     const struct hull_oci_idmap *gids, size_t n_gids, struct hull_error **reterr)
{
	bool root = geteuid() == 0;
	int r;

	if (n_uids > 0) {
		if (root && have_cap(CAP_SETUID))
			r = write_map(pid, "uid_map", uids, n_uids, reterr);
		else if (access(NEWUIDMAP, X_OK) >= 0)
			r = run_helper(NEWUIDMAP, pid, uids, n_uids, reterr);
		else /* the kernel allows mapping our own uid */
			r = write_map(pid, "uid_map", uids, n_uids, reterr);
		if (r < 0)
			return r;
	}
	if (n_gids > 0) {
		if (root && have_cap(CAP_SETGID)) {
			r = write_map(pid, "gid_map", gids, n_gids, reterr);
		} else if (access(NEWGIDMAP, X_OK) >= 0) {
			r = run_helper(NEWGIDMAP, pid, gids, n_gids, reterr);
		} else {
			char path[64];

			/* an unprivileged gid_map needs setgroups denied first */
			snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
			r = hull_write_string_at(AT_FDCWD, path, "deny");
			if (r < 0)
				return hull_error_errno(reterr, r, "write '%s'", path);
			r = write_map(pid, "gid_map", gids, n_gids, reterr);
		}
		if (r < 0)
			return r;
	}
	return 0;
}
