/* SPDX-License-Identifier: Apache-2.0 */
/*
 * App containers (see app.h): the rootfs as an overlay of the image's layers,
 * the OCI config from app-profile.c, and the runtime library's run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/oci-store.h"
#include "instance/app-internal.h"
#include "instance/microvm.h"
#include "util/digest.h"
#include "linux/rootfs.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define APPS "apps"
#define APP_JSON "app.json"
#define ID_PREFIX "app."

void hull_app_info_free(struct hull_app_info *i)
{
	if (!i)
		return;
	free(i->name);
	free(i->image);
	free(i->image_ref);
	free(i->created);
	free(i->status);
	free(i);
}

void hull_app_info_list_free(struct hull_app_info **l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		hull_app_info_free(l[i]);
	free(l);
}

int hull_app_name_check(const char *name, struct hull_error **reterr)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63)
		return hull_error_set(reterr, -EINVAL, "name '%s': expected 1 to 63 characters",
				      name);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '.' || c == '-'));

		if (!ok)
			return hull_error_set(reterr, -EINVAL,
					      "name '%s': expected [a-zA-Z0-9][a-zA-Z0-9_.-]*",
					      name);
	}
	return 0;
}

static int apps_dir(struct hull_home *h, bool create)
{
	if (create && mkdirat(h->fd, APPS, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(h->fd, APPS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static char *runtime_id(const char *name)
{
	return hull_strdup_printf(ID_PREFIX "%s", name);
}

/* ---- app.json ------------------------------------------------------------------------ */

struct app_meta {
	char *name, *image, *image_ref, *created, *status;
	int exit_code;
	bool rm;
};

static const struct hull_json_field meta_table[] = {
	{ "name", hull_json_parse_string, offsetof(struct app_meta, name), true },
	{ "image", hull_json_parse_string, offsetof(struct app_meta, image), true },
	{ "image_ref", hull_json_parse_string, offsetof(struct app_meta, image_ref) },
	{ "created", hull_json_parse_string, offsetof(struct app_meta, created) },
	{ "status", hull_json_parse_string, offsetof(struct app_meta, status) },
	{ "exit_code", hull_json_parse_int, offsetof(struct app_meta, exit_code) },
	{ "rm", hull_json_parse_bool, offsetof(struct app_meta, rm) },
	{},
};

static void meta_done(struct app_meta *m)
{
	free(m->name);
	free(m->image);
	free(m->image_ref);
	free(m->created);
	free(m->status);
}

static int meta_read(int dfd, struct app_meta *m)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	size_t len = 0;
	int r = hull_read_file_at(dfd, APP_JSON, &text, &len);

	if (r < 0)
		return r;
	r = hull_json_parse(text, len, APP_JSON, &o, NULL);
	if (r < 0)
		return r;
	r = hull_json_dispatch("", o, meta_table, m, HULL_JSON_ALLOW_UNKNOWN, NULL);
	if (r < 0)
		meta_done(m);
	return r;
}

static int meta_write(int dfd, const struct app_meta *m)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	const char *text;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "image", json_object_new_string(m->image));
	json_object_object_add(o, "image_ref", json_object_new_string(m->image_ref ?: ""));
	json_object_object_add(o, "created", json_object_new_string(m->created ?: ""));
	json_object_object_add(o, "status", json_object_new_string(m->status ?: "created"));
	json_object_object_add(o, "exit_code", json_object_new_int(m->exit_code));
	json_object_object_add(o, "rm", json_object_new_boolean(m->rm));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	return hull_write_file_atomic_at(dfd, APP_JSON, text, strlen(text), 0600, HULL_ATOMIC_SYNC);
}

/* ---- rootfs ----------------------------------------------------------------------------- */

/*
 * Mounts the overlay of the image's layers on <app>/rootfs; where overlayfs
 * cannot be used (or HULL_APP_FLATTEN=1), unpacks a flattened copy there.
 */
static int rootfs_make(struct hull_home *h, const struct hull_oci_image *img, int adir,
		       const char *app_path, struct hull_error **reterr)
{
	_cleanup_free_ char *lower = NULL, *opts = NULL, *target = NULL;
	_cleanup_close_ int rfd = -EBADF;
	const char *force = getenv("HULL_APP_FLATTEN");
	int r;

	if (mkdirat(adir, "rootfs", 0755) < 0 || mkdirat(adir, "upper", 0755) < 0 ||
	    mkdirat(adir, "work", 0700) < 0)
		return hull_error_errno(reterr, -errno, "create the container's directories");
	target = hull_strdup_printf("%s/rootfs", app_path);
	if (!target)
		return -ENOMEM;
	if (!force || !streq(force, "1")) {
		r = hull_oci_image_lowerdir(h->images, img, &lower, reterr);
		if (r < 0)
			return r;
		opts = hull_strdup_printf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower,
					  app_path, app_path);
		if (!opts)
			return -ENOMEM;
		/* mount options are limited to a page; many layers fall back to a copy */
		if (strlen(opts) < 4000 && mount("overlay", target, "overlay", 0, opts) == 0)
			return 0;
		hull_debug("overlay for '%s' failed (%m): flattening", app_path);
	}
	rfd = openat(adir, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return hull_error_errno(reterr, -errno, "open rootfs");
	r = hull_oci_image_flatten(h->images, img, rfd, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "flatten image");
	return 0;
}

/* Unmounts (if mounted) and removes an app's directory; missing is fine. */
static int app_dir_remove(int apps_fd, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s/rootfs", apps_fd, name);
	/* the overlay stays busy while the container's processes hold it: detach it */
	(void)umount2(path, MNT_DETACH);
	return hull_rm_rf_at(apps_fd, name);
}

/* ---- run -------------------------------------------------------------------------------- */

static char *generate_name(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return hull_strdup_printf("app-%08x", r);
}

static int lock_apps(int apps_fd)
{
	int fd = openat(apps_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Everything the container needs prepared in adir; the config written. */
static int app_prepare(struct hull_home *h, const struct hull_app_opts *o,
		       const struct hull_oci_image *img, const struct hull_oci_image_config *ic,
		       const char *name, int adir, const char *app_path, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **args = NULL, **caps = NULL;
	_cleanup_free_ char *rootfs = NULL;
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	_cleanup_json_ struct json_object *cfg = NULL;
	struct app_user user = {};
	const char *cwd = o->workdir ? o->workdir
			  : ic->config.working_dir && *ic->config.working_dir
				  ? ic->config.working_dir
				  : "/";
	const char *text;
	int r;

	if (cwd[0] != '/')
		return hull_error_set(reterr, -EINVAL, "working directory '%s': must be absolute",
				      cwd);
	r = app_args(ic, o, &args, reterr);
	if (r < 0)
		return r;
	r = app_caps(o->cap_add, o->cap_drop, &caps, reterr);
	if (r < 0)
		return r;
	r = rootfs_make(h, img, adir, app_path, reterr);
	if (r < 0)
		return r;
	rfd = openat(adir, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return hull_error_errno(reterr, -errno, "open rootfs");
	r = app_resolve_user(rfd, o->user ? o->user : ic->config.user, &user, reterr);
	if (r < 0)
		return r;
	/* podman creates a missing working directory */
	wfd = hull_mkdir_in_root(rfd, cwd, false, 0755, reterr);
	if (wfd < 0) {
		free(user.home);
		return hull_error_wrap(reterr, wfd, "working directory '%s'", cwd);
	}
	rootfs = hull_strdup_printf("%s/rootfs", app_path);
	if (!rootfs) {
		free(user.home);
		return -ENOMEM;
	}
	cfg = app_oci_config(&(struct app_config_in){ .opts = o,
						      .image = ic,
						      .user = &user,
						      .args = args,
						      .caps = caps,
						      .cwd = cwd,
						      .name = name,
						      .rootfs = rootfs },
			     reterr);
	free(user.home);
	if (!cfg)
		return reterr && *reterr ? (*reterr)->code : -ENOMEM;
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	r = hull_write_file_atomic_at(adir, "config.json", text, strlen(text), 0600, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "write config.json");
	return 0;
}

/* -d --rm: a watcher outliving hull removes the container once it exits. */
static void spawn_remover(struct hull_home *h, const char *name)
{
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid > 0) {
		(void)waitpid(pid, NULL, 0);
		return;
	}
	if (fork() != 0)
		_exit(0);
	setsid();
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
	}
	for (;;) {
		_cleanup_free_ char *id = runtime_id(name);
		struct hull_state *st = NULL;
		bool done;

		if (!id || hull_container_state(&h->rt, id, &st, NULL) < 0)
			break;
		done = st->status == HULL_STATUS_STOPPED;
		hull_state_free(st);
		if (done)
			break;
		usleep(100 * 1000);
	}
	(void)hull_app_remove(h, name, true, 0, NULL);
	_exit(0);
}

/*
 * --vm: the same config in a micro-VM; the root image is keyed by the
 * image's layers (their diff_ids), so each image is packed once.
 */
static int app_run_vm(struct hull_home *h, const struct hull_app_opts *o,
		      const struct hull_oci_image *img, const char *id, int adir,
		      const char *app_path, int *ret_exit, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL, *layers = NULL, *rootfs = NULL, *cache = NULL;
	_cleanup_json_ struct json_object *cfg = NULL;
	char key[HULL_DIGEST_MAX];
	size_t len = 0;
	int r;

	layers = strdup("hull-vm-rootfs 1\n");
	for (char **d = img->diff_ids; layers && d && *d; d++) {
		char *more = hull_strdup_printf("%s%s\n", layers, *d);

		free(layers);
		layers = more;
	}
	rootfs = hull_strdup_printf("%s/rootfs", app_path);
	cache = hull_strdup_printf("%s/vm", h->cache_path);
	if (!layers || !rootfs || !cache)
		return -ENOMEM;
	r = hull_digest_buffer(layers, strlen(layers), key);
	if (r < 0)
		return r;
	r = hull_read_file_at(adir, "config.json", &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "read config.json");
	r = hull_json_parse(text, len, "config.json", &cfg, reterr);
	if (r < 0)
		return r;
	return hull_microvm_run(&(struct hull_microvm_opts){ .cache_dir = cache,
							     .run_dir = app_path,
							     .rootfs = rootfs,
							     .rootfs_key = hull_digest_hex(key),
							     .cpus = o->vm_cpus,
							     .memory_mib = o->vm_memory_mib },
				id, cfg, ret_exit, reterr);
}

int hull_app_run(struct hull_home *h, const struct hull_app_opts *o, int *ret_exit, char **ret_name,
		 struct hull_error **reterr)
{
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	_cleanup_(hull_oci_image_config_freep) struct hull_oci_image_config *ic = NULL;
	_cleanup_free_ char *name = NULL, *id = NULL, *app_path = NULL;
	_cleanup_close_ int apps_fd = -EBADF, adir = -EBADF, lock = -EBADF, logfd = -EBADF,
			    null = -EBADF, csock = -EBADF;
	char csock_path[108];
	struct app_stdio saved = { { -EBADF, -EBADF, -EBADF } };
	struct app_meta meta = {};
	char created[32];
	time_t now = time(NULL);
	struct tm tm;
	int r, code = 0;

	if (o->vm && (o->detach || o->tty || (o->volumes && *o->volumes)))
		return hull_error_set(reterr, -EOPNOTSUPP, "--vm with %s is not supported yet",
				      o->detach ? "-d"
				      : o->tty	? "-t"
						: "-v");
	r = hull_oci_image_get(h->images, o->image, &img, reterr);
	if (r < 0)
		return r;
	r = hull_oci_image_config_get(h->images, img, &ic, NULL, reterr);
	if (r < 0)
		return r;
	name = o->name ? strdup(o->name) : generate_name();
	if (!name)
		return -ENOMEM;
	r = hull_app_name_check(name, reterr);
	if (r < 0)
		return r;
	id = runtime_id(name);
	app_path = hull_strdup_printf("%s/" APPS "/%s", h->path, name);
	if (!id || !app_path)
		return -ENOMEM;

	apps_fd = apps_dir(h, true);
	if (apps_fd < 0)
		return hull_error_errno(reterr, apps_fd, "open '%s/%s'", h->path, APPS);
	lock = lock_apps(apps_fd);
	if (lock < 0)
		return hull_error_errno(reterr, lock, "lock '%s'", APPS);
	if (mkdirat(apps_fd, name, 0700) < 0) {
		if (errno == EEXIST)
			return hull_error_set(reterr, -EEXIST,
					      "container name '%s' is already in use", name);
		return hull_error_errno(reterr, -errno, "create container '%s'", name);
	}
	adir = openat(apps_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (adir < 0) {
		r = hull_error_errno(reterr, -errno, "open container '%s'", name);
		goto fail;
	}
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	meta = (struct app_meta){ .name = name,
				  .image = img->digest,
				  .image_ref = (char *)o->image,
				  .created = created,
				  .status = (char *)"created",
				  .rm = o->rm };
	r = meta_write(adir, &meta);
	if (r < 0) {
		r = hull_error_errno(reterr, r, "write '%s'", APP_JSON);
		goto fail;
	}
	lock = safe_close(lock);

	r = app_prepare(h, o, img, ic, name, adir, app_path, reterr);
	if (r < 0)
		goto fail;

	if (!o->interactive || o->detach) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || app_stdio_replace(&saved, 0, null) < 0) {
			r = hull_error_errno(reterr, -errno, "stdin");
			goto fail;
		}
	}
	if (o->detach) {
		logfd = openat(adir, "console.log",
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (logfd < 0 || app_stdio_replace(&saved, 1, logfd) < 0 ||
		    app_stdio_replace(&saved, 2, logfd) < 0) {
			r = hull_error_errno(reterr, -errno, "console.log");
			app_stdio_restore(&saved);
			goto fail;
		}
	}
	if (o->detach && o->tty) {
		/* the terminal outlives hull run: the runtime sends its master to console.sock */
		csock = app_console_listen(adir, csock_path, sizeof(csock_path), reterr);
		if (csock < 0) {
			r = csock;
			app_stdio_restore(&saved);
			goto fail;
		}
	}
	if (o->vm)
		r = app_run_vm(h, o, img, id, adir, app_path, &code, reterr);
	else
		r = hull_container_run(&h->rt, id,
				       &(struct hull_create_opts){
					       .bundle = app_path,
					       .console_socket = csock >= 0 ? csock_path : NULL },
				       o->detach, false, &code, reterr);
	app_stdio_restore(&saved);
	if (csock >= 0) {
		if (r >= 0)
			r = app_console_keep(csock, logfd, reterr);
		app_console_unlink(adir);
	}
	if (r < 0) {
		hull_error_wrap(reterr, r, "run '%s'", name);
		goto fail;
	}
	if (o->detach) {
		meta.status = (char *)"running";
		(void)meta_write(adir, &meta);
		if (o->rm)
			spawn_remover(h, name);
		if (ret_name)
			*ret_name = TAKE_PTR(name);
		return 0;
	}
	if (o->rm) {
		(void)app_dir_remove(apps_fd, name);
	} else {
		_cleanup_free_ char *rootfs = hull_strdup_printf("%s/rootfs", app_path);

		meta.status = (char *)"exited";
		meta.exit_code = code;
		(void)meta_write(adir, &meta);
		if (rootfs)
			(void)umount2(rootfs, MNT_DETACH);
	}
	*ret_exit = code;
	return 0;
fail:
	(void)hull_container_delete(&h->rt, id, true, NULL);
	(void)app_dir_remove(apps_fd, name);
	return r;
}

/* ---- list, remove, in use ------------------------------------------------------------------- */

static int cmp_info(const void *a, const void *b)
{
	return strcmp((*(struct hull_app_info *const *)a)->name,
		      (*(struct hull_app_info *const *)b)->name);
}

static int app_info(struct hull_home *h, int apps_fd, const char *name, struct hull_app_info **ret)
{
	_cleanup_close_ int dfd =
		openat(apps_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_(hull_app_info_freep) struct hull_app_info *i = NULL;
	_cleanup_free_ char *id = runtime_id(name);
	struct hull_state *st = NULL;
	struct app_meta m = {};
	int r;

	if (dfd < 0)
		return -errno;
	r = meta_read(dfd, &m);
	if (r < 0)
		return r;
	i = calloc(1, sizeof(*i));
	if (!i || !id) {
		meta_done(&m);
		return -ENOMEM;
	}
	i->name = m.name;
	i->image = m.image;
	i->image_ref = m.image_ref;
	i->created = m.created;
	i->status = m.status;
	if (hull_container_state(&h->rt, id, &st, NULL) >= 0) {
		free(i->status);
		i->status =
			strdup(st->status == HULL_STATUS_STOPPED ? "exited"
								 : hull_status_name(st->status));
		i->pid = st->pid;
		hull_state_free(st);
	} else if (i->status && !streq(i->status, "exited")) {
		free(i->status);
		i->status = strdup("exited");
	}
	*ret = TAKE_PTR(i);
	return 0;
}

int hull_app_list(struct hull_home *h, struct hull_app_info ***ret, size_t *ret_n,
		  struct hull_error **reterr)
{
	_cleanup_close_ int apps_fd = apps_dir(h, false);
	struct hull_app_info **l = NULL;
	size_t n = 0;
	DIR *d = NULL;
	struct dirent *de;

	if (apps_fd < 0 || hull_opendir_dup(apps_fd, &d) < 0) {
		*ret = calloc(1, sizeof(*l));
		*ret_n = 0;
		return *ret ? 0 : -ENOMEM;
	}
	while ((de = readdir(d))) {
		struct hull_app_info *i = NULL, **nl;

		if (de->d_name[0] == '.' || app_info(h, apps_fd, de->d_name, &i) < 0)
			continue;
		nl = reallocarray(l, n + 2, sizeof(*l));
		if (!nl) {
			hull_app_info_free(i);
			hull_app_info_list_free(l, n);
			closedir(d);
			return hull_error_errno(reterr, -ENOMEM, "list containers");
		}
		l = nl;
		l[n++] = i;
		l[n] = NULL;
	}
	closedir(d);
	if (!l)
		l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	qsort(l, n, sizeof(*l), cmp_info);
	*ret = l;
	*ret_n = n;
	return 0;
}

bool hull_app_exists(struct hull_home *h, const char *name)
{
	_cleanup_close_ int apps_fd = apps_dir(h, false);

	if (apps_fd < 0 || hull_app_name_check(name, NULL) < 0)
		return false;
	return faccessat(apps_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Waits up to ms for the container to stop; true when it did (or is gone). */
static bool wait_stopped(struct hull_home *h, const char *id, unsigned ms)
{
	for (unsigned waited = 0;; waited += 100) {
		struct hull_state *st = NULL;
		bool stopped;

		if (hull_container_state(&h->rt, id, &st, NULL) < 0)
			return true;
		stopped = st->status == HULL_STATUS_STOPPED;
		hull_state_free(st);
		if (stopped)
			return true;
		if (waited >= ms)
			return false;
		usleep(100 * 1000);
	}
}

int hull_app_stop(struct hull_home *h, const char *name, unsigned timeout, bool force,
		  struct hull_error **reterr)
{
	_cleanup_close_ int apps_fd = apps_dir(h, false), adir = -EBADF;
	_cleanup_free_ char *id = runtime_id(name);
	struct app_meta m = {};
	char path[128];
	int r;

	if (!id)
		return -ENOMEM;
	if (apps_fd < 0 || hull_app_name_check(name, NULL) < 0 ||
	    (adir = openat(apps_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return hull_error_set(reterr, -ENOENT, "no container '%s'", name);
	if (!wait_stopped(h, id, 0)) {
		(void)hull_container_kill(&h->rt, id, force ? SIGKILL : SIGTERM, false, NULL);
		if (!wait_stopped(h, id, force ? 5000 : timeout * 1000)) {
			(void)hull_container_kill(&h->rt, id, SIGKILL, false, NULL);
			if (!wait_stopped(h, id, 10000))
				return hull_error_set(reterr, -ETIMEDOUT,
						      "container '%s' did not stop", name);
		}
	}
	r = hull_container_delete(&h->rt, id, true, NULL);
	if (r < 0 && r != -ENOENT)
		return hull_error_errno(reterr, r, "stop '%s'", name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/rootfs", adir);
	(void)umount2(path, MNT_DETACH);
	if (meta_read(adir, &m) >= 0) {
		free(m.status);
		m.status = strdup("exited");
		(void)meta_write(adir, &m);
		meta_done(&m);
	}
	return 0;
}

int hull_app_log_open(struct hull_home *h, const char *name, int *ret_fd,
		      struct hull_error **reterr)
{
	_cleanup_close_ int apps_fd = apps_dir(h, false), adir = -EBADF;
	int fd;

	if (apps_fd < 0 || hull_app_name_check(name, NULL) < 0 ||
	    (adir = openat(apps_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return hull_error_set(reterr, -ENOENT, "no container '%s'", name);
	fd = openat(adir, "console.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int hull_app_remove(struct hull_home *h, const char *name, bool force, unsigned timeout,
		    struct hull_error **reterr)
{
	_cleanup_close_ int apps_fd = apps_dir(h, false);
	_cleanup_free_ char *id = runtime_id(name);
	struct hull_state *st = NULL;
	int r;

	if (!id)
		return -ENOMEM;
	if (apps_fd < 0 || hull_app_name_check(name, NULL) < 0 ||
	    faccessat(apps_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error_set(reterr, -ENOENT, "no container '%s'", name);
	if (hull_container_state(&h->rt, id, &st, NULL) >= 0) {
		bool running =
			st->status == HULL_STATUS_RUNNING || st->status == HULL_STATUS_PAUSED;

		hull_state_free(st);
		if (running && !force)
			return hull_error_set(reterr, -EBUSY,
					      "container '%s' is running (stop it, or --force)",
					      name);
		if (running) {
			(void)hull_container_kill(&h->rt, id, SIGTERM, false, NULL);
			for (unsigned i = 0; i < timeout * 10; i++) {
				st = NULL;
				if (hull_container_state(&h->rt, id, &st, NULL) < 0)
					break;
				running = st->status != HULL_STATUS_STOPPED;
				hull_state_free(st);
				if (!running)
					break;
				usleep(100 * 1000);
			}
		}
		r = hull_container_delete(&h->rt, id, true, reterr);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	r = app_dir_remove(apps_fd, name);
	if (r < 0)
		return hull_error_errno(reterr, r, "remove container '%s'", name);
	return 0;
}

int hull_app_images_in_use(struct hull_home *h, char ***ret, struct hull_error **reterr)
{
	struct hull_app_info **l = NULL;
	_cleanup_strv_free_ char **out = calloc(1, sizeof(char *));
	size_t n = 0;
	int r;

	if (!out)
		return -ENOMEM;
	r = hull_app_list(h, &l, &n, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!hull_strv_contains(out, l[i]->image) &&
		    hull_strv_push(&out, l[i]->image) < 0) {
			hull_app_info_list_free(l, n);
			return -ENOMEM;
		}
	hull_app_info_list_free(l, n);
	*ret = TAKE_PTR(out);
	return 0;
}

int hull_app_image_in_use(struct hull_home *h, const char *digest, char **ret_name)
{
	struct hull_app_info **l = NULL;
	size_t n = 0;
	int found = 0;

	if (hull_app_list(h, &l, &n, NULL) < 0)
		return 0;
	for (size_t i = 0; i < n && !found; i++)
		if (streq(l[i]->image, digest)) {
			found = 1;
			if (ret_name)
				*ret_name = strdup(l[i]->name);
		}
	hull_app_info_list_free(l, n);
	return found;
}
