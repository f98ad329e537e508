/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-agent-client: a small front end of the library's agent client
 * (agent-client.h), for tests and by hand:
 *
 *   hull-agent-client [OPTIONS] SOCKET [-- CMD [ARG...]]
 *
 * SOCKET is the agent's unix socket, or with --vsock PORT the unix socket of
 * a VMM's vsock bridge.  Runs CMD (or the config's process) in a container,
 * copies stdin/stdout/stderr and exits with its exit code; 125 when the
 * agent or the session failed (the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent-client.h"
#include "oci/config.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

static void usage(FILE *f)
{
	fputs("usage: hull-agent-client [--vsock PORT] [--wait SECONDS] [--config FILE]\n"
	      "         [--id ID] [--rootfs DIR] [-t] [--resize ROWSxCOLS] [--exec 'CMD']\n"
	      "         [--signal N] SOCKET [-- CMD [ARG...]]\n",
	      f);
}

static int fail(struct hull_error *err, int r)
{
	fprintf(stderr, "hull-agent-client: %s\n", err && err->msg ? err->msg : strerror(-r));
	return 125;
}

static struct json_object *strv_json(const char *const *v, int n)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vsock", required_argument, NULL, 'v' },
		{ "wait", required_argument, NULL, 'w' },
		{ "config", required_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "tty", no_argument, NULL, 't' },
		{ "resize", required_argument, NULL, 'R' },
		{ "exec", required_argument, NULL, 'e' },
		{ "signal", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_error_ struct hull_error *err = NULL;
	_cleanup_(hull_agent_client_freep) struct hull_agent_client *c = NULL;
	_cleanup_json_ struct json_object *config = NULL, *exec_proc = NULL;
	const char *config_path = NULL, *id = "agent", *rootfs = NULL, *exec_cmd = NULL;
	long vsock_port = -1, wait_s = 0;
	unsigned rows = 0, cols = 0;
	int sig = 0, opt, r;
	bool tty = false, exec_sent = false, signal_sent = false;
	struct hull_agent_stream st[2] = {
		{ .id = 1,
		  .in_fd = STDIN_FILENO,
		  .out_fd = STDOUT_FILENO,
		  .err_fd = STDERR_FILENO },
		{ .id = 2, .in_fd = -1, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO },
	};
	size_t n = 1;
	struct json_object *proc;

	while ((opt = getopt_long(argc, argv, "+th", opts, NULL)) >= 0) {
		switch (opt) {
		case 'v':
			vsock_port = strtol(optarg, NULL, 10);
			break;
		case 'w':
			wait_s = strtol(optarg, NULL, 10);
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'r':
			rootfs = optarg;
			break;
		case 't':
			tty = true;
			break;
		case 'R':
			if (sscanf(optarg, "%ux%u", &rows, &cols) != 2) {
				usage(stderr);
				return 2;
			}
			break;
		case 'e':
			exec_cmd = optarg;
			break;
		case 's':
			sig = (int)strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *sock = argv[optind++];
	if (optind < argc && streq(argv[optind], "--"))
		optind++;

	/* the config: a file, or hull's default spec; CMD replaces process.args */
	{
		_cleanup_free_ char *text = NULL;
		size_t len = 0;

		if (config_path) {
			r = hull_read_file_at(AT_FDCWD, config_path, &text, &len);
			if (r < 0)
				return fail(NULL, r);
		} else {
			text = hull_oci_default_spec(false);
			if (!text)
				return fail(NULL, -ENOMEM);
			len = strlen(text);
		}
		r = hull_json_parse(text, len, config_path ? config_path : "default spec", &config,
				    &err);
		if (r < 0)
			return fail(err, r);
	}
	if (!json_object_object_get_ex(config, "process", &proc))
		return fail(NULL, -EINVAL);
	if (optind < argc)
		json_object_object_add(
			proc, "args", strv_json((const char *const *)argv + optind, argc - optind));
	if (tty)
		json_object_object_add(proc, "terminal", json_object_new_boolean(true));
	if (exec_cmd) {
		const char *sh[] = { "sh", "-c", exec_cmd };

		if (json_object_deep_copy(proc, &exec_proc, NULL) < 0)
			return fail(NULL, -ENOMEM);
		json_object_object_add(exec_proc, "args", strv_json(sh, 3));
		json_object_object_add(exec_proc, "terminal", json_object_new_boolean(false));
	}

	/* connect, retrying while the agent is not listening yet (bounded by --wait) */
	for (time_t end = time(NULL) + wait_s;;) {
		hull_error_free(err);
		err = NULL;
		r = vsock_port >= 0
			    ? hull_agent_client_connect_vsock(sock, (uint32_t)vsock_port, &c, &err)
			    : hull_agent_client_connect_unix(sock, &c, &err);
		if (r >= 0)
			break;
		if (time(NULL) >= end ||
		    (r != -ENOENT && r != -ECONNREFUSED && r != -ECONNRESET && r != -ETIMEDOUT))
			return fail(err, r);
		usleep(100 * 1000);
	}

	r = hull_agent_client_run(c, id, config, rootfs, &st[0], &err);
	if (r >= 0 && rows)
		r = hull_agent_client_resize(c, 1, rows, cols, &err);
	if (r < 0)
		return fail(err, r);
	for (;;) {
		r = hull_agent_client_step(c, st, n, -1, &err);
		if (r < 0)
			return fail(err, r);
		if (st[0].error) {
			fprintf(stderr, "hull-agent-client: agent: %s\n", st[0].error);
			hull_agent_stream_done(&st[0]);
			return 125;
		}
		if (st[0].started && exec_cmd && !exec_sent) {
			r = hull_agent_client_exec(c, exec_proc, &st[1], &err);
			if (r < 0)
				return fail(err, r);
			exec_sent = true;
			n = 2;
		}
		if (st[0].started && sig && !signal_sent && (!exec_cmd || st[1].exited)) {
			if (exec_cmd) {
				if (st[1].error)
					fprintf(stderr, "exec error: %s\n", st[1].error);
				else
					fprintf(stderr, "exec exit %d\n", st[1].code);
			}
			r = hull_agent_client_signal(c, 1, sig, &err);
			if (r < 0)
				return fail(err, r);
			signal_sent = true;
		}
		if (st[0].exited)
			break;
	}
	if (exec_cmd && !signal_sent) {
		if (st[1].error)
			fprintf(stderr, "exec error: %s\n", st[1].error);
		else if (st[1].exited)
			fprintf(stderr, "exec exit %d\n", st[1].code);
	}
	if (st[0].signal)
		fprintf(stderr, "killed by signal %d\n", st[0].signal);
	hull_agent_stream_done(&st[1]);
	return st[0].code;
}
