/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/str.h"

void hull_home_free(struct hull_home *h)
{
	if (!h)
		return;
	safe_close(h->fd);
	safe_close(h->instances_fd);
	hull_image_store_free(h->images);
	free((char *)h->rt.root);
	free(h->cache_path);
	free(h->path);
	free(h);
}

int hull_home_open(const char *path, struct hull_home **ret, struct hull_error **reterr)
{
	_cleanup_(hull_home_freep) struct hull_home *h = NULL;
	char abs[PATH_MAX];
	int r;

	if (!path || !*path)
		path = getenv("HULL_DIR");
	if (!path || !*path)
		path = HULL_DEFAULT_STATE_DIR;
	r = hull_mkdir_p_at(AT_FDCWD, path, 0711);
	if (r < 0)
		return hull_error_errno(reterr, r, "create state directory '%s'", path);
	if (!realpath(path, abs))
		return hull_error_errno(reterr, -errno, "state directory '%s'", path);

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = h->instances_fd = -EBADF;
	h->path = strdup(abs);
	h->rt.root = hull_strdup_printf("%s/run", abs);
	h->cache_path = hull_strdup_printf("%s/cache", abs);
	if (!h->path || !h->rt.root || !h->cache_path)
		return -ENOMEM;
	h->rt.rootless = geteuid() != 0;
	h->fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->fd < 0)
		return hull_error_errno(reterr, -errno, "open state directory '%s'", abs);
	/* 0711: the container's root (a subordinate uid) must traverse to its
	 * rootfs, but no other user may list instances */
	r = hull_mkdir_p_at(h->fd, "instances", 0711);
	if (r >= 0)
		r = hull_mkdir_p_at(h->fd, "run", 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create state directory '%s'", abs);
	h->instances_fd = openat(h->fd, "instances", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->instances_fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s/instances'", abs);
	r = hull_image_store_open(h->fd, "images", &h->images, reterr);
	if (r < 0)
		return r;
	r = profile_home_init(h, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(h);
	return 0;
}
