/* SPDX-License-Identifier: Apache-2.0 */
/* hull-runtime front end: shared helpers for the per-verb files. */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "instance/vm-bundle.h"
#include "runtime/container.h"
#include "util/error.h"

struct cli {
	struct hull_runtime rt;
	const char *prog;
	/*
	 * Exit status for a failure of hull itself (1, as runc); exec sets 255
	 * once its options are parsed, so callers can tell hull's failures from
	 * the exit status of the process it ran.
	 */
	int fail_status;
	bool vm; /* run as hull-runtime-vm: bundles go into micro-VMs */
};

struct cli_verb {
	const char *name;
	const char *summary;
	const char *usage; /* arguments and options, printed by --help */
	int (*run)(struct cli *cli, int argc, char **argv, struct hull_error **reterr);
};

/* Each verb file defines one of these. */
extern const struct cli_verb cli_verb_create, cli_verb_start, cli_verb_run, cli_verb_state,
	cli_verb_kill, cli_verb_delete, cli_verb_list, cli_verb_ps, cli_verb_exec, cli_verb_pause,
	cli_verb_resume, cli_verb_update, cli_verb_spec, cli_verb_features, cli_verb_events;

/*
 * getopt_long over a verb's argv (argv[0] is the verb).  Handles -h/--help
 * itself (prints the verb's usage, returns 1 so the caller exits 0).  An
 * unknown option returns -EINVAL with a message.
 */
int cli_getopt(const struct cli_verb *verb, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int *ret_opt, struct hull_error **reterr);

/* Checks the number of positional arguments left after options. */
int cli_want_args(const struct cli_verb *verb, int argc, char **argv, int min, int max,
		  struct hull_error **reterr);

void cli_print_usage(const struct cli_verb *verb);

/* "TERM", "SIGTERM", "15" -> 15; -EINVAL otherwise. */
int cli_parse_signal(const char *s, int *ret);

/* Prints a JSON object to stdout, pretty like runc's state/features. */
void cli_print_json(struct json_object *o, bool pretty);

/* Makes `path` absolute (relative to the cwd); malloc'ed. */
char *cli_abspath(const char *path);

/* "100m", "1G", "512" -> bytes (binary multiples, like runc's RAMInBytes); -1 stays -1. */
int cli_parse_bytes(const char *s, int64_t *ret);

/*
 * A Go duration ("100ms", "1s", "2m", "1m30s", "1.5h"; units ns us µs ms s m h)
 * -> nanoseconds.  -EINVAL on bad syntax, -ERANGE beyond int64.  A sign is
 * accepted (the caller checks it); a bare "0" is zero, as in Go.
 */
int cli_parse_duration(const char *s, int64_t *ret_ns);

/* Options shared by create and run; `detach`/`keep` may be NULL (create). */
int cli_parse_create(const struct cli_verb *verb, int argc, char **argv, struct hull_create_opts *o,
		     bool *detach, bool *keep, const char **ret_id, struct hull_error **reterr);
