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
 * The copy costs one read of the binary (only the part execve maps: no debug
 * information) and one execve per create, run or exec; the other verbs never
 * touch a container's namespaces and skip it.
 */
#include "runtime/cloned-binary.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
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
#define SELF_EXE_ENV "HULL_SELF_EXE"

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

/*
 * How much of the ELF file `fd` execve() reads: up to the end of the last
 * segment its program headers describe.  What follows (debug information, the
 * symbol and section tables: about 40% of this binary) is never mapped, so it
 * need not be copied.  `size` (the whole file) when the headers look unusual.
 */
static off_t exec_prefix(int fd, off_t size)
{
	Elf64_Ehdr eh;
	off_t end;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return size;
	end = (off_t)(eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			return size;
		if (ph.p_offset > (uint64_t)size || ph.p_filesz > (uint64_t)size - ph.p_offset)
			return size;
		if ((off_t)(ph.p_offset + ph.p_filesz) > end)
			end = (off_t)(ph.p_offset + ph.p_filesz);
	}
	return end < size ? end : size;
}

/* Without the section table (not copied), the copy must not point at one. */
static int drop_section_table(int fd)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return -EIO;
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_UNDEF;
	if (pwrite(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return -EIO;
	return 0;
}

/* Copies what execve() needs of `from` (see exec_prefix) into `to`. */
static int copy_file(int to, int from)
{
	struct stat st;
	off_t left, want;

	if (fstat(from, &st) < 0)
		return negative_errno();
	want = exec_prefix(from, st.st_size);
	for (left = want; left > 0;) {
		ssize_t n = sendfile(to, from, NULL, (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EIO; /* the binary shrank under us */
		left -= n;
	}
	if (want < st.st_size)
		return drop_section_table(to);
	return 0;
}

/*
 * F_SEAL_WRITE fails with EBUSY while a page of the file holds an extra
 * reference, which pages just written can briefly do (a per-CPU LRU batch of
 * another CPU that the kernel's own short wait did not drain): try again a
 * few times, 200 ms at most in all.
 */
static int add_seals(int fd)
{
	for (int attempt = 0;; attempt++) {
		if (fcntl(fd, F_ADD_SEALS, SEALS) == 0)
			return 0;
		if (errno != EBUSY || attempt == 20)
			return negative_errno();
		(void)usleep(10000);
	}
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
	r = add_seals(copy);
	if (r < 0)
		return hull_error_errno(reterr, r, "seal runtime binary copy");
	/* what the new image checks: without it, it would copy itself again, forever */
	if (!is_sealed_copy(copy))
		return hull_error_set(reterr, -EIO, "seal runtime binary copy: seals not kept");
	exe = safe_close(exe);
	/* the copy cannot name the file it came from: tell it (hull_self_exe_path) */
	{
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n > 0) {
			self[n] = '\0';
			if (setenv(SELF_EXE_ENV, self, 1) < 0)
				return hull_error_errno(reterr, negative_errno(), "setenv");
		}
	}

	syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
	return hull_error_errno(reterr, negative_errno(), "execute runtime binary copy");
}

ssize_t hull_self_exe_path(char *buf, size_t size)
{
	_cleanup_close_ int exe = -EBADF;
	const char *env;
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	env = getenv(SELF_EXE_ENV);
	/* the variable is believed only by the sealed copy it was set for */
	if (exe >= 0 && is_sealed_copy(exe) && env && env[0] == '/') {
		n = (ssize_t)strlen(env);
		if ((size_t)n >= size)
			return -ENAMETOOLONG;
		memcpy(buf, env, (size_t)n + 1);
		return n;
	}
	n = readlink("/proc/self/exe", buf, size - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	return n;
}
