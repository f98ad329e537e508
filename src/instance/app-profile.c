/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The app container profile: the OCI config `hull run` generates from the
 * runtime spec default (runc spec's, src/oci/spec-default.c), the image
 * config and podman's flags.  podman's default capability set, its pids limit
 * (2048), and a default seccomp profile: everything allowed but the syscalls
 * Docker's and podman's profiles refuse to a container without
 * CAP_SYS_ADMIN (mount, unshare, setns, keyctl, bpf, ptrace, kexec, modules,
 * clock setting, ...), clone with CLONE_NEWUSER, and clone3 (ENOSYS, so libc
 * falls back to clone, whose flags the filter can see).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance/app-internal.h"
#include "linux/rootfs.h"
#include "oci/config.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

/* the default_capabilities of podman 4.3 (containers-common as Debian 12 ships it) */
static const char *const podman_caps[] = {
	"CAP_AUDIT_WRITE", "CAP_CHOWN",	  "CAP_DAC_OVERRIDE",	  "CAP_FOWNER",	    "CAP_FSETID",
	"CAP_KILL",	   "CAP_MKNOD",	  "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",    "CAP_SETFCAP",
	"CAP_SETGID",	   "CAP_SETPCAP", "CAP_SETUID",		  "CAP_SYS_CHROOT",
};

/* refused with EPERM unless the capability in front is granted */
static const struct {
	const char *cap; /* NULL: always refused */
	const char *const names[24];
} denied[] = {
	{ NULL,
	  { "acct",
	    "add_key",
	    "request_key",
	    "keyctl",
	    "kexec_load",
	    "kexec_file_load",
	    "init_module",
	    "finit_module",
	    "delete_module",
	    "create_module",
	    "get_kernel_syms",
	    "query_module",
	    "nfsservctl",
	    "uselib",
	    "userfaultfd",
	    "lookup_dcookie",
	    "ustat",
	    "sysfs",
	    "_sysctl",
	    "vm86",
	    "vm86old",
	    "perf_event_open",
	    "iopl",
	    "ioperm" } },
	{ "CAP_SYS_ADMIN",
	  { "mount",
	    "umount",
	    "umount2",
	    "pivot_root",
	    "unshare",
	    "setns",
	    "bpf",
	    "fsopen",
	    "fsconfig",
	    "fsmount",
	    "fspick",
	    "move_mount",
	    "open_tree",
	    "mount_setattr",
	    "quotactl",
	    "swapon",
	    "swapoff",
	    "name_to_handle_at",
	    "open_by_handle_at",
	    "lookup_dcookie" } },
	{ "CAP_SYS_PTRACE", { "ptrace", "process_vm_readv", "process_vm_writev", "kcmp" } },
	{ "CAP_SYS_TIME",
	  { "settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex" } },
	{ "CAP_SYS_BOOT", { "reboot" } },
	{ "CAP_SYS_NICE", { "mbind", "set_mempolicy", "move_pages" } },
};

static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = json_object_new_array();

	hull_strv_foreach (s, v)
		json_object_array_add(a, json_object_new_string(s));
	return a;
}

static struct json_object *names_json(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static struct json_object *seccomp_json(char *const *caps)
{
	struct json_object *s = json_object_new_object(), *sys = json_object_new_array(), *e;
	struct json_object *args, *arg;

	json_object_object_add(s, "defaultAction", json_object_new_string("SCMP_ACT_ALLOW"));
	for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
		if (denied[i].cap && hull_strv_contains(caps, denied[i].cap))
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "names", names_json(denied[i].names, 24));
		json_object_object_add(e, "action", json_object_new_string("SCMP_ACT_ERRNO"));
		json_object_object_add(e, "errnoRet", json_object_new_int(EPERM));
		json_object_array_add(sys, e);
	}
	if (!hull_strv_contains(caps, "CAP_SYS_ADMIN")) {
		/* clone(CLONE_NEWUSER...): a user namespace reaches kernel code root-only otherwise
		 */
		e = json_object_new_object();
		args = json_object_new_array();
		arg = json_object_new_object();
		json_object_object_add(e, "names", names_json((const char *const[]){ "clone" }, 1));
		json_object_object_add(e, "action", json_object_new_string("SCMP_ACT_ERRNO"));
		json_object_object_add(e, "errnoRet", json_object_new_int(EPERM));
		json_object_object_add(arg, "index", json_object_new_int(0));
		json_object_object_add(arg, "value", json_object_new_int64(CLONE_NEWUSER));
		json_object_object_add(arg, "valueTwo", json_object_new_int64(CLONE_NEWUSER));
		json_object_object_add(arg, "op", json_object_new_string("SCMP_CMP_MASKED_EQ"));
		json_object_array_add(args, arg);
		json_object_object_add(e, "args", args);
		json_object_array_add(sys, e);
		/* clone3's flags live in memory the filter cannot read: make libc use clone */
		e = json_object_new_object();
		json_object_object_add(e, "names",
				       names_json((const char *const[]){ "clone3" }, 1));
		json_object_object_add(e, "action", json_object_new_string("SCMP_ACT_ERRNO"));
		json_object_object_add(e, "errnoRet", json_object_new_int(ENOSYS));
		json_object_array_add(sys, e);
	}
	json_object_object_add(s, "syscalls", sys);
	return s;
}

/* "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN" (checked); "ALL" stays. */
static int cap_normalize(const char *in, char **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *s = NULL;
	int nr;

	if (strcasecmp(in, "all") == 0) {
		*ret = strdup("ALL");
		return *ret ? 0 : -ENOMEM;
	}
	s = startswith(in, "CAP_") || startswith(in, "cap_") ? strdup(in)
							     : hull_strdup_printf("CAP_%s", in);
	if (!s)
		return -ENOMEM;
	for (char *p = s; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	if (hull_cap_from_name(s, &nr) < 0)
		return hull_error_set(reterr, -EINVAL, "unknown capability '%s'", in);
	*ret = TAKE_PTR(s);
	return 0;
}

int app_caps(char *const *add, char *const *drop, char ***ret, struct hull_error **reterr)
{
	_cleanup_strv_free_ char **caps = NULL;
	bool drop_all = false;
	int r;

	hull_strv_foreach (d, drop) {
		_cleanup_free_ char *n = NULL;

		r = cap_normalize(d, &n, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "--cap-drop");
		if (streq(n, "ALL"))
			drop_all = true;
	}
	if (!drop_all)
		for (size_t i = 0; i < ELEMENTSOF(podman_caps); i++)
			if (hull_strv_push(&caps, podman_caps[i]) < 0)
				return -ENOMEM;
	hull_strv_foreach (a, add) {
		_cleanup_free_ char *n = NULL;

		r = cap_normalize(a, &n, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "--cap-add");
		if (streq(n, "ALL")) {
			for (int c = 0; c <= hull_cap_last(); c++)
				if (hull_cap_name(c) &&
				    !hull_strv_contains(caps, hull_cap_name(c)) &&
				    hull_strv_push(&caps, hull_cap_name(c)) < 0)
					return -ENOMEM;
		} else if (!hull_strv_contains(caps, n) && hull_strv_push(&caps, n) < 0)
			return -ENOMEM;
	}
	hull_strv_foreach (d, drop) {
		_cleanup_free_ char *n = NULL;
		_cleanup_strv_free_ char **kept = NULL;

		if (cap_normalize(d, &n, NULL) < 0 || streq(n, "ALL"))
			continue;
		for (size_t i = 0; caps && caps[i]; i++)
			if (!streq(caps[i], n) && hull_strv_push(&kept, caps[i]) < 0)
				return -ENOMEM;
		hull_strv_free(caps);
		caps = TAKE_PTR(kept);
	}
	if (!caps) {
		caps = calloc(1, sizeof(char *));
		if (!caps)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(caps);
	return 0;
}

/* ---- users ------------------------------------------------------------------------- */

/* Reads a colon-separated database file of the rootfs (never following links out of it). */
static char *read_db(int root_fd, const char *path)
{
	_cleanup_close_ int fd = hull_open_in_root(root_fd, path, O_RDONLY, NULL);
	char *text = NULL;

	if (fd < 0 || hull_read_fd(fd, &text, NULL) < 0)
		return NULL;
	return text;
}

static bool numeric(const char *s, uint32_t *ret)
{
	return *s && hull_parse_u32(s, ret) >= 0;
}

/* Finds field 0 == name (or field 2 == id when name is NULL) in a passwd/group text. */
static char **db_find(const char *text, const char *name, uint32_t id)
{
	_cleanup_free_ char *copy = text ? strdup(text) : NULL;
	char *save = NULL;

	if (!copy)
		return NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char **f = NULL;
		char *p = l, *q;
		uint32_t x;

		for (;;) {
			q = strchr(p, ':');
			if (q)
				*q = '\0';
			if (hull_strv_push(&f, p) < 0) {
				hull_strv_free(f);
				return NULL;
			}
			if (!q)
				break;
			p = q + 1;
		}
		if (hull_strv_length(f) >= 3 &&
		    ((name && streq(f[0], name)) ||
		     (!name && hull_parse_u32(f[2], &x) >= 0 && x == id)))
			return f;
		hull_strv_free(f);
	}
	return NULL;
}

int app_resolve_user(int root_fd, const char *spec, struct app_user *ret,
		     struct hull_error **reterr)
{
	_cleanup_free_ char *passwd = read_db(root_fd, "/etc/passwd");
	_cleanup_free_ char *group = read_db(root_fd, "/etc/group");
	_cleanup_free_ char *copy = strdup(spec && *spec ? spec : "0");
	_cleanup_strv_free_ char **pw = NULL;
	struct app_user u = { .home = NULL };
	char *gspec, *uname = NULL;

	if (!copy)
		return -ENOMEM;
	gspec = strchr(copy, ':');
	if (gspec)
		*gspec++ = '\0';
	if (numeric(copy, &u.uid)) {
		pw = db_find(passwd, NULL, u.uid);
	} else {
		pw = db_find(passwd, copy, 0);
		if (!pw || hull_parse_u32(pw[2], &u.uid) < 0)
			return hull_error_set(reterr, -ENOENT,
					      "user '%s': not found in the image's /etc/passwd",
					      copy);
	}
	if (pw) {
		uname = pw[0];
		if (hull_strv_length(pw) >= 4)
			(void)hull_parse_u32(pw[3], &u.gid);
		if (hull_strv_length(pw) >= 6 && pw[5][0])
			u.home = strdup(pw[5]);
	}
	if (gspec) {
		_cleanup_strv_free_ char **gr = NULL;

		if (!numeric(gspec, &u.gid)) {
			gr = db_find(group, gspec, 0);
			if (!gr || hull_parse_u32(gr[2], &u.gid) < 0) {
				free(u.home);
				return hull_error_set(reterr, -ENOENT,
						      "group '%s': not found in the image's "
						      "/etc/group",
						      gspec);
			}
		}
	} else if (uname && group) {
		/* supplementary groups: those listing the user as a member */
		_cleanup_free_ char *gcopy = strdup(group);
		char *save = NULL;

		for (char *l = gcopy ? strtok_r(gcopy, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save)) {
			char *f[4] = {};
			char *p = l;
			uint32_t gid;

			for (int i = 0; i < 4 && p; i++) {
				f[i] = p;
				p = strchr(p, ':');
				if (p)
					*p++ = '\0';
			}
			if (!f[3] || hull_parse_u32(f[2], &gid) < 0 || u.n_groups >= 64)
				continue;
			for (char *save2 = NULL, *m = strtok_r(f[3], ",", &save2); m;
			     m = strtok_r(NULL, ",", &save2))
				if (streq(m, uname) && gid != u.gid)
					u.groups[u.n_groups++] = gid;
		}
	}
	/* podman lists the primary group among the supplementary ones too */
	if (u.n_groups < 64) {
		memmove(u.groups + 1, u.groups, u.n_groups * sizeof(u.groups[0]));
		u.groups[0] = u.gid;
		u.n_groups++;
	}
	if (!u.home)
		u.home = strdup(u.uid == 0 ? "/root" : "/");
	if (!u.home)
		return -ENOMEM;
	*ret = u;
	return 0;
}

/* ---- the config -------------------------------------------------------------------- */

static bool env_has(char *const *env, const char *key)
{
	size_t n = strlen(key);

	hull_strv_foreach (e, env)
		if (strncmp(e, key, n) == 0 && e[n] == '=')
			return true;
	return false;
}

/* Sets K=V in env, replacing an existing K. */
static int env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	for (char **e = *env; e && *e; e++)
		if (strncmp(*e, kv, n) == 0 && (*e)[n] == '=') {
			char *c = strdup(kv);

			if (!c)
				return -ENOMEM;
			free(*e);
			*e = c;
			return 0;
		}
	return hull_strv_push(env, kv);
}

static void add_mount(struct json_object *mounts, const char *dest, const char *type,
		      const char *source, const char *const *opts)
{
	struct json_object *m = json_object_new_object();

	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	json_object_object_add(m, "options", strv_json((char *const *)opts));
	json_object_array_add(mounts, m);
}

static int add_volume(struct json_object *mounts, const char *spec, struct hull_error **reterr)
{
	_cleanup_free_ char *copy = strdup(spec), *abs = NULL;
	char *dst, *mode = NULL;
	const char *opts[4] = { "rbind", "rprivate", NULL, NULL };

	if (!copy)
		return -ENOMEM;
	dst = strchr(copy, ':');
	if (!dst)
		return hull_error_set(reterr, -EINVAL, "-v '%s': expected SRC:DST[:ro|rw]", spec);
	*dst++ = '\0';
	mode = strchr(dst, ':');
	if (mode)
		*mode++ = '\0';
	if (mode && !streq(mode, "ro") && !streq(mode, "rw"))
		return hull_error_set(reterr, -EINVAL, "-v '%s': option '%s' (expected ro or rw)",
				      spec, mode);
	if (dst[0] != '/')
		return hull_error_set(reterr, -EINVAL, "-v '%s': the destination must be absolute",
				      spec);
	if (copy[0] != '/' && !startswith(copy, "./") && !startswith(copy, "../"))
		return hull_error_set(reterr, -EINVAL,
				      "-v '%s': named volumes are not supported; give a path",
				      spec);
	abs = realpath(copy, NULL);
	if (!abs)
		return hull_error_errno(reterr, -errno, "-v '%s': source '%s'", spec, copy);
	if (mode && streq(mode, "ro"))
		opts[2] = "ro";
	add_mount(mounts, dst, "bind", abs, opts);
	return 0;
}

static struct json_object *caps_object(char *const *caps, bool root)
{
	struct json_object *c = json_object_new_object();
	char *const none[] = { NULL };

	json_object_object_add(c, "bounding", strv_json(caps));
	/* a non-root user starts without capabilities, as with podman */
	json_object_object_add(c, "effective", strv_json(root ? caps : none));
	json_object_object_add(c, "permitted", strv_json(root ? caps : none));
	return c;
}

int app_args(const struct hull_oci_image_config *ic, const struct hull_app_opts *o, char ***ret,
	     struct hull_error **reterr)
{
	_cleanup_strv_free_ char **args = NULL;
	char *const *ep = o->entrypoint ? o->entrypoint : ic->config.entrypoint;
	/* an overridden entrypoint drops the image's Cmd, as podman does */
	char *const *cmd = o->cmd ? o->cmd : o->entrypoint ? NULL : ic->config.cmd;

	hull_strv_foreach (a, ep)
		if (hull_strv_push(&args, a) < 0)
			return -ENOMEM;
	hull_strv_foreach (a, cmd)
		if (hull_strv_push(&args, a) < 0)
			return -ENOMEM;
	if (!args || !args[0])
		return hull_error_set(reterr, -EINVAL,
				      "image '%s': no command (the image has neither Entrypoint "
				      "nor Cmd; give one)",
				      o->image);
	*ret = TAKE_PTR(args);
	return 0;
}

struct json_object *app_oci_config(const struct app_config_in *in, struct hull_error **reterr)
{
	_cleanup_free_ char *spec = hull_oci_default_spec(false);
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_strv_free_ char **env = NULL;
	const struct hull_app_opts *opt = in->opts;
	struct json_object *process, *user, *linux_, *mounts, *ns, *root, *res;
	const char *const tmpfs_opts[] = { "rw", "rprivate", "nosuid", "nodev", "tmpcopyup", NULL };
	const char *const tmpfs_opts2[] = { "rw", "nosuid", "nodev", "mode=1777", NULL };
	char hostenv[128];
	int r;

	if (!spec)
		return NULL;
	r = hull_json_parse(spec, strlen(spec), "default spec", &o, reterr);
	if (r < 0)
		return NULL;
	json_object_object_get_ex(o, "process", &process);
	json_object_object_get_ex(o, "linux", &linux_);
	json_object_object_get_ex(o, "mounts", &mounts);
	json_object_object_get_ex(o, "root", &root);
	json_object_object_get_ex(linux_, "namespaces", &ns);

	/* environment: PATH, the image's, podman's own, then the user's */
	if (hull_strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
				 "/bin") < 0)
		return NULL;
	hull_strv_foreach (e, in->image->config.env)
		if (env_set(&env, e) < 0)
			return NULL;
	if (opt->tty && !env_has(env, "TERM") && env_set(&env, "TERM=xterm") < 0)
		return NULL;
	if (env_set(&env, "container=hull") < 0)
		return NULL;
	snprintf(hostenv, sizeof(hostenv), "HOSTNAME=%s", in->name);
	if (!env_has(env, "HOSTNAME") && env_set(&env, hostenv) < 0)
		return NULL;
	if (!env_has(env, "HOME")) {
		_cleanup_free_ char *home = hull_strdup_printf("HOME=%s", in->user->home);

		if (!home || env_set(&env, home) < 0)
			return NULL;
	}
	hull_strv_foreach (e, opt->env)
		if (env_set(&env, e) < 0)
			return NULL;

	json_object_object_add(process, "terminal", json_object_new_boolean(opt->tty));
	json_object_object_add(process, "args", strv_json(in->args));
	json_object_object_add(process, "env", strv_json(env));
	json_object_object_add(process, "cwd", json_object_new_string(in->cwd));
	user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int64(in->user->uid));
	json_object_object_add(user, "gid", json_object_new_int64(in->user->gid));
	if (in->user->n_groups) {
		struct json_object *g = json_object_new_array();

		for (size_t i = 0; i < in->user->n_groups; i++)
			json_object_array_add(g, json_object_new_int64(in->user->groups[i]));
		json_object_object_add(user, "additionalGids", g);
	}
	json_object_object_add(process, "user", user);
	json_object_object_add(process, "capabilities", caps_object(in->caps, in->user->uid == 0));
	json_object_object_del(process, "rlimits"); /* the caller's, as podman's nofile default */
	json_object_object_add(process, "noNewPrivileges", json_object_new_boolean(false));

	json_object_object_add(root, "path", json_object_new_string(in->rootfs));
	json_object_object_add(root, "readonly", json_object_new_boolean(opt->read_only));
	json_object_object_add(o, "hostname", json_object_new_string(in->name));

	if (opt->read_only) {
		add_mount(mounts, "/tmp", "tmpfs", "tmpfs", tmpfs_opts2);
		add_mount(mounts, "/var/tmp", "tmpfs", "tmpfs", tmpfs_opts2);
		add_mount(mounts, "/run", "tmpfs", "tmpfs", tmpfs_opts);
	}
	hull_strv_foreach (v, opt->volumes)
		if (add_volume(mounts, v, reterr) < 0)
			return NULL;

	if (opt->network == HULL_APP_NET_HOST) {
		struct json_object *kept = json_object_new_array();

		for (size_t i = 0; i < json_object_array_length(ns); i++) {
			struct json_object *n = json_object_array_get_idx(ns, i), *t = NULL;

			if (json_object_object_get_ex(n, "type", &t) &&
			    streq(json_object_get_string(t), "network"))
				continue;
			json_object_array_add(kept, json_object_get(n));
		}
		json_object_object_add(linux_, "namespaces", kept);
	}
	if (!json_object_object_get_ex(linux_, "resources", &res)) {
		res = json_object_new_object();
		json_object_object_add(linux_, "resources", res);
	}
	if (opt->memory > 0) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "limit", json_object_new_int64(opt->memory));
		json_object_object_add(res, "memory", m);
	}
	if (opt->cpu_quota > 0) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "quota", json_object_new_int64((int64_t)opt->cpu_quota));
		json_object_object_add(c, "period", json_object_new_int64(100000));
		json_object_object_add(res, "cpu", c);
	}
	if (opt->pids_limit >= 0) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(
			p, "limit",
			json_object_new_int64(opt->pids_limit == 0 ? 2048 : opt->pids_limit));
		json_object_object_add(res, "pids", p);
	}
	json_object_object_add(linux_, "seccomp", seccomp_json(in->caps));
	return TAKE_PTR(o);
}
