/* SPDX-License-Identifier: Apache-2.0 */
/* The state directory: one locked directory per container, state.json inside. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "linux/cgroup.h"
#include "linux/hooks.h"
#include "runtime/runtime-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

static const char *const status_names[] = {
	[HULL_STATUS_CREATING] = "creating", [HULL_STATUS_CREATED] = "created",
	[HULL_STATUS_RUNNING] = "running",   [HULL_STATUS_PAUSED] = "paused",
	[HULL_STATUS_STOPPED] = "stopped",
};

const char *hull_status_name(enum hull_status s)
{
	return status_names[s];
}

void hull_state_free(struct hull_state *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->owner);
	free(s->cgroup);
	hull_strv_free(s->annotations);
	free(s);
}

void hull_state_list_free(struct hull_state **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hull_state_free(l[i]);
	free(l);
}

int hull_container_id_check(const char *id, struct hull_error **reterr)
{
	if (!id || !*id)
		return hull_error_set(reterr, -EINVAL, "container id must not be empty");
	if (streq_dots(id) || strlen(id) > 255) /* it names a directory */
		return hull_error_set(reterr, -EINVAL, "invalid container id '%s'", id);
	for (const char *p = id; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		      ('0' <= *p && *p <= '9') || strchr("_+-.", *p)))
			return hull_error_set(reterr, -EINVAL, "invalid container id '%s'", id);
	return 0;
}

char *now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return strdup(buf);
}

int state_root_open(const struct hull_runtime *rt, bool create, int *ret_fd,
		    struct hull_error **reterr)
{
	int fd;

	fd = open(rt->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		int r = hull_mkdir_p_at(AT_FDCWD, rt->root, 0711);

		if (r < 0)
			return hull_error_errno(reterr, r, "create state root '%s'", rt->root);
		fd = open(rt->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open state root '%s'", rt->root);
	*ret_fd = fd;
	return 0;
}

/* How long a command waits for a container's lock before it says "busy". */
#define LOCK_WAIT_MS 5000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

pid_t container_lock_holder(int fd)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	struct stat st;

	if (fstat(fd, &st) < 0 || hull_read_file_at(AT_FDCWD, "/proc/locks", &text, NULL) < 0)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; "1: -> FLOCK ..." waits for it */
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		unsigned long long ino;
		int pid;

		if (strstr(l, "->") ||
		    sscanf(l, "%*d: FLOCK %*s %*s %d %x:%x:%llu", &pid, &maj, &min, &ino) != 4)
			continue;
		if (maj == major(st.st_dev) && min == minor(st.st_dev) && ino == st.st_ino &&
		    pid > 0)
			return pid;
	}
	return 0;
}

int container_dir_lock(int fd, const char *id, bool exclusive, pid_t *ret_holder,
		       struct hull_error **reterr)
{
	uint64_t deadline = now_ms() + LOCK_WAIT_MS;
	unsigned step = 1;
	pid_t holder;

	/* a holder may be stuck for good: poll with backoff instead of blocking in flock() */
	for (;;) {
		if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return hull_error_errno(reterr, -errno, "lock '%s'", id);
		if (now_ms() >= deadline)
			break;
		sleep_ms(step);
		step = step * 2 > 100 ? 100 : step * 2;
	}
	holder = container_lock_holder(fd);
	if (ret_holder)
		*ret_holder = holder;
	if (holder > 0)
		return hull_error_set(reterr, -EBUSY, "container '%s' is busy (held by pid %d)", id,
				      (int)holder);
	return hull_error_set(reterr, -EBUSY, "container '%s' is busy (locked by another process)",
			      id);
}

bool container_dir_deleted(int fd)
{
	struct stat st;

	if (faccessat(fd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
		return false;
	return fstat(fd, &st) == 0 && st.st_nlink == 0;
}

int container_dir_open_unlocked(const struct hull_runtime *rt, const char *id, int *ret_fd,
				struct hull_error **reterr)
{
	_cleanup_close_ int root = -EBADF, fd = -EBADF;
	int r;

	r = hull_container_id_check(id, reterr);
	if (r < 0)
		return r;
	r = state_root_open(rt, false, &root, NULL);
	if (r == -ENOENT)
		return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	if (r < 0)
		return hull_error_errno(reterr, r, "open state root '%s'", rt->root);
	fd = openat(root, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
		return hull_error_errno(reterr, -errno, "open state of '%s'", id);
	}
	if (container_dir_deleted(fd))
		return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int container_dir_open(const struct hull_runtime *rt, const char *id, bool exclusive, int *ret_fd,
		       struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = container_dir_open_unlocked(rt, id, &fd, reterr);
	if (r < 0)
		return r;
	r = container_dir_lock(fd, id, exclusive, NULL, reterr);
	if (r < 0)
		return r;
	/* a concurrent delete may have removed it while we waited for the lock */
	if (container_dir_deleted(fd))
		return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int container_dir_remove(const struct hull_runtime *rt, const char *id)
{
	_cleanup_close_ int root = -EBADF;
	int r;

	r = state_root_open(rt, false, &root, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return hull_rm_rf_at(root, id);
}

int proc_pid_start_time(pid_t pid, uint64_t *ret, bool *ret_zombie)
{
	char path[64], buf[1024], *p;
	_cleanup_close_ int fd = -EBADF;
	unsigned long long start = 0;
	ssize_t n;
	char st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = hull_read_all(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1,
			 " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			 "%*d %*d %llu",
			 &st, &start) != 2)
		return -EIO;
	*ret = start;
	if (ret_zombie)
		*ret_zombie = st == 'Z' || st == 'X';
	return 0;
}

static bool state_pid_alive(const struct hull_state *s)
{
	uint64_t start;
	bool zombie;

	if (s->pid <= 0)
		return false;
	if (proc_pid_start_time(s->pid, &start, &zombie) < 0)
		return false;
	return start == s->pid_start && !zombie;
}

int state_open_pidfd(const struct hull_state *s)
{
	_cleanup_close_ int pidfd = -EBADF;

	if (s->pid <= 0)
		return -ESRCH;
	pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (pidfd < 0)
		return -errno;
	/* the pidfd pins the process: checking after opening it closes the reuse race */
	if (!state_pid_alive(s))
		return -ESRCH;
	return TAKE_FD(pidfd);
}

int pidfd_wait_exit(int pidfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int r;

	r = RETRY_EINTR(poll(&pfd, 1, timeout_ms));
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static const struct hull_json_field state_fields[] = {
	{ "id", hull_json_parse_string, offsetof(struct hull_state, id), true },
	{ "pid", hull_json_parse_int, offsetof(struct hull_state, pid), true },
	{ "pidStart", hull_json_parse_u64, offsetof(struct hull_state, pid_start), true },
	{ "bundle", hull_json_parse_string, offsetof(struct hull_state, bundle), true },
	{ "rootfs", hull_json_parse_string, offsetof(struct hull_state, rootfs), false },
	{ "created", hull_json_parse_string, offsetof(struct hull_state, created), false },
	{ "owner", hull_json_parse_string, offsetof(struct hull_state, owner), false },
	{ "annotations", hull_json_parse_string_map, offsetof(struct hull_state, annotations),
	  false },
	{ "cgroup", hull_json_parse_string, offsetof(struct hull_state, cgroup), false },
	{ "started", hull_json_parse_bool, offsetof(struct hull_state, started), false },
	{ "systemdCgroup", hull_json_parse_bool, offsetof(struct hull_state, systemd_cgroup),
	  false },
	{ "hooks", hull_json_parse_int, offsetof(struct hull_state, hooks), false },
	{ "pidns", hull_json_parse_int, offsetof(struct hull_state, pidns), false },
	{},
};

int state_load(int dirfd, const char *id, struct hull_state **ret, struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *s = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = hull_read_file_at(dirfd, STATE_FILE, &text, &len);
	if (r == -ENOENT) {
		/* the directory exists but create has not finished yet */
		s = calloc(1, sizeof(*s));
		if (!s || !(s->id = strdup(id)))
			return hull_error_errno(reterr, -ENOMEM, "state of '%s'", id);
		s->status = HULL_STATUS_CREATING;
		*ret = TAKE_PTR(s);
		return 0;
	}
	if (r < 0)
		return hull_error_errno(reterr, r, "read state of '%s'", id);
	r = hull_json_parse(text, len, "state.json", &o, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "state of '%s'", id);
	s = calloc(1, sizeof(*s));
	if (!s)
		return hull_error_errno(reterr, -ENOMEM, "state of '%s'", id);
	s->hooks = -1;
	r = hull_json_dispatch("", o, state_fields, s, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "state of '%s'", id);

	if (!state_pid_alive(s)) {
		s->status = HULL_STATUS_STOPPED;
	} else if (!s->started) {
		s->status = HULL_STATUS_CREATED;
	} else {
		_cleanup_(hull_cgroup_freep) struct hull_cgroup *cg = NULL;
		bool frozen = false;

		s->status = HULL_STATUS_RUNNING;
		if (state_cgroup(s, &cg, NULL) >= 0 && cg &&
		    hull_cgroup_is_frozen(cg, &frozen) >= 0 && frozen)
			s->status = HULL_STATUS_PAUSED;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

void state_probe_pidns(struct hull_state *s)
{
	_cleanup_close_ int pidfd = state_open_pidfd(s);
	_cleanup_free_ char *text = NULL;
	char path[64], *line, *last;

	if (pidfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	if (hull_read_file_at(AT_FDCWD, path, &text, NULL) < 0)
		return;
	/* "NSpid:\t4321\t1": the pid in each namespace, innermost last */
	line = strstr(text, "\nNSpid:");
	if (!line)
		return;
	line[strcspn(line + 1, "\n") + 1] = '\0';
	last = strrchr(line, '\t');
	if (!last)
		return;
	/* still the same process after the read: the pidfd pins it */
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return;
	s->pidns = streq(last + 1, "1") ? HULL_PIDNS_OWN : HULL_PIDNS_SHARED;
}

int state_save(int dirfd, struct hull_state *s, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *ann;
	const char *text;
	int r;

	if (!o)
		return hull_error_errno(reterr, -ENOMEM, "save state");
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "pidStart", json_object_new_uint64(s->pid_start));
	json_object_object_add(o, "bundle", json_object_new_string(s->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(s->rootfs ? s->rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(s->created ? s->created : ""));
	json_object_object_add(o, "owner", json_object_new_string(s->owner ? s->owner : ""));
	ann = json_object_new_object();
	for (char **a = s->annotations; a && a[0] && a[1]; a += 2)
		json_object_object_add(ann, a[0], json_object_new_string(a[1]));
	json_object_object_add(o, "annotations", ann);
	if (s->cgroup)
		json_object_object_add(o, "cgroup", json_object_new_string(s->cgroup));
	json_object_object_add(o, "started", json_object_new_boolean(s->started));
	json_object_object_add(o, "systemdCgroup", json_object_new_boolean(s->systemd_cgroup));
	json_object_object_add(o, "hooks", json_object_new_int(s->hooks));
	if (s->pidns == HULL_PIDNS_UNKNOWN && s->pid > 0)
		state_probe_pidns(s);
	if (s->pidns != HULL_PIDNS_UNKNOWN)
		json_object_object_add(o, "pidns", json_object_new_int((int)s->pidns));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	r = hull_write_file_atomic_at(dirfd, STATE_FILE, text, strlen(text), 0600, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "write state of '%s'", s->id);
	return 0;
}

struct json_object *hull_state_to_json(const struct hull_state *s)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "ociVersion", json_object_new_string(HULL_OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "pid",
			       json_object_new_int(s->status == HULL_STATUS_STOPPED ? 0 : s->pid));
	json_object_object_add(o, "status", json_object_new_string(hull_status_name(s->status)));
	json_object_object_add(o, "bundle", json_object_new_string(s->bundle ? s->bundle : ""));
	json_object_object_add(o, "rootfs", json_object_new_string(s->rootfs ? s->rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(s->created ? s->created : ""));
	json_object_object_add(o, "owner", json_object_new_string(s->owner ? s->owner : ""));
	if (s->annotations && s->annotations[0]) {
		struct json_object *ann = json_object_new_object();

		for (char **a = s->annotations; a[0] && a[1]; a += 2)
			json_object_object_add(ann, a[0], json_object_new_string(a[1]));
		json_object_object_add(o, "annotations", ann);
	}
	return o;
}

bool state_has_hooks(const struct hull_state *s, enum hull_oci_hook_kind kind)
{
	return s->hooks < 0 || (s->hooks & (1 << kind));
}

int state_load_config(int dirfd, struct hull_oci_config **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = hull_read_file_at(dirfd, CONFIG_FILE, &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "read saved config.json");
	return hull_oci_config_parse(text, len, ret, reterr);
}

int state_cgroup(const struct hull_state *s, struct hull_cgroup **ret, struct hull_error **reterr)
{
	if (!s->cgroup || !*s->cgroup) {
		*ret = NULL;
		return 0;
	}
	return hull_cgroup_from_path(s->cgroup, ret, reterr);
}

int pid_file_write(const char *path, pid_t pid, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -EBADF;
	const char *base;
	char buf[32];
	int n, r;

	dir = strdup(path);
	if (!dir)
		return hull_error_errno(reterr, -ENOMEM, "pid file");
	base = strrchr(path, '/');
	if (base) {
		dir[base - path] = '\0';
		base++;
		dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		base = path;
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return hull_error_errno(reterr, -errno, "write pid file '%s'", path);
	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	r = hull_write_file_atomic_at(dfd, base, buf, (size_t)n, 0644, 0);
	if (r < 0)
		return hull_error_errno(reterr, r, "write pid file '%s'", path);
	return 0;
}

/* The state a hook reads on stdin: `status` as given, and the pid even when "stopped". */
static struct json_object *hook_state_json(const struct hull_state *s, enum hull_status status)
{
	struct hull_state copy = *s;
	struct json_object *o;

	copy.status = status;
	o = hull_state_to_json(&copy);
	if (o)
		json_object_object_add(o, "pid", json_object_new_int(s->pid));
	return o;
}

int state_run_hooks(const struct hull_oci_config *c, enum hull_oci_hook_kind kind,
		    const struct hull_state *s, enum hull_status status, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;

	if (!c || c->hooks.n_hooks[kind] == 0)
		return 0;
	o = hook_state_json(s, status);
	if (!o)
		return hull_error_errno(reterr, -ENOMEM, "hooks");
	return hull_hooks_run(c->hooks.hooks[kind], c->hooks.n_hooks[kind],
			      hull_oci_hook_kind_name(kind),
			      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), reterr);
}

void state_run_hooks_each(const struct hull_oci_config *c, enum hull_oci_hook_kind kind,
			  const struct hull_state *s, enum hull_status status)
{
	_cleanup_json_ struct json_object *o = NULL;

	if (!c || c->hooks.n_hooks[kind] == 0)
		return;
	o = hook_state_json(s, status);
	if (!o)
		return;
	for (size_t i = 0; i < c->hooks.n_hooks[kind]; i++) {
		_cleanup_error_ struct hull_error *err = NULL;

		if (hull_hooks_run(&c->hooks.hooks[kind][i], 1, hull_oci_hook_kind_name(kind),
				   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
				   &err) < 0)
			hull_warn("%s", err->msg);
	}
}

char *state_container_process_state(const struct hull_oci_seccomp *sc, const struct hull_state *s,
				    pid_t pid, enum hull_status status)
{
	_cleanup_json_ struct json_object *ps = json_object_new_object();
	struct json_object *fds = json_object_new_array(), *st = hook_state_json(s, status);

	if (!ps || !fds || !st) {
		json_object_put(fds);
		json_object_put(st);
		return NULL;
	}
	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(ps, "ociVersion", json_object_new_string(HULL_OCI_VERSION));
	json_object_object_add(ps, "fds", fds);
	json_object_object_add(ps, "pid", json_object_new_int(pid));
	json_object_object_add(
		ps, "metadata",
		json_object_new_string(sc->listener_metadata ? sc->listener_metadata : ""));
	json_object_object_add(ps, "state", st);
	return strdup(json_object_to_json_string_ext(ps, JSON_C_TO_STRING_PLAIN));
}

int container_open_state(const struct hull_runtime *rt, const char *id, bool exclusive, int *ret_fd,
			 struct hull_state **ret, struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = container_dir_open(rt, id, exclusive, &fd, reterr);
	if (r < 0)
		return r;
	r = state_load(fd, id, ret, reterr);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int cmp_state(const void *a, const void *b)
{
	return strcmp((*(struct hull_state *const *)a)->id, (*(struct hull_state *const *)b)->id);
}

int hull_container_list(const struct hull_runtime *rt, struct hull_state ***ret, size_t *ret_n,
			struct hull_error **reterr)
{
	_cleanup_close_ int root = -EBADF;
	struct hull_state **l = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r;

	r = state_root_open(rt, false, &root, reterr);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	d = fdopendir(TAKE_FD(root));
	if (!d)
		return hull_error_errno(reterr, -errno, "list '%s'", rt->root);
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -EBADF;
		struct hull_state *s = NULL, **nl;

		if (de->d_name[0] == '.' || hull_container_id_check(de->d_name, NULL) < 0)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (state_load(fd, de->d_name, &s, NULL) < 0)
			continue;
		nl = realloc(l, (n + 1) * sizeof(*l));
		if (!nl) {
			hull_state_free(s);
			hull_state_list_free(l, n);
			closedir(d);
			return hull_error_errno(reterr, -ENOMEM, "list");
		}
		l = nl;
		l[n++] = s;
	}
	closedir(d);
	if (n > 1)
		qsort(l, n, sizeof(*l), cmp_state);
	*ret = l;
	*ret_n = n;
	return 0;
}

int hull_container_state(const struct hull_runtime *rt, const char *id, struct hull_state **ret,
			 struct hull_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	/* read-only, and state.json is replaced atomically: no lock to wait for */
	r = container_dir_open_unlocked(rt, id, &fd, reterr);
	if (r < 0)
		return r;
	return state_load(fd, id, ret, reterr);
}
