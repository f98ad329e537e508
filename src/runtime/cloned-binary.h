/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The defence against CVE-2019-5736: no process that enters a container's
 * namespaces may have the host's runtime file as its executable, or the
 * container could reopen /proc/<pid>/exe for writing and replace the host's
 * binary.  The verbs that put a process into a container (create, run, exec)
 * therefore run from a sealed memfd copy of the binary.
 */
#pragma once

#include <sys/types.h>

#include "util/error.h"

/*
 * Makes the calling process run from a sealed copy of its binary: when
 * /proc/self/exe is not yet a memfd carrying F_SEAL_SEAL|SHRINK|GROW|WRITE,
 * copies it into one, seals it and execveat()s it with `argv` and the
 * current environment, so main() starts again; otherwise returns 0 at once
 * (the second time round, and for a process that already runs the copy).
 * Leaves the caller's fds alone: every fd it opens is O_CLOEXEC, so the new
 * image starts with exactly the fds the caller passed.  Returns only on
 * success without a re-exec, or with an error naming the failed step.
 * Call it from a single-threaded process, before anything else is set up.
 */
int hull_cloned_binary_ensure(char *const *argv, struct hull_error **reterr);

/*
 * The path of the binary this process was started from, NUL-terminated in
 * buf: /proc/self/exe, or, in a sealed copy made by
 * hull_cloned_binary_ensure(), the path of the file it was copied from
 * (handed over in $HULL_SELF_EXE), e.g. to name the binary in a hook.
 * Returns the length or -errno.
 */
ssize_t hull_self_exe_path(char *buf, size_t size);
