/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull login [--username U] [--password-stdin] [--authfile F] [--tls-verify=false]
 *            [--get-login] REGISTRY
 * hull logout [--authfile F] [--all] [REGISTRY]
 *
 * Credentials go to the auth file podman uses (image/registry.h), after the
 * registry has accepted them on GET /v2/.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "image/reference.h"
#include "image/registry.h"
#include "util/file.h"
#include "util/str.h"

#define PASSWORD_MAX 8192

/* "https://host:5000/v2/" -> "host:5000"; "host/ns" stays (a repository-scoped entry). */
static char *registry_key(const char *arg)
{
	const char *s = arg, *p;
	size_t n;

	if ((p = startswith(s, "https://")) || (p = startswith(s, "http://")))
		s = p;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(s + n - 3, "/v2", 3) == 0)
		n -= 3;
	if (n >= 3 && strncmp(s + n - 3, "/v1", 3) == 0)
		n -= 3;
	if (n == 15 && strncmp(s, "index.docker.io", 15) == 0)
		return strdup("docker.io");
	return strndup(s, n);
}

static int check_key(const char *key, struct hull_error **reterr)
{
	_cleanup_(hull_image_ref_freep) struct hull_image_ref *ref = NULL;
	_cleanup_free_ char *probe = NULL;
	const char *slash = strchr(key, '/');
	int r;

	if (!*key)
		return hull_error_set(reterr, -EINVAL, "registry '': empty registry name");
	/* a registry host, optionally with a repository namespace, as podman accepts */
	probe = hull_strdup_printf("%s%s", key, slash ? "" : "/x");
	if (!probe)
		return -ENOMEM;
	r = hull_image_ref_parse(probe, &ref, NULL);
	if (r < 0 || !ref->domain || ref->tag == NULL || !streq(ref->tag, "latest") || ref->digest)
		return hull_error_set(reterr, -EINVAL,
				      "registry '%s': expected HOST[:PORT][/NAMESPACE]", key);
	return 0;
}

/* Reads a line from fd (a password on stdin), without its newline. */
static int read_line(int fd, char **ret)
{
	_cleanup_free_ char *buf = malloc(PASSWORD_MAX + 1);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	while (n < PASSWORD_MAX) {
		ssize_t k = read(fd, buf + n, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0 || buf[n] == '\n')
			break;
		n++;
	}
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static int prompt(const char *what, bool echo, char **ret)
{
	struct termios old, t;
	bool restore = false;
	int r;

	fprintf(stderr, "%s: ", what);
	fflush(stderr);
	if (!echo && tcgetattr(STDIN_FILENO, &old) == 0) {
		t = old;
		t.c_lflag &= ~ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
	}
	r = read_line(STDIN_FILENO, ret);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return r;
}

static bool conf_insecure(const char *host)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *conf = NULL;
	struct hull_image_ref ref = { .domain = (char *)host, .path = (char *)"x" };
	struct hull_registry_endpoint ep = {};
	bool insecure;

	if (hull_registries_conf_load(&conf, NULL) < 0)
		return false;
	if (hull_registries_conf_endpoint(conf, &ref, &ep, NULL) < 0)
		return false;
	insecure = ep.insecure;
	hull_registry_endpoint_done(&ep);
	return insecure;
}

static int login_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	enum { OPT_PASSWORD_STDIN = 256, OPT_AUTHFILE, OPT_TLS_VERIFY, OPT_GET_LOGIN };
	static const struct option opts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
		{ "get-login", no_argument, NULL, OPT_GET_LOGIN },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *key = NULL, *user = NULL, *password = NULL, *host = NULL;
	_cleanup_(hull_registry_freep) struct hull_registry *reg = NULL;
	const char *authfile = NULL;
	bool from_stdin = false, get_login = false, tls_off = false;
	struct hull_registry_opts ro = {};
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_login, argc, argv, "u:p:", opts, &c, reterr)) == 0 &&
	       c != -1) {
		switch (c) {
		case 'u':
			free(user);
			user = strdup(optarg);
			if (!user)
				return -ENOMEM;
			break;
		case 'p':
			free(password);
			password = strdup(optarg);
			if (!password)
				return -ENOMEM;
			break;
		case OPT_PASSWORD_STDIN:
			from_stdin = true;
			break;
		case OPT_AUTHFILE:
			authfile = optarg;
			break;
		case OPT_TLS_VERIFY:
			r = hull_cli_parse_tls_verify(optarg, &tls_off, reterr);
			if (r < 0)
				return r;
			break;
		case OPT_GET_LOGIN:
			get_login = true;
			break;
		}
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = hull_cli_want_args(&hull_verb_login, argc, argv, 1, 1, "the registry", reterr);
	if (r < 0)
		return r;
	key = registry_key(argv[optind]);
	if (!key)
		return -ENOMEM;
	r = check_key(key, reterr);
	if (r < 0)
		return r;
	host = strndup(key, strcspn(key, "/"));
	if (!host)
		return -ENOMEM;

	if (get_login) {
		_cleanup_free_ char *u = NULL, *pw = NULL;
		const char *slash = strchr(key, '/');

		r = hull_auth_lookup(authfile, host, slash ? slash + 1 : NULL, &u, &pw, reterr);
		if (r == -ENOENT)
			return hull_error_set(reterr, r, "not logged in to '%s'", key);
		if (r < 0)
			return r;
		printf("%s\n", u);
		return 0;
	}
	if (from_stdin && password)
		return hull_error_set(reterr, -EINVAL,
				      "--password and --password-stdin are mutually exclusive");
	if (!user) {
		if (!isatty(STDIN_FILENO) || from_stdin)
			return hull_error_set(reterr, -EINVAL,
					      "login: --username is needed when not on a terminal");
		r = prompt("Username", true, &user);
		if (r < 0)
			return hull_error_errno(reterr, r, "read the username");
	}
	if (!*user)
		return hull_error_set(reterr, -EINVAL, "login: empty username");
	if (from_stdin) {
		r = read_line(STDIN_FILENO, &password);
		if (r < 0)
			return hull_error_errno(reterr, r, "read the password from stdin");
	} else if (!password) {
		if (!isatty(STDIN_FILENO))
			return hull_error_set(reterr, -EINVAL,
					      "login: --password-stdin is needed when not on a "
					      "terminal");
		r = prompt("Password", false, &password);
		if (r < 0)
			return hull_error_errno(reterr, r, "read the password");
	}
	if (!*password)
		return hull_error_set(reterr, -EINVAL, "login: empty password");

	ro = (struct hull_registry_opts){ .insecure = tls_off || conf_insecure(host),
					  .username = user,
					  .password = password };
	r = hull_registry_new(host, NULL, &ro, &reg, reterr);
	if (r >= 0)
		r = hull_registry_ping(reg, reterr);
	if (r >= 0)
		r = hull_auth_store(authfile, key, user, password, reterr);
	explicit_bzero(password, strlen(password));
	if (r < 0)
		return hull_error_wrap(reterr, r, "login '%s'", key);
	printf("Login Succeeded!\n");
	return 0;
}

static int logout_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	enum { OPT_AUTHFILE = 256 };
	static const struct option opts[] = {
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *key = NULL;
	const char *authfile = NULL;
	bool all = false;
	int c, r;

	while ((r = hull_cli_getopt(&hull_verb_logout, argc, argv, "a", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == OPT_AUTHFILE)
			authfile = optarg;
		else if (c == 'a')
			all = true;
	}
	if (r != 0)
		return r < 0 ? r : 0;
	if (all) {
		r = hull_cli_want_args(&hull_verb_logout, argc, argv, 0, 0, "", reterr);
		if (r >= 0)
			r = hull_auth_remove_all(authfile, reterr);
		if (r >= 0)
			printf("Removed login credentials for all registries\n");
		return r;
	}
	r = hull_cli_want_args(&hull_verb_logout, argc, argv, 1, 1, "the registry", reterr);
	if (r < 0)
		return r;
	key = registry_key(argv[optind]);
	if (!key)
		return -ENOMEM;
	r = check_key(key, reterr);
	if (r >= 0)
		r = hull_auth_remove(authfile, key, reterr);
	if (r < 0)
		return r;
	printf("Removed login credentials for %s\n", key);
	return 0;
}

const struct hull_cli_verb hull_verb_login = {
	.name = "login",
	.summary = "log in to a container registry (credentials shared with podman)",
	.usage = "[--username USER] [--password-stdin] [--authfile FILE] [--tls-verify=false] "
		 "[--get-login] REGISTRY",
	.run = login_run,
};

const struct hull_cli_verb hull_verb_logout = {
	.name = "logout",
	.summary = "remove the credentials of a registry",
	.usage = "[--authfile FILE] [--all] [REGISTRY]",
	.run = logout_run,
};
