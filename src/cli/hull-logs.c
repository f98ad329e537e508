/* SPDX-License-Identifier: Apache-2.0 */
/* hull logs NAME: what the instance's init wrote on its console */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "instance/app.h"
#include "util/file.h"

static int logs_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char buf[65536];
	ssize_t n;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_logs, argc, argv, "", NULL, &c, reterr)) == 0 &&
	       c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_logs, argc, argv, 1, 1, "the instance name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (hull_app_exists(cli->home, argv[optind])) {
		/* a detached app container of `hull run -d` */
		r = hull_app_log_open(cli->home, argv[optind], &fd, reterr);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		goto copy;
	}
	r = hull_instance_name_check(argv[optind], reterr);
	if (r < 0)
		return r;
	dfd = openat(cli->home->instances_fd, argv[optind],
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? hull_error_set(reterr, -ENOENT, "unknown instance '%s'",
							argv[optind])
				       : hull_error_errno(reterr, -errno, "open instance '%s'",
							  argv[optind]);
	fd = openat(dfd, "console.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : hull_error_errno(reterr, -errno, "open 'console.log'");
copy:
	while ((n = RETRY_EINTR(read(fd, buf, sizeof(buf)))) > 0) {
		r = hull_write_all(STDOUT_FILENO, buf, (size_t)n);
		if (r < 0)
			return hull_error_errno(reterr, r, "write");
	}
	return n < 0 ? hull_error_errno(reterr, -errno, "read 'console.log'") : 0;
}

const struct hull_cli_verb hull_verb_logs = {
	.name = "logs",
	.summary = "print an instance's console log",
	.usage = "NAME",
	.run = logs_run,
};
