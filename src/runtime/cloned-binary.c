/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sealed memfd copy of the runtime binary to run from (CVE-2019-5736).
 *
 * Being non-dumpable is not enough: a container process that execs
 * `#!/proc/self/exe` makes the kernel run /proc/self/exe of the process
 * that exec'd it afresh (and dumpable) inside the container, where a
 * process of the container can open /proc/<pid>/exe with O_PATH and, once
 * the runtime has exited, reopen it for writing.  A memfd copy with write,
 * grow and shrink sealed (and the seals themselves sealed) gives it nothing
 * to write to, and the host's file is never an executable of the container.
 * The copy costs one read of the binary and one execve per create, run or
 * exec; the other verbs never touch a container's namespaces and skip it.
 */
#include "runtime/cloned-binary.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/macro.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable memfd, said explicitly */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool is_sealed_copy(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & SEALS) == SEALS;
}

static int make_memfd(void)
{
	int fd = memfd_create("hull-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	/* before Linux 6.3 MFD_EXEC is unknown, and every memfd is executable */
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("hull-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd < 0 ? negative_errno() : fd;
}

/* Copies all of `from` (its size at open) into `to`. */
static int copy_file(int to, int from)
{
	struct stat st;
	off_t left;

	if (fstat(from, &st) < 0)
		return negative_errno();
	for (left = st.st_size; left > 0;) {
		ssize_t n = sendfile(to, from, NULL, (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EIO; /* the binary shrank under us */
		left -= n;
	}
	return 0;
}

int hull_cloned_binary_ensure(char *const *argv, struct hull_error **reterr)
{
	_cleanup_close_ int exe = -EBADF, copy = -EBADF;
	int r;

	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0)
		return hull_error_errno(reterr, negative_errno(), "open '/proc/self/exe'");
	if (is_sealed_copy(exe))
		return 0;

	copy = make_memfd();
	if (copy < 0)
		return hull_error_errno(reterr, copy, "copy runtime binary: memfd_create");
	r = copy_file(copy, exe);
	if (r < 0)
		return hull_error_errno(reterr, r, "copy runtime binary '/proc/self/exe'");
	if (fcntl(copy, F_ADD_SEALS, SEALS) < 0)
		return hull_error_errno(reterr, negative_errno(), "seal runtime binary copy");
	/* what the new image checks: without it, it would copy itself again, forever */
	if (!is_sealed_copy(copy))
		return hull_error_set(reterr, -EIO, "seal runtime binary copy: seals not kept");
	exe = safe_close(exe);

	syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
	return hull_error_errno(reterr, negative_errno(), "execute runtime binary copy");
}
