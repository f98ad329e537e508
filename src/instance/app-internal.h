/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between app-run.c and app-profile.c; not part of the instance room's interface. */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

#include "instance/app.h"
#include "oci/image-spec.h"

struct app_user {
	uint32_t uid, gid;
	uint32_t groups[64];
	size_t n_groups;
	char *home; /* malloc'ed */
};

/*
 * Resolves "user[:group]" (names or numbers; NULL/"" = root) against the
 * image's /etc/passwd and /etc/group, read inside root_fd.
 */
int app_resolve_user(int root_fd, const char *spec, struct app_user *ret,
		     struct hull_error **reterr);

/* podman's default capabilities with --cap-add / --cap-drop applied ("CAP_*" names). */
int app_caps(char *const *add, char *const *drop, char ***ret, struct hull_error **reterr);

/* The process args: entrypoint + cmd, as podman combines them. */
int app_args(const struct hull_oci_image_config *ic, const struct hull_app_opts *o, char ***ret,
	     struct hull_error **reterr);

struct app_config_in {
	const struct hull_app_opts *opts;
	const struct hull_oci_image_config *image;
	const struct app_user *user;
	char **args;
	char **caps;
	const char *cwd;
	const char *name;
	const char *rootfs; /* absolute */
};

/* The OCI config of an app container; NULL on failure (*reterr set, or ENOMEM). */
struct json_object *app_oci_config(const struct app_config_in *in, struct hull_error **reterr);

/* ---- stdio, and -t with -d (app-console.c) ---- */

/* Saved stdio of the caller while the container's are in place ({-EBADF} x 3 at first). */
struct app_stdio {
	int fd[3];
};
/* Puts the saved stdio back. */
void app_stdio_restore(struct app_stdio *s);
/* Saves stdio fd i and puts fd in its place. */
int app_stdio_replace(struct app_stdio *s, int i, int fd);

/*
 * Listens on console.sock in the container's directory adir; its path (as the
 * runtime's --console-socket) in ret_path.  Returns the listening fd.
 */
int app_console_listen(int adir, char *ret_path, size_t size, struct hull_error **reterr);
void app_console_unlink(int adir);
/*
 * Takes the pty master the runtime sent to the socket (waiting at most 10 s)
 * and hands it to a keeper process that outlives hull: it appends the
 * terminal's output to logfd until the container's last process has gone.
 */
int app_console_keep(int sock, int logfd, struct hull_error **reterr);
