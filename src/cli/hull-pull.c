/* SPDX-License-Identifier: Apache-2.0 */
/* hull image pull REF [--platform P] [--tls-verify=false] [--authfile F] [--quiet] */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "image/oci-store.h"
#include "image/registry.h"
#include "util/str.h"

/* What the terminal shows: one line per blob, redrawn in place. */
struct pull_display {
	bool tty, quiet;
	size_t n, drawn;
	struct blob_line {
		char digest[HULL_DIGEST_MAX];
		uint64_t done, total;
		const char *state;
	} * lines;
};

static void human(uint64_t v, char buf[16])
{
	if (v >= 1 << 20)
		snprintf(buf, 16, "%.1f MiB", v / 1048576.0);
	else if (v >= 1 << 10)
		snprintf(buf, 16, "%.1f KiB", v / 1024.0);
	else
		snprintf(buf, 16, "%u B", (unsigned)v);
}

static void redraw(struct pull_display *d)
{
	if (d->drawn)
		fprintf(stderr, "\033[%zuA", d->drawn);
	for (size_t i = 0; i < d->n; i++) {
		struct blob_line *l = &d->lines[i];
		char done[16], total[16], bar[21];
		unsigned fill = l->total ? (unsigned)(l->done * 20 / l->total) : 0;

		human(l->done, done);
		human(l->total, total);
		for (unsigned k = 0; k < 20; k++)
			bar[k] = k < fill ? '=' : ' ';
		bar[20] = '\0';
		fprintf(stderr, "\r\033[K%s %.19s [%s] %s / %s %s\n", i == 0 ? "config" : "layer ",
			l->digest[0] ? l->digest + 7 : "?", bar, done, total, l->state);
	}
	d->drawn = d->n;
	fflush(stderr);
}

static void on_resolved(const char *name, const char *digest, size_t n, void *userdata)
{
	struct pull_display *d = userdata;

	if (d->quiet)
		return;
	fprintf(stderr, "Pulling %s (manifest %s, %zu blobs)\n", name, digest, n);
	d->lines = calloc(n, sizeof(*d->lines));
	d->n = d->lines ? n : 0;
}

static void on_blob(enum hull_blob_event ev, size_t index, const char *digest, uint64_t done,
		    uint64_t total, void *userdata)
{
	static const char *const names[] = { "downloading", "downloading", "retrying", "done",
					     "exists" };
	struct pull_display *d = userdata;

	if (d->quiet)
		return;
	if (!d->tty || index >= d->n) {
		if (ev != HULL_BLOB_PROGRESS)
			fprintf(stderr, "%s %s (%llu bytes): %s\n", index == 0 ? "config" : "layer",
				digest, (unsigned long long)total,
				ev == HULL_BLOB_START ? "downloading" : names[ev]);
		return;
	}
	snprintf(d->lines[index].digest, sizeof(d->lines[index].digest), "%s", digest);
	d->lines[index].done = done;
	d->lines[index].total = total;
	d->lines[index].state = names[ev];
	redraw(d);
}

int hull_cli_image_pull(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	enum { OPT_PLATFORM = 256, OPT_TLS_VERIFY, OPT_AUTHFILE };
	static const struct option opts[] = { { "platform", required_argument, NULL, OPT_PLATFORM },
					      { "tls-verify", optional_argument, NULL,
						OPT_TLS_VERIFY },
					      { "authfile", required_argument, NULL, OPT_AUTHFILE },
					      { "quiet", no_argument, NULL, 'q' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	static const struct hull_cli_verb v = {
		"image pull", "pull an image from a registry",
		"REFERENCE [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [--authfile FILE] "
		"[--quiet]",
		NULL
	};
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	struct pull_display d = { .tty = isatty(STDERR_FILENO) };
	struct hull_pull_opts o = { .progress = on_blob, .resolved = on_resolved, .userdata = &d };
	int c, r;

	while ((r = hull_cli_getopt(&v, argc, argv, "q", opts, &c, reterr)) == 0 && c != -1) {
		switch (c) {
		case OPT_PLATFORM:
			o.platform = optarg;
			break;
		case OPT_TLS_VERIFY:
			r = hull_cli_parse_tls_verify(optarg, &o.tls_verify_off, reterr);
			if (r < 0)
				return r;
			break;
		case OPT_AUTHFILE:
			o.auth_file = optarg;
			break;
		case 'q':
			d.quiet = true;
			break;
		}
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&v, argc, argv, 1, 1, "the image reference", reterr);
	if (r >= 0)
		r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	/* blobs into the store's blob store, then the image added under its name */
	r = hull_oci_image_pull(cli->home->images, argv[optind], &o, &img, reterr);
	free(d.lines);
	if (r < 0)
		return r;
	if (!d.quiet)
		fprintf(stderr, "Pulled %s (manifest %s)\n", argv[optind], img->digest);
	/* the image ID, as podman prints it: the hex of the config digest */
	printf("%s\n", img->config_digest + strlen("sha256:"));
	return 0;
}
