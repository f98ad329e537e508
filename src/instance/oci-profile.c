/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system container profile: the OCI config hull generates for an
 * instance at each start.  Its own init (/sbin/init) as pid 1 of new pid,
 * mount, ipc, uts, network, user and cgroup namespaces; /run and /run/lock
 * on tmpfs; a pty as /dev/console; container=hull in init's environment; the
 * instance's own id range mapped to 0..65535.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <string.h>

#include "instance/device-internal.h"
#include "instance/instance-internal.h"
#include "oci/config.h"
#include "runtime/cloned-binary.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

/* What LXC drops by default from a system container's bounding set. */
static const char *const dropped_caps[] = {
	"CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_SYS_MODULE", "CAP_SYS_TIME", "CAP_SYS_RAWIO",
};

static struct json_object *strv_json(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/*
 * A privileged instance's root is the host's: it can hold no capability
 * that hull itself lacks (a host or sandbox may have dropped some).
 */
static struct json_object *caps_json(bool privileged)
{
	struct json_object *a = json_object_new_array();

	for (int c = 0; a && c <= hull_cap_last(); c++) {
		const char *name = hull_cap_name(c);
		bool drop = false;

		if (!name || (privileged && prctl(PR_CAPBSET_READ, (unsigned long)c) != 1))
			continue;
		for (size_t i = 0; i < ELEMENTSOF(dropped_caps); i++)
			drop = drop || streq(name, dropped_caps[i]);
		if (!drop)
			json_object_array_add(a, json_object_new_string(name));
	}
	return a;
}

static void add_mount(struct json_object *mounts, const char *dest, const char *type,
		      const char *source, const char *const *opts, size_t n_opts)
{
	struct json_object *m = json_object_new_object();

	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	json_object_object_add(m, "options", strv_json(opts, n_opts));
	json_object_array_add(mounts, m);
}

#define MOUNT(dest, type, src, ...)                                     \
	do {                                                            \
		static const char *const o_[] = { __VA_ARGS__ };        \
		add_mount(mounts, dest, type, src, o_, ELEMENTSOF(o_)); \
	} while (0)

static bool instance_nesting(const struct hull_instance_config *c)
{
	const char *v = hull_instance_config_get(c, "security.nesting");

	return v && streq(v, "true");
}

static struct json_object *idmap_json(uint32_t base, uint32_t count)
{
	struct json_object *a = json_object_new_array(), *m = json_object_new_object();

	json_object_object_add(m, "containerID", json_object_new_int64(0));
	json_object_object_add(m, "hostID", json_object_new_int64(base));
	json_object_object_add(m, "size", json_object_new_int64(count));
	json_object_array_add(a, m);
	return a;
}

struct json_object *instance_oci_config(const struct hull_instance_config *c)
{
	static const char *const args[] = { "/sbin/init" };
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"container=hull",
		"TERM=linux",
	};
	static const char *const namespaces[] = { "pid",   "network", "ipc",   "uts",
						  "mount", "user",    "cgroup" };
	static const char *const masked[] = { "/proc/kcore",	   "/proc/keys", "/proc/timer_list",
					      "/proc/sched_debug", "/proc/acpi", "/proc/scsi",
					      "/sys/firmware" };
	static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq",
						"/proc/sysrq-trigger" };
	struct json_object *o = json_object_new_object(), *process = json_object_new_object(),
			   *user = json_object_new_object(), *caps = json_object_new_object(),
			   *root = json_object_new_object(), *mounts = json_object_new_array(),
			   *linux_ = json_object_new_object(), *ns = json_object_new_array(),
			   *res = json_object_new_object();
	uint64_t mem = instance_memory_limit(c);
	const char *pids = hull_instance_config_get(c, "limits.processes");
	const char *cpus = hull_instance_config_get(c, "limits.cpu");
	bool privileged = instance_privileged(c);

	if (!o || !process || !user || !caps || !root || !mounts || !linux_ || !ns || !res) {
		json_object_put(o);
		json_object_put(process);
		json_object_put(user);
		json_object_put(caps);
		json_object_put(root);
		json_object_put(mounts);
		json_object_put(linux_);
		json_object_put(ns);
		json_object_put(res);
		return NULL;
	}
	json_object_object_add(o, "ociVersion", json_object_new_string(HULL_OCI_VERSION));

	json_object_object_add(process, "terminal", json_object_new_boolean(true));
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(process, "user", user);
	json_object_object_add(process, "args", strv_json(args, ELEMENTSOF(args)));
	json_object_object_add(process, "env", strv_json(env, ELEMENTSOF(env)));
	json_object_object_add(process, "cwd", json_object_new_string("/"));
	json_object_object_add(caps, "bounding", caps_json(privileged));
	json_object_object_add(caps, "effective", caps_json(privileged));
	json_object_object_add(caps, "permitted", caps_json(privileged));
	json_object_object_add(process, "capabilities", caps);
	json_object_object_add(process, "noNewPrivileges", json_object_new_boolean(false));
	json_object_object_add(o, "process", process);

	json_object_object_add(root, "path", json_object_new_string("rootfs"));
	json_object_object_add(root, "readonly", json_object_new_boolean(false));
	json_object_object_add(o, "root", root);
	json_object_object_add(o, "hostname", json_object_new_string(c->name));

	MOUNT("/proc", "proc", "proc", "nosuid", "noexec", "nodev");
	MOUNT("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
	MOUNT("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
	      "mode=0620", "gid=5");
	MOUNT("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
	MOUNT("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
	MOUNT("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
	MOUNT("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "rw");
	if (instance_nesting(c)) {
		/*
		 * security.nesting: a proc and a sysfs with nothing mounted
		 * over them, where only the instance's root can reach them.
		 * The kernel lets a user namespace made inside the instance
		 * mount proc or sysfs only when one such view is already
		 * visible; the masked /proc and /sys are not.  LXC's
		 * /dev/.lxc/{proc,sys} do the same (docs/nesting.md).
		 */
		MOUNT("/dev/.hull", "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=700",
		      "size=64k");
		MOUNT("/dev/.hull/proc", "proc", "proc", "nosuid", "noexec", "nodev");
		MOUNT("/dev/.hull/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
	}
	MOUNT("/run", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=755", "size=20%");
	MOUNT("/run/lock", "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=1777", "size=5m");
	json_object_object_add(o, "mounts", mounts);

	/* privileged: no user namespace, the instance's root is the host's */
	if (!privileged) {
		json_object_object_add(linux_, "uidMappings", idmap_json(c->uid_base, c->id_count));
		json_object_object_add(linux_, "gidMappings", idmap_json(c->gid_base, c->id_count));
	}
	for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
		struct json_object *n = json_object_new_object();

		if (privileged && streq(namespaces[i], "user"))
			continue;

		json_object_object_add(n, "type", json_object_new_string(namespaces[i]));
		json_object_array_add(ns, n);
	}
	json_object_object_add(linux_, "namespaces", ns);
	if (mem) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "limit", json_object_new_int64((int64_t)mem));
		json_object_object_add(res, "memory", m);
	}
	if (pids) {
		struct json_object *p = json_object_new_object();
		uint64_t v = 0;

		hull_parse_u64(pids, &v);
		json_object_object_add(p, "limit", json_object_new_int64((int64_t)v));
		json_object_object_add(res, "pids", p);
	}
	if (cpus) {
		struct json_object *cpu = json_object_new_object();
		uint64_t millis = 0;

		instance_parse_cpus(cpus, &millis);
		json_object_object_add(
			cpu, "quota",
			json_object_new_int64((int64_t)(millis * INSTANCE_CPU_PERIOD_US / 1000)));
		json_object_object_add(cpu, "period",
				       json_object_new_int64(INSTANCE_CPU_PERIOD_US));
		json_object_object_add(res, "cpu", cpu);
	}
	json_object_object_add(linux_, "resources", res);
	json_object_object_add(linux_, "maskedPaths", strv_json(masked, ELEMENTSOF(masked)));
	{
		struct json_object *ro = strv_json(readonly, ELEMENTSOF(readonly));

		/* as LXC's proc:mixed for privileged containers: the host's
		 * sysctls are not the instance's to change */
		if (ro && privileged)
			json_object_array_add(ro, json_object_new_string("/proc/sys"));
		json_object_object_add(linux_, "readonlyPaths", ro);
	}
	json_object_object_add(o, "linux", linux_);

	/* the cgroups are delegated by hull itself, run as a createRuntime hook */
	{
		char self[PATH_MAX], uid[16], gid[16];
		ssize_t n = hull_self_exe_path(self, sizeof(self));
		struct json_object *hooks = json_object_new_object(),
				   *list = json_object_new_array(),
				   *hook = json_object_new_object();
		const char *hargs[] = { "hull", "__delegate-cgroups", uid, gid };

		if (n <= 0 || !hooks || !list || !hook) {
			json_object_put(hooks);
			json_object_put(list);
			json_object_put(hook);
			json_object_put(o);
			return NULL;
		}
		self[n] = '\0';
		snprintf(uid, sizeof(uid), "%u", privileged ? 0 : c->uid_base);
		snprintf(gid, sizeof(gid), "%u", privileged ? 0 : c->gid_base);
		json_object_object_add(hook, "path", json_object_new_string(self));
		json_object_object_add(hook, "args", strv_json(hargs, ELEMENTSOF(hargs)));
		json_object_object_add(hook, "timeout", json_object_new_int(10));
		json_object_array_add(list, hook);
		/* the nics go into the container's namespace before it runs */
		if (instance_has_nics(c)) {
			const char *nargs[] = { "hull", "__nic-hook" };
			struct json_object *nic = json_object_new_object();

			json_object_object_add(nic, "path", json_object_new_string(self));
			json_object_object_add(nic, "args", strv_json(nargs, ELEMENTSOF(nargs)));
			json_object_object_add(nic, "timeout", json_object_new_int(20));
			json_object_array_add(list, nic);
		}
		json_object_object_add(hooks, "createRuntime", list);
		json_object_object_add(o, "hooks", hooks);
	}
	return o;
}

int instance_oci_write(int dirfd, const struct hull_instance_config *c, struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *oci = instance_oci_config(c);
	const char *text;
	int r;

	if (!oci)
		return -ENOMEM;
	r = instance_device_rules_json(c, oci, reterr);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(oci, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	r = hull_write_file_atomic_at(dirfd, "config.json", text, strlen(text), 0600,
				      HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "write 'config.json'");
	return 0;
}
