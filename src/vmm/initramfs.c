/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A cpio "newc" writer for the VM's initramfs (initramfs.h).  Each entry is
 * a 110-byte ASCII header ("070701" then 13 fields of 8 hex digits), the
 * NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes;
 * "TRAILER!!!" ends the archive.  Entries are reproducible: uid/gid 0,
 * mtime 0, inode numbers in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zlib.h>

#include "util/file.h"
#include "util/macro.h"
#include "util/str.h"
#include "vmm/initramfs.h"

#define MAX_ENTRIES 4096 /* names remembered for the duplicate check */

static const char *const base_dirs[] = { "dev", "proc", "sys", "run", "tmp", "root" };

struct writer {
	int fd;
	bool gzip;
	z_stream z;
	bool z_ready;
	uint64_t off; /* bytes of the archive so far (before compression): for padding */
	uint32_t ino;
	char **names;
	size_t n_names;
};

static int out_raw(struct writer *w, const void *buf, size_t len)
{
	uint8_t zbuf[65536];
	int r;

	if (!w->gzip)
		return hull_write_all(w->fd, buf, len);
	w->z.next_in = (Bytef *)(uintptr_t)buf;
	w->z.avail_in = (uInt)len;
	do {
		w->z.next_out = zbuf;
		w->z.avail_out = sizeof(zbuf);
		if (deflate(&w->z, Z_NO_FLUSH) == Z_STREAM_ERROR)
			return -EIO;
		r = hull_write_all(w->fd, zbuf, sizeof(zbuf) - w->z.avail_out);
		if (r < 0)
			return r;
	} while (w->z.avail_in > 0 || w->z.avail_out == 0);
	return 0;
}

static int out(struct writer *w, const void *buf, size_t len)
{
	/* deflate takes uInt lengths: feed big buffers in pieces */
	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		int r = out_raw(w, buf, n);

		if (r < 0)
			return r;
		w->off += n;
		buf = (const uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

static int pad4(struct writer *w)
{
	static const uint8_t zeros[4];
	size_t n = (4 - (w->off & 3)) & 3;

	return n ? out(w, zeros, n) : 0;
}

static int finish(struct writer *w)
{
	uint8_t zbuf[65536];
	int zr, r;

	if (!w->gzip)
		return 0;
	w->z.next_in = NULL;
	w->z.avail_in = 0;
	do {
		w->z.next_out = zbuf;
		w->z.avail_out = sizeof(zbuf);
		zr = deflate(&w->z, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		r = hull_write_all(w->fd, zbuf, sizeof(zbuf) - w->z.avail_out);
		if (r < 0)
			return r;
	} while (zr != Z_STREAM_END);
	return 0;
}

/* Remembers `name`; -EEXIST when the archive has it already. */
static int note_name(struct writer *w, const char *name)
{
	char **n;

	for (size_t i = 0; i < w->n_names; i++) {
		if (streq(w->names[i], name))
			return -EEXIST;
	}
	if (w->n_names >= MAX_ENTRIES)
		return -E2BIG;
	n = realloc(w->names, (w->n_names + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	w->names = n;
	w->names[w->n_names] = strdup(name);
	if (!w->names[w->n_names])
		return -ENOMEM;
	w->n_names++;
	return 0;
}

static bool have_name(const struct writer *w, const char *name)
{
	for (size_t i = 0; i < w->n_names; i++) {
		if (streq(w->names[i], name))
			return true;
	}
	return false;
}

static int header(struct writer *w, const char *name, mode_t mode, uint64_t size, unsigned rmajor,
		  unsigned rminor)
{
	char h[256];
	size_t namesize = strlen(name) + 1;
	int r;

	if (size > UINT32_MAX)
		return -EFBIG; /* newc sizes are 32-bit */
	if (namesize > PATH_MAX)
		return -ENAMETOOLONG;
	r = snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		     ++w->ino, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)size,
		     0u, 0u, rmajor & 0xfff, rminor & 0xfffff, (unsigned)namesize, 0u);
	if (r != 110)
		return -EINVAL;
	r = out(w, h, 110);
	if (r >= 0)
		r = out(w, name, namesize);
	if (r >= 0)
		r = pad4(w);
	return r;
}

static int add_dir(struct writer *w, const char *name)
{
	int r = note_name(w, name);

	if (r < 0)
		return r;
	return header(w, name, S_IFDIR | 0755, 0, 0, 0);
}

/* The parent directories of `path` not in the archive yet. */
static int add_parents(struct writer *w, const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (!have_name(w, buf)) {
			int r = add_dir(w, buf);
			if (r < 0)
				return r;
		}
		*p = '/';
	}
	return 0;
}

static bool path_ok(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/' || strlen(path) >= PATH_MAX)
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static int add_data(struct writer *w, const char *name, mode_t perm, const void *data, size_t len)
{
	int r = note_name(w, name);

	if (r < 0)
		return r;
	r = header(w, name, S_IFREG | (perm & 07777), len, 0, 0);
	if (r >= 0)
		r = out(w, data, len);
	if (r >= 0)
		r = pad4(w);
	return r;
}

/* Copies a host file, which must stay the size it had when we looked. */
static int add_file(struct writer *w, const char *name, const char *source, mode_t perm)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	uint64_t done = 0;
	uint8_t buf[65536];
	int r;

	fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	r = note_name(w, name);
	if (r < 0)
		return r;
	r = header(w, name, S_IFREG | ((perm ? perm : st.st_mode) & 07777), (uint64_t)st.st_size, 0,
		   0);
	if (r < 0)
		return r;
	while (done < (uint64_t)st.st_size) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || done + (uint64_t)n > (uint64_t)st.st_size)
			return -ESTALE; /* the file changed size under us */
		r = out(w, buf, (size_t)n);
		if (r < 0)
			return r;
		done += (uint64_t)n;
	}
	return pad4(w);
}

int hull_initramfs_write(int fd, const char *agent_path, const struct hull_initramfs_file *extra,
			 size_t n_extra, enum hull_initramfs_flags flags,
			 struct hull_error **reterr)
{
	struct writer w = { .fd = fd, .gzip = flags & HULL_INITRAMFS_GZIP };
	int r = 0;

	if (w.gzip) {
		/* windowBits 15 + 16: a gzip wrapper, which the kernel's unpacker expects */
		if (deflateInit2(&w.z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return hull_error_set(reterr, -ENOMEM, "initramfs: zlib init failed");
		w.z_ready = true;
	}
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(base_dirs); i++)
		r = add_dir(&w, base_dirs[i]);
	if (r >= 0) {
		r = note_name(&w, "dev/console");
		if (r >= 0)
			r = header(&w, "dev/console", S_IFCHR | 0600, 0, 5, 1);
	}
	if (r < 0) {
		r = hull_error_errno(reterr, r, "initramfs: write the base entries");
		goto out;
	}
	r = add_file(&w, "init", agent_path, 0755);
	if (r < 0) {
		r = hull_error_errno(reterr, r == -EINVAL ? -EINVAL : r, "initramfs: agent '%s'%s",
				     agent_path, r == -EINVAL ? " is not a regular file" : "");
		goto out;
	}
	for (size_t i = 0; i < n_extra; i++) {
		const struct hull_initramfs_file *f = &extra[i];

		if (!f->path || !path_ok(f->path)) {
			r = hull_error_set(reterr, -EINVAL, "initramfs: bad archive path '%s'",
					   f->path ? f->path : "(null)");
			goto out;
		}
		r = add_parents(&w, f->path);
		if (r >= 0)
			r = f->source ? add_file(&w, f->path, f->source, f->mode)
				      : add_data(&w, f->path, f->mode ? f->mode : 0644, f->data,
						 f->len);
		if (r == -EEXIST) {
			r = hull_error_set(reterr, r, "initramfs: '%s' is in the archive twice",
					   f->path);
			goto out;
		}
		if (r < 0) {
			r = hull_error_errno(reterr, r, "initramfs: add '%s' from '%s'", f->path,
					     f->source ? f->source : "memory");
			goto out;
		}
	}
	r = header(&w, "TRAILER!!!", 0, 0, 0, 0);
	if (r >= 0)
		r = finish(&w);
	if (r < 0)
		r = hull_error_errno(reterr, r, "initramfs: write");
out:
	if (w.z_ready)
		deflateEnd(&w.z);
	for (size_t i = 0; i < w.n_names; i++)
		free(w.names[i]);
	free(w.names);
	return r;
}
