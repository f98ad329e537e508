/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI hooks: each runs with the container state JSON on its stdin, its own
 * args and env, and its timeout (the hook is killed when it expires).
 */
#pragma once

#include <stddef.h>

#include "oci/config.h"
#include "util/error.h"

/*
 * Runs hooks[0..n) in order; fails on the first that exits non-zero, is
 * killed, or times out, in runc's words: "prestart hook '/bin/x' (#0): error
 * running hook: exit status 1", "...: error running hook: signal: bad system
 * call" (Go's signal names), "... timed out after 2 s" (then its process
 * group is killed), followed by ", output: <its stdout+stderr>" when it
 * wrote something (trimmed, at most 64 KiB).  `kind` is the hook's spec
 * name used in messages.  Each hook gets state_json on its stdin, its own
 * args (path when absent) and env (empty when absent), no other fds; every
 * hook is reaped before this returns; hooks inherit the caller's working
 * directory (a relative path resolves from it).  Needs pidfd_open (Linux >= 5.3).
 */
int hull_hooks_run(const struct hull_oci_hook *hooks, size_t n, const char *kind,
		   const char *state_json, struct hull_error **reterr);
