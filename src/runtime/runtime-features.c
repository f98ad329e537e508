/* SPDX-License-Identifier: Apache-2.0 */
/* `features`: what this build of hull-runtime supports (runtime-spec features.md). */
#include <seccomp.h>
#include <stdio.h>
#include <stdbool.h>

#include "linux/seccomp.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/str.h"

static struct json_object *strings(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

struct json_object *hull_runtime_features(void)
{
	static const char *const hooks[] = { "prestart",
					     "createRuntime",
					     "createContainer",
					     "startContainer",
					     "poststart",
					     "poststop",
					     NULL };
	static const char *const mount_options[] = {
		"async",       "atime",		 "bind",	"defaults",
		"dev",	       "diratime",	 "dirsync",	"exec",
		"lazytime",    "mand",		 "noatime",	"nodev",
		"nodiratime",  "noexec",	 "nolazytime",	"nomand",
		"norelatime",  "nostrictatime",	 "nosuid",	"nosymfollow",
		"private",     "ratime",	 "rbind",	"rdev",
		"rdiratime",   "relatime",	 "remount",	"rexec",
		"rnoatime",    "rnodev",	 "rnodiratime", "rnoexec",
		"rnorelatime", "rnostrictatime", "rnosuid",	"rnosymfollow",
		"ro",	       "rprivate",	 "rrelatime",	"rro",
		"rrw",	       "rshared",	 "rslave",	"rstrictatime",
		"rsuid",       "rsymfollow",	 "runbindable", "rw",
		"shared",      "slave",		 "strictatime", "suid",
		"symfollow",   "sync",		 "unbindable",	NULL,
	};
	static const char *const actions[] = {
		"SCMP_ACT_ALLOW",	"SCMP_ACT_ERRNO",
		"SCMP_ACT_KILL",	"SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
		"SCMP_ACT_NOTIFY",	"SCMP_ACT_TRACE",
		"SCMP_ACT_TRAP",	NULL,
	};
	static const char *const operators[] = {
		"SCMP_CMP_EQ", "SCMP_CMP_GE",	     "SCMP_CMP_GT", "SCMP_CMP_LE",
		"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL,
	};
	static const char *const archs[] = {
		"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",	 "SCMP_ARCH_X86",
		"SCMP_ARCH_X32",     "SCMP_ARCH_X86_64", NULL,
	};
	static const char *const flags[] = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					     "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL };
	struct json_object *o = json_object_new_object(), *lx, *ns, *caps, *cg, *sc, *ann;
	const struct scmp_version *v = seccomp_version();
	char buf[64];

	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string(HULL_OCI_VERSION));
	json_object_object_add(o, "hooks", strings(hooks));
	json_object_object_add(o, "mountOptions", strings(mount_options));

	lx = json_object_new_object();
	ns = json_object_new_array();
	for (int t = 0; t < _HULL_NS_MAX; t++)
		json_object_array_add(ns, json_object_new_string(hull_ns_type_name(t)));
	json_object_object_add(lx, "namespaces", ns);
	caps = json_object_new_array();
	for (int c = 0; c <= hull_cap_last(); c++)
		json_object_array_add(caps, json_object_new_string(hull_cap_name(c)));
	json_object_object_add(lx, "capabilities", caps);
	cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(true));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(false));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
	json_object_object_add(cg, "rdma", json_object_new_boolean(false));
	json_object_object_add(lx, "cgroup", cg);
	sc = json_object_new_object();
	json_object_object_add(sc, "enabled", json_object_new_boolean(true));
	json_object_object_add(sc, "actions", strings(actions));
	json_object_object_add(sc, "operators", strings(operators));
	json_object_object_add(sc, "archs", strings(archs));
	json_object_object_add(sc, "knownFlags", strings(flags));
	json_object_object_add(sc, "supportedFlags", strings(flags));
	json_object_object_add(lx, "seccomp", sc);
	json_object_object_add(lx, "apparmor", json_object_new_object());
	json_object_object_add(json_object_object_get(lx, "apparmor"), "enabled",
			       json_object_new_boolean(true));
	json_object_object_add(lx, "selinux", json_object_new_object());
	json_object_object_add(json_object_object_get(lx, "selinux"), "enabled",
			       json_object_new_boolean(true));
	json_object_object_add(lx, "intelRdt", json_object_new_object());
	json_object_object_add(json_object_object_get(lx, "intelRdt"), "enabled",
			       json_object_new_boolean(false));
	json_object_object_add(lx, "mountExtensions", json_object_new_object());
	json_object_object_add(o, "linux", lx);

	ann = json_object_new_object();
	snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro);
	json_object_object_add(ann, "io.github.seccomp.libseccomp.version",
			       json_object_new_string(buf));
	json_object_object_add(ann, "org.opencontainers.runc.checkpoint.enabled",
			       json_object_new_string("false"));
	json_object_object_add(ann, "run.hull.version", json_object_new_string(HULL_VERSION));
	json_object_object_add(o, "annotations", ann);
	return o;
}
