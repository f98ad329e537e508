/* SPDX-License-Identifier: Apache-2.0 */
/* hull (the instance manager) front end: shared helpers for the per-verb files. */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "instance/instance.h"
#include "util/error.h"

struct hull_cli {
	const char *state_dir; /* --state-dir, or NULL ($HULL_DIR, /var/lib/hull) */
	struct hull_home *home;
};

struct hull_cli_verb {
	const char *name;
	const char *summary;
	const char *usage; /* arguments and options, printed by --help */
	int (*run)(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr);
};

extern const struct hull_cli_verb hull_verb_image, hull_verb_init, hull_verb_launch,
	hull_verb_start, hull_verb_stop, hull_verb_restart, hull_verb_delete, hull_verb_list,
	hull_verb_info, hull_verb_exec, hull_verb_logs, hull_verb_snapshot, hull_verb_restore,
	hull_verb_copy, hull_verb_file, hull_verb_config, hull_verb_console, hull_verb_profile,
	hull_verb_run;
extern const struct hull_cli_verb hull_verb_login, hull_verb_logout;
extern const struct hull_cli_verb hull_verb_network;

/* hull image pull (hull-pull.c) */
int hull_cli_image_pull(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr);

/* Builds a distro image with debootstrap, showing its progress on stderr. */
int hull_cli_build(struct hull_cli *cli, const char *name, struct hull_image_build_opts *o,
		   struct hull_image **ret, struct hull_error **reterr);

/* ---- the OCI side of `hull image` (hull-image-oci.c) ---- */
struct hull_oci_image;
struct json_object;
enum hull_oci_archive_format;
void hull_cli_oci_image_line(const struct hull_oci_image *img);
struct json_object *hull_cli_oci_image_json(const struct hull_oci_image *img);
int hull_cli_oci_image_import(struct hull_cli *cli, const char *file, const char *name,
			      enum hull_oci_archive_format format, struct hull_error **reterr);
/* Deletes an OCI image unless a container uses it (or force). */
int hull_cli_oci_image_delete(struct hull_cli *cli, const char *ref, bool force,
			      struct hull_error **reterr);
/* Runs `hull image <sub>` when sub is an OCI-only subcommand; 1 when it is not one. */
int hull_cli_oci_image_sub(struct hull_cli *cli, const char *sub, int argc, char **argv,
			   struct hull_error **reterr);

/* hull config device ... (hull-device.c); argv[0] is "device". */
int hull_cli_config_device(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr);

/* Checks a list command's --format: table, json, csv or yaml. */
int hull_cli_list_format_check(const char *format, struct hull_error **reterr);

/* Opens the state directory once (cli->home). */
int hull_cli_home(struct hull_cli *cli, struct hull_error **reterr);

/*
 * getopt_long over a verb's argv (argv[0] is the verb).  -h/--help prints the
 * usage and returns 1; an unknown option returns -EINVAL with a message.
 */
int hull_cli_getopt(const struct hull_cli_verb *verb, int argc, char **argv, const char *shortopts,
		    const struct option *longopts, int *ret_opt, struct hull_error **reterr);

/*
 * hull_cli_getopt() for a verb whose only option is the flag -<flag>/--<name>:
 * sets *ret_flag when given.  0, 1 after --help, or -EINVAL.
 */
int hull_cli_getopt_flag(const struct hull_cli_verb *verb, int argc, char **argv, char flag,
			 const char *name, bool *ret_flag, struct hull_error **reterr);

/* --tls-verify[=true|false] (no value: true); *ret_off when false. */
int hull_cli_parse_tls_verify(const char *arg, bool *ret_off, struct hull_error **reterr);

/* Checks the number of positional arguments left after options ("missing <what>"). */
int hull_cli_want_args(const struct hull_cli_verb *verb, int argc, char **argv, int min, int max,
		       const char *what, struct hull_error **reterr);

/* Parses a non-negative number of seconds for `option`. */
int hull_cli_parse_seconds(const char *option, const char *s, unsigned *ret,
			   struct hull_error **reterr);

/*
 * The arguments of stop and restart: [--timeout SECONDS] (30) [--force] and
 * one or more names left at optind, or --all and none (only when ret_all is
 * not NULL); opens cli->home.  Returns 1 after --help.
 */
int hull_cli_stop_options(struct hull_cli *cli, const struct hull_cli_verb *verb, int argc,
			  char **argv, unsigned *ret_timeout, bool *ret_force, bool *ret_all,
			  struct hull_error **reterr);
