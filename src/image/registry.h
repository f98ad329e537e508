/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry client: the Distribution API v2 (what Docker Hub, quay.io and
 * the CNCF distribution server speak) over libcurl, and the credentials
 * podman and docker keep.
 *
 * Transport: HTTPS with the system CAs plus those of certs.d; plain HTTP only
 * for an insecure registry (--tls-verify=false, or registries.conf
 * `insecure = true`), which is tried over HTTPS without verification first,
 * as podman does.  certs.d directories: $HULL_CERTS_DIRS (colon-separated),
 * else /etc/containers/certs.d and /etc/docker/certs.d; in each,
 * <host[:port]>/ holds *.crt (CAs), and *.cert + *.key (a client certificate).
 *
 * Auth: anonymous, basic, or a bearer token fetched from the realm of the
 * registry's WWW-Authenticate challenge (with the basic credentials when
 * there are some) for the scope repository:<path>:pull; a 401 on any request
 * refreshes the token once.
 *
 * Robustness: connect timeout (HULL_REGISTRY_CONNECT_TIMEOUT seconds, 10 by
 * default) with the address in the error; a transfer that stalls for 30 s is
 * dropped; 5xx, 429 and connection resets are retried with backoff (4
 * attempts).  Every blob streams into the blob store, whose writer checks its
 * digest and size: a mismatch or a short body leaves no blob behind.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/reference.h"
#include "util/error.h"

struct hull_blob_store;

/* ---- credentials (auth.json, the format podman and docker share) ---- */

/*
 * The auth file `hull login` writes: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json.
 * malloc'ed; NULL on ENOMEM.
 */
char *hull_auth_file_default(void);

/*
 * Finds credentials for `registry` (and optionally the repository `path` on
 * it: "host/ns/repo", "host/ns" and "host" keys are tried, most specific
 * first).  Reads `auth_file` only when given; otherwise
 * $REGISTRY_AUTH_FILE alone when set, else the default file,
 * ~/.config/containers/auth.json and $DOCKER_CONFIG/config.json
 * (~/.docker/config.json).  -ENOENT when none has an entry.
 */
int hull_auth_lookup(const char *auth_file, const char *registry, const char *path, char **ret_user,
		     char **ret_password, struct hull_error **reterr);
/*
 * Asks the docker credential helper docker-credential-<helper> (from $PATH,
 * bounded: 30 s) for the credentials of `registry`: 1 found, 0 when it has
 * none ("credentials not found"), <0 when it fails or is missing.  Config
 * files name helpers in "credHelpers" (per registry, first) and
 * "credsStore"; hull_auth_lookup() asks them before the file's "auths".
 */
int hull_auth_helper_get(const char *helper, const char *registry, char **ret_user,
			 char **ret_password, struct hull_error **reterr);
/* Writes (creating, 0600 in a 0700 directory) the entry for `registry`, keeping the rest. */
int hull_auth_store(const char *auth_file, const char *registry, const char *user,
		    const char *password, struct hull_error **reterr);
/* Removes the entry; -ENOENT "not logged in to '<registry>'" when there was none. */
int hull_auth_remove(const char *auth_file, const char *registry, struct hull_error **reterr);
/* Removes every entry (logout --all). */
int hull_auth_remove_all(const char *auth_file, struct hull_error **reterr);

/* ---- WWW-Authenticate ---- */

struct hull_auth_challenge {
	char *scheme; /* "bearer" or "basic" (lower case) */
	char *realm;
	char *service;
	char *scope;
};
void hull_auth_challenge_done(struct hull_auth_challenge *c);
/* Parses `Bearer realm="...",service="...",scope="..."` (-EINVAL when malformed). */
int hull_auth_challenge_parse(const char *header, struct hull_auth_challenge *ret);

/* ---- the client ---- */

struct hull_registry_opts {
	bool insecure;	       /* allow HTTP and unverified TLS (--tls-verify=false) */
	const char *auth_file; /* NULL: see hull_auth_lookup() */
	const char *username;  /* explicit credentials (login); NULL: from the auth files */
	const char *password;
};

struct hull_registry;

/* A client for repository `path` on `host` ("127.0.0.1:5000", "docker.io"). */
int hull_registry_new(const char *host, const char *path, const struct hull_registry_opts *o,
		      struct hull_registry **ret, struct hull_error **reterr);
void hull_registry_free(struct hull_registry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_registry *, hull_registry_free)

/*
 * GET /v2/ with the client's credentials (and a token when the registry
 * asks for one): what `hull login` checks.  -EACCES "registry '<host>':
 * invalid username or password" on refused credentials.
 */
int hull_registry_ping(struct hull_registry *r, struct hull_error **reterr);

/*
 * Fetches the manifest or index `reference` (a tag or a digest) with the
 * Accept header of every kind hull reads.  The media type is the response's
 * Content-Type; a digest reference is checked against the body.
 * ret_digest receives the body's sha256 ("sha256:<hex>").
 */
int hull_registry_get_manifest(struct hull_registry *r, const char *reference, char **ret_body,
			       size_t *ret_len, char **ret_media_type, char ret_digest[72],
			       struct hull_error **reterr);

enum hull_blob_event {
	HULL_BLOB_START,    /* the transfer began */
	HULL_BLOB_PROGRESS, /* more bytes arrived */
	HULL_BLOB_RETRY,    /* a transient failure; starting again */
	HULL_BLOB_DONE,	    /* verified and stored */
	HULL_BLOB_EXISTS,   /* already in the store: not downloaded */
};

typedef void (*hull_blob_progress_fn)(enum hull_blob_event ev, size_t index, const char *digest,
				      uint64_t done, uint64_t total, void *userdata);

struct hull_blob_request {
	const char *digest;
	uint64_t size;
};

/*
 * Downloads blobs into the store, up to `parallel` at a time (curl multi).
 * Each is checked against its digest and size as it streams; the first
 * failure stops the others and is returned ("blob '<digest>': ...").
 */
int hull_registry_get_blobs(struct hull_registry *r, struct hull_blob_store *store,
			    const struct hull_blob_request *req, size_t n, unsigned parallel,
			    hull_blob_progress_fn progress, void *userdata,
			    struct hull_error **reterr);

/* ---- pull ---- */

struct hull_pull_opts {
	const char *platform; /* "os/arch[/variant]"; NULL = this machine's */
	bool tls_verify_off;  /* --tls-verify=false */
	const char *auth_file;
	hull_blob_progress_fn progress;
	void *userdata;
	/* called once the manifest is known, with the number of blobs that follow */
	void (*resolved)(const char *name, const char *digest, size_t n_blobs, void *userdata);
};

struct hull_pull_result {
	char *name;	   /* the fully qualified reference pulled: "127.0.0.1:5000/bb:latest" */
	char *tagged_name; /* "registry/path:tag", the image's name; NULL for a digest alone */
	char *manifest_digest; /* of the image manifest (after platform choice) */
	char *index_digest;    /* of the index it was chosen from; NULL when none */
	char *config_digest;
};
void hull_pull_result_done(struct hull_pull_result *p);

/*
 * Resolves `ref` (short names through registries.conf), fetches its manifest
 * (choosing the platform from an index), then the config and layers into
 * the blob store.  Every manifest and index fetched is stored as a blob too.
 */
int hull_image_pull_blobs(struct hull_blob_store *store, const char *ref,
			  const struct hull_pull_opts *o, struct hull_pull_result *ret,
			  struct hull_error **reterr);
