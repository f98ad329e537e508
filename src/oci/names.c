/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names the OCI spec uses for kernel constants: namespaces, capabilities,
 * rlimits and hook kinds.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include "oci/config.h"
#include "util/str.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
/* older kernel headers lack the newest capabilities */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

static const struct {
	const char *name; /* the spec's */
	const char *proc; /* /proc/PID/ns/<proc> */
	int flag;
} ns_types[_HULL_NS_MAX] = {
	[HULL_NS_PID] = { "pid", "pid", CLONE_NEWPID },
	[HULL_NS_NET] = { "network", "net", CLONE_NEWNET },
	[HULL_NS_MNT] = { "mount", "mnt", CLONE_NEWNS },
	[HULL_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
	[HULL_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
	[HULL_NS_USER] = { "user", "user", CLONE_NEWUSER },
	[HULL_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
	[HULL_NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

const char *hull_ns_type_name(enum hull_ns_type t)
{
	if ((unsigned)t >= _HULL_NS_MAX)
		return NULL;
	return ns_types[t].name;
}

int hull_ns_type_clone_flag(enum hull_ns_type t)
{
	if ((unsigned)t >= _HULL_NS_MAX)
		return 0;
	return ns_types[t].flag;
}

const char *hull_ns_type_proc_name(enum hull_ns_type t)
{
	if ((unsigned)t >= _HULL_NS_MAX)
		return NULL;
	return ns_types[t].proc;
}

int hull_ns_type_from_name(const char *name, enum hull_ns_type *ret)
{
	for (unsigned t = 0; t < _HULL_NS_MAX; t++)
		if (streq(ns_types[t].name, name)) {
			*ret = (enum hull_ns_type)t;
			return 0;
		}
	return -EINVAL;
}

/* Every capability up to CAP_CHECKPOINT_RESTORE (40), indexed by number. */
#define HULL_CAP_LAST 40
static const char *const cap_names[HULL_CAP_LAST + 1] = {
	[CAP_CHOWN] = "CAP_CHOWN",
	[CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
	[CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
	[CAP_FOWNER] = "CAP_FOWNER",
	[CAP_FSETID] = "CAP_FSETID",
	[CAP_KILL] = "CAP_KILL",
	[CAP_SETGID] = "CAP_SETGID",
	[CAP_SETUID] = "CAP_SETUID",
	[CAP_SETPCAP] = "CAP_SETPCAP",
	[CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
	[CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
	[CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
	[CAP_NET_ADMIN] = "CAP_NET_ADMIN",
	[CAP_NET_RAW] = "CAP_NET_RAW",
	[CAP_IPC_LOCK] = "CAP_IPC_LOCK",
	[CAP_IPC_OWNER] = "CAP_IPC_OWNER",
	[CAP_SYS_MODULE] = "CAP_SYS_MODULE",
	[CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
	[CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
	[CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
	[CAP_SYS_PACCT] = "CAP_SYS_PACCT",
	[CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
	[CAP_SYS_BOOT] = "CAP_SYS_BOOT",
	[CAP_SYS_NICE] = "CAP_SYS_NICE",
	[CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
	[CAP_SYS_TIME] = "CAP_SYS_TIME",
	[CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
	[CAP_MKNOD] = "CAP_MKNOD",
	[CAP_LEASE] = "CAP_LEASE",
	[CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
	[CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
	[CAP_SETFCAP] = "CAP_SETFCAP",
	[CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
	[CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
	[CAP_SYSLOG] = "CAP_SYSLOG",
	[CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
	[CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
	[CAP_AUDIT_READ] = "CAP_AUDIT_READ",
	[CAP_PERFMON] = "CAP_PERFMON",
	[CAP_BPF] = "CAP_BPF",
	[CAP_CHECKPOINT_RESTORE] = "CAP_CHECKPOINT_RESTORE",
};
_Static_assert(CAP_CHECKPOINT_RESTORE == HULL_CAP_LAST, "capability table");

int hull_cap_from_name(const char *name, int *ret)
{
	for (int c = 0; c <= HULL_CAP_LAST; c++)
		if (streq(cap_names[c], name)) {
			*ret = c;
			return 0;
		}
	return -EINVAL;
}

const char *hull_cap_name(int cap)
{
	if (cap < 0 || cap > HULL_CAP_LAST)
		return NULL;
	return cap_names[cap];
}

int hull_cap_last(void)
{
	return HULL_CAP_LAST;
}

static const char *const rlimit_names[] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",	       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",	       [RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",	       [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

int hull_rlimit_from_name(const char *name, int *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
		if (rlimit_names[i] && streq(rlimit_names[i], name)) {
			*ret = (int)i;
			return 0;
		}
	return -EINVAL;
}

const char *hull_rlimit_name(int resource)
{
	if (resource < 0 || (size_t)resource >= ELEMENTSOF(rlimit_names))
		return NULL;
	return rlimit_names[resource];
}

static const char *const hook_kind_names[_HULL_HOOK_MAX] = {
	[HULL_HOOK_PRESTART] = "prestart",
	[HULL_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HULL_HOOK_CREATE_CONTAINER] = "createContainer",
	[HULL_HOOK_START_CONTAINER] = "startContainer",
	[HULL_HOOK_POSTSTART] = "poststart",
	[HULL_HOOK_POSTSTOP] = "poststop",
};

const char *hull_oci_hook_kind_name(enum hull_oci_hook_kind k)
{
	if ((unsigned)k >= _HULL_HOOK_MAX)
		return NULL;
	return hook_kind_names[k];
}
