/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Copies the whitespace-separated column `idx` of `line` into tok; -ENOENT past the end. */
static int column(const char *line, int idx, char *tok, size_t size)
{
	const char *p = line;

	for (int i = 0;; i++) {
		size_t len;

		p += strspn(p, " \t");
		if (!*p)
			return -ENOENT;
		len = strcspn(p, " \t");
		if (i == idx) {
			snprintf(tok, size, "%.*s", (int)len, p);
			return 0;
		}
		p += len;
	}
}

/* Runs ps(1) with `args` and prints its header and the lines of our pids, like runc. */
static int ps_table(char **args, int nargs, const pid_t *pids, size_t n, struct hull_error **reterr)
{
	_cleanup_free_ char *out = NULL;
	char *argv[64], *line, *save = NULL;
	int fds[2], status, pid_col = -1;
	pid_t child;
	int r;

	if (nargs > 60)
		return hull_error_set(reterr, -E2BIG, "ps: too many arguments");
	argv[0] = (char *)"ps";
	for (int i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	if (nargs == 0)
		argv[1] = (char *)"-ef";
	argv[nargs ? nargs + 1 : 2] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	child = fork();
	if (child < 0)
		return hull_error_errno(reterr, -errno, "fork");
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execvp("ps", argv);
		_exit(127);
	}
	close(fds[1]);
	r = hull_read_fd(fds[0], &out, NULL);
	close(fds[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return hull_error_errno(reterr, r, "read ps output");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hull_error_set(reterr, -EIO, "ps: 'ps' failed");
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (pid_col < 0) {
			for (int col = 0; col < 64 && pid_col < 0; col++) {
				char tok[32];

				if (column(line, col, tok, sizeof(tok)) < 0)
					break;
				if (streq(tok, "PID"))
					pid_col = col;
			}
			if (pid_col < 0)
				return hull_error_set(reterr, -EINVAL,
						      "ps: no PID column in output");
			puts(line);
		} else {
			char tok[32];

			if (column(line, pid_col, tok, sizeof(tok)) >= 0 &&
			    has_pid(pids, n, strtol(tok, NULL, 10)))
				puts(line);
		}
	}
	return 0;
}

static int ps_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ pid_t *pids = NULL;
	const char *format = "table";
	size_t n = 0;
	int c, r;

	while ((r = cli_getopt(&cli_verb_ps, argc, argv, "f:", opts, &c, reterr)) == 0 && c != -1)
		format = optarg;
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_ps, argc, argv, 1, -1, reterr);
	if (r < 0)
		return r;
	if (!streq(format, "table") && !streq(format, "json"))
		return hull_error_set(reterr, -EINVAL, "ps: unknown format '%s' (table or json)",
				      format);
	r = hull_container_pids(&cli->rt, argv[optind], &pids, &n, reterr);
	if (r < 0)
		return r;
	if (streq(format, "json")) {
		_cleanup_json_ struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, json_object_new_int(pids[i]));
		cli_print_json(a, false);
		return 0;
	}
	return ps_table(argv + optind + 1, argc - optind - 1, pids, n, reterr);
}

const struct cli_verb cli_verb_ps = {
	.name = "ps",
	.summary = "show the processes running in a container",
	.usage = "[options] <container-id> [ps options]\n\n"
		 "  -f, --format FORMAT   table (ps(1) output) or json (pids)",
	.run = ps_run,
};
