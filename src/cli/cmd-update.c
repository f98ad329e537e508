/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/log.h"
#include "util/str.h"

#ifndef RDTGROUP_SUPER_MAGIC
#define RDTGROUP_SUPER_MAGIC 0x7655821
#endif

enum {
	OPT_BLKIO_WEIGHT = 256,
	OPT_CPU_PERIOD,
	OPT_CPU_QUOTA,
	OPT_CPU_SHARE,
	OPT_CPU_RT_PERIOD,
	OPT_CPU_RT_RUNTIME,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_KMEM,
	OPT_KMEM_TCP,
	OPT_MEMORY,
	OPT_MEMORY_RES,
	OPT_MEMORY_SWAP,
	OPT_PIDS,
	OPT_L3,
	OPT_MEMBW,
};

static int read_resources(const char *path, struct hull_oci_resources **ret,
			  struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if (streq(path, "-"))
		r = hull_read_fd(STDIN_FILENO, &text, &len);
	else
		r = hull_read_file_at(AT_FDCWD, path, &text, &len);
	if (r < 0)
		return hull_error_errno(reterr, r, "--resources: read '%s'", path);
	r = hull_oci_resources_parse(text, len, ret, reterr);
	if (r < 0)
		return hull_error_wrap(reterr, r, "--resources");
	return 0;
}

/*
 * Intel RDT (resctrl): runc refuses these when the kernel's resctrl
 * filesystem is not mounted at /sys/fs/resctrl; hull has no resctrl backend
 * at all, so it refuses them either way, saying which case it is.
 */
static int rdt_refuse(int opt, const char *name, struct hull_error **reterr)
{
	struct statfs sfs;
	bool mounted = statfs("/sys/fs/resctrl", &sfs) == 0 && sfs.f_type == RDTGROUP_SUPER_MAGIC;

	if (mounted)
		return hull_error_set(reterr, -EOPNOTSUPP,
				      "--%s: Intel RDT (resctrl) is not supported by hull-runtime",
				      name);
	return hull_error_set(reterr, -EOPNOTSUPP,
			      "--%s: Intel RDT/%s: %s is not enabled "
			      "(resctrl is not mounted at /sys/fs/resctrl)",
			      name, opt == OPT_L3 ? "CAT" : "MBA",
			      opt == OPT_L3 ? "l3 cache schema" : "memory bandwidth schema");
}

static int set_flag(struct hull_oci_resources *res, int opt, const char *name, const char *v,
		    struct hull_error **reterr)
{
	int64_t i = 0;
	uint64_t u = 0;
	int r = 0;

	switch (opt) {
	case OPT_CPUSET_CPUS:
		free(res->cpu.cpus);
		res->cpu.cpus = strdup(v);
		return res->cpu.cpus ? 0 : hull_error_errno(reterr, -ENOMEM, "update");
	case OPT_CPUSET_MEMS:
		free(res->cpu.mems);
		res->cpu.mems = strdup(v);
		return res->cpu.mems ? 0 : hull_error_errno(reterr, -ENOMEM, "update");
	case OPT_KMEM:
	case OPT_KMEM_TCP:
	case OPT_MEMORY:
	case OPT_MEMORY_RES:
	case OPT_MEMORY_SWAP:
		r = cli_parse_bytes(v, &i);
		break;
	case OPT_CPU_QUOTA:
	case OPT_CPU_RT_RUNTIME:
	case OPT_PIDS:
		r = hull_parse_i64(v, &i);
		break;
	case OPT_L3:
	case OPT_MEMBW:
		return rdt_refuse(opt, name, reterr);
	default:
		r = hull_parse_u64(v, &u);
		break;
	}
	if (r < 0)
		return hull_error_set(reterr, -EINVAL, "--%s: invalid value '%s'", name, v);
	switch (opt) {
	case OPT_BLKIO_WEIGHT:
		res->block_io.weight = (struct hull_ou64){ u, true };
		break;
	case OPT_CPU_PERIOD:
		res->cpu.period = (struct hull_ou64){ u, true };
		break;
	case OPT_CPU_QUOTA:
		res->cpu.quota = (struct hull_oi64){ i, true };
		break;
	case OPT_CPU_SHARE:
		res->cpu.shares = (struct hull_ou64){ u, true };
		break;
	case OPT_CPU_RT_PERIOD:
		res->cpu.realtime_period = (struct hull_ou64){ u, true };
		break;
	case OPT_CPU_RT_RUNTIME:
		res->cpu.realtime_runtime = (struct hull_oi64){ i, true };
		break;
	case OPT_KMEM:
		res->memory.kernel = (struct hull_oi64){ i, true };
		break;
	case OPT_KMEM_TCP:
		res->memory.kernel_tcp = (struct hull_oi64){ i, true };
		break;
	case OPT_MEMORY:
		res->memory.limit = (struct hull_oi64){ i, true };
		break;
	case OPT_MEMORY_RES:
		res->memory.reservation = (struct hull_oi64){ i, true };
		break;
	case OPT_MEMORY_SWAP:
		res->memory.swap = (struct hull_oi64){ i, true };
		break;
	case OPT_PIDS:
		res->pids.limit = (struct hull_oi64){ i, true };
		break;
	}
	return 0;
}

static int update_run(struct cli *cli, int argc, char **argv, struct hull_error **reterr)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
		{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
		{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
		{ "cpu-share", required_argument, NULL, OPT_CPU_SHARE },
		{ "cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD },
		{ "cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
		{ "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
		{ "kernel-memory", required_argument, NULL, OPT_KMEM },
		{ "kernel-memory-tcp", required_argument, NULL, OPT_KMEM_TCP },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "memory-reservation", required_argument, NULL, OPT_MEMORY_RES },
		{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
		{ "pids-limit", required_argument, NULL, OPT_PIDS },
		{ "l3-cache-schema", required_argument, NULL, OPT_L3 },
		{ "mem-bw-schema", required_argument, NULL, OPT_MEMBW },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_(hull_oci_resources_freep) struct hull_oci_resources *res = NULL;
	const char *file = NULL;
	struct {
		int opt;
		const char *value;
	} flags[32];
	size_t n_flags = 0;
	int c, r;

	while ((r = cli_getopt(&cli_verb_update, argc, argv, "r:", opts, &c, reterr)) == 0 &&
	       c != -1) {
		if (c == 'r') {
			file = optarg;
		} else if (n_flags < ELEMENTSOF(flags)) {
			flags[n_flags].opt = c;
			flags[n_flags++].value = optarg;
		}
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = cli_want_args(&cli_verb_update, argc, argv, 1, 1, reterr);
	if (r < 0)
		return r;
	if (file) {
		r = read_resources(file, &res, reterr);
		if (r < 0)
			return r;
	} else {
		res = calloc(1, sizeof(*res));
		if (!res)
			return hull_error_errno(reterr, -ENOMEM, "update");
	}
	/* as runc: with --resources the single-value flags are not read */
	if (file && n_flags > 0)
		hull_warn("update: --resources given, ignoring the other flags (as runc does)");
	for (size_t i = 0; i < n_flags && !file; i++) {
		const char *name = "";

		for (const struct option *o = opts; o->name; o++)
			if (o->val == flags[i].opt)
				name = o->name;
		r = set_flag(res, flags[i].opt, name, flags[i].value, reterr);
		if (r < 0)
			return r;
	}
	return hull_container_update(&cli->rt, argv[optind], res, reterr);
}

const struct cli_verb cli_verb_update = {
	.name = "update",
	.summary = "change the resource limits of a running container",
	.usage = "[options] <container-id>\n\n"
		 "  -r, --resources FILE        linux.resources JSON from FILE ('-' for stdin)\n"
		 "  --memory BYTES              memory limit (suffixes k, m, g)\n"
		 "  --memory-reservation BYTES  soft limit\n"
		 "  --memory-swap BYTES         memory + swap limit\n"
		 "  --kernel-memory BYTES       kernel memory limit (v1)\n"
		 "  --kernel-memory-tcp BYTES   kernel TCP buffer limit (v1)\n"
		 "  --cpu-share N               CPU shares\n"
		 "  --cpu-period US             CFS period\n"
		 "  --cpu-quota US              CFS quota (-1: none)\n"
		 "  --cpu-rt-period US          realtime period\n"
		 "  --cpu-rt-runtime US         realtime runtime\n"
		 "  --cpuset-cpus LIST          CPUs allowed\n"
		 "  --cpuset-mems LIST          memory nodes allowed\n"
		 "  --blkio-weight N            block IO weight (10-1000)\n"
		 "  --pids-limit N              maximum number of tasks (-1: none)\n"
		 "  --l3-cache-schema S         Intel RDT/CAT schema (refused: needs resctrl)\n"
		 "  --mem-bw-schema S           Intel RDT/MBA schema (refused: needs resctrl)\n\n"
		 "With --resources the other flags are ignored, as runc does.",
	.run = update_run,
};
