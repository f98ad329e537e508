/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI side of `hull image`: import/export of docker-archive and
 * oci-archive tarballs, inspect, tag, untag, prune, and the OCI rows of list
 * and delete (hull-image.c dispatches here).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "image/oci-store.h"
#include "instance/app.h"
#include "util/json.h"
#include "util/str.h"

static const char *image_id(const struct hull_oci_image *img)
{
	return hull_digest_hex(img->config_digest);
}

void hull_cli_oci_image_line(const struct hull_oci_image *img)
{
	_cleanup_free_ char *names = hull_strv_join(img->names, ",");

	const char *arch = img->platform ? strchr(img->platform, '/') : NULL;

	printf("%-14.12s %-24s %-8s %-20s %-24s %s\n", image_id(img), names && *names ? names : "-",
	       arch ? arch + 1 : "-", img->added ? img->added : "-", "oci", "-");
}

struct json_object *hull_cli_oci_image_json(const struct hull_oci_image *img)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(),
			   *l = json_object_new_array();

	hull_strv_foreach (s, img->names)
		json_object_array_add(a, json_object_new_string(s));
	hull_strv_foreach (s, img->diff_ids)
		json_object_array_add(l, json_object_new_string(s));
	json_object_object_add(o, "type", json_object_new_string("oci"));
	json_object_object_add(o, "id", json_object_new_string(image_id(img)));
	json_object_object_add(o, "fingerprint", json_object_new_string(image_id(img)));
	json_object_object_add(o, "digest", json_object_new_string(img->digest));
	json_object_object_add(o, "names", a);
	json_object_object_add(o, "aliases", json_object_get(a));
	json_object_object_add(o, "layers", l);
	json_object_object_add(o, "source", json_object_new_string("oci"));
	json_object_object_add(o, "created", json_object_new_string(img->added ? img->added : ""));
	json_object_object_add(o, "size", json_object_new_uint64(img->size));
	json_object_object_add(o, "platform",
			       json_object_new_string(img->platform ? img->platform : ""));
	return o;
}

int hull_cli_oci_image_import(struct hull_cli *cli, const char *file, const char *name,
			      enum hull_oci_archive_format format, struct hull_error **reterr)
{
	struct hull_oci_image **l = NULL;
	size_t n = 0;
	int r;

	r = hull_oci_image_import(cli->home->images, file, format, name, &l, &n, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *names = hull_strv_join(l[i]->names, ", ");

		printf("%s%s%s\n", image_id(l[i]), names && *names ? " " : "", names ? names : "");
	}
	hull_oci_image_list_free(l, n);
	return 0;
}

int hull_cli_oci_image_delete(struct hull_cli *cli, const char *ref, bool force,
			      struct hull_error **reterr)
{
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	_cleanup_free_ char *user = NULL;
	int r;

	r = hull_oci_image_get(cli->home->images, ref, &img, reterr);
	if (r < 0)
		return r;
	/* one name of several: only that name goes, as podman rmi does */
	if (hull_strv_length(img->names) > 1) {
		_cleanup_free_ char *norm = NULL;

		if (hull_oci_name_normalize(ref, &norm, NULL) >= 0 &&
		    hull_strv_contains(img->names, norm))
			return hull_oci_image_untag(cli->home->images, ref, reterr);
	}
	if (!force && hull_app_image_in_use(cli->home, img->digest, &user) > 0)
		return hull_error_set(reterr, -EBUSY,
				      "image '%s' is used by container '%s' (--force deletes it "
				      "anyway)",
				      ref, user ? user : "?");
	return hull_oci_image_delete(cli->home->images, img->digest, reterr);
}

static int image_inspect(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = { "image inspect",
						"print an OCI image's config as JSON", "IMAGE",
						NULL };
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 1, "the image", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_oci_image_get(cli->home->images, argv[optind], &img, reterr);
	if (r >= 0)
		r = hull_oci_image_config_get(cli->home->images, img, NULL, &text, reterr);
	if (r >= 0)
		r = hull_json_parse(text, strlen(text), "config", &o, reterr);
	if (r < 0)
		return r;
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

static int image_tag(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = { "image tag", "add names to an OCI image",
						"IMAGE NAME...", NULL };
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 2, 64, "the image and a name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind + 1; r >= 0 && i < argc; i++)
		r = hull_oci_image_tag(cli->home->images, argv[optind], argv[i], reterr);
	return r;
}

static int image_untag(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = { "image untag", "remove names from OCI images",
						"NAME...", NULL };
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "", NULL, &c, reterr)) == 0 && c != -1)
		;
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 64, "a name", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	for (int i = optind; r >= 0 && i < argc; i++)
		r = hull_oci_image_untag(cli->home->images, argv[i], reterr);
	return r;
}

static int image_prune(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct hull_cli_verb v = {
		"image prune",
		"free blobs and layers no OCI image uses; with --all also images without names "
		"that no container uses",
		"[--all]", NULL
	};
	_cleanup_strv_free_ char **in_use = NULL;
	uint64_t freed = 0;
	bool all = false;
	int r;

	r = hull_cli_getopt_flag(&v, argc, argv, 'a', "all", &all, reterr);
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 0, 0, "", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r >= 0)
		r = hull_app_images_in_use(cli->home, &in_use, reterr);
	if (r >= 0)
		r = hull_oci_image_prune(cli->home->images, all, in_use, &freed, reterr);
	if (r < 0)
		return r;
	printf("freed %" PRIu64 " bytes\n", freed);
	return 0;
}

static int parse_format(const char *s, enum hull_oci_archive_format *ret,
			struct hull_error **reterr)
{
	if (streq(s, "docker-archive"))
		*ret = HULL_OCI_ARCHIVE_DOCKER;
	else if (streq(s, "oci-archive"))
		*ret = HULL_OCI_ARCHIVE_OCI;
	else
		return hull_error_set(reterr, -EINVAL,
				      "--format: expected docker-archive or oci-archive, got '%s'",
				      s);
	return 0;
}

static int image_export(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	static const struct hull_cli_verb v = {
		"image export", "write an OCI image as a docker-archive or oci-archive tarball",
		"IMAGE -o FILE [--format docker-archive|oci-archive]", NULL
	};
	enum hull_oci_archive_format format = HULL_OCI_ARCHIVE_DOCKER;
	const char *out = NULL;
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "f:o:", opts, &c, reterr)) == 0 && c != -1) {
		if (c == 'f')
			r = parse_format(optarg, &format, reterr);
		else if (c == 'o')
			out = optarg;
		if (r < 0)
			return r;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 1, "the image", reterr);
	if (r < 0)
		return r;
	if (!out)
		return hull_error_set(reterr, -EINVAL, "image export: missing -o FILE");
	r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	return hull_oci_image_export(cli->home->images, argv[optind], out, format, reterr);
}

int hull_cli_oci_image_sub(struct hull_cli *cli, const char *sub, int argc, char **argv,
			   struct hull_error **reterr)
{
	static const struct {
		const char *name;
		int (*run)(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr);
	} subs[] = {
		{ "inspect", image_inspect }, { "tag", image_tag },	  { "untag", image_untag },
		{ "prune", image_prune },     { "export", image_export },
	};

	for (size_t i = 0; i < ELEMENTSOF(subs); i++)
		if (streq(sub, subs[i].name))
			return subs[i].run(cli, argc, argv, reterr);
	return 1;
}
