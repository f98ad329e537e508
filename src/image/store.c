/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/blob-store.h"
#include "image/image-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define ALIASES "aliases.json"
#define META "image.json"

void hull_image_free(struct hull_image *img)
{
	if (!img)
		return;
	free(img->fingerprint);
	hull_strv_free(img->aliases);
	free(img->source);
	free(img->created);
	free(img->architecture);
	free(img->creation_date);
	hull_strv_free(img->properties);
	free(img);
}

void hull_image_list_free(struct hull_image **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hull_image_free(l[i]);
	free(l);
}

int hull_image_store_open(int dirfd, const char *path, struct hull_image_store **ret,
			  struct hull_error **reterr)
{
	struct hull_image_store *s;
	int fd, r;

	r = hull_mkdir_p_at(dirfd, path, 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create image store '%s'", path);
	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open image store '%s'", path);
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	*ret = s;
	return 0;
}

void hull_image_store_free(struct hull_image_store *s)
{
	if (!s)
		return;
	safe_close(s->fd);
	hull_blob_store_free(s->blobs);
	free(s);
}

int hull_image_store_fd(const struct hull_image_store *s)
{
	return s->fd;
}

void image_now_rfc3339(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int image_store_lock(struct hull_image_store *s, struct hull_error **reterr)
{
	int fd = openat(s->fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open image store lock");
	if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
		int r = -errno;

		close(fd);
		return hull_error_errno(reterr, r, "lock image store");
	}
	return fd;
}

int hull_image_alias_check(const char *alias, struct hull_error **reterr)
{
	size_t n = alias ? strlen(alias) : 0;

	if (n == 0 || n > 128)
		return hull_error_set(reterr, -EINVAL, "alias '%s': expected 1 to 128 characters",
				      alias ? alias : "");
	for (const char *p = alias; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+:/-", *p))
			return hull_error_set(reterr, -EINVAL,
					      "alias '%s': only letters, digits and ._+:/- allowed",
					      alias);
	if (alias[0] == '/' || alias[n - 1] == '/' || strstr(alias, "..") || strstr(alias, "//"))
		return hull_error_set(reterr, -EINVAL,
				      "alias '%s': no leading or trailing '/', '//' or '..'",
				      alias);
	return 0;
}

static bool is_fingerprint(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n == HULL_IMAGE_FINGERPRINT_LEN;
}

static int aliases_read(struct hull_image_store *s, struct json_object **ret,
			struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = hull_read_file_at(s->fd, ALIASES, &text, &len);

	if (r == -ENOENT) {
		*ret = json_object_new_object();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", ALIASES);
	r = hull_json_parse(text, len, ALIASES, ret, reterr);
	if (r < 0)
		return r;
	if (!json_object_is_type(*ret, json_type_object)) {
		json_object_put(*ret);
		return hull_error_set(reterr, -EINVAL, "%s: expected an object", ALIASES);
	}
	return 0;
}

static int aliases_write(struct hull_image_store *s, struct json_object *o,
			 struct hull_error **reterr)
{
	const char *text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = hull_write_file_atomic_at(s->fd, ALIASES, text, strlen(text), 0600,
					  HULL_ATOMIC_SYNC);

	return r < 0 ? hull_error_errno(reterr, r, "write '%s'", ALIASES) : 0;
}

char *image_alias_lookup(struct hull_image_store *s, const char *alias)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *v;

	if (aliases_read(s, &o, NULL) < 0)
		return NULL;
	if (!json_object_object_get_ex(o, alias, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

int image_alias_set_locked(struct hull_image_store *s, const char *alias, const char *fingerprint,
			   struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	int r = aliases_read(s, &o, reterr);

	if (r < 0)
		return r;
	if (json_object_object_add(o, alias, json_object_new_string(fingerprint)) < 0)
		return -ENOMEM;
	return aliases_write(s, o, reterr);
}

int image_store_tmp(struct hull_image_store *s, const char *tag, char *tmp, size_t size,
		    struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	snprintf(tmp, size, ".tmp-%s-%d", tag, (int)getpid());
	r = hull_rm_rf_at(s->fd, tmp); /* a crashed attempt of a recycled pid */
	if (r < 0)
		return hull_error_errno(reterr, r, "remove '%s'", tmp);
	if (mkdirat(s->fd, tmp, 0700) < 0)
		return hull_error_errno(reterr, -errno, "create '%s'", tmp);
	fd = openat(s->fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || mkdirat(fd, "rootfs", 0755) < 0) {
		r = -errno;
		hull_rm_rf_at(s->fd, tmp);
		return hull_error_errno(reterr, r, "create '%s/rootfs'", tmp);
	}
	return 0;
}

int image_store_commit(struct hull_image_store *s, const char *tmp, const char *fingerprint,
		       const char *source, uint64_t size, const struct image_metadata *meta,
		       struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	_cleanup_close_ int fd = -EBADF;
	char created[32];
	const char *text;
	int r;

	if (faccessat(s->fd, fingerprint, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return hull_rm_rf_at(s->fd, tmp) < 0 ? -EIO : 0;
	image_now_rfc3339(created);
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "fingerprint", json_object_new_string(fingerprint));
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "created", json_object_new_string(created));
	json_object_object_add(o, "size", json_object_new_uint64(size));
	if (meta) {
		struct json_object *props = json_object_new_object();

		if (!props)
			return -ENOMEM;
		json_object_object_add(o, "architecture",
				       json_object_new_string(meta->architecture));
		json_object_object_add(o, "creation_date",
				       json_object_new_string(meta->creation_date));
		for (char **p = meta->properties; p && p[0] && p[1]; p += 2)
			json_object_object_add(props, p[0], json_object_new_string(p[1]));
		json_object_object_add(o, "properties", props);
		json_object_object_add(o, "templates", json_object_new_int64(meta->templates));
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	fd = openat(s->fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", tmp);
	r = hull_write_file_atomic_at(fd, META, text, strlen(text), 0644, HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s/%s'", tmp, META);
	/* the image tree itself reaches the disk before its name does */
	syncfs(fd);
	if (renameat(s->fd, tmp, s->fd, fingerprint) < 0)
		return hull_error_errno(reterr, -errno, "rename '%s' to '%s'", tmp, fingerprint);
	fsync(s->fd);
	return 0;
}

struct image_meta {
	char *fingerprint;
	char *source;
	char *created;
	uint64_t size;
	char *architecture;
	char *creation_date;
	char **properties;
	uint32_t templates;
};

/* "properties": {"os": "debian", ...} -> key, value, ..., NULL */
static int parse_properties(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	char ***ret = field;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	json_object_object_foreach(v, k, val)
	{
		if (!json_object_is_type(val, json_type_string))
			return hull_error_set(reterr, -EINVAL, "%s.%s: expected a string", path, k);
		if (hull_strv_push(ret, k) < 0 ||
		    hull_strv_push(ret, json_object_get_string(val)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const struct hull_json_field meta_fields[] = {
	{ "fingerprint", hull_json_parse_string, offsetof(struct image_meta, fingerprint), true },
	{ "source", hull_json_parse_string, offsetof(struct image_meta, source), false },
	{ "created", hull_json_parse_string, offsetof(struct image_meta, created), false },
	{ "size", hull_json_parse_u64, offsetof(struct image_meta, size), false },
	{ "architecture", hull_json_parse_string, offsetof(struct image_meta, architecture),
	  false },
	{ "creation_date", hull_json_parse_string, offsetof(struct image_meta, creation_date),
	  false },
	{ "properties", parse_properties, offsetof(struct image_meta, properties), false },
	{ "templates", hull_json_parse_u32, offsetof(struct image_meta, templates), false },
	{},
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load(struct hull_image_store *s, const char *fingerprint, struct json_object *aliases,
		struct hull_image **ret, struct hull_error **reterr)
{
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ char *text = NULL, *path = NULL;
	struct image_meta m = {};
	size_t len = 0;
	int r;

	path = hull_strdup_printf("%s/%s", fingerprint, META);
	m.properties = calloc(1, sizeof(char *));
	if (!path || !m.properties) {
		free(m.properties);
		return -ENOMEM;
	}
	r = hull_read_file_at(s->fd, path, &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "read image '%s'", path);
	r = hull_json_parse(text, len, path, &o, reterr);
	if (r >= 0)
		r = hull_json_dispatch("", o, meta_fields, &m, HULL_JSON_ALLOW_UNKNOWN, reterr);
	img = calloc(1, sizeof(*img));
	if (r < 0 || !img) {
		free(m.fingerprint);
		free(m.source);
		free(m.created);
		free(m.architecture);
		free(m.creation_date);
		hull_strv_free(m.properties);
		return r < 0 ? hull_error_wrap(reterr, r, "image '%s'", fingerprint) : -ENOMEM;
	}
	img->fingerprint = m.fingerprint;
	img->source = m.source;
	img->created = m.created;
	img->size = m.size;
	img->architecture = m.architecture;
	img->creation_date = m.creation_date;
	img->properties = m.properties;
	img->templates = m.templates;
	img->aliases = calloc(1, sizeof(char *));
	if (!img->aliases)
		return -ENOMEM;
	json_object_object_foreach(aliases, k, v)
	{
		if (json_object_is_type(v, json_type_string) &&
		    streq(json_object_get_string(v), fingerprint) &&
		    hull_strv_push(&img->aliases, k) < 0)
			return -ENOMEM;
	}
	qsort(img->aliases, hull_strv_length(img->aliases), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(img);
	return 0;
}

/* Resolves ref to a fingerprint (malloc'ed). */
static int resolve(struct hull_image_store *s, const char *ref, char **ret,
		   struct hull_error **reterr)
{
	_cleanup_free_ char *fp = NULL, *match = NULL;
	DIR *d;
	struct dirent *de;
	size_t n = strlen(ref);
	int dfd;

	fp = image_alias_lookup(s, ref);
	if (fp && faccessat(s->fd, fp, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		*ret = TAKE_PTR(fp);
		return 0;
	}
	if (n >= 12 && n <= HULL_IMAGE_FINGERPRINT_LEN) {
		dfd = openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			safe_close(dfd);
			return hull_error_errno(reterr, -errno, "read image store");
		}
		while ((de = readdir(d))) {
			if (!is_fingerprint(de->d_name) || strncmp(de->d_name, ref, n) != 0)
				continue;
			if (match) {
				closedir(d);
				return hull_error_set(reterr, -EINVAL,
						      "image '%s': ambiguous fingerprint prefix",
						      ref);
			}
			match = strdup(de->d_name);
			if (!match) {
				closedir(d);
				return -ENOMEM;
			}
		}
		closedir(d);
		if (match) {
			*ret = TAKE_PTR(match);
			return 0;
		}
	}
	return hull_error_set(reterr, -ENOENT, "unknown image '%s'", ref);
}

int hull_image_get(struct hull_image_store *s, const char *ref, struct hull_image **ret,
		   struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *aliases = NULL;
	_cleanup_free_ char *fp = NULL;
	int r;

	r = resolve(s, ref, &fp, reterr);
	if (r < 0)
		return r;
	r = aliases_read(s, &aliases, reterr);
	if (r < 0)
		return r;
	return load(s, fp, aliases, ret, reterr);
}

int hull_image_list(struct hull_image_store *s, struct hull_image ***ret, size_t *ret_n,
		    struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *aliases = NULL;
	_cleanup_strv_free_ char **names = NULL;
	struct hull_image **l;
	struct dirent *de;
	size_t n;
	DIR *d;
	int dfd, r;

	r = aliases_read(s, &aliases, reterr);
	if (r < 0)
		return r;
	dfd = openat(s->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		safe_close(dfd);
		return hull_error_errno(reterr, -errno, "read image store");
	}
	names = calloc(1, sizeof(char *));
	while (names && (de = readdir(d)))
		if (is_fingerprint(de->d_name) && hull_strv_push(&names, de->d_name) < 0)
			break;
	closedir(d);
	if (!names)
		return -ENOMEM;
	n = hull_strv_length(names);
	qsort(names, n, sizeof(char *), cmp_str);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = load(s, names[i], aliases, &l[i], reterr);
		if (r < 0) {
			hull_image_list_free(l, i);
			return r;
		}
	}
	*ret = l;
	*ret_n = n;
	return 0;
}

static void metadata_donep(struct image_metadata *m)
{
	image_metadata_done(m);
}

int hull_image_import(struct hull_image_store *s, const char *tarball, const char *metadata,
		      const char *alias, struct hull_image **ret, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF, mfd = -EBADF, lock = -EBADF, root = -EBADF, tmpfd = -EBADF;
	_cleanup_(metadata_donep) struct image_metadata meta = {};
	_cleanup_free_ char *source = NULL;
	char fp[HULL_IMAGE_FINGERPRINT_LEN + 1], tmp[128];
	const char *base;
	struct stat st, mst = {};
	int r;

	if (alias) {
		r = hull_image_alias_check(alias, reterr);
		if (r < 0)
			return r;
	}
	fd = open(tarball, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "import '%s'", tarball);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return hull_error_set(reterr, -EINVAL, "import '%s': not a regular file", tarball);
	if (metadata) {
		/* checked first: a bad metadata file refuses the import before any unpacking */
		mfd = open(metadata, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (mfd < 0)
			return hull_error_errno(reterr, -errno, "import: metadata '%s'", metadata);
		if (fstat(mfd, &mst) < 0 || !S_ISREG(mst.st_mode))
			return hull_error_set(reterr, -EINVAL,
					      "import: metadata '%s': not a regular file",
					      metadata);
		r = image_metadata_read(mfd, metadata, &meta, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "import");
		if (lseek(mfd, 0, SEEK_SET) < 0)
			return hull_error_errno(reterr, -errno, "import: metadata '%s': seek",
						metadata);
	}
	{
		int fds[2] = { mfd, fd };

		r = metadata ? hull_sha256_fds(fds, 2, fp) : hull_sha256_fd(fd, fp);
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "import '%s': read", tarball);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hull_error_errno(reterr, -errno, "import '%s': seek", tarball);

	lock = image_store_lock(s, reterr);
	if (lock < 0)
		return lock;
	if (faccessat(s->fd, fp, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(tmp, sizeof(tmp), "import-%.12s", fp);
		r = image_store_tmp(s, tmp, tmp, sizeof(tmp), reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "import '%s'", tarball);
		tmpfd = openat(s->fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		root = tmpfd >= 0 ? openat(tmpfd, "rootfs",
					   O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
				  : -EBADF;
		if (root < 0)
			r = hull_error_errno(reterr, -errno, "open '%s/rootfs'", tmp);
		else
			r = hull_tar_unpack(fd, root, 0, reterr);
		base = strrchr(tarball, '/');
		source = hull_strdup_printf("import:%s", base ? base + 1 : tarball);
		if (r >= 0 && !source)
			r = -ENOMEM;
		if (r >= 0)
			r = image_store_commit(s, tmp, fp, source,
					       (uint64_t)st.st_size + (uint64_t)mst.st_size,
					       metadata ? &meta : NULL, reterr);
		if (r < 0) {
			hull_rm_rf_at(s->fd, tmp);
			return hull_error_wrap(reterr, r, "import '%s'", tarball);
		}
	}
	if (alias) {
		r = image_alias_set_locked(s, alias, fp, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "import '%s'", tarball);
	}
	lock = safe_close(lock);
	return ret ? hull_image_get(s, fp, ret, reterr) : 0;
}

int hull_image_delete(struct hull_image_store *s, const char *ref, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *aliases = NULL, *keep = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *fp = NULL;
	char tmp[128];
	int r;

	lock = image_store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = resolve(s, ref, &fp, reterr);
	if (r < 0)
		return r;
	r = aliases_read(s, &aliases, reterr);
	if (r < 0)
		return r;
	keep = json_object_new_object();
	if (!keep)
		return -ENOMEM;
	json_object_object_foreach(aliases, k, v)
	{
		if (!json_object_is_type(v, json_type_string) ||
		    !streq(json_object_get_string(v), fp))
			json_object_object_add(keep, k, json_object_get(v));
	}
	r = aliases_write(s, keep, reterr);
	if (r < 0)
		return r;
	/* rename first: a crash mid-removal leaves a .tmp dir, not a half image */
	snprintf(tmp, sizeof(tmp), ".tmp-delete-%.12s-%d", fp, (int)getpid());
	if (renameat(s->fd, fp, s->fd, tmp) < 0)
		return hull_error_errno(reterr, -errno, "delete image '%s'", ref);
	r = hull_rm_rf_at(s->fd, tmp);
	if (r < 0)
		return hull_error_errno(reterr, r, "delete image '%s': remove", ref);
	return 0;
}

int hull_image_alias_set(struct hull_image_store *s, const char *alias, const char *ref,
			 struct hull_error **reterr)
{
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *fp = NULL;
	int r;

	r = hull_image_alias_check(alias, reterr);
	if (r < 0)
		return r;
	lock = image_store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = resolve(s, ref, &fp, reterr);
	if (r < 0)
		return r;
	return image_alias_set_locked(s, alias, fp, reterr);
}

int hull_image_alias_delete(struct hull_image_store *s, const char *alias,
			    struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *aliases = NULL;
	_cleanup_close_ int lock = -EBADF;
	int r;

	lock = image_store_lock(s, reterr);
	if (lock < 0)
		return lock;
	r = aliases_read(s, &aliases, reterr);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(aliases, alias, NULL))
		return hull_error_set(reterr, -ENOENT, "unknown alias '%s'", alias);
	json_object_object_del(aliases, alias);
	return aliases_write(s, aliases, reterr);
}

int hull_image_rootfs_open(struct hull_image_store *s, const char *fingerprint, int *ret_fd,
			   struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/rootfs", fingerprint);
	int fd;

	if (!path)
		return -ENOMEM;
	if (!is_fingerprint(fingerprint))
		return hull_error_set(reterr, -EINVAL, "image '%s': not a fingerprint",
				      fingerprint);
	fd = openat(s->fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open image '%s'", fingerprint);
	*ret_fd = fd;
	return 0;
}
