/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One dnsmasq per network: DHCP (leases in <net>/dnsmasq.leases, fixed hosts
 * in <net>/dnsmasq.hosts) and DNS for NAME.<dns.domain>, upstream queries
 * forwarded to the host's resolvers.
 *
 * dnsmasq daemonises itself and outlives the hull that started it (hull has
 * no daemon); its pid file is how later hulls find it.  A pid is trusted
 * only while /proc/PID/cmdline still names this network's pid file, so a
 * recycled pid is never signalled.  dnsmasq drops to its own user after
 * start-up: the network's directory is 0711 and the hosts file 0644 so it can
 * re-read hosts on SIGHUP.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "net/net-internal.h"
#include "util/file.h"
#include "util/str.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000

char *net_path(int state_fd, const char *name)
{
	char proc[64], buf[4096];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", state_fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return hull_strdup_printf("%s/networks/%s", buf, name);
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

pid_t net_dnsmasq_pid(int state_fd, const char *name)
{
	_cleanup_free_ char *dir = net_path(state_fd, name), *pidfile = NULL, *text = NULL,
			    *cmdline = NULL, *arg = NULL, *proc = NULL;
	size_t len;
	uint32_t pid;

	if (!dir)
		return 0;
	pidfile = hull_strdup_printf("%s/dnsmasq.pid", dir);
	if (!pidfile || hull_read_file_at(AT_FDCWD, pidfile, &text, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	if (hull_parse_u32(text, &pid) < 0 || pid < 2 || pid > INT32_MAX)
		return 0;
	proc = hull_strdup_printf("/proc/%u/cmdline", pid);
	arg = hull_strdup_printf("--pid-file=%s", pidfile);
	if (!proc || !arg || hull_read_file_at(AT_FDCWD, proc, &cmdline, &len) < 0)
		return 0;
	/* cmdline is NUL-separated: look for our argument as a whole word */
	for (size_t off = 0; off < len; off += strlen(cmdline + off) + 1)
		if (streq(cmdline + off, arg))
			return (pid_t)pid;
	return 0;
}

/* The first address after the network's own, and the last before broadcast. */
static void dhcp_range(const struct hull_network *n, char *first, char *last, size_t len)
{
	uint32_t a = ntohl(n->addr4.v4.s_addr);
	uint32_t mask = ~0u << (32 - n->prefix4);
	struct in_addr f = { htonl((a & mask) + 2) }, l = { htonl((a | ~mask) - 1) };

	/* the gateway is usually .1; if it is not, dnsmasq skips it anyway */
	inet_ntop(AF_INET, &f, first, (socklen_t)len);
	inet_ntop(AF_INET, &l, last, (socklen_t)len);
}

static int build_argv(const struct hull_network *n, const char *dir, char ***ret)
{
	_cleanup_(hull_strv_freep) char **argv = NULL;
	char gw4[INET6_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN], first[INET_ADDRSTRLEN],
		last[INET_ADDRSTRLEN];
	int r = 0;

	hull_ip_format(&n->addr4, gw4, sizeof(gw4));
	hull_ip_format(&n->addr6, gw6, sizeof(gw6));
	dhcp_range(n, first, last, sizeof(first));
#define ARG(...)                                                                       \
	do {                                                                           \
		if (r >= 0)                                                            \
			r = hull_strv_consume(&argv, hull_strdup_printf(__VA_ARGS__)); \
	} while (0)
	ARG("%s", DNSMASQ);
	ARG("--conf-file=/dev/null"); /* none of the host's dnsmasq configuration */
	ARG("--strict-order");
	ARG("--bind-interfaces");
	ARG("--except-interface=lo");
	ARG("--no-ping");
	ARG("--interface=%s", n->name);
	ARG("--pid-file=%s/dnsmasq.pid", dir);
	ARG("--dhcp-leasefile=%s/dnsmasq.leases", dir);
	ARG("--dhcp-hostsfile=%s/dnsmasq.hosts", dir);
	ARG("--dhcp-no-override");
	ARG("--dhcp-authoritative");
	ARG("--dhcp-rapid-commit");
	if (n->has4) {
		ARG("--listen-address=%s", gw4);
		ARG("--dhcp-range=%s,%s,1h", first, last);
	}
	if (n->has6) {
		ARG("--listen-address=%s", gw6);
		ARG("--enable-ra");
		ARG("--dhcp-range=::,constructor:%s,ra-stateless,ra-names", n->name);
	}
	ARG("--domain=%s", n->dns_domain);
	ARG("--local=/%s/", n->dns_domain);
	ARG("--interface-name=_gateway.%s,%s", n->dns_domain, n->name);
#undef ARG
	if (r < 0)
		return r;
	*ret = TAKE_PTR(argv);
	return 0;
}

int net_dnsmasq_start(int state_fd, const struct hull_network *n, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = net_path(state_fd, n->name), *hosts = NULL;
	_cleanup_(hull_strv_freep) char **argv = NULL;
	_cleanup_close_ int devnull = -EBADF, err_r = -EBADF, err_w = -EBADF;
	char msg[512] = "";
	struct timespec start;
	int pipefd[2], status, r;
	size_t used = 0;
	pid_t pid;

	if (!dir)
		return hull_error_errno(reterr, -ENOMEM, "network '%s'", n->name);
	if (net_dnsmasq_pid(state_fd, n->name) > 0)
		return 0;
	hosts = hull_strdup_printf("%s/dnsmasq.hosts", dir);
	if (!hosts)
		return -ENOMEM;
	/* dnsmasq wants its hosts file to exist; keep what is there */
	r = open(hosts, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (r < 0)
		return hull_error_errno(reterr, -errno, "create '%s'", hosts);
	close(r);
	r = build_argv(n, dir, &argv);
	if (r < 0)
		return hull_error_errno(reterr, r, "dnsmasq for network '%s'", n->name);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, negative_errno(), "dnsmasq for network '%s'",
					n->name);
	err_r = pipefd[0];
	err_w = pipefd[1];
	pid = fork();
	if (pid < 0)
		return hull_error_errno(reterr, negative_errno(), "fork dnsmasq");
	if (pid == 0) {
		if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(err_w, 2) < 0)
			_exit(127);
		(void)hull_close_fds_from(3, NULL, 0);
		setsid();
		execv(DNSMASQ, argv);
		_exit(127);
	}
	err_w = safe_close(err_w);
	/* dnsmasq's first process exits once the daemon is ready, or with the reason it is not */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { err_r, POLLIN, 0 };
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (elapsed_ms(&start) > START_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			(void)net_dnsmasq_stop(state_fd, n->name, NULL);
			return hull_error_set(reterr, -ETIMEDOUT,
					      "dnsmasq for network '%s' did not start within %d s",
					      n->name, START_TIMEOUT_MS / 1000);
		}
		if (poll(&p, 1, 50) > 0 && used < sizeof(msg) - 1) {
			ssize_t k = read(err_r, msg + used, sizeof(msg) - 1 - used);

			if (k > 0)
				used += (size_t)k;
		}
	}
	{
		struct pollfd p = { err_r, POLLIN, 0 };

		while (used < sizeof(msg) - 1 && poll(&p, 1, 0) > 0) {
			ssize_t k = read(err_r, msg + used, sizeof(msg) - 1 - used);

			if (k <= 0)
				break;
			used += (size_t)k;
		}
	}
	msg[used] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hull_error_set(reterr, -EIO, "dnsmasq for network '%s' failed: %s", n->name,
				      *msg ? msg : "no reason given");
	if (net_dnsmasq_pid(state_fd, n->name) <= 0)
		return hull_error_set(reterr, -EIO, "dnsmasq for network '%s' is not running",
				      n->name);
	return 0;
}

int net_dnsmasq_stop(int state_fd, const char *name, struct hull_error **reterr)
{
	_cleanup_free_ char *dir = NULL;
	struct timespec start;
	pid_t pid = net_dnsmasq_pid(state_fd, name);

	if (pid > 0) {
		kill(pid, SIGTERM);
		clock_gettime(CLOCK_MONOTONIC, &start);
		while (net_dnsmasq_pid(state_fd, name) == pid) {
			if (elapsed_ms(&start) > STOP_TIMEOUT_MS) {
				kill(pid, SIGKILL);
				break;
			}
			usleep(10000);
		}
	}
	dir = net_path(state_fd, name);
	if (dir) {
		_cleanup_free_ char *pidfile = hull_strdup_printf("%s/dnsmasq.pid", dir);

		if (pidfile)
			(void)unlink(pidfile);
	}
	return 0;
}
