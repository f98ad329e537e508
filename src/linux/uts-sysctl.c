/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostname, domainname and linux.sysctl.  All of them change kernel state
 * that is only per-container inside the matching namespace, so the
 * validators refuse them when the container would share the host's.
 */
#include "linux/process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/process-internal.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/str.h"

/*
 * True when the config gives the container its own namespace of type t: a
 * new one, or a path that is not the namespace the runtime itself is in.
 */
static int has_private_ns(const struct hull_oci_config *c, enum hull_ns_type t, bool *ret)
{
	const struct hull_oci_linux *lc = c->linux_config;
	const struct hull_oci_namespace *ns = NULL;
	struct stat a, b;
	char self[64];

	for (size_t i = 0; lc && i < lc->n_namespaces; i++)
		if (lc->namespaces[i].type == t)
			ns = &lc->namespaces[i];
	if (!ns || !ns->path) {
		*ret = ns != NULL;
		return 0;
	}
	snprintf(self, sizeof(self), "/proc/self/ns/%s", hull_ns_type_proc_name(t));
	if (stat(ns->path, &a) < 0)
		return -errno;
	if (stat(self, &b) < 0)
		return -errno;
	*ret = !(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	return 0;
}

int hull_uts_validate(const struct hull_oci_config *c, struct hull_error **reterr)
{
	bool own = false;
	int r;

	if (!c->hostname && !c->domainname)
		return 0;
	r = has_private_ns(c, HULL_NS_UTS, &own);
	if (r < 0)
		return hull_error_errno(reterr, r, "linux.namespaces: uts namespace path");
	if (own)
		return 0;
	if (c->hostname)
		return hull_error_set(reterr, -EINVAL,
				      "hostname: cannot set '%s' without a private uts namespace",
				      c->hostname);
	return hull_error_set(reterr, -EINVAL,
			      "domainname: cannot set '%s' without a private uts namespace",
			      c->domainname);
}

int hull_uts_apply(const struct hull_oci_config *c, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = c->linux_config;
	bool uts = false;

	if (!c->hostname && !c->domainname)
		return 0;
	/*
	 * Only "is there a uts entry" here: inside the container a joined
	 * namespace is our own, so comparing with /proc/self/ns/uts (as the
	 * validator does before clone) would always match.
	 */
	for (size_t i = 0; lc && i < lc->n_namespaces; i++)
		if (lc->namespaces[i].type == HULL_NS_UTS)
			uts = true;
	if (!uts)
		return hull_error_set(reterr, -EINVAL,
				      "%s: cannot set '%s' without a private uts namespace",
				      c->hostname ? "hostname" : "domainname",
				      c->hostname ? c->hostname : c->domainname);
	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return hull_error_errno(reterr, negative_errno(), "sethostname '%s'", c->hostname);
	if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
		return hull_error_errno(reterr, negative_errno(), "setdomainname '%s'",
					c->domainname);
	return 0;
}

/* IPC sysctls outside fs.mqueue.* (the kernel's ipc namespace covers them). */
static const char *const ipc_sysctls[] = {
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

/* Both spellings are accepted: "net.ipv4.ip_forward" and "net/ipv4/conf/eth0.1/forwarding". */
static char *sysctl_dotted(const char *key)
{
	char *d = strdup(key);

	if (d && strchr(d, '/'))
		for (char *p = d; *p; p++)
			if (*p == '/')
				*p = '.';
	return d;
}

/* The path below /proc/sys; NULL for keys that are not a plain relative path. */
static char *sysctl_path(const char *key)
{
	_cleanup_free_ char *path = strdup(key);
	_cleanup_free_ char *check = NULL;

	if (!path)
		return NULL;
	if (!strchr(path, '/'))
		for (char *p = path; *p; p++)
			if (*p == '.')
				*p = '/';
	check = strdup(path);
	if (!check)
		return NULL;
	for (char *rest = check, *part; (part = strsep(&rest, "/"));)
		if (part[0] == '\0' || streq_dots(part))
			return NULL;
	return TAKE_PTR(path);
}

int hull_sysctl_validate(const struct hull_oci_config *c, struct hull_error **reterr)
{
	const struct hull_oci_linux *lc = c->linux_config;

	if (!lc)
		return 0;
	for (char **kv = lc->sysctl; kv && kv[0] && kv[1]; kv += 2) {
		_cleanup_free_ char *key = sysctl_dotted(kv[0]);
		_cleanup_free_ char *path = sysctl_path(kv[0]);
		enum hull_ns_type t;
		bool ipc = false, own = false;
		int r;

		if (!key || !path)
			return hull_error_set(reterr, -EINVAL, "linux.sysctl: invalid key '%s'",
					      kv[0]);
		for (size_t i = 0; i < ELEMENTSOF(ipc_sysctls); i++)
			if (streq(key, ipc_sysctls[i]))
				ipc = true;
		if (ipc || startswith(key, "fs.mqueue."))
			t = HULL_NS_IPC;
		else if (startswith(key, "net."))
			t = HULL_NS_NET;
		else if (streq(key, "kernel.domainname"))
			t = HULL_NS_UTS;
		else if (streq(key, "kernel.hostname"))
			return hull_error_set(
				reterr, -EINVAL,
				"linux.sysctl: '%s' conflicts with the 'hostname' field", kv[0]);
		else
			return hull_error_set(reterr, -EINVAL,
					      "linux.sysctl: '%s' is not in a separate kernel "
					      "namespace",
					      kv[0]);
		r = has_private_ns(c, t, &own);
		if (r < 0)
			return hull_error_errno(reterr, r, "linux.namespaces: %s namespace path",
						hull_ns_type_name(t));
		if (!own)
			return hull_error_set(reterr, -EINVAL,
					      "linux.sysctl: '%s' is not allowed in the host's %s "
					      "namespace",
					      kv[0], hull_ns_type_name(t));
	}
	return 0;
}

int hull_sysctl_apply(const struct hull_oci_linux *lc, struct hull_error **reterr)
{
	_cleanup_close_ int dirfd = -EBADF;

	if (!lc || !lc->sysctl || !lc->sysctl[0])
		return 0;
	dirfd = hull_procfs_open_dir("/proc/sys");
	if (dirfd < 0)
		return hull_error_errno(reterr, dirfd, "linux.sysctl: open '/proc/sys'");

	for (char **kv = lc->sysctl; kv[0] && kv[1]; kv += 2) {
		_cleanup_free_ char *path = sysctl_path(kv[0]);
		_cleanup_close_ int fd = -EBADF;
		size_t len = strlen(kv[1]);
		ssize_t n;

		if (!path)
			return hull_error_set(reterr, -EINVAL, "linux.sysctl: invalid key '%s'",
					      kv[0]);
		fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
		if (fd < 0)
			return hull_error_errno(reterr, negative_errno(),
						"linux.sysctl: open '/proc/sys/%s'", path);
		n = RETRY_EINTR(write(fd, kv[1], len));
		if (n < 0)
			return hull_error_errno(reterr, negative_errno(),
						"linux.sysctl: write '%s' to '/proc/sys/%s'", kv[1],
						path);
		if ((size_t)n != len)
			return hull_error_errno(reterr, -EIO,
						"linux.sysctl: write '%s' to '/proc/sys/%s'", kv[1],
						path);
		hull_debug("sysctl %s = %s", kv[0], kv[1]);
	}
	return 0;
}
