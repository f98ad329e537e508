/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"

static int spec_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	const char *bundle = ".";
	bool rootless = false;
	int c, r;

	while ((r = cli_getopt(&cli_verb_spec, argc, argv, "b:", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 'b')
			bundle = optarg;
		else
			rootless = true;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_spec, argc, argv, 0, 0, reterr);
	if (r < 0)
		return r;
	text = hull_oci_default_spec(rootless);
	if (!text)
		return hull_error_errno(reterr, -ENOMEM, "spec");
	dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hull_error_errno(reterr, -errno, "spec: open bundle '%s'", bundle);
	fd = openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EEXIST)
		return hull_error_set(reterr, -EEXIST,
				      "spec: '%s/config.json' exists; remove it first", bundle);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "spec: create '%s/config.json'", bundle);
	r = hull_write_all(fd, text, strlen(text));
	if (r < 0)
		return hull_error_errno(reterr, r, "spec: write '%s/config.json'", bundle);
	(void)cli;
	return 0;
}

const struct cli_verb cli_verb_spec = {
	.name = "spec",
	.summary = "write a default config.json into a bundle",
	.usage =
		"[options]\n\n"
		"  -b, --bundle DIR   where to write config.json (default: the current directory)\n"
		"  --rootless         a config for running without root (user namespace)",
	.run = spec_run,
};
