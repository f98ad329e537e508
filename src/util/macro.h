/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cleanup attributes and ownership hand-offs.
 *
 * Every owned resource is declared with a cleanup attribute and initialised
 * (`= NULL`, `= -EBADF`); ownership leaves a scope only through TAKE_PTR or
 * TAKE_FD, so a hand-off is always visible at the call site.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _public_ __attribute__((visibility("default")))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Takes the pointer out of a variable, leaving NULL behind. */
#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) *_pp_ = &(p); \
		__typeof__(p) _p_ = *_pp_;  \
		*_pp_ = NULL;               \
		_p_;                        \
	})

/* Takes the fd out of a variable, leaving -EBADF behind. */
#define TAKE_FD(fd)                 \
	({                          \
		int *_fdp_ = &(fd); \
		int _fd_ = *_fdp_;  \
		*_fdp_ = -EBADF;    \
		_fd_;               \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Closes an fd keeping errno intact; accepts negative fds. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd)
{
	*fd = safe_close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Declares `name##p` calling `func(*p)` when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

/* Returns -errno of the last failed libc call, never 0. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Retries a syscall interrupted by a signal. */
#define RETRY_EINTR(expr)                          \
	({                                         \
		__typeof__(expr) _r_;              \
		do                                 \
			_r_ = (expr);              \
		while (_r_ < 0 && errno == EINTR); \
		_r_;                               \
	})
