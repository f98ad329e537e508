/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "storage/storage.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define STOP_KILL_WAIT_SEC 10 /* after SIGKILL, how long until we call it stuck */
#define START_WAIT_SEC 120    /* how long `start` waits for the monitor's word */

const char *hull_instance_status_name(enum hull_instance_status s)
{
	switch (s) {
	case HULL_INSTANCE_RUNNING:
		return "running";
	case HULL_INSTANCE_ERROR:
		return "error";
	case HULL_INSTANCE_STOPPED:
	default:
		return "stopped";
	}
}

void hull_instance_info_free(struct hull_instance_info *i)
{
	if (!i)
		return;
	hull_instance_config_free(i->config);
	free(i->started);
	free(i->error);
	hull_strv_free(i->ipv4);
	free(i);
}

void hull_instance_info_list_free(struct hull_instance_info **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hull_instance_info_free(l[i]);
	free(l);
}

void instance_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int instance_open(struct hull_home *h, const char *name, struct hull_error **reterr)
{
	int r = hull_instance_name_check(name, reterr), fd;

	if (r < 0)
		return r;
	fd = openat(h->instances_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return hull_error_set(reterr, -ENOENT, "unknown instance '%s'", name);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open instance '%s'", name);
	return fd;
}

int instance_config_load(int dirfd, struct hull_instance_config **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = hull_read_file_at(dirfd, "instance.json", &text, &len);

	if (r < 0)
		return hull_error_errno(reterr, r, "read 'instance.json'");
	return hull_instance_config_parse(text, len, ret, reterr);
}

int instance_lock(int dirfd, struct hull_error **reterr)
{
	int fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open lock");
	if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
		int r = -errno;

		close(fd);
		return hull_error_errno(reterr, r, "lock");
	}
	return fd;
}

bool instance_monitor_alive(int dirfd)
{
	_cleanup_close_ int fd = openat(dirfd, "monitor.lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

/* The kernel's id of this boot: a state recorded in another boot is stale. */
static int boot_id(char ret[64])
{
	_cleanup_free_ char *s = NULL;
	int r = hull_read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", &s, NULL);

	if (r < 0)
		return r;
	s[strcspn(s, "\n")] = '\0';
	snprintf(ret, 64, "%s", s);
	return 0;
}

int instance_state_write(int dirfd, const char *status, pid_t init_pid, pid_t monitor_pid,
			 const char *started, int last_exit)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	char boot[64];
	const char *text;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "init_pid", json_object_new_int(init_pid));
	json_object_object_add(o, "monitor_pid", json_object_new_int(monitor_pid));
	if (started)
		json_object_object_add(o, "started", json_object_new_string(started));
	json_object_object_add(o, "last_exit", json_object_new_int(last_exit));
	if (boot_id(boot) >= 0)
		json_object_object_add(o, "boot_id", json_object_new_string(boot));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	return hull_write_file_atomic_at(dirfd, "state.json", text, strlen(text), 0644,
					 HULL_ATOMIC_SYNC);
}

struct saved_state {
	char *status;
	char *boot_id;
	int init_pid, monitor_pid, last_exit;
	char *started;
};

static const struct hull_json_field state_fields[] = {
	{ "status", hull_json_parse_string, offsetof(struct saved_state, status), true },
	{ "init_pid", hull_json_parse_int, offsetof(struct saved_state, init_pid), false },
	{ "monitor_pid", hull_json_parse_int, offsetof(struct saved_state, monitor_pid), false },
	{ "last_exit", hull_json_parse_int, offsetof(struct saved_state, last_exit), false },
	{ "started", hull_json_parse_string, offsetof(struct saved_state, started), false },
	{ "boot_id", hull_json_parse_string, offsetof(struct saved_state, boot_id), false },
	{},
};

static void state_read(int dirfd, struct saved_state *s)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ char *text = NULL;
	char boot[64];
	size_t len = 0;

	*s = (struct saved_state){ .last_exit = -1 };
	if (hull_read_file_at(dirfd, "state.json", &text, &len) < 0 ||
	    hull_json_parse(text, len, "state.json", &o, NULL) < 0 ||
	    hull_json_dispatch("", o, state_fields, s, HULL_JSON_ALLOW_UNKNOWN, NULL) < 0) {
		free(s->status);
		free(s->started);
		free(s->boot_id);
		*s = (struct saved_state){ .last_exit = -1 };
		return;
	}
	/* recorded before the machine rebooted: nothing of it runs any more */
	if (s->boot_id && boot_id(boot) >= 0 && !streq(boot, s->boot_id) &&
	    !streq(s->status, "stopped")) {
		free(s->status);
		s->status = strdup("stopped");
	}
	free(s->boot_id);
	s->boot_id = NULL;
}

size_t instance_count_snapshots(int dirfd)
{
	int fd = openat(dirfd, "snapshots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && hull_snapshot_name_check(de->d_name, NULL) >= 0)
			n++;
	closedir(d);
	return n;
}

static int info_load(struct hull_home *h, int dirfd, struct hull_instance_info **ret,
		     struct hull_error **reterr)
{
	_cleanup_(hull_instance_info_freep) struct hull_instance_info *i = calloc(1, sizeof(*i));
	struct saved_state s;
	int r;

	if (!i)
		return -ENOMEM;
	r = instance_config_load(dirfd, &i->config, reterr);
	if (r < 0)
		return r;
	state_read(dirfd, &s);
	i->snapshots = instance_count_snapshots(dirfd);
	i->last_exit = s.last_exit;
	i->started = TAKE_PTR(s.started);
	if (instance_monitor_alive(dirfd)) {
		i->status = HULL_INSTANCE_RUNNING;
		i->init_pid = s.init_pid;
		i->monitor_pid = s.monitor_pid;
		i->ipv4 = hull_instance_ipv4(h, i->config);
	} else if (s.status && (streq(s.status, "running") || streq(s.status, "starting"))) {
		i->status = HULL_INSTANCE_ERROR;
		i->error = hull_strdup_printf("the monitor (pid %d) died while the instance ran",
					      s.monitor_pid);
	} else {
		i->status = HULL_INSTANCE_STOPPED;
	}
	free(s.status);
	*ret = TAKE_PTR(i);
	return 0;
}

int hull_instance_get(struct hull_home *h, const char *name, struct hull_instance_info **ret,
		      struct hull_error **reterr)
{
	_cleanup_close_ int dfd = instance_open(h, name, reterr);

	if (dfd < 0)
		return dfd;
	return info_load(h, dfd, ret, reterr);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int instance_list_names(struct hull_home *h, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
	struct dirent *de;
	DIR *d;
	int dfd;

	if (!names)
		return -ENOMEM;
	dfd = openat(h->instances_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		safe_close(dfd);
		return hull_error_errno(reterr, -errno, "read instances");
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || hull_instance_name_check(de->d_name, NULL) < 0)
			continue;
		if (hull_strv_push(&names, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	qsort(names, hull_strv_length(names), sizeof(char *), cmp_name);
	*ret = TAKE_PTR(names);
	return 0;
}

int hull_instance_list(struct hull_home *h, struct hull_instance_info ***ret, size_t *ret_n,
		       struct hull_error **reterr)
{
	_cleanup_strv_free_ char **names = NULL;
	struct hull_instance_info **l;
	size_t n, k = 0;
	int r = instance_list_names(h, &names, reterr);

	if (r < 0)
		return r;
	n = hull_strv_length(names);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int dfd = openat(h->instances_fd, names[i],
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		/* deleted meanwhile, or half-made by a crash: not an instance */
		if (dfd < 0 || info_load(h, dfd, &l[k], NULL) < 0)
			continue;
		k++;
	}
	*ret = l;
	*ret_n = k;
	return 0;
}

int hull_instance_image_in_use(struct hull_home *h, const char *fingerprint, char **ret_name)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = instance_list_names(h, &names, NULL);

	if (r < 0)
		return r;
	hull_strv_foreach (n, names) {
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;
		_cleanup_close_ int dfd =
			openat(h->instances_fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0 || instance_config_load(dfd, &c, NULL) < 0)
			continue;
		if (streq(c->image, fingerprint)) {
			if (ret_name)
				*ret_name = strdup(n);
			return 1;
		}
	}
	return 0;
}

int instance_cleanup(struct hull_home *h, int dirfd, const char *name, int last_exit,
		     struct hull_error **reterr)
{
	_cleanup_error_ struct hull_error *ignored = NULL;
	_cleanup_(hull_state_freep) struct hull_state *st = NULL;
	int r;

	if (hull_container_state(&h->rt, name, &st, &ignored) >= 0) {
		r = hull_container_delete(&h->rt, name, true, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "delete the container of '%s'", name);
	}
	r = hull_storage_umount(dirfd, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "'%s'", name);
	{
		_cleanup_(hull_instance_config_freep) struct hull_instance_config *c = NULL;

		if (instance_config_load(dirfd, &c, NULL) >= 0)
			instance_nics_stopped(c);
	}
	r = instance_state_write(dirfd, "stopped", 0, 0, NULL, last_exit);
	if (r < 0)
		return hull_error_errno(reterr, r, "write the state of '%s'", name);
	return 0;
}

/* Waits until the monitor released monitor.lock, up to `seconds`. */
static bool wait_monitor_gone(int dirfd, unsigned seconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (!instance_monitor_alive(dirfd))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)seconds)
			return false;
		usleep(50 * 1000);
	}
}

/*
 * The container's root (a subordinate uid) opens the bundle by its path:
 * every directory above it must be searchable by others.
 */
static int check_searchable(const char *path, struct hull_error **reterr)
{
	_cleanup_free_ char *p = strdup(path);
	struct stat st;

	if (!p)
		return -ENOMEM;
	for (char *slash = p + strlen(p); slash > p; slash = strrchr(p, '/')) {
		*slash = '\0';
		if (!*p)
			break;
		if (stat(p, &st) < 0)
			return hull_error_errno(reterr, -errno, "stat '%s'", p);
		if (!(st.st_mode & S_IXOTH))
			return hull_error_set(
				reterr, -EACCES,
				"'%s' (mode %04o) is not searchable by the instance's "
				"root: every directory above the state directory "
				"needs o+x",
				p, (unsigned)(st.st_mode & 07777));
	}
	return 0;
}

int hull_instance_start(struct hull_home *h, const char *name, struct hull_error **reterr)
{
	_cleanup_(hull_instance_config_freep) struct hull_instance_config *own = NULL, *c = NULL;
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF, image = -EBADF, rd = -EBADF;
	struct hull_storage_idmap map;
	char msg[1024];
	size_t got = 0;
	int p[2], r;
	pid_t pid;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return hull_error_wrap(reterr, lock, "start '%s'", name);
	r = instance_config_load(dfd, &own, reterr);
	if (r >= 0)
		r = hull_instance_config_expand(h, own, &c, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "start '%s'", name);
	if (instance_monitor_alive(dfd))
		return hull_error_set(reterr, -EBUSY, "instance '%s' is already running", name);
	/* leftovers of a monitor that died */
	r = instance_cleanup(h, dfd, name, -1, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "start '%s'", name);

	{
		/* the instance dir itself belongs to the instance's root */
		_cleanup_free_ char *inst = hull_strdup_printf("%s/instances/", h->path);

		r = inst ? check_searchable(inst, reterr) : -ENOMEM;
		if (r < 0)
			return hull_error_wrap(reterr, r, "start '%s'", name);
	}
	r = instance_storage_align(h, dfd, own, instance_privileged(c), reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "start '%s'", name);
	r = hull_image_rootfs_open(h->images, c->image, &image, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "start '%s'", name);
	/* a privileged instance sees the image's own ids: no mapping */
	map = instance_privileged(c)
		      ? (struct hull_storage_idmap){ 0, 0, c->id_count }
		      : (struct hull_storage_idmap){ c->uid_base, c->gid_base, c->id_count };
	{
		/* HULL_STORAGE_SHIFT=1: the ownership-shift fallback even where
		 * id-mapped mounts work (how its tests run it on this kernel) */
		const char *shift = getenv("HULL_STORAGE_SHIFT");

		r = hull_storage_mount(dfd, image, &map,
				       shift && streq(shift, "1") ? HULL_STORAGE_SHIFT : 0, reterr);
	}
	if (r < 0)
		return hull_error_wrap(reterr, r, "start '%s'", name);
	r = instance_nics_write_config(dfd, c, instance_privileged(c), reterr);
	if (r >= 0)
		r = instance_oci_write(dfd, c, reterr);
	if (r < 0)
		goto fail;
	/* a stop mark left by a `hull stop` that died */
	unlinkat(dfd, "stopping", 0);

	if (pipe2(p, O_CLOEXEC) < 0) {
		r = hull_error_errno(reterr, -errno, "pipe");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		r = hull_error_errno(reterr, -errno, "fork the monitor");
		safe_close(p[0]);
		safe_close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		/* the middle child: a new session, then the monitor, which init(1) adopts */
		safe_close(p[0]);
		safe_close(lock);
		setsid();
		pid = fork();
		if (pid < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		hull_monitor_main(h, name, p[1]);
	}
	safe_close(p[1]);
	rd = p[0];
	RETRY_EINTR(waitpid(pid, NULL, 0));

	/* the monitor writes "ok" or an error line, then closes its end */
	for (;;) {
		struct pollfd pfd = { .fd = rd, .events = POLLIN };
		ssize_t n;

		r = RETRY_EINTR(poll(&pfd, 1, START_WAIT_SEC * 1000));
		if (r == 0) {
			r = hull_error_set(reterr, -ETIMEDOUT,
					   "start '%s': no word from the monitor after %d s", name,
					   START_WAIT_SEC);
			goto fail;
		}
		n = RETRY_EINTR(read(rd, msg + got, sizeof(msg) - 1 - got));
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(msg) - 1)
			break;
	}
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (streq(msg, "ok"))
		return 0;
	if (!*msg)
		r = hull_error_set(reterr, -EIO, "start '%s': the monitor died", name);
	else
		r = hull_error_set(reterr, -EIO, "start '%s': %s", name, msg);
	/* the monitor cleans up after itself; make sure in case it died */
	wait_monitor_gone(dfd, 10);
fail : {
	_cleanup_error_ struct hull_error *ignored = NULL;

	if (!instance_monitor_alive(dfd))
		instance_cleanup(h, dfd, name, -1, &ignored);
}
	return r < 0 ? r : -EIO;
}

/* Halts init (or kills it with `force`, or after `timeout`); true once the monitor is gone. */
static bool stop_wait(struct hull_home *h, int dfd, const char *name, unsigned timeout, bool force)
{
	_cleanup_error_ struct hull_error *ignored = NULL;

	if (!force) {
		int r = hull_container_kill(&h->rt, name, SIGRTMIN + 3, false, &ignored);

		if (r >= 0 && wait_monitor_gone(dfd, timeout))
			return true;
	}
	/* a reboot between two containers: the kill may find none, the wait goes on */
	for (int i = 0; i < STOP_KILL_WAIT_SEC; i++) {
		hull_error_free(ignored);
		ignored = NULL;
		hull_container_kill(&h->rt, name, SIGKILL, false, &ignored);
		if (wait_monitor_gone(dfd, 1))
			return true;
	}
	return false;
}

int hull_instance_stop(struct hull_home *h, const char *name, unsigned timeout, bool force,
		       struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF, lock = -EBADF;
	struct saved_state s;
	int r;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	lock = instance_lock(dfd, reterr);
	if (lock < 0)
		return hull_error_wrap(reterr, lock, "stop '%s'", name);
	if (!instance_monitor_alive(dfd)) {
		state_read(dfd, &s);
		bool was_running = s.status && !streq(s.status, "stopped");

		free(s.status);
		free(s.started);
		if (!was_running)
			return hull_error_set(reterr, -EINVAL, "instance '%s' is not running",
					      name);
		/* the monitor died: stop what it left, ourselves */
		r = instance_cleanup(h, dfd, name, -1, reterr);
		return r < 0 ? hull_error_wrap(reterr, r, "stop '%s'", name) : 0;
	}
	/* the monitor does not turn a reboot under way into a new boot */
	r = hull_write_file_atomic_at(dfd, "stopping", "", 0, 0600, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "stop '%s': write 'stopping'", name);
	r = stop_wait(h, dfd, name, timeout, force);
	unlinkat(dfd, "stopping", 0);
	if (r)
		return 0;
	return hull_error_set(reterr, -ETIMEDOUT,
			      "stop '%s': still running %d s after SIGKILL (see its monitor.log)",
			      name, STOP_KILL_WAIT_SEC);
}

int hull_instance_delete(struct hull_home *h, const char *name, bool force,
			 struct hull_error **reterr)
{
	_cleanup_close_ int dfd = -EBADF;
	char tmp[128];
	int r;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	if (instance_monitor_alive(dfd)) {
		if (!force)
			return hull_error_set(reterr, -EBUSY,
					      "instance '%s' is running (stop it first, or delete "
					      "--force)",
					      name);
		r = hull_instance_stop(h, name, 0, true, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "delete '%s'", name);
	}
	{
		_cleanup_close_ int lock = instance_lock(dfd, reterr);

		if (lock < 0)
			return hull_error_wrap(reterr, lock, "delete '%s'", name);
		if (instance_monitor_alive(dfd))
			return hull_error_set(reterr, -EBUSY,
					      "delete '%s': it was started meanwhile", name);
		r = instance_cleanup(h, dfd, name, -1, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "delete '%s'", name);
		/* renamed first: a crash mid-removal leaves a .tmp dir, never a half instance */
		snprintf(tmp, sizeof(tmp), ".tmp-delete-%s-%d", name, (int)getpid());
		if (renameat(h->instances_fd, name, h->instances_fd, tmp) < 0)
			return hull_error_errno(reterr, -errno, "delete '%s'", name);
	}
	r = hull_rm_rf_at(h->instances_fd, tmp);
	if (r < 0)
		return hull_error_errno(reterr, r, "delete '%s': remove its directory", name);
	return 0;
}
