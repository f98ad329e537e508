/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references as podman reads them, and the registries configuration
 * that turns a short name into fully qualified ones.
 *
 *   [registry[:port]/]name[:tag][@sha256:<64 hex>]
 *
 * The first component is a registry when it contains '.' or ':', is
 * "localhost", or holds an upper-case letter (distribution's rule); otherwise
 * the reference is a short name.  "docker.io" (and "index.docker.io") names
 * Docker Hub, whose one-component names live under "library/".  Without a tag
 * or digest the tag is "latest".  Only sha256 digests are accepted.
 *
 * Short names are never guessed: they resolve through the [aliases] table,
 * then `unqualified-search-registries` of registries.conf (the containers
 * format, read from $CONTAINERS_REGISTRIES_CONF, else
 * ~/.config/containers/registries.conf when it exists, else
 * /etc/containers/registries.conf; then the *.conf drop-ins of the
 * "<file>.d" directory in name order; then hull's own $HULL_REGISTRIES_CONF or
 * /etc/hull/registries.conf, which overrides them).  With several search
 * registries and short-name-mode "enforcing" (the default) the name is
 * refused as ambiguous, as podman does without a terminal to prompt on;
 * "permissive" and "disabled" try them in order.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct hull_image_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000"; NULL for a short name */
	char *path;   /* "library/busybox"; a short name's path as written */
	char *tag;    /* "latest" when neither tag nor digest was given; NULL with a bare digest */
	char *digest; /* "sha256:<hex>" or NULL */
};

void hull_image_ref_free(struct hull_image_ref *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_image_ref *, hull_image_ref_free)

/*
 * Parses a reference.  -EINVAL with one line "reference '<s>': <why>" for a
 * malformed one (empty, upper case in the name, bad tag, bad digest, too long).
 */
int hull_image_ref_parse(const char *s, struct hull_image_ref **ret, struct hull_error **reterr);
/* "domain/path[:tag][@digest]" (the short path alone for a short name); NULL on ENOMEM. */
char *hull_image_ref_string(const struct hull_image_ref *r);
/* "domain/path" (the repository without tag or digest); NULL on ENOMEM. */
char *hull_image_ref_name(const struct hull_image_ref *r);
static inline bool hull_image_ref_is_short(const struct hull_image_ref *r)
{
	return !r->domain;
}
struct hull_image_ref *hull_image_ref_copy(const struct hull_image_ref *r);

enum hull_short_name_mode {
	HULL_SHORT_NAME_ENFORCING = 0, /* podman's default: one search registry or refuse */
	HULL_SHORT_NAME_PERMISSIVE,
	HULL_SHORT_NAME_DISABLED,
};

struct hull_registry_entry {
	char *prefix;	/* "example.com/ns", "*.example.com" */
	char *location; /* NULL or "" = the prefix itself */
	bool insecure;	/* plain HTTP and unverified TLS allowed */
	bool blocked;
};

struct hull_registries_conf {
	char **search;	/* unqualified-search-registries, in order */
	char **aliases; /* strv: name, value, name, value, ... */
	struct hull_registry_entry *entries;
	size_t n_entries;
	enum hull_short_name_mode mode;
	char **files; /* the files read, in order (for messages) */
};

void hull_registries_conf_free(struct hull_registries_conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_registries_conf *, hull_registries_conf_free)

/* An empty configuration (no search registries, no entries). */
struct hull_registries_conf *hull_registries_conf_new(void);

/*
 * Merges one file's text into c (later files override: a key given replaces
 * the earlier value, a [[registry]] with the same prefix replaces the earlier
 * one).  Reads the TOML subset podman uses: top-level
 * unqualified-search-registries, short-name-mode; [[registry]] prefix,
 * location, insecure, blocked (its [[registry.mirror]] tables are skipped);
 * [aliases]; and the v1 tables [registries.search|insecure|block] registries.
 * Unknown keys are ignored; a syntax error is -EINVAL
 * "<file>:<line>: <why>".
 */
int hull_registries_conf_parse(struct hull_registries_conf *c, const char *text,
			       const char *filename, struct hull_error **reterr);

/* Loads the files named in the header comment (missing files are fine). */
int hull_registries_conf_load(struct hull_registries_conf **ret, struct hull_error **reterr);

/*
 * The fully qualified references to try for `ref`, in order (NULL-terminated
 * array of new references): the reference itself when qualified; an alias;
 * or the search registries.  Refuses (-EINVAL, one line) a short name
 * without any registry to search, or an ambiguous one in enforcing mode.
 */
int hull_image_ref_resolve(const struct hull_registries_conf *c, const struct hull_image_ref *ref,
			   struct hull_image_ref ***ret, struct hull_error **reterr);
void hull_image_ref_list_free(struct hull_image_ref **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_image_ref **, hull_image_ref_list_free)

/* Where a qualified reference is actually pulled from. */
struct hull_registry_endpoint {
	char *host; /* "registry.example.com:5000", "docker.io": the registry (auth is keyed by it)
		     */
	char *path; /* the repository on that host, after any location rewrite */
	bool insecure;
};
void hull_registry_endpoint_done(struct hull_registry_endpoint *e);

/*
 * Applies the [[registry]] entry with the longest matching prefix: -EACCES
 * "registry '<prefix>' is blocked in <file>" when blocked, otherwise the
 * rewritten host and path and whether it is insecure.
 */
int hull_registries_conf_endpoint(const struct hull_registries_conf *c,
				  const struct hull_image_ref *ref,
				  struct hull_registry_endpoint *ret, struct hull_error **reterr);
