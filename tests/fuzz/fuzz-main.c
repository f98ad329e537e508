/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays a fuzz corpus without libFuzzer: feeds every regular file of each
 * directory (or each file) named on the command line to the target.  A crash,
 * a sanitizer report or an abort() in the target fails the test; an empty
 * corpus fails it too, so a mistyped path cannot pass silently.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util/file.h"
#include "util/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* Runs one input from an exactly sized copy, so reads past the end are caught. */
static int run_one(int dirfd, const char *name, const char *shown)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r;

	r = hull_read_file_at(dirfd, name, &text, &len);
	if (r < 0) {
		fprintf(stderr, "read '%s': %s\n", shown, strerror(-r));
		return r;
	}
	data = malloc(len ? len : 1);
	if (!data)
		return -ENOMEM;
	memcpy(data, text, len);
	fprintf(stderr, "running '%s' (%zu bytes)\n", shown, len);
	(void)LLVMFuzzerTestOneInput(data, len);
	return 0;
}

/* Runs dirfd/name when it is a regular file not starting with a dot. */
static int run_entry(int dfd, const char *path, const char *name, size_t *count)
{
	_cleanup_free_ char *shown = NULL;
	struct stat st;
	int r;

	if (name[0] == '.')
		return 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (asprintf(&shown, "%s/%s", path, name) < 0)
		return -ENOMEM;
	r = run_one(dfd, name, shown);
	if (r < 0)
		return r;
	(*count)++;
	return 0;
}

static int run_dir(const char *path, size_t *count)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "open '%s': %s\n", path, strerror(-r));
		return r;
	}
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		r = run_entry(dirfd(d), path, de->d_name, count);
		if (r < 0)
			return r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "stat '%s': %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			r = run_dir(argv[i], &count);
		} else {
			r = run_one(AT_FDCWD, argv[i], argv[i]);
			if (r >= 0)
				count++;
		}
		if (r < 0)
			return 1;
	}
	if (count == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	printf("ran %zu inputs\n", count);
	return 0;
}
