/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI bundles in micro-VMs (vm-bundle.h): the verbs, and the monitor that
 * holds the VM's agent session between them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "instance/microvm.h"
#include "instance/vm-bundle.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/file.h"
#include "util/json.h"
#include "util/socket.h"
#include "util/str.h"

#define VM_JSON "vm.json"
#define CTL "ctl"
#define MSG_MAX 65536
#define MAX_EXECS 15

/* ---- paths and state ------------------------------------------------------------------------ */

static char *dir_of(const char *root, const char *id)
{
	return hull_strdup_printf("%s/%s", root, id);
}

bool hull_vm_bundle_exists(const char *root, const char *id)
{
	_cleanup_free_ char *p = hull_strdup_printf("%s/%s/" VM_JSON, root, id);

	return p && hull_container_id_check(id, NULL) >= 0 && access(p, F_OK) == 0;
}

static int read_json(const char *path, struct json_object **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = hull_read_file_at(AT_FDCWD, path, &text, &len);

	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", path);
	return hull_json_parse(text, len, path, ret, reterr);
}

static struct json_object *annotations_of(struct json_object *config)
{
	struct json_object *a = NULL;

	if (!json_object_object_get_ex(config, "annotations", &a) ||
	    !json_object_is_type(a, json_type_object))
		return NULL;
	return a;
}

static const char *annotation(struct json_object *config, const char *key)
{
	struct json_object *a = annotations_of(config), *v = NULL;

	if (!a || !json_object_object_get_ex(a, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool hull_vm_bundle_wanted(const char *bundle)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/config.json", bundle);
	_cleanup_json_ struct json_object *cfg = NULL;
	const char *v;

	if (!path || read_json(path, &cfg, NULL) < 0)
		return false;
	v = annotation(cfg, HULL_VM_ISOLATION_ANNOTATION);
	return v && streq(v, "vm");
}

struct vm_state {
	const char *id, *bundle, *status;
	struct json_object *annotations;
	pid_t pid, monitor;
	int exit_code;
};

static int state_write(const char *dir, const struct vm_state *s)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *text;

	if (!o)
		return -ENOMEM;
	if (dfd < 0)
		return -errno;
	json_object_object_add(o, "ociVersion", json_object_new_string(HULL_OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "status", json_object_new_string(s->status));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "bundle", json_object_new_string(s->bundle));
	json_object_object_add(o, "annotations",
			       s->annotations ? json_object_get(s->annotations)
					      : json_object_new_object());
	json_object_object_add(o, "hull.monitor", json_object_new_int(s->monitor));
	json_object_object_add(o, "hull.exitCode", json_object_new_int(s->exit_code));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	return hull_write_file_atomic_at(dfd, VM_JSON, text, strlen(text), 0600, 0);
}

static int state_read(const char *root, const char *id, struct json_object **ret,
		      struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/%s/" VM_JSON, root, id);

	if (!path)
		return -ENOMEM;
	if (!hull_vm_bundle_exists(root, id))
		return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	return read_json(path, ret, reterr);
}

static int64_t json_int(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static bool alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int hull_vm_bundle_state(const char *root, const char *id, struct json_object **ret,
			 struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *st = NULL;
	int r = state_read(root, id, &o, reterr);

	if (r < 0)
		return r;
	/* a monitor that is gone (killed, crashed) took its VM with it */
	if (json_object_object_get_ex(o, "status", &st) &&
	    !streq(json_object_get_string(st), "stopped") &&
	    !alive((pid_t)json_int(o, "hull.monitor"))) {
		json_object_object_add(o, "status", json_object_new_string("stopped"));
		json_object_object_add(o, "pid", json_object_new_int(0));
	}
	*ret = TAKE_PTR(o);
	return 0;
}

/* ---- the control socket ---------------------------------------------------------------------- */

static int ctl_connect(const char *root, const char *id, struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/%s/" CTL, root, id);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!path)
		return -ENOMEM;
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "socket");
	if (strlen(path) >= sizeof(sa.sun_path))
		return hull_error_set(reterr, -ENAMETOOLONG, "'%s': path too long", path);
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_error_set(reterr, -ESRCH, "container '%s' is not running", id);
	return TAKE_FD(fd);
}

/* Sends one request and reads the one-line answer: "ok", "exit N" or "err MESSAGE". */
static int ctl_call(int fd, const char *req, const int *fds, size_t n_fds, char *answer,
		    size_t size, struct hull_error **reterr)
{
	ssize_t n;
	int r = hull_socket_send_fd(fd, n_fds > 0 ? fds[0] : -1, req, strlen(req));

	for (size_t i = 1; r >= 0 && i < n_fds; i++)
		r = hull_socket_send_fd(fd, fds[i], "f", 1);
	if (r < 0)
		return hull_error_errno(reterr, r, "talk to the VM's monitor");
	n = RETRY_EINTR(recv(fd, answer, size - 1, 0));
	if (n <= 0)
		return hull_error_set(reterr, -EIO, "the VM's monitor went away");
	answer[n] = 0;
	if (startswith(answer, "err "))
		return hull_error_set(reterr, -EIO, "%s", answer + 4);
	return 0;
}

static int simple_call(const char *root, const char *id, const char *req,
		       struct hull_error **reterr)
{
	_cleanup_close_ int fd = ctl_connect(root, id, reterr);
	char answer[4096];

	if (fd < 0)
		return fd;
	return ctl_call(fd, req, NULL, 0, answer, sizeof(answer), reterr);
}

int hull_vm_bundle_start(const char *root, const char *id, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *st = NULL;
	struct json_object *v = NULL;
	int r = hull_vm_bundle_state(root, id, &st, reterr);

	if (r < 0)
		return r;
	if (!json_object_object_get_ex(st, "status", &v) ||
	    !streq(json_object_get_string(v), "created"))
		return hull_error_set(reterr, -EINVAL, "container '%s' is not created (it is %s)",
				      id, v ? json_object_get_string(v) : "unknown");
	return simple_call(root, id, "start", reterr);
}

int hull_vm_bundle_kill(const char *root, const char *id, int sig, struct hull_error **reterr)
{
	char req[32];

	if (sig < 1 || sig > 64)
		return hull_error_set(reterr, -EINVAL, "signal %d: expected 1 to 64", sig);
	if (!hull_vm_bundle_exists(root, id))
		return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	snprintf(req, sizeof(req), "kill %d", sig);
	return simple_call(root, id, req, reterr);
}

int hull_vm_bundle_exec(const char *root, const char *id, struct json_object *process,
			int *ret_exit, struct hull_error **reterr)
{
	_cleanup_free_ char *req = NULL;
	_cleanup_close_ int fd = -EBADF;
	char answer[4096];
	int code, r;

	req = hull_strdup_printf("exec %s",
				 json_object_to_json_string_ext(process, JSON_C_TO_STRING_PLAIN));
	if (!req)
		return -ENOMEM;
	if (strlen(req) >= MSG_MAX)
		return hull_error_set(reterr, -E2BIG, "exec: the process is too large");
	if (!hull_vm_bundle_exists(root, id))
		return hull_error_set(reterr, -ENOENT, "container '%s' does not exist", id);
	fd = ctl_connect(root, id, reterr);
	if (fd < 0)
		return fd;
	r = ctl_call(fd, req, (const int[]){ STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO }, 3,
		     answer, sizeof(answer), reterr);
	if (r < 0)
		return r;
	if (sscanf(answer, "exit %d", &code) != 1)
		return hull_error_set(reterr, -EIO, "exec: unexpected answer '%s'", answer);
	*ret_exit = code;
	return 0;
}

int hull_vm_bundle_delete(const char *root, const char *id, bool force, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *st = NULL;
	_cleanup_close_ int root_fd = -EBADF;
	struct json_object *v = NULL;
	pid_t monitor, vmm;
	int r = hull_vm_bundle_state(root, id, &st, reterr);

	if (r < 0)
		return r;
	json_object_object_get_ex(st, "status", &v);
	if (v && streq(json_object_get_string(v), "running") && !force)
		return hull_error_set(reterr, -EBUSY,
				      "container '%s' is running: stop it first, or --force", id);
	monitor = (pid_t)json_int(st, "hull.monitor");
	vmm = (pid_t)json_int(st, "pid");
	/* the monitor ends its VM (and the VMM dies with it, PR_SET_PDEATHSIG) */
	if (alive(monitor)) {
		(void)kill(monitor, SIGTERM);
		for (int i = 0; i < 100 && alive(monitor); i++)
			usleep(50 * 1000);
		if (alive(monitor))
			(void)kill(monitor, SIGKILL);
	}
	for (int i = 0; i < 100 && alive(vmm); i++)
		usleep(50 * 1000);
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", root);
	r = hull_rm_rf_at(root_fd, id);
	if (r < 0)
		return hull_error_errno(reterr, r, "delete '%s'", id);
	return 0;
}

/* ---- create and the monitor -------------------------------------------------------------------
 */

struct monitor {
	const char *root, *id, *dir;
	struct vm_state state;
	struct hull_microvm *vm;
	int listen_fd;
	int start_conn; /* waits for stream 1's STARTED */
	/* st[0]: the container's process (once started); then the exec processes */
	struct hull_agent_stream st[1 + MAX_EXECS];
	int conn[1 + MAX_EXECS];
	size_t n;
	uint32_t next_stream;
	bool ended;
};

static void reply(int *conn, const char *fmt, ...) _printf_(2, 3);
static void reply(int *conn, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	if (*conn < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)send(*conn, line, strlen(line), MSG_NOSIGNAL);
	*conn = safe_close(*conn);
}

static void monitor_set(struct monitor *m, const char *status)
{
	m->state.status = status;
	if (streq(status, "stopped"))
		m->state.pid = 0;
	(void)state_write(m->dir, &m->state);
}

static void exec_drop(struct monitor *m, size_t i)
{
	struct hull_agent_stream *s = &m->st[i];

	safe_close(s->in_fd);
	if (s->out_fd != s->err_fd)
		safe_close(s->err_fd);
	safe_close(s->out_fd);
	hull_agent_stream_done(s);
	safe_close(m->conn[i]);
	memmove(&m->st[i], &m->st[i + 1], (m->n - i - 1) * sizeof(m->st[0]));
	memmove(&m->conn[i], &m->conn[i + 1], (m->n - i - 1) * sizeof(m->conn[0]));
	m->n--;
}

/* An exec request: "exec {process}" with stdin, then stdout and stderr in two more messages. */
static void handle_exec(struct monitor *m, int *conn, const char *json, int in_fd)
{
	_cleanup_close_ int in = in_fd, out = -EBADF, err = -EBADF;
	_cleanup_json_ struct json_object *proc = NULL;
	_cleanup_error_ struct hull_error *e = NULL;
	struct hull_agent_stream *s;
	char c;

	if (hull_socket_recv_fd(*conn, &out, &c, 1) <= 0 ||
	    hull_socket_recv_fd(*conn, &err, &c, 1) <= 0 || in < 0 || out < 0 || err < 0)
		return reply(conn, "err exec: expected three fds");
	if (m->n == 0 || !m->st[0].started || m->st[0].exited)
		return reply(conn, "err container '%s' is not running", m->id);
	if (m->n >= ELEMENTSOF(m->st))
		return reply(conn, "err exec: at most %d processes at once", MAX_EXECS);
	if (hull_json_parse(json, strlen(json), "process", &proc, &e) < 0)
		return reply(conn, "err %s", e->msg);
	s = &m->st[m->n];
	*s = (struct hull_agent_stream){ .id = m->next_stream++,
					 .in_fd = TAKE_FD(in),
					 .out_fd = TAKE_FD(out),
					 .err_fd = TAKE_FD(err) };
	if (hull_agent_client_exec(m->vm->client, proc, s, &e) < 0) {
		safe_close(s->in_fd);
		safe_close(s->out_fd);
		safe_close(s->err_fd);
		return reply(conn, "err %s", e ? e->msg : "exec failed");
	}
	m->conn[m->n++] = TAKE_FD(*conn);
}

static void handle_request(struct monitor *m, int conn)
{
	_cleanup_error_ struct hull_error *e = NULL;
	_cleanup_free_ char *msg = malloc(MSG_MAX);
	int fd = -EBADF, sig;
	ssize_t n;

	if (!msg)
		return (void)safe_close(conn);
	(void)setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 5 },
			 sizeof(struct timeval));
	n = hull_socket_recv_fd(conn, &fd, msg, MSG_MAX - 1);
	if (n <= 0) {
		safe_close(fd);
		return (void)safe_close(conn);
	}
	msg[n] = 0;
	if (startswith(msg, "exec "))
		return handle_exec(m, &conn, msg + 5, fd);
	safe_close(fd);
	if (streq(msg, "start")) {
		if (m->n > 0 || m->start_conn >= 0)
			return reply(&conn, "err container '%s' was started already", m->id);
		_cleanup_free_ char *cfg_path =
			hull_strdup_printf("%s/config.json", m->state.bundle);
		_cleanup_json_ struct json_object *cfg = NULL;

		m->st[0] = (struct hull_agent_stream){ .id = 1,
						       .in_fd = STDIN_FILENO,
						       .out_fd = STDOUT_FILENO,
						       .err_fd = STDERR_FILENO };
		if (!cfg_path || read_json(cfg_path, &cfg, &e) < 0 ||
		    hull_agent_client_run(m->vm->client, m->id, cfg, NULL, &m->st[0], &e) < 0)
			return reply(&conn, "err start: %s", e ? e->msg : "out of memory");
		m->n = 1;
		m->start_conn = TAKE_FD(conn);
		return;
	}
	if (sscanf(msg, "kill %d", &sig) == 1) {
		if (m->n == 0) {
			/* not started: nothing runs in the guest but the agent; end the VM */
			(void)hull_microvm_wait(m->vm, 0);
			m->ended = true;
			return reply(&conn, "ok");
		}
		if (m->st[0].exited)
			return reply(&conn, "err container '%s' is not running", m->id);
		if (hull_agent_client_signal(m->vm->client, 1, sig, &e) < 0)
			return reply(&conn, "err kill: %s", e ? e->msg : "failed");
		return reply(&conn, "ok");
	}
	reply(&conn, "err unknown request");
}

/* What the agent's frames changed: answers to start and exec, the end. */
static void monitor_update(struct monitor *m)
{
	if (m->n == 0)
		return;
	if (m->st[0].error) {
		reply(&m->start_conn, "err start: %s", m->st[0].error);
		m->ended = true;
		return;
	}
	if (m->st[0].started && m->start_conn >= 0) {
		monitor_set(m, "running");
		reply(&m->start_conn, "ok");
	}
	for (size_t i = 1; i < m->n;) {
		struct hull_agent_stream *s = &m->st[i];

		if (s->error)
			reply(&m->conn[i], "err exec: %s", s->error);
		else if (s->exited)
			reply(&m->conn[i], "exit %d", s->code);
		if (s->error || s->exited)
			exec_drop(m, i);
		else
			i++;
	}
	if (m->st[0].exited) {
		m->state.exit_code = m->st[0].code;
		m->ended = true;
	}
}

static void monitor_loop(struct monitor *m)
{
	while (!m->ended) {
		_cleanup_error_ struct hull_error *e = NULL;
		int conn, r;

		r = hull_agent_client_step(m->vm->client, m->st, m->n, 100, &e);
		if (r < 0) {
			m->ended = true;
			break;
		}
		monitor_update(m);
		conn = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn >= 0)
			handle_request(m, conn);
	}
	reply(&m->start_conn, "err start: the VM ended");
	for (size_t i = 1; i < m->n; i++)
		reply(&m->conn[i], "err exec: the VM ended");
}

static int listen_ctl(const char *dir)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (fd < 0)
		return -errno;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" CTL, dir) >= (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* The monitor: boots, says "ok" (or the error) on ready_fd, serves until the container ends. */
static _noreturn_ void monitor_main(struct monitor *m, const struct hull_microvm_opts *o,
				    int ready_fd, const char *pid_file)
{
	_cleanup_error_ struct hull_error *e = NULL;
	int r;

	signal(SIGPIPE, SIG_IGN);
	(void)hull_close_fds_from(3, &ready_fd, 1);
	m->state.monitor = getpid();
	r = hull_microvm_boot(o, &m->vm, &e);
	if (r >= 0) {
		m->listen_fd = listen_ctl(m->dir);
		if (m->listen_fd < 0)
			r = hull_error_errno(&e, m->listen_fd, "listen on '%s/" CTL "'", m->dir);
	}
	if (r >= 0) {
		m->state.pid = m->vm->vmm_pid;
		monitor_set(m, "created");
		if (pid_file) {
			_cleanup_close_ int pfd =
				open(pid_file,
				     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
			char pid[32];

			snprintf(pid, sizeof(pid), "%d", (int)m->vm->vmm_pid);
			r = pfd < 0 ? -errno : hull_write_all(pfd, pid, strlen(pid));
			if (r < 0)
				hull_error_errno(&e, r, "--pid-file '%s'", pid_file);
		}
	}
	if (r < 0) {
		dprintf(ready_fd, "%s", e && e->msg ? e->msg : strerror(-r));
		hull_microvm_free(m->vm);
		_exit(1);
	}
	(void)hull_write_all(ready_fd, "ok", 2);
	close(ready_fd);
	monitor_loop(m);
	(void)hull_microvm_wait(m->vm, 30);
	monitor_set(m, "stopped");
	hull_microvm_free(m->vm);
	_exit(0);
}

static int parse_size(struct json_object *cfg, struct hull_microvm_opts *o,
		      struct hull_error **reterr)
{
	const char *cpus = annotation(cfg, "run.hull.vm.cpus");
	const char *mem = annotation(cfg, "run.hull.vm.memory");
	int r = 0;

	if (cpus)
		r = hull_microvm_parse_cpus(cpus, &o->cpus, reterr);
	if (r >= 0 && mem)
		r = hull_microvm_parse_memory(mem, &o->memory_mib, reterr);
	return r < 0 ? hull_error_wrap(reterr, r, "annotations") : 0;
}

/* The bundle's rootfs (root.path, relative to the bundle) and the VM's size. */
static int bundle_load(const char *bundle, struct json_object **ret_cfg, char **ret_rootfs,
		       struct hull_microvm_opts *o, struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("%s/config.json", bundle);
	_cleanup_json_ struct json_object *cfg = NULL;
	struct json_object *root = NULL, *rp = NULL, *proc = NULL, *term = NULL;
	const char *p;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_json(path, &cfg, reterr);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(cfg, "root", &root) ||
	    !json_object_object_get_ex(root, "path", &rp) ||
	    !json_object_is_type(rp, json_type_string) || !*(p = json_object_get_string(rp)))
		return hull_error_set(reterr, -EINVAL, "root.path: expected a string");
	if (json_object_object_get_ex(cfg, "process", &proc) &&
	    json_object_object_get_ex(proc, "terminal", &term) && json_object_get_boolean(term))
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "process.terminal: not supported in a VM yet");
	r = parse_size(cfg, o, reterr);
	if (r < 0)
		return r;
	*ret_rootfs = p[0] == '/' ? strdup(p) : hull_strdup_printf("%s/%s", bundle, p);
	if (!*ret_rootfs)
		return -ENOMEM;
	*ret_cfg = TAKE_PTR(cfg);
	return 0;
}

int hull_vm_bundle_create(const char *root, const char *id, const char *bundle,
			  const char *pid_file, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = NULL, *rootfs = NULL, *cache = NULL, *pid_abs = NULL;
	_cleanup_json_ struct json_object *cfg = NULL;
	_cleanup_close_ int root_fd = -EBADF;
	struct hull_microvm_opts o = {};
	char answer[4096];
	int ready[2], status, r;
	ssize_t n;
	pid_t pid;

	r = hull_container_id_check(id, reterr);
	if (r < 0)
		return r;
	r = bundle_load(bundle, &cfg, &rootfs, &o, reterr);
	if (r < 0)
		return r;
	dir = dir_of(root, id);
	cache = hull_strdup_printf("%s/.vm-cache", root);
	if (!dir || !cache)
		return -ENOMEM;
	if (pid_file && pid_file[0] != '/') {
		char cwd[4096];

		if (!getcwd(cwd, sizeof(cwd)))
			return hull_error_errno(reterr, -errno, "getcwd");
		pid_abs = hull_strdup_printf("%s/%s", cwd, pid_file);
		if (!pid_abs)
			return -ENOMEM;
		pid_file = pid_abs;
	}
	r = hull_mkdir_p_at(AT_FDCWD, root, 0700);
	if (r < 0)
		return hull_error_errno(reterr, r, "create '%s'", root);
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", root);
	if (mkdirat(root_fd, id, 0700) < 0)
		return errno == EEXIST ? hull_error_set(reterr, -EEXIST,
							"container '%s' already exists", id)
				       : hull_error_errno(reterr, -errno, "create '%s'", dir);
	o.cache_dir = cache;
	o.run_dir = dir;
	o.rootfs = rootfs;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = hull_error_errno(reterr, -errno, "pipe");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		r = hull_error_errno(reterr, -errno, "fork");
		close(ready[0]);
		close(ready[1]);
		goto fail;
	}
	if (pid == 0) {
		struct monitor m = {
			.root = root,
			.id = id,
			.dir = dir,
			.state = { .id = id,
				   .bundle = bundle,
				   .status = "creating",
				   .annotations = annotations_of(cfg) },
			.listen_fd = -EBADF,
			.start_conn = -EBADF,
			.next_stream = 2,
		};

		close(ready[0]);
		/* a session of its own, and no parent to wait for it: create returns */
		setsid();
		if (fork() != 0)
			_exit(0);
		monitor_main(&m, &o, ready[1], pid_file);
	}
	close(ready[1]);
	(void)RETRY_EINTR(waitpid(pid, &status, 0));
	n = hull_read_all(ready[0], answer, sizeof(answer) - 1);
	close(ready[0]);
	if (n == 2 && memcmp(answer, "ok", 2) == 0)
		return 0;
	answer[n > 0 ? n : 0] = 0;
	r = hull_error_set(reterr, -EIO, "%s", n > 0 ? answer : "the VM's monitor died");
fail:
	(void)hull_rm_rf_at(root_fd, id);
	return r;
}
