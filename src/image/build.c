/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Distro images built with debootstrap.
 *
 * The build runs in a ".tmp-build-*" directory of the store and becomes an
 * image only once debootstrap and the post-configuration succeeded; any
 * failure removes the temp directory.  The tree is trusted (debootstrap made
 * it from signed packages), which is why the post-configuration may chroot
 * into it; nothing hull runs later ever does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "util/file.h"
#include "util/str.h"

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define PACKAGES "systemd-sysv,dbus,iproute2,ifupdown,isc-dhcp-client,locales"

static const struct {
	const char *number, *codename;
} debian_releases[] = {
	{ "11", "bullseye" },
	{ "12", "bookworm" },
	{ "13", "trixie" },
};

static const char *debian_codename(const char *release)
{
	for (size_t i = 0; i < ELEMENTSOF(debian_releases); i++)
		if (streq(release, debian_releases[i].number) ||
		    streq(release, debian_releases[i].codename))
			return debian_releases[i].codename;
	return NULL;
}

static char *first_mirror_in(const char *file, bool deb822)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;

	if (hull_read_file_at(AT_FDCWD, file, &text, NULL) < 0)
		return NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char url[1024];
		const char *v;

		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#')
			continue;
		if (deb822) {
			v = startswith(line, "URIs:");
			if (!v || sscanf(v, " %1023s", url) != 1)
				continue;
		} else {
			v = startswith(line, "deb ");
			if (!v)
				continue;
			while (*v == ' ')
				v++;
			if (*v == '[') { /* options */
				v = strchr(v, ']');
				if (!v)
					continue;
				v++;
			}
			if (sscanf(v, " %1023s", url) != 1)
				continue;
		}
		if (strstr(url, "security") ||
		    !(startswith(url, "http://") || startswith(url, "https://")))
			continue;
		return strdup(url);
	}
	return NULL;
}

char *hull_image_default_mirror(void)
{
	char *m = first_mirror_in("/etc/apt/sources.list.d/debian.sources", true);

	if (!m)
		m = first_mirror_in("/etc/apt/sources.list", false);
	return m ? m : strdup(DEFAULT_MIRROR);
}

/*
 * Runs argv with stdout and stderr into a pipe, passing each line to the
 * progress callback; the last lines are kept for the error message.
 */
static int run_logged(char *const argv[], const struct hull_image_build_opts *o, char *tail,
		      size_t tail_size)
{
	_cleanup_close_ int rd = -EBADF;
	int p[2], status;
	char buf[4096], line[1024];
	size_t n_line = 0;
	pid_t pid;
	FILE *f;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		safe_close(p[0]);
		safe_close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
		    dup2(p[1], STDERR_FILENO) < 0)
			_exit(127);
		hull_close_fds_from(3, NULL, 0);
		setenv("DEBIAN_FRONTEND", "noninteractive", 1);
		setenv("LC_ALL", "C", 1);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "exec '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	safe_close(p[1]);
	rd = p[0];
	tail[0] = '\0';
	f = fdopen(TAKE_FD(rd), "r");
	if (!f) {
		waitpid(pid, &status, 0);
		return -ENOMEM;
	}
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);

		/* join a line longer than buf before reporting it */
		if (n_line + len >= sizeof(line))
			len = sizeof(line) - n_line - 1;
		memcpy(line + n_line, buf, len);
		n_line += len;
		line[n_line] = '\0';
		if (n_line == 0 || line[n_line - 1] != '\n')
			if (n_line < sizeof(line) - 1)
				continue;
		line[strcspn(line, "\n")] = '\0';
		if (o->progress)
			o->progress(line, o->userdata);
		if (*line)
			snprintf(tail, tail_size, "%.400s", line);
		n_line = 0;
	}
	fclose(f);
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
}

static bool mounted_below(const char *path)
{
	_cleanup_free_ char *mi = NULL;
	char *save = NULL;
	size_t n = strlen(path);

	if (hull_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mi, NULL) < 0)
		return false;
	for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[PATH_MAX];

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strncmp(mp, path, n) == 0 &&
		    (mp[n] == '/' || mp[n] == '\0'))
			return true;
	}
	return false;
}

static int post_configure(int root, const char *rootfs, const struct hull_image_build_opts *o,
			  char *tail, size_t tail_size)
{
	static const char locale_gen[] = "en_US.UTF-8 UTF-8\n";
	static const char default_locale[] = "LANG=en_US.UTF-8\n";
	static const char interfaces[] = "auto lo\niface lo inet loopback\n\n"
					 "source /etc/network/interfaces.d/*\n";
	char *const argv[] = { (char *)"chroot", (char *)rootfs, (char *)"/usr/sbin/locale-gen",
			       NULL };
	_cleanup_close_ int etc = -EBADF;
	int r;

	etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etc < 0)
		return -errno;
	r = hull_write_file_atomic_at(etc, "locale.gen", locale_gen, strlen(locale_gen), 0644, 0);
	if (r >= 0)
		r = hull_write_file_atomic_at(etc, "default/locale", default_locale,
					      strlen(default_locale), 0644, 0);
	if (r == -EINVAL) { /* the atomic writer wants a plain name */
		_cleanup_close_ int def =
			openat(etc, "default", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		r = def < 0 ? -errno
			    : hull_write_file_atomic_at(def, "locale", default_locale,
							strlen(default_locale), 0644, 0);
	}
	if (r >= 0) {
		_cleanup_close_ int net =
			openat(etc, "network", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		r = net < 0 ? -errno
			    : hull_write_file_atomic_at(net, "interfaces", interfaces,
							strlen(interfaces), 0644, 0);
	}
	if (r < 0)
		return r;
	/* the instance's own hostname comes from the runtime */
	unlinkat(etc, "hostname", 0);
	r = run_logged(argv, o, tail, tail_size);
	if (r < 0)
		return r;
	/* device nodes debootstrap made: useless under a user namespace, and not
	 * something an unprivileged image should carry; the runtime mounts /dev */
	r = hull_rm_rf_at(root, "dev");
	if (r >= 0 && mkdirat(root, "dev", 0755) < 0)
		r = -errno;
	return r;
}

int hull_image_build(struct hull_image_store *s, const char *name,
		     const struct hull_image_build_opts *o, struct hull_image **ret,
		     struct hull_error **reterr)
{
	_cleanup_close_ int lock = -EBADF, root = -EBADF;
	_cleanup_free_ char *mirror = NULL, *existing = NULL, *source = NULL, *store_path = NULL;
	char tmp[128], tag[64], rootfs[PATH_MAX], tail[512], fp[HULL_IMAGE_FINGERPRINT_LEN + 1],
		created[32], proc[64];
	const char *release, *codename;
	int r;

	release = startswith(name, "debian/");
	codename = release ? debian_codename(release) : NULL;
	if (!codename)
		return hull_error_set(reterr, -EINVAL,
				      "build '%s': unknown distribution (known: debian/11, "
				      "debian/12, debian/13)",
				      name);
	existing = image_alias_lookup(s, name);
	if (existing && !o->rebuild && faccessat(s->fd, existing, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return ret ? hull_image_get(s, existing, ret, reterr) : 0;

	mirror = o->mirror ? strdup(o->mirror) : hull_image_default_mirror();
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	store_path = realpath(proc, NULL);
	if (!mirror || !store_path)
		return -ENOMEM;

	/* the build holds no store lock: it takes minutes, and only its commit touches shared state
	 */
	snprintf(tag, sizeof(tag), "build-debian-%s", codename);
	r = image_store_tmp(s, tag, tmp, sizeof(tmp), reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "build '%s'", name);
	snprintf(rootfs, sizeof(rootfs), "%s/%s/rootfs", store_path, tmp);
	{
		_cleanup_free_ char *cache =
			o->cache_dir ? hull_strdup_printf("--cache-dir=%s", o->cache_dir) : NULL;
		char *argv[] = { (char *)"debootstrap",
				 (char *)"--variant=minbase",
				 (char *)"--include=" PACKAGES,
				 cache ? cache : (char *)"--verbose",
				 (char *)codename,
				 rootfs,
				 mirror,
				 NULL };

		if (o->cache_dir && hull_mkdir_p_at(AT_FDCWD, o->cache_dir, 0755) < 0) {
			r = hull_error_errno(reterr, -errno, "build '%s': create cache '%s'", name,
					     o->cache_dir);
			goto fail;
		}
		r = run_logged(argv, o, tail, sizeof(tail));
	}
	if (r < 0) {
		r = hull_error_set(reterr, r,
				   r == -ENOENT ? "build '%s': debootstrap is not installed (%s)"
						: "build '%s': debootstrap failed: %s",
				   name, tail);
		goto fail;
	}
	if (mounted_below(rootfs)) {
		r = hull_error_set(reterr, -EBUSY, "build '%s': debootstrap left mounts in '%s'",
				   name, rootfs);
		goto fail;
	}
	root = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0) {
		r = hull_error_errno(reterr, -errno, "build '%s': open '%s'", name, rootfs);
		goto fail;
	}
	r = post_configure(root, rootfs, o, tail, sizeof(tail));
	if (r < 0) {
		r = hull_error_errno(reterr, r, "build '%s': configure (%s)", name, tail);
		goto fail;
	}

	image_now_rfc3339(created);
	{
		_cleanup_free_ char *recipe =
			hull_strdup_printf("debootstrap minbase %s %s %s %s %d", PACKAGES, codename,
					   mirror, created, (int)getpid());
		int pfd[2];

		if (!recipe || pipe2(pfd, O_CLOEXEC) < 0) {
			r = -ENOMEM;
			goto fail;
		}
		r = hull_write_all(pfd[1], recipe, strlen(recipe));
		safe_close(pfd[1]);
		if (r >= 0)
			r = hull_sha256_fd(pfd[0], fp);
		safe_close(pfd[0]);
		if (r < 0)
			goto fail;
	}
	source = hull_strdup_printf("build:%s", name);
	if (!source) {
		r = -ENOMEM;
		goto fail;
	}
	lock = image_store_lock(s, reterr);
	if (lock < 0) {
		r = lock;
		goto fail;
	}
	r = image_store_commit(s, tmp, fp, source, 0, NULL, reterr);
	if (r >= 0)
		r = image_alias_set_locked(s, name, fp, reterr);
	if (r < 0) {
		hull_error_wrap(reterr, r, "build '%s'", name);
		goto fail;
	}
	lock = safe_close(lock);
	return ret ? hull_image_get(s, fp, ret, reterr) : 0;
fail:
	hull_rm_rf_at(s->fd, tmp);
	return r;
}
