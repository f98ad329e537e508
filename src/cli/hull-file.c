/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull file push LOCAL NAME/PATH [--uid N] [--gid N] [--mode MODE]
 * hull file pull NAME/PATH LOCAL
 * LOCAL may be '-' (stdin, stdout).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "util/file.h"
#include "util/str.h"

/* "NAME/PATH" -> name (malloc'ed), path (inside arg) */
static int split_target(const char *arg, char **ret_name, const char **ret_path,
			struct hull_error **reterr)
{
	const char *slash = strchr(arg, '/');
	char *name;

	if (!slash || slash == arg || !slash[1])
		return hull_error_set(reterr, -EINVAL, "'%s': expected NAME/PATH", arg);
	name = strndup(arg, (size_t)(slash - arg));
	if (!name)
		return -ENOMEM;
	*ret_name = name;
	*ret_path = slash; /* absolute inside the instance */
	return 0;
}

static int parse_mode(const char *s, mode_t *ret, struct hull_error **reterr)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || !*s || *end || v > 07777)
		return hull_error_set(reterr, -EINVAL, "--mode: expected an octal mode, got '%s'",
				      s);
	*ret = (mode_t)v;
	return 0;
}

static int file_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "uid", required_argument, NULL, 'u' },
					      { "gid", required_argument, NULL, 'g' },
					      { "mode", required_argument, NULL, 'm' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int fd = -EBADF;
	uint32_t uid = 0, gid = 0;
	mode_t mode = 0644;
	bool push;
	const char *path = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_file, argc, argv, "u:g:m:", opts, &c, reterr)) ==
		       0 &&
	       c != -1) {
		if ((c == 'u' && hull_parse_u32(optarg, &uid) < 0) ||
		    (c == 'g' && hull_parse_u32(optarg, &gid) < 0))
			return hull_error_set(reterr, -EINVAL, "--%s: expected a number, got '%s'",
					      c == 'u' ? "uid" : "gid", optarg);
		if (c == 'm' && (r = parse_mode(optarg, &mode, reterr)) < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_file, argc, argv, 3, 3, "push|pull and two paths",
			       reterr);
	if (r < 0)
		return r;
	if (!streq(argv[optind], "push") && !streq(argv[optind], "pull"))
		return hull_error_set(reterr, -EINVAL, "file: expected push or pull, got '%s'",
				      argv[optind]);
	push = streq(argv[optind], "push");
	r = split_target(argv[optind + (push ? 2 : 1)], &name, &path, reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (push) {
		const char *local = argv[optind + 1];

		fd = streq(local, "-") ? dup(STDIN_FILENO)
				       : open(local, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return hull_error_errno(reterr, -errno, "open '%s'", local);
		return hull_instance_file_push(cli->home, name, path, fd, uid, gid, mode, reterr);
	}
	{
		const char *local = argv[optind + 2];
		_cleanup_free_ char *tmp = NULL;

		if (streq(local, "-"))
			return hull_instance_file_pull(cli->home, name, path, STDOUT_FILENO,
						       reterr);
		/* the local file appears whole or not at all */
		tmp = hull_strdup_printf("%s.hull-pull-%d", local, (int)getpid());
		if (!tmp)
			return -ENOMEM;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return hull_error_errno(reterr, -errno, "create '%s'", tmp);
		r = hull_instance_file_pull(cli->home, name, path, fd, reterr);
		if (r >= 0 && rename(tmp, local) < 0)
			r = hull_error_errno(reterr, -errno, "rename to '%s'", local);
		if (r < 0)
			unlink(tmp);
		return r;
	}
}

const struct hull_cli_verb hull_verb_file = {
	.name = "file",
	.summary = "copy a file into (push) or out of (pull) an instance",
	.usage = "push LOCAL NAME/PATH [--uid N] [--gid N] [--mode 0644] | pull NAME/PATH LOCAL",
	.run = file_run,
};
