/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull exec: a process in a running instance, with the instance's
 * environment plus --env, --cwd and --user, through the library's exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/instance-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

static int env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; *env && (*env)[i]; i++)
		if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
			char *copy = strdup(kv);

			if (!copy)
				return -ENOMEM;
			free((*env)[i]);
			(*env)[i] = copy;
			return 0;
		}
	return hull_strv_push(env, kv);
}

/*
 * Runs hull_container_exec() in a child that closed every fd above stdio
 * first.  The caller holds directory fds (state dir, instances, image
 * store, the instance): a cwd of /proc/self/fd/N (given, or reached through
 * a symlink the instance planted) must never name one of them (the shape of
 * CVE-2024-21626).  The library's exec already closes every fd but the
 * preserved ones before it enters the cwd and refuses a cwd outside the
 * root; holding no fd of hull's at all is the second wall.  The child
 * reports "x<status>" or "e<message>" on a pipe.
 */
static int exec_without_our_fds(struct hull_home *h, const char *name,
				const struct hull_oci_process *p, const struct hull_exec_opts *eo,
				int *ret_exit, struct hull_error **reterr)
{
	_cleanup_close_ int rd = -EBADF;
	char msg[1100];
	size_t got = 0;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	pid = fork();
	if (pid < 0) {
		safe_close(pfd[0]);
		safe_close(pfd[1]);
		return hull_error_errno(reterr, -errno, "fork");
	}
	if (pid == 0) {
		_cleanup_error_ struct hull_error *err = NULL;
		int keep = pfd[1], code = 0, r;

		hull_close_fds_from(3, &keep, 1);
		r = hull_container_exec(&h->rt, name, p, eo, &code, &err);
		if (r < 0)
			dprintf(keep, "e%s", err && err->msg ? err->msg : strerror(-r));
		else
			dprintf(keep, "x%d", code);
		_exit(0);
	}
	safe_close(pfd[1]);
	rd = pfd[0];
	while (got < sizeof(msg) - 1 &&
	       (n = RETRY_EINTR(read(rd, msg + got, sizeof(msg) - 1 - got))) > 0)
		got += (size_t)n;
	msg[got] = '\0';
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
		return hull_error_errno(reterr, -errno, "wait for the exec helper");
	if (msg[0] == 'x')
		return hull_parse_int(msg + 1, ret_exit) < 0 ? -EIO : 0;
	if (msg[0] == 'e')
		return hull_error_set(reterr, -EIO, "%s", msg + 1);
	return hull_error_set(reterr, -EIO, "the exec helper died");
}

int hull_instance_exec(struct hull_home *h, const char *name,
		       const struct hull_instance_exec_opts *o, int *ret_exit,
		       struct hull_error **reterr)
{
	struct hull_oci_process *p = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct hull_exec_opts eo = {};
	char **args;
	int r;

	dfd = instance_open(h, name, reterr);
	if (dfd < 0)
		return dfd;
	if (!instance_monitor_alive(dfd))
		return hull_error_set(reterr, -EINVAL, "instance '%s' is not running", name);
	r = hull_container_process(&h->rt, name, &p, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "exec in '%s'", name);
	args = hull_strv_copy(o->args);
	if (!args) {
		r = -ENOMEM;
		goto out;
	}
	hull_strv_free(p->args);
	p->args = args;
	hull_strv_foreach (kv, o->env) {
		if (!strchr(kv, '=')) {
			r = hull_error_set(reterr, -EINVAL, "--env '%s': expected KEY=VALUE", kv);
			goto out;
		}
		r = env_set(&p->env, kv);
		if (r < 0)
			goto out;
	}
	if (o->cwd) {
		char *cwd = strdup(o->cwd);

		if (!cwd) {
			r = -ENOMEM;
			goto out;
		}
		free(p->cwd);
		p->cwd = cwd;
	}
	if (o->user_set) {
		p->user.uid = o->uid;
		p->user.gid = o->gid;
	}
	p->terminal = o->terminal;
	r = exec_without_our_fds(h, name, p, &eo, ret_exit, reterr);
	if (r < 0)
		hull_error_wrap(reterr, r, "exec in '%s'", name);
out:
	hull_oci_process_free(p);
	return r;
}
