/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI image spec (and Docker's schema 2, which it grew from): image
 * manifests, image indexes / manifest lists, and the image config.
 *
 * Every parser takes untrusted bytes (from a registry or an archive), bounds
 * their size and counts, validates every digest through util/digest.h and
 * names the exact field on bad input ("manifest.layers[2].digest: ...").
 * Unknown fields are ignored, as the spec asks.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/error.h"

/* media types */
#define HULL_OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HULL_OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define HULL_OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define HULL_OCI_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar"
#define HULL_OCI_MEDIA_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define HULL_OCI_MEDIA_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define HULL_OCI_MEDIA_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define HULL_OCI_MEDIA_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define HULL_OCI_MEDIA_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define HULL_DOCKER_MEDIA_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HULL_DOCKER_MEDIA_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define HULL_DOCKER_MEDIA_CONFIG "application/vnd.docker.container.image.v1+json"
#define HULL_DOCKER_MEDIA_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define HULL_DOCKER_MEDIA_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* The Accept header a registry client sends for a manifest (all four kinds). */
#define HULL_OCI_MANIFEST_ACCEPT                                                      \
	HULL_OCI_MEDIA_INDEX ", " HULL_OCI_MEDIA_MANIFEST ", " HULL_DOCKER_MEDIA_LIST \
			     ", " HULL_DOCKER_MEDIA_MANIFEST

/* limits on untrusted documents */
#define HULL_OCI_MANIFEST_MAX_SIZE (4u << 20) /* what distribution accepts */
#define HULL_OCI_CONFIG_MAX_SIZE (8u << 20)
#define HULL_OCI_MAX_LAYERS 512
#define HULL_OCI_MAX_MANIFESTS 1024

enum hull_oci_doc_kind {
	HULL_OCI_DOC_MANIFEST, /* OCI manifest or Docker schema 2 manifest */
	HULL_OCI_DOC_INDEX,    /* OCI index or Docker manifest list */
};

enum hull_oci_compression {
	HULL_OCI_COMPRESSION_NONE,
	HULL_OCI_COMPRESSION_GZIP,
	HULL_OCI_COMPRESSION_ZSTD,
};

struct hull_oci_platform {
	char *architecture;
	char *os;
	char *variant;	  /* may be NULL */
	char *os_version; /* may be NULL */
};

struct hull_oci_descriptor {
	char *media_type;
	char *digest; /* validated: sha256:<64 hex> */
	uint64_t size;
	char **urls;			    /* may be NULL */
	char **annotations;		    /* strv of alternating keys and values; may be NULL */
	struct hull_oci_platform *platform; /* index entries only; may be NULL */
};

struct hull_oci_manifest {
	int schema_version; /* 2 */
	char *media_type;   /* the effective media type (filled in when the document has none) */
	bool docker;	    /* Docker schema 2 */
	struct hull_oci_descriptor config;
	struct hull_oci_descriptor *layers;
	size_t n_layers;
	char **annotations;
};

struct hull_oci_index {
	int schema_version;
	char *media_type;
	bool docker; /* Docker manifest list */
	struct hull_oci_descriptor *manifests;
	size_t n_manifests;
	char **annotations;
};

struct hull_oci_image_config {
	char *created; /* may be NULL */
	char *author;
	char *architecture;
	char *os;
	char *variant;
	struct {
		char *user;
		char **exposed_ports; /* "80/tcp", ...: the keys of ExposedPorts */
		char **env;	      /* "K=V" */
		char **entrypoint;
		char **cmd;
		char **volumes; /* the keys of Volumes */
		char *working_dir;
		char **labels; /* alternating keys and values */
		char *stop_signal;
	} config;
	struct {
		char *type; /* "layers" */
		char **diff_ids;
	} rootfs;
};

/*
 * Tells a manifest from an index.  `content_type` (the HTTP Content-Type or
 * the descriptor's mediaType; NULL or "" when unknown) and the document's own
 * mediaType must agree; without either, the shape decides ("manifests" →
 * index, "layers" → manifest).  Docker schema 1 is refused by name.
 */
int hull_oci_doc_kind(const char *text, size_t len, const char *content_type,
		      enum hull_oci_doc_kind *ret, struct hull_error **reterr);

/*
 * Parses an image manifest (OCI or Docker schema 2).  `content_type` as for
 * hull_oci_doc_kind().  Checks: schemaVersion 2, config of an image config
 * media type, 1..HULL_OCI_MAX_LAYERS layers of a layer media type, digests.
 */
int hull_oci_manifest_parse(const char *text, size_t len, const char *content_type,
			    struct hull_oci_manifest **ret, struct hull_error **reterr);
void hull_oci_manifest_free(struct hull_oci_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_manifest *, hull_oci_manifest_free)

/* Parses an image index or Docker manifest list. */
int hull_oci_index_parse(const char *text, size_t len, const char *content_type,
			 struct hull_oci_index **ret, struct hull_error **reterr);
void hull_oci_index_free(struct hull_oci_index *idx);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_index *, hull_oci_index_free)

/* Parses an image config ("config.Env[3]: expected a string"). */
int hull_oci_image_config_parse(const char *text, size_t len, struct hull_oci_image_config **ret,
				struct hull_error **reterr);
void hull_oci_image_config_free(struct hull_oci_image_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_oci_image_config *, hull_oci_image_config_free)

/* This machine's platform: "linux/amd64", "linux/arm64/v8", ... (static string). */
const char *hull_oci_platform_default(void);

/*
 * Picks the manifest for `platform` ("os/arch[/variant]"; NULL = this
 * machine's) from an index.  An entry without a variant matches any requested
 * variant only when no entry names it exactly; arm64's variant defaults to
 * v8.  -ENOENT with "no manifest for platform 'linux/s390x' (available:
 * linux/amd64, linux/arm64/v8)".  *ret points into idx.
 */
int hull_oci_index_select(const struct hull_oci_index *idx, const char *platform,
			  const struct hull_oci_descriptor **ret, struct hull_error **reterr);

/* Checks "os/arch[/variant]" syntax (for --platform). */
int hull_oci_platform_check(const char *platform, struct hull_error **reterr);

/* The compression of a layer media type; -EOPNOTSUPP when it is not a layer type. */
int hull_oci_layer_compression(const char *media_type, enum hull_oci_compression *ret);
/* True for the media types of image manifests / indexes / configs. */
bool hull_oci_media_is_manifest(const char *media_type);
bool hull_oci_media_is_index(const char *media_type);
bool hull_oci_media_is_config(const char *media_type);
