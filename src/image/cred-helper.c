/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker credential helpers (`credHelpers` and `credsStore` of config.json,
 * read by podman too): the program docker-credential-<name> from $PATH, run
 * as `docker-credential-<name> get` with the registry's address on stdin,
 * answers {"ServerURL": ..., "Username": ..., "Secret": ...} on stdout.  It
 * is bounded: 30 s and 64 KiB of output, then it is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/registry.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define HELPER_TIMEOUT_MS (30 * 1000)
#define HELPER_OUTPUT_MAX (64 * 1024)

static bool helper_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the helper; its stdout (NUL-terminated) and exit status. */
static int helper_run(const char *prog, const char *input, char **ret_out, int *ret_status,
		      struct hull_error **reterr)
{
	_cleanup_close_ int in_r = -EBADF, in_w = -EBADF, out_r = -EBADF, out_w = -EBADF;
	_cleanup_free_ char *out = malloc(HELPER_OUTPUT_MAX + 1);
	char *argv[] = { (char *)prog, (char *)"get", NULL };
	posix_spawn_file_actions_t fa;
	int64_t deadline = ms_now() + HELPER_TIMEOUT_MS;
	size_t len = 0;
	pid_t pid;
	int p[2], r, status = 0;

	if (!out)
		return -ENOMEM;
	/* stdin is a socket: send(MSG_NOSIGNAL) to a helper that exits unread raises no SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return hull_error_errno(reterr, -errno, "socketpair");
	in_r = p[0], in_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	out_r = p[0], out_w = p[1];
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawn_file_actions_adddup2(&fa, in_r, STDIN_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (r == 0)
		r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) /* not -ENOENT: that would read as "no credentials" */
		return hull_error_set(reterr, -ENOEXEC, "run '%s': %s", prog, strerror(r));
	in_r = safe_close(in_r);
	out_w = safe_close(out_w);
	/* the address is a line: far below the socket's buffer, the send does not block */
	(void)send(in_w, input, strlen(input), MSG_NOSIGNAL);
	in_w = safe_close(in_w);
	r = 0;
	for (;;) {
		struct pollfd pfd = { .fd = out_r, .events = POLLIN };
		int64_t left = deadline - ms_now();
		ssize_t n;

		if (left <= 0) {
			r = hull_error_set(reterr, -ETIMEDOUT, "'%s' did not answer within %d s",
					   prog, HELPER_TIMEOUT_MS / 1000);
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			r = hull_error_errno(reterr, -errno, "poll");
			break;
		}
		n = read(out_r, out + len, HELPER_OUTPUT_MAX - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == HELPER_OUTPUT_MAX) {
			r = hull_error_set(reterr, -EFBIG, "'%s': more than 64 KiB of output",
					   prog);
			break;
		}
	}
	if (r < 0)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	out[len] = '\0';
	*ret_out = TAKE_PTR(out);
	*ret_status = status;
	return 0;
}

int hull_auth_helper_get(const char *helper, const char *registry, char **ret_user,
			 char **ret_password, struct hull_error **reterr)
{
	_cleanup_free_ char *prog = NULL, *input = NULL, *out = NULL, *user = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *u = NULL, *s = NULL;
	int r, status = 0;

	if (!helper_name_ok(helper))
		return hull_error_set(reterr, -EINVAL, "credential helper '%s': a bad name",
				      helper);
	prog = hull_strdup_printf("docker-credential-%s", helper);
	/* docker keys Docker Hub by its v1 address */
	input = hull_strdup_printf(
		"%s\n", streq(registry, "docker.io") ? "https://index.docker.io/v1/" : registry);
	if (!prog || !input)
		return -ENOMEM;
	r = helper_run(prog, input, &out, &status, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "credential helper '%s'", helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the helpers' own words for "nothing stored for this registry" */
		if (strstr(out, "credentials not found"))
			return 0;
		return hull_error_set(reterr, -EACCES, "credential helper '%s': %s", helper,
				      *out ? strtok(out, "\n") : "failed");
	}
	r = hull_json_parse(out, strlen(out), "credential helper output", &o, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "credential helper '%s'", helper);
	if (!json_object_object_get_ex(o, "Username", &u) ||
	    !json_object_is_type(u, json_type_string) ||
	    !json_object_object_get_ex(o, "Secret", &s) ||
	    !json_object_is_type(s, json_type_string))
		return hull_error_set(reterr, -EINVAL,
				      "credential helper '%s': expected Username and Secret",
				      helper);
	user = strdup(json_object_get_string(u));
	*ret_password = strdup(json_object_get_string(s));
	if (!user || !*ret_password) {
		free(*ret_password);
		return -ENOMEM;
	}
	*ret_user = TAKE_PTR(user);
	return 1;
}
