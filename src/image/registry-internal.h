/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the registry client's files (registry*.c); not part of its interface. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/curl-dl.h"
#include "image/registry.h"

#define ATTEMPTS 4
#define ERROR_BODY_MAX 4096
#define TOKEN_BODY_MAX (1 << 20)
#define STALL_SECONDS 30L
#define CERTS_MAX_SIZE (4 << 20)
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct hull_registry {
	char *host;	/* as named: "docker.io", "127.0.0.1:5000" */
	char *net_host; /* what is connected to: registry-1.docker.io for docker.io */
	char *path;	/* the repository, or NULL (login) */
	bool insecure;
	const char *scheme; /* decided by the first ping */
	char *user, *password;
	char *authorization; /* "Authorization: ..." header, or NULL (anonymous) */
	bool bearer;
	struct hull_auth_challenge challenge;
	char *ca_pem; /* system CAs + certs.d *.crt; NULL = curl's default */
	size_t ca_len;
	char *client_cert, *client_key;
	long connect_timeout;
};

/* One HTTP exchange: a response kept in memory, or streamed into a blob writer. */
struct xfer {
	struct hull_registry *reg;
	CURL *h;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char *www_auth, *content_type, *digest;
	/* body in memory (max bytes), or into a blob writer */
	char *body;
	size_t len, max;
	bool too_big;
	struct hull_blob_writer *w;
	struct hull_error *werr;
	int wr;
	/* blob transfers */
	size_t index;
	const struct hull_blob_request *req;
	unsigned attempts;
	bool reauthed, active, done;
	uint64_t retry_at, reported;
	hull_blob_progress_fn progress;
	void *userdata;
};

/* libcurl's global init, once per process (-EIO with its words on failure). */
int registry_curl_init(struct hull_error **reterr);
/* The CAs and client certificate of certs.d for the registry's host (registry-http.c). */
int registry_load_certs(struct hull_registry *r, struct hull_error **reterr);
/* Frees what a transfer holds (an unfinished blob writer removes its temp file). */
void registry_xfer_reset(struct xfer *x);
/* A curl handle for GET url with the registry's TLS settings and Authorization. */
int registry_xfer_setup(struct xfer *x, const char *url, const char *accept);
long registry_xfer_status(struct xfer *x);
bool registry_curl_retryable(CURLcode c);
bool registry_status_retryable(long status);
uint64_t registry_now_ms(void);
/* The registry's own words from an error body ({"errors":[{"message":...}]}), or NULL. */
char *registry_message(const struct xfer *x);
/* A transport failure as one line naming the registry. */
int registry_curl_error(struct hull_registry *r, struct xfer *x, CURLcode c,
			struct hull_error **reterr);
/*
 * Performs one GET with retries (transport errors, 5xx, 429), leaving the
 * response in x (status in *ret_status).  The caller handles 401.
 */
int registry_perform(struct xfer *x, const char *url, const char *accept, long *ret_status,
		     struct hull_error **reterr);
/* "<scheme>://<host>/v2/" */
char *registry_base_url(struct hull_registry *r);

/* ---- auth (registry-auth.c) ---- */

/* Sends basic credentials from now on. */
int registry_set_basic(struct hull_registry *r);
/* Answers a 401's challenge: basic credentials, or a (new) token. */
int registry_authenticate(struct hull_registry *r, const char *www_auth,
			  struct hull_error **reterr);
/* The error of a request refused with the credentials in use. */
int registry_denied(struct hull_registry *r, struct hull_error **reterr);
/*
 * GET with auth: answers one 401 (and a 401 after that with fresh
 * credentials means they are refused).
 */
int registry_get(struct hull_registry *r, struct xfer *x, const char *url, const char *accept,
		 long *ret_status, struct hull_error **reterr);
