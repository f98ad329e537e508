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
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image-internal.h"
#include "util/file.h"
#include "util/str.h"

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define UBUNTU_MIRROR "http://archive.ubuntu.com/ubuntu"
#define DEBIAN_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"
#define UBUNTU_KEYRING "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
#define DEBOOTSTRAP_SCRIPTS "/usr/share/debootstrap/scripts"
#define PACKAGES "systemd-sysv,dbus,iproute2,ifupdown,isc-dhcp-client,locales"
/* ifupdown is in Ubuntu's universe (netplan is Ubuntu's own); the rest is in main */
#define UBUNTU_PACKAGES "systemd-sysv,dbus,iproute2,isc-dhcp-client,locales"
/* the mirror check: one try, each of DNS, connect and read bounded */
#define MIRROR_TIMEOUT_S "15"

static const struct {
	const char *number, *codename;
} debian_releases[] = {
	{ "11", "bullseye" },
	{ "12", "bookworm" },
	{ "13", "trixie" },
}, ubuntu_releases[] = {
	{ "18.04", "bionic" }, { "20.04", "focal" }, { "22.04", "jammy" },
	{ "22.10", "kinetic" }, { "23.04", "lunar" }, { "23.10", "mantic" },
	{ "24.04", "noble" },  { "24.10", "oracular" }, { "25.04", "plucky" },
};

struct distro {
	bool ubuntu;
	const char *codename;
	const char *packages, *keyring, *default_mirror;
};

static const char *codename_in(const char *release, bool ubuntu)
{
	size_t n = ubuntu ? ELEMENTSOF(ubuntu_releases) : ELEMENTSOF(debian_releases);

	for (size_t i = 0; i < n; i++) {
		const char *num = ubuntu ? ubuntu_releases[i].number : debian_releases[i].number;
		const char *code =
			ubuntu ? ubuntu_releases[i].codename : debian_releases[i].codename;

		if (streq(release, num) || streq(release, code))
			return code;
	}
	return NULL;
}

/*
 * "debian/12", "debian/bookworm", "ubuntu/jammy", "ubuntu/22.04".  An Ubuntu
 * release must also be one this machine's debootstrap has a script for.
 */
static int parse_distro(const char *name, struct distro *d, struct hull_error **reterr)
{
	const char *rel;

	*d = (struct distro){};
	if ((rel = startswith(name, "debian/"))) {
		d->codename = codename_in(rel, false);
		d->packages = PACKAGES;
		d->keyring = DEBIAN_KEYRING;
		d->default_mirror = NULL; /* the machine's configured one */
	} else if ((rel = startswith(name, "ubuntu/"))) {
		char script[PATH_MAX];

		d->ubuntu = true;
		d->codename = codename_in(rel, true);
		d->packages = UBUNTU_PACKAGES;
		d->keyring = UBUNTU_KEYRING;
		d->default_mirror = UBUNTU_MIRROR;
		if (d->codename) {
			snprintf(script, sizeof(script), "%s/%s", DEBOOTSTRAP_SCRIPTS, d->codename);
			if (access(script, R_OK) < 0)
				return hull_error_set(reterr, -EOPNOTSUPP,
						      "build '%s': this machine's debootstrap does "
						      "not know Ubuntu '%s' (no '%s')",
						      name, d->codename, script);
		}
	}
	if (!d->codename)
		return hull_error_set(reterr, -EINVAL,
				      "build '%s': unknown distribution (known: debian/11, "
				      "debian/12, debian/13, ubuntu/<codename or version> such as "
				      "ubuntu/jammy)",
				      name);
	return 0;
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

/* The build's phases, in order; a debootstrap line moves the build forward, never back. */
static const char *const phases[] = {
	[HULL_BUILD_MIRROR] = "checking the mirror",
	[HULL_BUILD_RESOLVE] = "resolving packages",
	[HULL_BUILD_DOWNLOAD] = "downloading packages",
	[HULL_BUILD_EXTRACT] = "extracting packages",
	[HULL_BUILD_REQUIRED] = "installing the required packages",
	[HULL_BUILD_BASE] = "installing the base packages",
	[HULL_BUILD_CONFIGURE] = "configuring the image",
	[HULL_BUILD_STORE] = "storing the image",
};

const char *hull_image_build_phase_name(enum hull_image_build_phase p)
{
	return (unsigned)p < ELEMENTSOF(phases) ? phases[p] : "?";
}

/* The phase a debootstrap "I: ..." line belongs to, or -1 for "no change". */
static int line_phase(const char *line)
{
	static const struct {
		const char *prefix;
		enum hull_image_build_phase phase;
	} map[] = {
		{ "I: Retrieving InRelease", HULL_BUILD_RESOLVE },
		{ "I: Retrieving Release", HULL_BUILD_RESOLVE },
		{ "I: Retrieving Packages", HULL_BUILD_RESOLVE },
		{ "I: Resolving dependencies", HULL_BUILD_RESOLVE },
		{ "I: Retrieving ", HULL_BUILD_DOWNLOAD },
		{ "I: Extracting ", HULL_BUILD_EXTRACT },
		{ "I: Installing core packages", HULL_BUILD_REQUIRED },
		{ "I: Unpacking required packages", HULL_BUILD_REQUIRED },
		{ "I: Unpacking the base system", HULL_BUILD_BASE },
	};

	for (size_t i = 0; i < ELEMENTSOF(map); i++)
		if (startswith(line, map[i].prefix))
			return (int)map[i].phase;
	return -1;
}

struct progress_state {
	const struct hull_image_build_opts *o;
	enum hull_image_build_phase phase;
};

static void progress(struct progress_state *p, int phase, const char *line)
{
	if (phase > (int)p->phase)
		p->phase = (enum hull_image_build_phase)phase;
	if (p->o->progress)
		p->o->progress(p->phase, line, p->o->userdata);
}

/*
 * Runs argv with stdout and stderr into a pipe, passing each line to the
 * progress callback; the last lines are kept for the error message.
 */
static int run_logged(char *const argv[], struct progress_state *ps, char *tail, size_t tail_size)
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
		progress(ps, line_phase(line), line);
		if (*line)
			snprintf(tail, tail_size, "%.400s", line);
		n_line = 0;
	}
	fclose(f);
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) ? -(1000 + WEXITSTATUS(status)) : -EIO;
}

/* run_logged's "exited with N" (N > 0 and not 127); -1 otherwise */
static int exit_code_of(int r)
{
	return r <= -1000 && r > -1256 ? -r - 1000 : -1;
}

/*
 * Asks the mirror for dists/<codename>/Release (wget, which debootstrap uses
 * too: one try, DNS, connect and read each bounded), so an unreachable or
 * wrong mirror fails in seconds with one line naming it.
 */
static int check_mirror(const char *name, const char *mirror, const char *codename,
			struct progress_state *ps, struct hull_error **reterr)
{
	_cleanup_free_ char *url = NULL;
	char tail[512];
	int r, code;

	if (!startswith(mirror, "http://") && !startswith(mirror, "https://"))
		return hull_error_set(
			reterr, -EINVAL,
			"build '%s': mirror '%s': expected an http:// or https:// URL", name,
			mirror);
	url = hull_strdup_printf("%s%sdists/%s/Release", mirror,
				 mirror[strlen(mirror) - 1] == '/' ? "" : "/", codename);
	if (!url)
		return -ENOMEM;
	{
		char *argv[] = { (char *)"wget",
				 (char *)"--spider",
				 (char *)"--no-verbose",
				 (char *)"--tries=1",
				 (char *)"--timeout=" MIRROR_TIMEOUT_S,
				 url,
				 NULL };

		progress(ps, HULL_BUILD_MIRROR, url);
		r = run_logged(argv, ps, tail, sizeof(tail));
	}
	if (r == 0)
		return 0;
	if (r == -ENOENT)
		return hull_error_set(reterr, -ENOENT, "build '%s': wget is not installed", name);
	code = exit_code_of(r);
	/* wget: 4 network failure, 5 TLS, 8 an HTTP error from the server */
	return hull_error_set(reterr, -EHOSTUNREACH,
			      code == 8 ? "build '%s': mirror '%s' has no '%s' (%s)"
					: "build '%s': mirror '%s' cannot be reached for '%s' (%s)",
			      name, mirror, codename,
			      code == 8	  ? "HTTP error"
			      : code == 5 ? "TLS verification failed"
			      : code == 4 ? "network failure: refused, unreachable or timed out"
					  : "wget failed");
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

static int post_configure(int root, const char *rootfs, const struct distro *d,
			  struct progress_state *ps, char *tail, size_t tail_size)
{
	static const char locale_gen[] = "en_US.UTF-8 UTF-8\n";
	static const char default_locale[] = "LANG=en_US.UTF-8\n";
	static const char interfaces[] = "auto lo\niface lo inet loopback\n\n"
					 "source /etc/network/interfaces.d/*\n";
	/* Debian's locale-gen reads /etc/locale.gen; Ubuntu's takes the locale as argument */
	char *const argv[] = { (char *)"chroot", (char *)rootfs, (char *)"/usr/sbin/locale-gen",
			       d->ubuntu ? (char *)"en_US.UTF-8" : NULL, NULL };
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

		/* no /etc/network without ifupdown (Ubuntu's images) */
		r = net < 0 ? (errno == ENOENT && d->ubuntu ? 0 : -errno)
			    : hull_write_file_atomic_at(net, "interfaces", interfaces,
							strlen(interfaces), 0644, 0);
	}
	if (r < 0)
		return r;
	/* the instance's own hostname comes from the runtime */
	unlinkat(etc, "hostname", 0);
	r = run_logged(argv, ps, tail, tail_size);
	if (r < 0)
		return r;
	/* device nodes debootstrap made: useless under a user namespace, and not
	 * something an unprivileged image should carry; the runtime mounts /dev */
	r = hull_rm_rf_at(root, "dev");
	if (r >= 0 && mkdirat(root, "dev", 0755) < 0)
		r = -errno;
	return r;
}

/*
 * What `image show`/`list` say of a built image, in the fields an imported
 * image's metadata.yaml fills: the host's architecture, the build time, and
 * os/release/description.
 */
static int build_metadata(const struct distro *d, const char *created, struct image_metadata *m)
{
	struct utsname u;
	const char *number = d->codename;

	if (uname(&u) < 0)
		return -errno;
	for (size_t i = 0; i < ELEMENTSOF(debian_releases) && !d->ubuntu; i++)
		if (streq(debian_releases[i].codename, d->codename))
			number = debian_releases[i].number;
	for (size_t i = 0; i < ELEMENTSOF(ubuntu_releases) && d->ubuntu; i++)
		if (streq(ubuntu_releases[i].codename, d->codename))
			number = ubuntu_releases[i].number;
	m->architecture = strdup(u.machine);
	m->creation_date = strdup(created);
	m->properties = calloc(1, sizeof(char *));
	if (!m->architecture || !m->creation_date || !m->properties)
		return -ENOMEM;
	{
		_cleanup_free_ char *desc =
			hull_strdup_printf("%s %s (%s), minbase with systemd",
					   d->ubuntu ? "Ubuntu" : "Debian", number, d->codename);

		if (!desc || hull_strv_push(&m->properties, "os") < 0 ||
		    hull_strv_push(&m->properties, d->ubuntu ? "ubuntu" : "debian") < 0 ||
		    hull_strv_push(&m->properties, "release") < 0 ||
		    hull_strv_push(&m->properties, number) < 0 ||
		    hull_strv_push(&m->properties, "description") < 0 ||
		    hull_strv_push(&m->properties, desc) < 0)
			return -ENOMEM;
	}
	return 0;
}

int hull_image_build(struct hull_image_store *s, const char *name,
		     const struct hull_image_build_opts *o, struct hull_image **ret,
		     struct hull_error **reterr)
{
	_cleanup_close_ int lock = -EBADF, root = -EBADF;
	_cleanup_free_ char *mirror = NULL, *existing = NULL, *source = NULL, *store_path = NULL;
	char tmp[128], tag[64], rootfs[PATH_MAX], tail[512], fp[HULL_IMAGE_FINGERPRINT_LEN + 1],
		created[32], proc[64];
	struct progress_state ps = { .o = o, .phase = HULL_BUILD_MIRROR };
	_cleanup_(image_metadata_done) struct image_metadata meta = {};
	struct distro d;
	int r;

	r = parse_distro(name, &d, reterr);
	if (r < 0)
		return r;
	existing = image_alias_lookup(s, name);
	if (existing && !o->rebuild && faccessat(s->fd, existing, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return ret ? hull_image_get(s, existing, ret, reterr) : 0;

	mirror = o->mirror	    ? strdup(o->mirror)
		 : d.default_mirror ? strdup(d.default_mirror)
				    : hull_image_default_mirror();
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	store_path = realpath(proc, NULL);
	if (!mirror || !store_path)
		return -ENOMEM;
	/* before anything is made: a wrong mirror fails fast, naming it */
	r = check_mirror(name, mirror, d.codename, &ps, reterr);
	if (r < 0)
		return r;
	/* debootstrap goes on without a keyring (unchecked packages); hull does not */
	if (access(d.keyring, R_OK) < 0)
		return hull_error_errno(
			reterr, -errno,
			"build '%s': the archive keyring '%s' is needed to check the "
			"packages",
			name, d.keyring);

	/* the build holds no store lock: it takes minutes, and only its commit touches shared state
	 */
	snprintf(tag, sizeof(tag), "build-%s-%s", d.ubuntu ? "ubuntu" : "debian", d.codename);
	r = image_store_tmp(s, tag, tmp, sizeof(tmp), reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "build '%s'", name);
	snprintf(rootfs, sizeof(rootfs), "%s/%s/rootfs", store_path, tmp);
	{
		_cleanup_free_ char *cache =
			o->cache_dir ? hull_strdup_printf("--cache-dir=%s", o->cache_dir) : NULL;
		_cleanup_free_ char *include = hull_strdup_printf("--include=%s", d.packages);
		_cleanup_free_ char *keyring = hull_strdup_printf("--keyring=%s", d.keyring);
		char *argv[] = { (char *)"debootstrap",
				 (char *)"--variant=minbase",
				 (char *)"--force-check-gpg",
				 include,
				 keyring,
				 cache ? cache : (char *)"--verbose",
				 (char *)d.codename,
				 rootfs,
				 mirror,
				 NULL };

		if (!include || !keyring || (o->cache_dir && !cache)) {
			r = -ENOMEM;
			goto fail;
		}
		if (o->cache_dir && hull_mkdir_p_at(AT_FDCWD, o->cache_dir, 0755) < 0) {
			r = hull_error_errno(reterr, -errno, "build '%s': create cache '%s'", name,
					     o->cache_dir);
			goto fail;
		}
		progress(&ps, HULL_BUILD_RESOLVE, "I: debootstrap");
		r = run_logged(argv, &ps, tail, sizeof(tail));
	}
	if (r < 0) {
		r = hull_error_set(reterr, r == -ENOENT ? -ENOENT : -EIO,
				   r == -ENOENT ? "build '%s': debootstrap is not installed (%s)"
						: "build '%s': debootstrap from '%s' failed: %s",
				   name, r == -ENOENT ? tail : mirror, tail);
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
	progress(&ps, HULL_BUILD_CONFIGURE, "I: locale, network, /dev");
	r = post_configure(root, rootfs, &d, &ps, tail, sizeof(tail));
	if (r < 0) {
		r = hull_error_errno(reterr, r <= -1000 ? -EIO : r, "build '%s': configure (%s)",
				     name, tail);
		goto fail;
	}
	progress(&ps, HULL_BUILD_STORE, "I: storing");

	image_now_rfc3339(created);
	{
		_cleanup_free_ char *recipe =
			hull_strdup_printf("debootstrap minbase %s %s %s %s %d", d.packages,
					   d.codename, mirror, created, (int)getpid());
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
	r = build_metadata(&d, created, &meta);
	if (r < 0)
		goto fail;
	r = image_store_commit(s, tmp, fp, source, 0, &meta, reterr);
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
