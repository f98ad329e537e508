/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System images: a content-addressed store of unpacked root filesystems.
 *
 * Layout under the store directory (normally <state-dir>/images):
 *   <fingerprint>/rootfs      the unpacked tree, shared read-only by instances
 *   <fingerprint>/image.json  {"fingerprint","source","created","size"} and, from
 *                             a metadata tarball, "architecture", "creation_date",
 *                             "properties"
 *   aliases.json              {"debian/12": "<fingerprint>", ...}
 *   .lock                     flock()ed by every change
 *   .tmp-*                    an import or build in progress (removed on failure)
 *
 * The fingerprint of an imported image is the sha256 of its tarball (of the
 * metadata tarball followed by the rootfs tarball when there is one, as LXD
 * computes it for split images); a built
 * image's is the sha256 of the build recipe and the time it was built.  Every
 * metadata write is atomic (temp file + fsync + rename), and an image
 * directory appears under its fingerprint only once it is complete.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define HULL_IMAGE_FINGERPRINT_LEN 64

struct hull_image {
	char *fingerprint; /* sha256, lowercase hex */
	char **aliases;	   /* NULL-terminated, sorted; may be empty */
	char *source;	   /* "import:<file name>" or "build:<distro>/<release>" */
	char *created;	   /* RFC 3339, UTC */
	uint64_t size;	   /* bytes of the tarball (0 for built images) */
	/* from an imported metadata tarball (NULL without one) */
	char *architecture;
	char *creation_date; /* RFC 3339, UTC: when the image was made */
	char **properties;   /* key, value, key, value, ..., NULL; never NULL itself */
	uint32_t templates;  /* files under the metadata's templates/: not applied */
};

void hull_image_free(struct hull_image *img);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_image *, hull_image_free)
void hull_image_list_free(struct hull_image **l, size_t n);

struct hull_image_store;

/*
 * Opens (creating when missing) the store at dirfd/path.  The store keeps an
 * fd of its directory; every later operation works relative to it.
 */
int hull_image_store_open(int dirfd, const char *path, struct hull_image_store **ret,
			  struct hull_error **reterr);
void hull_image_store_free(struct hull_image_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hull_image_store *, hull_image_store_free)
int hull_image_store_fd(const struct hull_image_store *s);

/* Checks an alias: 1-128 of [A-Za-z0-9._+:/-], no '..', no leading or trailing '/'. */
int hull_image_alias_check(const char *alias, struct hull_error **reterr);

/*
 * Imports a rootfs tarball (plain, gzip, xz, zstd, bzip2: libarchive detects
 * the filter).  A tarball already in the store is not unpacked again; the
 * alias (may be NULL) is (re)pointed at it.  Hostile entries (absolute names,
 * '..', entries through a symlink, hard links out of the tree, device nodes)
 * refuse the whole import with one line naming the entry, and leave nothing.
 * metadata (may be NULL) is an LXD-style metadata tarball: its metadata.yaml
 * is checked before anything is unpacked (a bad field: one line naming it);
 * templates/ in it are not applied.
 */
int hull_image_import(struct hull_image_store *s, const char *tarball, const char *metadata,
		      const char *alias, struct hull_image **ret, struct hull_error **reterr);

/*
 * Finds an image by alias, full fingerprint or a unique fingerprint prefix of
 * at least 12 characters.  -ENOENT with "unknown image '<ref>'" otherwise.
 */
int hull_image_get(struct hull_image_store *s, const char *ref, struct hull_image **ret,
		   struct hull_error **reterr);
/* All images, sorted by fingerprint. */
int hull_image_list(struct hull_image_store *s, struct hull_image ***ret, size_t *ret_n,
		    struct hull_error **reterr);
/* Removes an image and every alias pointing at it. */
int hull_image_delete(struct hull_image_store *s, const char *ref, struct hull_error **reterr);
/* Points `alias` at the image `ref` names (replacing an existing alias). */
int hull_image_alias_set(struct hull_image_store *s, const char *alias, const char *ref,
			 struct hull_error **reterr);
int hull_image_alias_delete(struct hull_image_store *s, const char *alias,
			    struct hull_error **reterr);

/* Opens <fingerprint>/rootfs (O_PATH | O_DIRECTORY). */
int hull_image_rootfs_open(struct hull_image_store *s, const char *fingerprint, int *ret_fd,
			   struct hull_error **reterr);

/* The phases of a build, in the order they run. */
enum hull_image_build_phase {
	HULL_BUILD_MIRROR,    /* asking the mirror for the release's Release file */
	HULL_BUILD_RESOLVE,   /* debootstrap: Release, Packages, dependencies */
	HULL_BUILD_DOWNLOAD,  /* debootstrap: retrieving and validating .debs */
	HULL_BUILD_EXTRACT,   /* debootstrap: extracting the essential packages */
	HULL_BUILD_REQUIRED,  /* debootstrap: unpacking and configuring required packages */
	HULL_BUILD_BASE,      /* debootstrap: the base system (our --include list) */
	HULL_BUILD_CONFIGURE, /* hull: locale, network, /dev */
	HULL_BUILD_STORE,     /* hull: committing the image to the store */
	HULL_BUILD_N_PHASES,
};

/* "downloading packages", ... */
const char *hull_image_build_phase_name(enum hull_image_build_phase p);

/*
 * Progress callback for builds: the current phase (never goes back) and one
 * line of the builder's output (debootstrap's "I: Retrieving libc6 2.36-9").
 */
typedef void (*hull_image_progress_fn)(enum hull_image_build_phase phase, const char *line,
				       void *userdata);

struct hull_image_build_opts {
	const char *mirror;    /* NULL: the machine's configured Debian mirror, or Ubuntu's */
	const char *cache_dir; /* where debootstrap keeps downloaded .debs; may be NULL */
	bool rebuild;	       /* build even when the alias already names an image */
	hull_image_progress_fn progress;
	void *userdata;
};

/*
 * Builds "debian/<release>" (11, 12, 13 or a codename) or "ubuntu/<release>"
 * (a codename or version this machine's debootstrap has a script for; default
 * mirror http://archive.ubuntu.com/ubuntu) with debootstrap (variant minbase
 * plus systemd-sysv, dbus, iproute2, isc-dhcp-client, locales with
 * en_US.UTF-8, and ifupdown on Debian; Release files checked against the
 * distribution's archive keyring, which must exist) and aliases it as `name`.
 * The mirror is asked for dists/<codename>/Release first (bounded: one try,
 * 15 s per step), so a wrong or unreachable mirror fails before anything is
 * made.  When the alias already names an image and !rebuild, returns that
 * image.
 */
int hull_image_build(struct hull_image_store *s, const char *name,
		     const struct hull_image_build_opts *o, struct hull_image **ret,
		     struct hull_error **reterr);

/* The Debian mirror from /etc/apt/sources.list.d/debian.sources or sources.list. */
char *hull_image_default_mirror(void);

enum hull_unpack_flags {
	HULL_UNPACK_ALLOW_DEVICES = 1 << 0,    /* create char/block device nodes */
	HULL_UNPACK_WHITEOUT_OVERLAY = 1 << 1, /* .wh.* → 0:0 char device / opaque xattr */
	HULL_UNPACK_WHITEOUT_APPLY = 1 << 2,   /* .wh.* → delete what they name */
	HULL_UNPACK_XATTRS = 1 << 3, /* keep user.*, trusted.* and security.capability xattrs;
					  refuse overlayfs's own (*.overlay.*) */
};

/*
 * Unpacks the tar stream readable from `tar_fd` into the directory `root_fd`
 * (every entry resolved from root_fd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS), never by path strings).  On a hostile entry returns
 * -EPERM with "entry '<name>': <why>"; the caller removes what was unpacked.
 */
int hull_tar_unpack(int tar_fd, int root_fd, enum hull_unpack_flags flags,
		    struct hull_error **reterr);

/*
 * Unpacks one OCI layer blob (gzip, zstd or plain tar) as hull_tar_unpack()
 * does, and returns the sha256 of the uncompressed tar stream (its diff_id)
 * in ret_diff_id[72] ("sha256:<hex>").
 */
int hull_layer_unpack(int blob_fd, int root_fd, enum hull_unpack_flags flags, char ret_diff_id[72],
		      struct hull_error **reterr);

/* sha256 of everything readable from fd, as 64 lowercase hex characters + NUL. */
int hull_sha256_fd(int fd, char ret[HULL_IMAGE_FINGERPRINT_LEN + 1]);
/* The same over the n fds one after the other. */
int hull_sha256_fds(const int *fds, size_t n, char ret[HULL_IMAGE_FINGERPRINT_LEN + 1]);
