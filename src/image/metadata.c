/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LXD-style image metadata: a tarball (any filter libarchive reads) holding
 * metadata.yaml, and optionally templates/ that hull does not apply.
 *
 *   architecture: x86_64              required, one of the names LXD knows
 *   creation_date: 1700000000         required, seconds since the epoch
 *   properties:                       optional, a mapping of scalars
 *     os: debian
 *     release: bookworm
 *     description: Debian 12 amd64
 *   templates: ...                    optional, counted and ignored
 *
 * Parsed with libyaml's document loader; anything else at the top level is
 * ignored (LXD's own "expiry_date" among them).  Errors name the field.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "image/archive-dl.h"
#include "image/image-internal.h"
#include "util/str.h"

#define META_NAME "metadata.yaml"
#define META_MAX (1024 * 1024)
#define PROPS_MAX 128
#define VALUE_MAX 4096

/* LXD's architecture names (shared/osarch) and their aliases */
static const char *const architectures[] = {
	"i686",	   "x86_64",	  "amd64",   "armv6l",	"armv7l", "armv8l", "aarch64", "arm64",
	"ppc",	   "ppc64",	  "ppc64le", "ppc64el", "s390x",  "mips",   "mips64",  "riscv32",
	"riscv64", "loongarch64", "i386",    "armhf",	"armel",  NULL,
};

void image_metadata_done(struct image_metadata *m)
{
	free(m->architecture);
	free(m->creation_date);
	hull_strv_free(m->properties);
	*m = (struct image_metadata){};
}

static void yaml_document_freep(yaml_document_t **d)
{
	if (*d)
		yaml_document_delete(*d);
}

/* Reads metadata.yaml (at most META_MAX bytes) out of the tarball; counts templates. */
static int read_yaml(int fd, const char *file, char **ret, size_t *ret_len, unsigned *templates,
		     struct hull_error **reterr)
{
	_cleanup_(image_archive_read_freep) struct archive *a = image_tar_reader_new();
	struct archive_entry *e;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if (!a)
		return -ENOMEM;
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
		return hull_error_set(reterr, -EINVAL, "metadata '%s': %s", file,
				      archive_error_string(a) ?: "not a tar archive");
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e) ?: "";

		while (startswith(name, "./"))
			name += 2;
		if (startswith(name, "templates/") && archive_entry_filetype(e) == AE_IFREG) {
			(*templates)++;
			continue;
		}
		if (!streq(name, META_NAME))
			continue;
		if (text)
			return hull_error_set(reterr, -EINVAL, "metadata '%s': two %s entries",
					      file, META_NAME);
		if (archive_entry_filetype(e) != AE_IFREG)
			return hull_error_set(reterr, -EINVAL,
					      "metadata '%s': %s is not a regular file", file,
					      META_NAME);
		if (archive_entry_size(e) > META_MAX)
			return hull_error_set(reterr, -EFBIG,
					      "metadata '%s': %s is larger than %d bytes", file,
					      META_NAME, META_MAX);
		text = malloc(META_MAX + 1);
		if (!text)
			return -ENOMEM;
		for (;;) {
			la_ssize_t n = archive_read_data(a, text + len, META_MAX + 1 - len);

			if (n < 0)
				return hull_error_set(reterr, -EIO, "metadata '%s': %s", file,
						      archive_error_string(a) ?: "read error");
			if (n == 0)
				break;
			len += (size_t)n;
			if (len > META_MAX)
				return hull_error_set(reterr, -EFBIG,
						      "metadata '%s': %s is larger than %d bytes",
						      file, META_NAME, META_MAX);
		}
		text[len] = '\0';
	}
	if (r != ARCHIVE_EOF)
		return hull_error_set(reterr, -EINVAL, "metadata '%s': %s", file,
				      archive_error_string(a) ?: "read error");
	if (!text)
		return hull_error_set(reterr, -EINVAL, "metadata '%s': no %s in it", file,
				      META_NAME);
	*ret = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

static int parse_date(const char *file, const char *v, char **ret, struct hull_error **reterr)
{
	char *end = NULL, buf[32];
	long long t;
	struct tm tm;

	errno = 0;
	t = v && *v >= '0' && *v <= '9' ? strtoll(v, &end, 10) : -1;
	/* up to year 9999, so the RFC 3339 form keeps four digits */
	if (t < 0 || errno || !end || *end || t > 253402300799LL)
		return hull_error_set(reterr, -EINVAL,
				      "metadata '%s': creation_date: expected seconds since the "
				      "epoch, got '%s'",
				      file, v ? v : "(not a scalar)");
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return hull_error_set(reterr, -EINVAL, "metadata '%s': creation_date: '%s'", file,
				      v);
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int parse_properties(const char *file, yaml_document_t *doc, yaml_node_t *n, char ***ret,
			    struct hull_error **reterr)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	size_t count = 0;

	if (!l)
		return -ENOMEM;
	if (n->type != YAML_MAPPING_NODE)
		return hull_error_set(reterr, -EINVAL,
				      "metadata '%s': properties: expected a mapping", file);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));
		const char *v = scalar(yaml_document_get_node(doc, p->value));

		if (!k || !*k || strlen(k) > 128 || !printable(k))
			return hull_error_set(reterr, -EINVAL,
					      "metadata '%s': properties: expected names of 1 to "
					      "128 printable characters",
					      file);
		if (!v)
			return hull_error_set(reterr, -EINVAL,
					      "metadata '%s': properties.%s: expected a string",
					      file, k);
		if (strlen(v) > VALUE_MAX || !printable(v))
			return hull_error_set(reterr, -EINVAL,
					      "metadata '%s': properties.%s: expected one line of "
					      "at most %d characters",
					      file, k, VALUE_MAX);
		if (++count > PROPS_MAX)
			return hull_error_set(reterr, -EINVAL,
					      "metadata '%s': properties: more than %d entries",
					      file, PROPS_MAX);
		for (char **q = l; *q; q += 2)
			if (streq(*q, k))
				return hull_error_set(reterr, -EINVAL,
						      "metadata '%s': properties.%s: given twice",
						      file, k);
		if (hull_strv_push(&l, k) < 0 || hull_strv_push(&l, v) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int image_metadata_read(int fd, const char *file, struct image_metadata *m,
			struct hull_error **reterr)
{
	_cleanup_(yaml_document_freep) yaml_document_t *docp = NULL;
	_cleanup_free_ char *text = NULL;
	yaml_document_t doc;
	yaml_parser_t parser;
	yaml_node_t *root;
	size_t len = 0;
	bool have_arch = false, have_date = false;
	int r;

	*m = (struct image_metadata){};
	r = hull_archive_load(reterr);
	if (r < 0)
		return r;
	r = read_yaml(fd, file, &text, &len, &m->templates, reterr);
	if (r < 0)
		return r;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = hull_error_set(reterr, -EINVAL, "metadata '%s': %s line %zu: %s", file,
				   META_NAME, parser.problem_mark.line + 1,
				   parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return r;
	}
	yaml_parser_delete(&parser);
	docp = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		return hull_error_set(reterr, -EINVAL, "metadata '%s': %s: expected a mapping",
				      file, META_NAME);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(&doc, p->key));
		yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
		const char *v = scalar(vn);

		if (!k)
			continue;
		if (streq(k, "architecture")) {
			bool known = false;

			for (size_t i = 0; v && architectures[i]; i++)
				known = known || streq(v, architectures[i]);
			if (!known) {
				r = hull_error_set(reterr, -EINVAL,
						   "metadata '%s': architecture: unknown "
						   "architecture '%.64s'",
						   file, v ? v : "(not a scalar)");
				goto fail;
			}
			free(m->architecture);
			m->architecture = strdup(v);
			if (!m->architecture) {
				r = -ENOMEM;
				goto fail;
			}
			have_arch = true;
		} else if (streq(k, "creation_date")) {
			free(m->creation_date);
			m->creation_date = NULL;
			r = parse_date(file, v, &m->creation_date, reterr);
			if (r < 0)
				goto fail;
			have_date = true;
		} else if (streq(k, "properties")) {
			hull_strv_free(m->properties);
			m->properties = NULL;
			r = parse_properties(file, &doc, vn, &m->properties, reterr);
			if (r < 0)
				goto fail;
		}
	}
	if (!have_arch || !have_date) {
		r = hull_error_set(reterr, -EINVAL, "metadata '%s': %s: missing", file,
				   !have_arch ? "architecture" : "creation_date");
		goto fail;
	}
	if (!m->properties) {
		m->properties = calloc(1, sizeof(char *));
		if (!m->properties) {
			r = -ENOMEM;
			goto fail;
		}
	}
	return 0;
fail:
	image_metadata_done(m);
	return r;
}
