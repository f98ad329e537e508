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
 * killed, or times out: "prestart hook '/bin/x': exit status 1".
 * `kind` is the hook's spec name used in messages.
 */
int hull_hooks_run(const struct hull_oci_hook *hooks, size_t n, const char *kind,
		   const char *state_json, struct hull_error **reterr);
