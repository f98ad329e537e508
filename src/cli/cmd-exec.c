/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

struct exec_flags {
	const char *process_file;
	const char *cwd;
	const char *user;
	const char *apparmor;
	const char *label;
	char **env;
	char **caps;
	char **gids;
	bool tty, no_new_privs;
};

/* Sets or replaces NAME=value in env. */
static int env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (char **e = *env; e && *e; e++)
		if (strncmp(*e, kv, klen) == 0 && (*e)[klen] == '=') {
			char *c = strdup(kv);

			if (!c)
				return -ENOMEM;
			free(*e);
			*e = c;
			return 0;
		}
	return hull_strv_push(env, kv);
}

static int apply_flags(struct hull_oci_process *p, const struct exec_flags *f, char **args,
		       struct hull_error **reterr)
{
	hull_strv_free(p->args);
	p->args = hull_strv_copy(args);
	if (!p->args)
		return hull_error_errno(reterr, -ENOMEM, "exec");
	hull_strv_foreach (e, f->env)
		if (env_set(&p->env, e) < 0)
			return hull_error_errno(reterr, -ENOMEM, "exec");
	if (f->cwd) {
		if (f->cwd[0] != '/')
			return hull_error_set(reterr, -EINVAL, "--cwd: must be an absolute path");
		free(p->cwd);
		p->cwd = strdup(f->cwd);
	}
	if (f->user) {
		const char *colon = strchr(f->user, ':');
		_cleanup_free_ char *uid =
			strndup(f->user, colon ? (size_t)(colon - f->user) : strlen(f->user));

		if (!uid || hull_parse_u32(uid, &p->user.uid) < 0 ||
		    (colon && hull_parse_u32(colon + 1, &p->user.gid) < 0))
			return hull_error_set(reterr, -EINVAL,
					      "--user: expected UID[:GID], got '%s'", f->user);
		if (!colon)
			p->user.gid = 0;
	}
	if (f->gids) {
		size_t n = hull_strv_length(f->gids);
		uint32_t *g = calloc(n, sizeof(uint32_t));

		if (!g)
			return hull_error_errno(reterr, -ENOMEM, "exec");
		for (size_t i = 0; i < n; i++)
			if (hull_parse_u32(f->gids[i], &g[i]) < 0) {
				free(g);
				return hull_error_set(reterr, -EINVAL,
						      "--additional-gids: invalid gid '%s'",
						      f->gids[i]);
			}
		free(p->user.additional_gids);
		p->user.additional_gids = g;
		p->user.n_additional_gids = n;
	}
	hull_strv_foreach (name, f->caps) {
		int cap;
		uint64_t bit;

		if (hull_cap_from_name(name, &cap) < 0)
			return hull_error_set(reterr, -EINVAL, "--cap: unknown capability '%s'",
					      name);
		/*
		 * As runc since CVE-2022-29162: bounding, effective and permitted
		 * only.  Inheritable (and so ambient) would hand the capability on
		 * to programs an unprivileged user of the container execs.
		 */
		bit = UINT64_C(1) << cap;
		p->caps.bounding |= bit;
		p->caps.effective |= bit;
		p->caps.permitted |= bit;
		p->caps.bounding_set = p->caps.effective_set = p->caps.permitted_set = true;
	}
	if (f->tty)
		p->terminal = true;
	if (f->no_new_privs)
		p->no_new_privileges = true;
	if (f->apparmor) {
		free(p->apparmor_profile);
		p->apparmor_profile = strdup(f->apparmor);
	}
	if (f->label) {
		free(p->selinux_label);
		p->selinux_label = strdup(f->label);
	}
	if ((f->cwd && !p->cwd) || (f->apparmor && !p->apparmor_profile) ||
	    (f->label && !p->selinux_label))
		return hull_error_errno(reterr, -ENOMEM, "exec");
	return 0;
}

static int load_process_file(const char *path, struct hull_oci_process **ret,
			     struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = hull_read_file_at(AT_FDCWD, path, &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "--process: read '%s'", path);
	r = hull_oci_process_parse(text, len, ret, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "--process '%s'", path);
	return 0;
}

/*
 * Parses exec's options into *f and *o; 1 when --help was shown, 0 when the
 * container id follows at argv[optind].  Strings in *f and o->cgroup_subs
 * are the caller's to free (exec_flags_done) even on failure.
 */
static int parse_options(int argc, char **argv, struct exec_flags *f, struct hull_exec_opts *o,
			 struct hull_error **reterr)
{
	enum {
		OPT_CONSOLE = 256,
		OPT_PIDFILE,
		OPT_CWD,
		OPT_NNP,
		OPT_APPARMOR,
		OPT_LABEL,
		OPT_PRESERVE,
		OPT_IGNORE_PAUSED,
		OPT_CGROUP
	};
	static const struct option opts[] = {
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "pid-file", required_argument, NULL, OPT_PIDFILE },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "env", required_argument, NULL, 'e' },
		{ "tty", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "process", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, OPT_NNP },
		{ "apparmor", required_argument, NULL, OPT_APPARMOR },
		{ "process-label", required_argument, NULL, OPT_LABEL },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, r;

	while ((r = cli_getopt(&cli_verb_exec, argc, argv, "e:tu:g:p:dc:", opts, &c, reterr)) ==
		       0 &&
	       c != -1) {
		switch (c) {
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case OPT_PIDFILE:
			o->pid_file = optarg;
			break;
		case OPT_CWD:
			f->cwd = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=')) {
				r = hull_error_set(reterr, -EINVAL,
						   "--env: expected NAME=VALUE, got '%s'", optarg);
				return r;
			}
			r = hull_strv_push(&f->env, optarg);
			break;
		case 't':
			f->tty = true;
			break;
		case 'u':
			f->user = optarg;
			break;
		case 'g':
			r = hull_strv_push(&f->gids, optarg);
			break;
		case 'p':
			f->process_file = optarg;
			break;
		case 'd':
			o->detach = true;
			break;
		case 'c':
			r = hull_strv_push(&f->caps, optarg);
			break;
		case OPT_NNP:
			f->no_new_privs = true;
			break;
		case OPT_APPARMOR:
			f->apparmor = optarg;
			break;
		case OPT_LABEL:
			f->label = optarg;
			break;
		case OPT_PRESERVE:
			if (hull_parse_u32(optarg, &o->preserve_fds) < 0 || o->preserve_fds > 1000)
				r = hull_error_set(reterr, -EINVAL,
						   "--preserve-fds: invalid count '%s'", optarg);
			break;
		case OPT_IGNORE_PAUSED:
			o->ignore_paused = true;
			break;
		case OPT_CGROUP:
			r = hull_strv_push(&o->cgroup_subs, optarg);
			break;
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/* The process to run: --process FILE, or the container's own with the flags applied. */
static int build_process(struct cli *cli, const char *id, const struct exec_flags *f, int n_args,
			 char **args, struct hull_oci_process **ret, struct hull_error **reterr)
{
	_cleanup_(hull_oci_process_freep) struct hull_oci_process *p = NULL;
	int r;

	if (f->process_file)
		r = load_process_file(f->process_file, &p, reterr);
	else if (n_args < 1)
		r = hull_error_set(reterr, -EINVAL,
				   "exec: give the command to run or --process FILE");
	else {
		r = hull_container_process(&cli->rt, id, &p, reterr);
		if (r >= 0) {
			p->terminal = false;
			r = apply_flags(p, f, args, reterr);
		}
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* The process for a VM container: --process FILE, or the bundle's with the flags applied. */
static int vm_process(struct cli *cli, const char *id, const struct exec_flags *f, int n_args,
		      char **args, struct json_object **ret, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *st = NULL, *cfg = NULL, *p = NULL;
	_cleanup_free_ char *text = NULL, *path = NULL;
	struct json_object *v = NULL, *env = NULL, *a;
	size_t len = 0;
	int r;

	if (f->process_file)
		path = strdup(f->process_file);
	else if (n_args < 1)
		return hull_error_set(reterr, -EINVAL,
				      "exec: give the command to run or --process FILE");
	else {
		r = hull_vm_bundle_state(cli->rt.root, id, &st, reterr);
		if (r < 0)
			return r;
		if (!json_object_object_get_ex(st, "bundle", &v))
			return hull_error_set(reterr, -EIO, "container '%s': no bundle", id);
		path = hull_strdup_printf("%s/config.json", json_object_get_string(v));
	}
	if (!path)
		return -ENOMEM;
	r = hull_read_file_at(AT_FDCWD, path, &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", path);
	r = hull_json_parse(text, len, path, &cfg, reterr);
	if (r < 0)
		return r;
	if (f->process_file) {
		*ret = TAKE_PTR(cfg);
		return 0;
	}
	if (!json_object_object_get_ex(cfg, "process", &v) ||
	    json_object_deep_copy(v, &p, NULL) < 0)
		return hull_error_set(reterr, -EINVAL, "'%s': no process", path);
	a = json_object_new_array();
	for (int i = 0; a && i < n_args; i++)
		json_object_array_add(a, json_object_new_string(args[i]));
	json_object_object_add(p, "args", a);
	json_object_object_add(p, "terminal", json_object_new_boolean(false));
	if (f->cwd)
		json_object_object_add(p, "cwd", json_object_new_string(f->cwd));
	if (!json_object_object_get_ex(p, "env", &env)) {
		env = json_object_new_array();
		json_object_object_add(p, "env", env);
	}
	hull_strv_foreach (e, f->env)
		json_object_array_add(env, json_object_new_string(e));
	*ret = TAKE_PTR(p);
	return 0;
}

static int vm_exec(struct cli *cli, const char *id, const struct exec_flags *f,
		   const struct hull_exec_opts *o, int n_args, char **args, int *ret_exit,
		   struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *p = NULL;
	int r;

	if (o->detach || o->console_socket || f->tty || f->user || f->caps || f->gids)
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "exec: -d, -t, --console-socket, --user, --cap and "
				      "--additional-gids are not supported in a VM yet");
	r = vm_process(cli, id, f, n_args, args, &p, reterr);
	if (r < 0)
		return r;
	return hull_vm_bundle_exec(cli->rt.root, id, p, ret_exit, reterr);
}

static int exec_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(hull_oci_process_freep) struct hull_oci_process *p = NULL;
	struct exec_flags f = {};
	struct hull_exec_opts o = {};
	const char *id;
	int r, code = 0;

	r = parse_options(argc, argv, &f, &o, reterr);
	if (r != 0) {
		r = r < 0 ? r : 0;
		goto out;
	}
	r = cli_want_args(&cli_verb_exec, argc, argv, 1, -1, reterr);
	if (r < 0)
		goto out;
	/* from here on a failure is hull's, not the process's: runc exits 255 */
	cli->fail_status = 255;
	id = argv[optind];
	if (hull_vm_bundle_exists(cli->rt.root, id)) {
		r = vm_exec(cli, id, &f, &o, argc - optind - 1, argv + optind + 1, &code, reterr);
		goto out;
	}
	r = build_process(cli, id, &f, argc - optind - 1, argv + optind + 1, &p, reterr);
	if (r >= 0)
		r = hull_container_exec(&cli->rt, id, p, &o, &code, reterr);
out:
	hull_strv_free(f.env);
	hull_strv_free(f.caps);
	hull_strv_free(f.gids);
	hull_strv_free(o.cgroup_subs);
	if (r < 0 && *reterr == NULL)
		hull_error_errno(reterr, r, "exec");
	return r < 0 ? r : code;
}

const struct cli_verb cli_verb_exec = {
	.name = "exec",
	.summary = "run a new process inside a running container",
	.usage = "[options] <container-id> <command> [args...]\n\n"
		 "  -p, --process FILE       the process as OCI JSON (instead of a command)\n"
		 "  -t, --tty                allocate a pseudo-terminal\n"
		 "  --console-socket PATH    unix socket that receives the pty master\n"
		 "  -d, --detach             return once the process runs\n"
		 "  --pid-file FILE          write the process's pid to FILE\n"
		 "  --cwd DIR                working directory inside the container\n"
		 "  -e, --env NAME=VALUE     set an environment variable (repeatable)\n"
		 "  -u, --user UID[:GID]     run as this user\n"
		 "  -g, --additional-gids G  add a supplementary group (repeatable)\n"
		 "  -c, --cap CAP            add a capability (repeatable)\n"
		 "  --no-new-privs           set no_new_privs\n"
		 "  --apparmor PROFILE       AppArmor profile\n"
		 "  --process-label LABEL    SELinux label\n"
		 "  --preserve-fds N         pass N extra fds (from 3) to the process\n"
		 "  --ignore-paused          allow exec into a paused container (the process\n"
		 "                           starts once the container is resumed)\n"
		 "  --cgroup [CTRL[,CTRL]:]PATH  run in this existing sub-cgroup of the container\n"
		 "                           (repeatable with controllers on cgroup v1)\n\n"
		 "exit status: the process's, or 255 when hull itself fails",
	.run = exec_run,
};
