/* SPDX-License-Identifier: Apache-2.0 */
/* hull run [options] IMAGE [CMD ARG...]: an app container from an OCI image, as podman run */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hull-cli.h"
#include "image/oci-store.h"
#include "instance/app.h"
#include "instance/microvm.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

enum {
	OPT_RM = 256,
	OPT_NAME,
	OPT_ENV_FILE,
	OPT_ENTRYPOINT,
	OPT_NETWORK,
	OPT_CPUS,
	OPT_PIDS,
	OPT_READ_ONLY,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_PULL,
	OPT_VM,
};

static const struct option opts[] = {
	{ "rm", no_argument, NULL, OPT_RM },
	{ "detach", no_argument, NULL, 'd' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "volume", required_argument, NULL, 'v' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "net", required_argument, NULL, OPT_NETWORK },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids-limit", required_argument, NULL, OPT_PIDS },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "pull", required_argument, NULL, OPT_PULL },
	{ "vm", no_argument, NULL, OPT_VM },
	{ "help", no_argument, NULL, 'h' },
	{},
};

struct run_args {
	struct hull_app_opts o;
	enum hull_app_pull pull;
	char **env, **volumes, **cap_add, **cap_drop, **entrypoint;
	const char *memory, *cpus; /* parsed once --vm is known: a limit, or the VM's size */
};

static void run_args_done(struct run_args *a)
{
	hull_strv_free(a->env);
	hull_strv_free(a->volumes);
	hull_strv_free(a->cap_add);
	hull_strv_free(a->cap_drop);
	hull_strv_free(a->entrypoint);
}

/* -e K=V, or -e K (the caller's value; skipped when unset, as podman does). */
static int add_env(char ***env, const char *s, const char *what, struct hull_error **reterr)
{
	const char *v;
	char *kv;

	if (!*s || *s == '=')
		return hull_error_set(reterr, -EINVAL, "%s '%s': expected KEY=VALUE", what, s);
	if (strchr(s, '='))
		return hull_strv_push(env, s);
	v = getenv(s);
	if (!v)
		return 0;
	kv = hull_strdup_printf("%s=%s", s, v);
	if (!kv)
		return -ENOMEM;
	return hull_strv_consume(env, kv) < 0 ? (free(kv), -ENOMEM) : 0;
}

static int read_env_file(char ***env, const char *file, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;
	int r = hull_read_file_at(AT_FDCWD, file, &text, NULL);

	if (r < 0)
		return hull_error_errno(reterr, r, "--env-file '%s'", file);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		while (isspace((unsigned char)*l))
			l++;
		if (!*l || *l == '#')
			continue;
		r = add_env(env, l, "--env-file line", reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "512m", "1g", "1048576", "100k", "1.5g": bytes (podman's minimum is 6 MiB). */
static int parse_memory(const char *s, int64_t *ret, struct hull_error **reterr)
{
	char *end = NULL;
	double v, mult = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v <= 0 || !isfinite(v))
		goto bad;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'b':
		end++;
		break;
	case 'k':
		mult = 1 << 10;
		end++;
		break;
	case 'm':
		mult = 1 << 20;
		end++;
		break;
	case 'g':
		mult = 1 << 30;
		end++;
		break;
	default:
		goto bad;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v * mult > 9e18)
		goto bad;
	if (v * mult < 6 * (1 << 20))
		return hull_error_set(reterr, -EINVAL, "--memory '%s': the minimum is 6m", s);
	*ret = (int64_t)(v * mult);
	return 0;
bad:
	return hull_error_set(reterr, -EINVAL, "--memory '%s': expected a size such as 512m or 1g",
			      s);
}

static int parse_cpus(const char *s, uint64_t *ret, struct hull_error **reterr)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0.01 || v > (double)ncpu)
		return hull_error_set(reterr, -EINVAL,
				      "--cpus '%s': expected a number from 0.01 to %ld", s, ncpu);
	*ret = (uint64_t)(v * 100000 + 0.5);
	return 0;
}

/* --entrypoint: a JSON array of strings, or one string (a command without arguments). */
static int parse_entrypoint(const char *s, char ***ret, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_strv_free_ char **v = calloc(1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	if (s[0] == '[') {
		if (hull_json_parse(s, strlen(s), "--entrypoint", &o, reterr) < 0 ||
		    hull_json_parse_strv("--entrypoint", o, &v, reterr) < 0)
			return -EINVAL;
	} else if (*s && hull_strv_push(&v, s) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}

static int parse_opt(struct run_args *a, int c, const char *arg, struct hull_error **reterr)
{
	struct hull_app_opts *o = &a->o;
	int64_t pids;

	switch (c) {
	case OPT_RM:
		o->rm = true;
		return 0;
	case 'd':
		o->detach = true;
		return 0;
	case 'i':
		o->interactive = true;
		return 0;
	case 't':
		o->tty = true;
		return 0;
	case OPT_NAME:
		o->name = arg;
		return hull_app_name_check(arg, reterr);
	case 'e':
		return add_env(&a->env, arg, "-e", reterr);
	case OPT_ENV_FILE:
		return read_env_file(&a->env, arg, reterr);
	case 'v':
		return hull_strv_push(&a->volumes, arg);
	case 'w':
		if (arg[0] != '/')
			return hull_error_set(reterr, -EINVAL, "--workdir '%s': must be absolute",
					      arg);
		o->workdir = arg;
		return 0;
	case 'u':
		if (!*arg)
			return hull_error_set(reterr, -EINVAL, "--user: empty");
		o->user = arg;
		return 0;
	case OPT_ENTRYPOINT:
		hull_strv_free(a->entrypoint);
		a->entrypoint = NULL;
		return parse_entrypoint(arg, &a->entrypoint, reterr);
	case OPT_NETWORK:
		if (streq(arg, "none"))
			o->network = HULL_APP_NET_NONE;
		else if (streq(arg, "host"))
			o->network = HULL_APP_NET_HOST;
		else
			return hull_error_set(reterr, -EINVAL,
					      "--network '%s': expected none or host", arg);
		return 0;
	case 'm':
		a->memory = arg;
		return 0;
	case OPT_CPUS:
		a->cpus = arg;
		return 0;
	case OPT_VM:
		o->vm = true;
		return 0;
	case OPT_PIDS:
		if (hull_parse_i64(arg, &pids) < 0 || pids < -1)
			return hull_error_set(
				reterr, -EINVAL,
				"--pids-limit '%s': expected a number (-1: unlimited)", arg);
		o->pids_limit = pids == 0 ? -1 : pids;
		return 0;
	case OPT_READ_ONLY:
		o->read_only = true;
		return 0;
	case OPT_CAP_ADD:
		return hull_strv_push(&a->cap_add, arg);
	case OPT_CAP_DROP:
		return hull_strv_push(&a->cap_drop, arg);
	case OPT_PULL:
		if (streq(arg, "missing"))
			a->pull = HULL_APP_PULL_MISSING;
		else if (streq(arg, "always"))
			a->pull = HULL_APP_PULL_ALWAYS;
		else if (streq(arg, "never"))
			a->pull = HULL_APP_PULL_NEVER;
		else
			return hull_error_set(reterr, -EINVAL,
					      "--pull '%s': expected missing, always or never",
					      arg);
		return 0;
	}
	return -EINVAL;
}

/* Makes sure the image is in the store as --pull asks (pulling through image/registry.h). */
static int ensure_image(struct hull_cli *cli, const char *ref, enum hull_app_pull pull,
			struct hull_error **reterr)
{
	_cleanup_(hull_oci_image_freep) struct hull_oci_image *img = NULL;
	int r = hull_oci_image_get(cli->home->images, ref, &img, reterr);

	if ((r != -ENOENT && pull != HULL_APP_PULL_ALWAYS) || pull == HULL_APP_PULL_NEVER)
		return r;
	if (reterr) {
		hull_error_free(*reterr);
		*reterr = NULL;
	}
	hull_oci_image_free(TAKE_PTR(img));
	r = hull_oci_image_pull(cli->home->images, ref, NULL, &img, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "pull '%s'", ref);
	return 0;
}

static int run_run(struct hull_cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	_cleanup_(run_args_done) struct run_args a = {};
	_cleanup_free_ char *name = NULL;
	int c, r = 0, code = 0;

	opterr = 0;
	optind = 0;
	/* '+': options end at IMAGE; what follows is the command and its arguments */
	while ((c = getopt_long(argc, argv, "+:hditm:e:v:w:u:", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: hull %s %s\n\n%s\n", hull_verb_run.name, hull_verb_run.usage,
			       hull_verb_run.summary);
			return 0;
		}
		if (c == '?')
			return hull_error_set(reterr, -EINVAL, "run: unknown option '%s'",
					      argv[optind - 1]);
		if (c == ':')
			return hull_error_set(reterr, -EINVAL, "run: option '%s' needs a value",
					      argv[optind - 1]);
		r = parse_opt(&a, c, optarg, reterr);
		if (r < 0)
			return r == -ENOMEM ? hull_error_errno(reterr, r, "run") : r;
	}
	/* with --vm, --memory and --cpus size the VM; otherwise they are cgroup limits */
	if (a.memory)
		r = a.o.vm ? hull_microvm_parse_memory(a.memory, &a.o.vm_memory_mib, reterr)
			   : parse_memory(a.memory, &a.o.memory, reterr);
	if (r >= 0 && a.cpus)
		r = a.o.vm ? hull_microvm_parse_cpus(a.cpus, &a.o.vm_cpus, reterr)
			   : parse_cpus(a.cpus, &a.o.cpu_quota, reterr);
	if (r < 0)
		return r;
	if (optind >= argc)
		return hull_error_set(reterr, -EINVAL,
				      "run: missing the image (usage: hull run %s)",
				      hull_verb_run.usage);
	a.o.image = argv[optind];
	if (optind + 1 < argc)
		a.o.cmd = argv + optind + 1;
	a.o.env = a.env;
	a.o.volumes = a.volumes;
	a.o.cap_add = a.cap_add;
	a.o.cap_drop = a.cap_drop;
	a.o.entrypoint = a.entrypoint;
	r = hull_cli_home(cli, reterr);
	if (r < 0)
		return r;
	r = ensure_image(cli, a.o.image, a.pull, reterr);
	if (r < 0)
		return r;
	r = hull_app_run(cli->home, &a.o, &code, &name, reterr);
	if (r < 0)
		return r;
	if (a.o.detach) {
		printf("%s\n", name);
		return 0;
	}
	return code;
}

const struct hull_cli_verb hull_verb_run = {
	.name = "run",
	.summary = "run a command in a new app container from an OCI image (as podman run)",
	.usage =
		"[options] IMAGE [CMD ARG...]\n\n"
		"  --rm                   remove the container when it exits\n"
		"  -d, --detach           run in the background; print its name\n"
		"  -i, --interactive      keep stdin connected\n"
		"  -t, --tty              allocate a terminal\n"
		"  --name NAME            the container's name\n"
		"  -e, --env K=V          set an environment variable (K alone: the caller's)\n"
		"  --env-file FILE        read K=V lines\n"
		"  -v, --volume SRC:DST[:ro|rw]  bind mount a host path\n"
		"  -w, --workdir DIR      working directory\n"
		"  -u, --user USER[:GROUP]  user (names from the image's /etc/passwd)\n"
		"  --entrypoint CMD       replace the image's entrypoint (a string or JSON array)\n"
		"  --network none|host    network namespace (default none: loopback only)\n"
		"  -m, --memory SIZE      memory limit (512m, 1g); with --vm the guest's memory\n"
		"                         (MiB: 256, 512m, 1g; default 256)\n"
		"  --cpus N               CPU limit (1.5); with --vm the guest's vCPUs (default "
		"1)\n"
		"  --pids-limit N         process limit (default 2048, -1 unlimited)\n"
		"  --read-only            read-only root (tmpfs on /tmp, /var/tmp, /run)\n"
		"  --cap-add CAP, --cap-drop CAP  change podman's default capabilities\n"
		"  --pull missing|always|never\n"
		"  --vm                   run it in a micro-VM of its own (hull's VMM and agent;\n"
		"                         the guest kernel of `make guest-kernel`)",
	.run = run_run,
};
