/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rss-exec OUT CMD [ARGS...]: runs CMD and writes "<exit code> <peak RSS KiB>"
 * to OUT.  The benchmarks use it to measure a runtime's own peak memory: a
 * process's RSS high-water mark survives execve and starts from its parent's
 * pages, so it must be spawned from something tiny (this static binary, via
 * vfork) rather than from Python.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	FILE *out;
	pid_t pid;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: rss-exec OUT CMD [ARGS...]\n");
		return 2;
	}
	pid = vfork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0)
		return 2;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return 2;
	out = fopen(argv[1], "we");
	if (!out)
		return 2;
	fprintf(out, "%d %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		ru.ru_maxrss);
	fclose(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
