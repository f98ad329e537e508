/* SPDX-License-Identifier: Apache-2.0 */
/* hull image import|build|list|show|delete|alias */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "image/oci-store.h"
#include "util/json.h"
#include "util/str.h"

/* A property of the image's metadata, or NULL. */
static const char *image_property(const struct hull_image *img, const char *key)
{
	for (char **p = img->properties; p && p[0] && p[1]; p += 2)
		if (streq(p[0], key))
			return p[1];
	return NULL;
}

static void print_image_line(const struct hull_image *img)
{
	_cleanup_free_ char *aliases = hull_strv_join(img->aliases, ",");
	const char *desc = image_property(img, "description");

	printf("%-14.12s %-24s %-8s %-20s %-24s %s\n", img->fingerprint,
	       aliases && *aliases ? aliases : "-", img->architecture ? img->architecture : "-",
	       img->created ? img->created : "-", img->source ? img->source : "-",
	       desc ? desc : "-");
}

static struct json_object *image_json(const struct hull_image *img)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	hull_strv_foreach (s, img->aliases)
		json_object_array_add(a, json_object_new_string(s));
	json_object_object_add(o, "type", json_object_new_string("system"));
	json_object_object_add(o, "fingerprint", json_object_new_string(img->fingerprint));
	json_object_object_add(o, "aliases", a);
	json_object_object_add(o, "source", json_object_new_string(img->source ? img->source : ""));
	json_object_object_add(o, "created",
			       json_object_new_string(img->created ? img->created : ""));
	json_object_object_add(o, "size", json_object_new_uint64(img->size));
	if (img->architecture) {
		struct json_object *p = json_object_new_object();

		for (char **q = img->properties; q && q[0] && q[1]; q += 2)
			json_object_object_add(p, q[0], json_object_new_string(q[1]));
		json_object_object_add(o, "architecture",
				       json_object_new_string(img->architecture));
		json_object_object_add(
			o, "creation_date",
			json_object_new_string(img->creation_date ? img->creation_date : ""));
		json_object_object_add(o, "properties", p);
		json_object_object_add(o, "templates", json_object_new_int64(img->templates));
	}
	return o;
}

static int image_import(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "alias", required_argument, NULL, 'a' },
					      { "name", required_argument, NULL, 'n' },
					      { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	static const struct hull_cli_verb v = {
		"image import",
		"import a rootfs tarball (a system image, optionally with LXD-style metadata), or "
		"a "
		"docker-archive / oci-archive (OCI images, as podman save and skopeo write them)",
		"FILE.tar[.gz|.xz|.zst] [METADATA.tar[.gz|.xz|.zst]] [--alias NAME] | ARCHIVE "
		"[--name NAME] [--format docker-archive|oci-archive|rootfs]",
		NULL
	};
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	enum hull_oci_archive_format oformat = HULL_OCI_ARCHIVE_AUTO;
	const char *alias = NULL, *name = NULL, *format = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "a:", opts, &c, reterr)) == 0 && c != -1) {
		if (c == 'a')
			alias = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'f')
			format = optarg;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 2, "the tarball", reterr);
	if (r < 0)
		return r;
	if (format && streq(format, "docker-archive"))
		oformat = HULL_OCI_ARCHIVE_DOCKER;
	else if (format && streq(format, "oci-archive"))
		oformat = HULL_OCI_ARCHIVE_OCI;
	else if (format && !streq(format, "rootfs"))
		return hull_error_set(reterr, -EINVAL,
				      "--format: expected docker-archive, oci-archive or rootfs, "
				      "got '%s'",
				      format);
	r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (!format && hull_oci_archive_detect(argv[optind], &oformat) < 0)
		oformat = HULL_OCI_ARCHIVE_AUTO;
	if (oformat != HULL_OCI_ARCHIVE_AUTO) {
		if (alias)
			return hull_error_set(reterr, -EINVAL,
					      "--alias names system images; use --name for an "
					      "image archive");
		return hull_cli_oci_image_import(cli, argv[optind], name, oformat, reterr);
	}
	if (name)
		return hull_error_set(reterr, -EINVAL,
				      "--name names OCI images; use --alias for a rootfs tarball");
	r = hull_image_import(cli->home->images, argv[optind],
			      optind + 1 < argc ? argv[optind + 1] : NULL, alias, &img, reterr);
	if (r < 0)
		return r;
	if (img->templates > 0)
		fprintf(stderr,
			"hull: note: the metadata's %u template file(s) are not applied (hull "
			"renders no LXD templates)\n",
			img->templates);
	printf("%s\n", img->fingerprint);
	return 0;
}

struct progress {
	const char *name;
	bool tty;
	bool shown; /* something is on the terminal's current line */
	int phase;  /* the last phase announced, -1 before the first */
	unsigned lines;
};

/*
 * On a terminal: one line, rewritten in place, with the phase and debootstrap's
 * latest step ("[3/8] downloading packages: Retrieving libc6 2.36-9").
 * Otherwise (logs, CI): one line per phase; the mirror check's line only once it
 * passed, so a bad mirror gives the one error line alone.
 */
static void build_progress(enum hull_image_build_phase phase, const char *line, void *userdata)
{
	struct progress *p = userdata;
	const char *what = hull_image_build_phase_name(phase);

	p->lines++;
	if (!p->tty) {
		for (int i = p->phase + 1; i <= (int)phase; i++)
			if (i > HULL_BUILD_MIRROR || phase > HULL_BUILD_MIRROR)
				fprintf(stderr, "hull: build %s: [%d/%d] %s\n", p->name, i + 1,
					(int)HULL_BUILD_N_PHASES,
					hull_image_build_phase_name(
						(enum hull_image_build_phase)i));
		if (phase > HULL_BUILD_MIRROR || p->phase > HULL_BUILD_MIRROR)
			p->phase = (int)phase;
		return;
	}
	p->phase = (int)phase;
	line = startswith(line, "I: ") ?: line;
	fprintf(stderr, "\r\033[K[%d/%d] %s: %.60s", (int)phase + 1, (int)HULL_BUILD_N_PHASES, what,
		line);
	p->shown = true;
}

int hull_cli_build(struct hull_cli *cli, const char *name, struct hull_image_build_opts *o,
		   struct hull_image **ret, struct hull_error **reterr)
{
	struct progress p = { .name = name, .tty = isatty(STDERR_FILENO), .phase = -1 };
	int r;

	o->progress = build_progress;
	o->userdata = &p;
	if (!o->cache_dir)
		o->cache_dir = cli->home->cache_path;
	r = hull_image_build(cli->home->images, name, o, ret, reterr);
	if (p.shown)
		fprintf(stderr, "\r\033[K");
	return r;
}

static int image_build(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "rebuild", no_argument, NULL, 'r' },
					      { "mirror", required_argument, NULL, 'm' },
					      { "cache-dir", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	static const struct hull_cli_verb v = {
		"image build", "build a distro image with debootstrap (cached: built once)",
		"debian/11|debian/12|debian/13|ubuntu/CODENAME [--rebuild] [--mirror URL] "
		"[--cache-dir DIR]",
		NULL
	};
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	struct hull_image_build_opts o = {};
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "", opts, &c, reterr)) == 0 && c != -1) {
		if (c == 'r')
			o.rebuild = true;
		else if (c == 'm')
			o.mirror = optarg;
		else if (c == 'c')
			o.cache_dir = optarg;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 1, "the distro/release", reterr);
	if (r < 0)
		return r;
	r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	r = hull_cli_build(cli, argv[optind], &o, &img, reterr);
	if (r < 0)
		return r;
	printf("%s\n", img->fingerprint);
	return 0;
}

static int image_list(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	static const struct hull_cli_verb v = { "image list", "list images",
						"[--format table|json]", NULL };
	struct hull_image **l = NULL;
	struct hull_oci_image **ol = NULL;
	const char *format = "table";
	size_t n = 0, on = 0;
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "f:", opts, &c, reterr)) == 0 && c != -1)
		if (c == 'f')
			format = optarg;
	if (r != 0)
		return r < 0 ? r : 0;
	if (!streq(format, "table") && !streq(format, "json"))
		return hull_error_set(reterr, -EINVAL, "--format: expected table or json, got '%s'",
				      format);
	r = hull_cli_want_args(&v, argc, argv, 0, 0, "", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_image_list(cli->home->images, &l, &n, reterr);
	if (r >= 0)
		r = hull_oci_image_list(cli->home->images, &ol, &on, reterr);
	if (r < 0) {
		hull_image_list_free(l, n);
		return r;
	}
	if (streq(format, "json")) {
		_cleanup_json_ struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, image_json(l[i]));
		for (size_t i = 0; i < on; i++)
			json_object_array_add(a, hull_cli_oci_image_json(ol[i]));
		printf("%s\n",
		       json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%-14s %-24s %-8s %-20s %-24s %s\n", "FINGERPRINT", "ALIASES", "ARCH",
		       "CREATED", "SOURCE", "DESCRIPTION");
		for (size_t i = 0; i < n; i++)
			print_image_line(l[i]);
		for (size_t i = 0; i < on; i++)
			hull_cli_oci_image_line(ol[i]);
	}
	hull_image_list_free(l, n);
	hull_oci_image_list_free(ol, on);
	return 0;
}

/*
 * The one IMAGE argument of a verb without options, looked up in the store
 * (opens cli->home).  Returns 1 after --help.
 */
static int image_arg(struct hull_cli *cli, const struct hull_cli_verb *v, int argc, char **argv,
		     struct hull_image **ret, struct hull_error **reterr)
{
	int c, r;

	while ((r = hull_cli_getopt(v, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 1;
	r = hull_cli_want_args(v, argc, argv, 1, 1, "the image", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_image_get(cli->home->images, argv[optind], ret, reterr);
	return r < 0 ? r : 0;
}

static int image_show(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = { "image show", "show one image as JSON", "IMAGE",
						NULL };
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	int r;

	r = image_arg(cli, &v, argc, argv, &img, reterr);
	if (r == -ENOENT) {
		/* an OCI image of that name */
		_cleanup_(hull_oci_image_freep) struct hull_oci_image *oimg = NULL;

		if (hull_oci_image_get(cli->home->images, argv[optind], &oimg, NULL) < 0)
			return r;
		hull_error_free(*reterr);
		*reterr = NULL;
		o = hull_cli_oci_image_json(oimg);
		printf("%s\n",
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	o = image_json(img);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

static int image_delete(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = {
		"image delete", "delete an image (not while an instance or container uses it)",
		"IMAGE [--force]", NULL
	};
	_cleanup_(hull_image_freep) struct hull_image *img = NULL;
	_cleanup_free_ char *user = NULL;
	bool force = false;
	int r;

	r = hull_cli_getopt_flag(&v, argc, argv, 'f', "force", &force, reterr);
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 1, "the image", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	r = hull_image_get(cli->home->images, argv[optind], &img, NULL);
	if (r == -ENOENT)
		return hull_cli_oci_image_delete(cli, argv[optind], force, reterr);
	r = hull_image_get(cli->home->images, argv[optind], &img, reterr);
	if (r < 0)
		return r;
	if (hull_instance_image_in_use(cli->home, img->fingerprint, &user) > 0)
		return hull_error_set(reterr, -EBUSY, "image '%s' is used by instance '%s'",
				      argv[optind], user ? user : "?");
	return hull_image_delete(cli->home->images, img->fingerprint, reterr);
}

static int image_alias(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = { "image alias", "name an image, or remove a name",
						"ALIAS IMAGE | --delete ALIAS", NULL };
	bool del = false;
	int r;

	r = hull_cli_getopt_flag(&v, argc, argv, 'd', "delete", &del, reterr);
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, del ? 1 : 2, del ? 1 : 2,
			       del ? "the alias" : "the alias and the image", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	if (del)
		return hull_image_alias_delete(cli->home->images, argv[optind], reterr);
	return hull_image_alias_set(cli->home->images, argv[optind], argv[optind + 1], reterr);
}

static const struct {
	const char *name;
	int (*run)(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr);
} subs[] = {
	{ "import", image_import },	 { "build", image_build },   { "list", image_list },
	{ "show", image_show },		 { "delete", image_delete }, { "alias", image_alias },
	{ "pull", hull_cli_image_pull },
};

static int image_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	int r;

	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		printf("usage: hull image %s\n", hull_verb_image.usage);
		return argc < 2 ? hull_error_set(reterr, -EINVAL, "image: missing subcommand") : 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(subs); i++)
		if (streq(argv[1], subs[i].name)) {
			optind = 0;
			return subs[i].run(cli, argc - 1, argv + 1, reterr);
		}
	optind = 0;
	r = hull_cli_oci_image_sub(cli, argv[1], argc - 1, argv + 1, reterr);
	if (r <= 0)
		return r;
	return hull_error_set(reterr, -EINVAL,
			      "image: unknown subcommand '%s' (import, build, list, show, delete, "
			      "alias, pull, inspect, tag, untag, prune, export)",
			      argv[1]);
}

const struct hull_cli_verb hull_verb_image = {
	.name = "image",
	.summary = "manage images: import, build, list, show, delete, alias, pull, inspect, tag, "
		   "untag, prune, export",
	.usage = "import|build|list|show|delete|alias|pull|inspect|tag|untag|prune|export ...",
	.run = image_run,
};
