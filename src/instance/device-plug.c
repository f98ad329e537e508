/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Devices into and out of a running container.  The mount is made on the
 * host, detached: a disk is open_tree(OPEN_TREE_CLONE) of its source,
 * id-mapped (MOUNT_ATTR_IDMAP) with the container's own user namespace, so
 * a host file of uid 1000 shows as 1000 inside and nothing on the host is
 * chowned; a device node is made with the owner and mode asked on a
 * private tmpfs of hull's (a tmpfs the container mounted in its user
 * namespace would not let it be opened) and cloned the same way.  A child
 * then enters the container's mount namespace, resolves the target inside
 * the container's root (openat2 RESOLVE_IN_ROOT: its symlinks never lead
 * out), creates it when missing, and move_mount()s the mount onto that fd.
 * The child acts with the container root's fsuid, so what it creates
 * belongs to the container (and a tmpfs mounted in its user namespace
 * accepts it).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/device-internal.h"
#include "linux/mount-options.h"
#include "linux/rootfs.h"
#include "util/file.h"
#include "util/str.h"

/* What a child in the container's mount namespace does, given the root's fd. */
struct mntns_op {
	int mnt_fd;	  /* the detached mount to attach, or -1 to take one out */
	const char *path; /* inside */
	bool dir;	  /* the target is a directory (a disk of a directory) */
	bool node;	  /* the target is a device node (its file goes too) */
	dev_t rdev;	  /* ... of this number */
	dev_t st_dev;	  /* unplug a disk: what the mount shows */
	ino_t st_ino;
	int proc_fd;   /* the host's /proc, for umount through self/fd */
	char msg[256]; /* the child's error */
};

static int op_attach(int root, struct mntns_op *op)
{
	_cleanup_close_ int target = -EBADF, parent = -EBADF;
	_cleanup_free_ char *dir = strdup(op->path);
	int r;

	if (!dir)
		return -ENOMEM;
	if (op->dir) {
		target = hull_mkdir_in_root(root, op->path, false, 0755, NULL);
	} else {
		/* the directories on the way, then a file to land on */
		parent = hull_mkdir_in_root(root, dirname(dir), false, 0755, NULL);
		if (parent < 0) {
			snprintf(op->msg, sizeof(op->msg), "create the parent of '%s'", op->path);
			return parent;
		}
		target = op->node ? hull_dev_bind_target(root, op->path, NULL)
				  : hull_mkdir_in_root(root, op->path, true, 0644, NULL);
	}
	if (target < 0) {
		snprintf(op->msg, sizeof(op->msg), "create '%s' inside", op->path);
		return target;
	}
	r = hull_mount_attach(op->mnt_fd, target);
	if (r < 0)
		snprintf(op->msg, sizeof(op->msg), "mount on '%s' inside", op->path);
	return r;
}

static int op_detach(int root, struct mntns_op *op)
{
	_cleanup_close_ int fd = -EBADF, parent = -EBADF;
	_cleanup_free_ char *copy = strdup(op->path);
	char self[64];
	struct stat st;

	if (!copy)
		return -ENOMEM;
	fd = hull_open_in_root(root, op->path, O_PATH | O_NOFOLLOW, NULL);
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0; /* gone already */
	/* only what hull put there: the node of that number, the disk's root */
	if (op->node ? (!(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) || st.st_rdev != op->rdev)
		     : (st.st_dev != op->st_dev || st.st_ino != op->st_ino))
		return 0;
	snprintf(self, sizeof(self), "self/fd/%d", fd);
	if (fchdir(op->proc_fd) < 0 || umount2(self, MNT_DETACH) < 0) {
		snprintf(op->msg, sizeof(op->msg), "unmount '%s' inside", op->path);
		return -errno;
	}
	if (op->node) {
		parent = hull_open_in_root(root, dirname(copy), O_PATH | O_DIRECTORY, NULL);
		strcpy(copy, op->path);
		if (parent >= 0)
			(void)unlinkat(parent, basename(copy), 0);
	}
	return 0;
}

/* Runs op in a child that entered pid's mount namespace, as fsuid uid:gid. */
static int in_mntns(pid_t pid, uid_t uid, gid_t gid, struct mntns_op *op,
		    struct hull_error **reterr)
{
	_cleanup_close_ int ns = -EBADF, rd = -EBADF, wr = -EBADF, proc = -EBADF;
	char path[64];
	int p[2], status, r;
	ssize_t n;
	pid_t child;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ns < 0 || proc < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", path);
	op->proc_fd = proc;
	op->msg[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error_errno(reterr, -errno, "pipe");
	rd = p[0];
	wr = p[1];
	child = fork();
	if (child < 0)
		return hull_error_errno(reterr, -errno, "fork");
	if (child == 0) {
		_cleanup_close_ int root = -EBADF;

		rd = safe_close(rd);
		r = setns(ns, CLONE_NEWNS) < 0 ? -errno : 0;
		if (r < 0)
			snprintf(op->msg, sizeof(op->msg), "enter the mount namespace");
		if (r >= 0) {
			setfsgid(gid);
			setfsuid(uid);
			root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			r = root < 0	      ? -errno
			    : op->mnt_fd >= 0 ? op_attach(root, op)
					      : op_detach(root, op);
		}
		hull_write_all(wr, &r, sizeof(r));
		hull_write_all(wr, op->msg, strlen(op->msg));
		_exit(0);
	}
	wr = safe_close(wr);
	n = hull_read_all(rd, path, sizeof(int));
	r = n == (ssize_t)sizeof(int) ? *(int *)path : -ECHILD;
	n = hull_read_all(rd, op->msg, sizeof(op->msg) - 1);
	op->msg[n > 0 ? n : 0] = '\0';
	RETRY_EINTR(waitpid(child, &status, 0));
	if (r < 0)
		return hull_error_errno(reterr, r, "%s", op->msg[0] ? op->msg : "in the container");
	return 0;
}

bool instance_own_userns(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return stat(path, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 && a.st_ino != b.st_ino;
}

static int plug_disk(const struct hull_instance_config *c, const char *dev, pid_t pid,
		     struct hull_error **reterr)
{
	const char *source = hull_instance_device_get(c, dev, "source");
	const char *path = hull_instance_device_get(c, dev, "path");
	const char *ro = hull_instance_device_get(c, dev, "readonly");
	_cleanup_close_ int mnt = -EBADF, userns = -EBADF;
	bool mapped = instance_own_userns(pid);
	struct mntns_op op = { .path = path };
	uint64_t attrs = MOUNT_ATTR_NODEV | (ro && streq(ro, "true") ? MOUNT_ATTR_RDONLY : 0);
	struct stat st;
	char ns[64];
	int r;

	if (!source || !path)
		return hull_error_set(reterr, -EINVAL, "disk: no source or path");
	if (stat(source, &st) < 0)
		return hull_error_errno(reterr, -errno, "disk: source '%s'", source);
	op.dir = S_ISDIR(st.st_mode);
	mnt = hull_mount_clone(AT_FDCWD, source, false);
	if (mnt < 0)
		return hull_error_errno(reterr, mnt, "disk: clone '%s'", source);
	if (mapped) {
		snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
		userns = open(ns, O_RDONLY | O_CLOEXEC);
		if (userns < 0)
			return hull_error_errno(reterr, -errno, "open '%s'", ns);
		attrs |= MOUNT_ATTR_IDMAP;
	}
	r = hull_mount_setattr(mnt, false, attrs, 0, 0, userns);
	if (r < 0)
		return hull_error_errno(reterr, r, "disk: %s'%s'",
					mapped ? "id-mapped mount of " : "mount of ", source);
	op.mnt_fd = mnt;
	return in_mntns(pid, mapped ? c->uid_base : 0, mapped ? c->gid_base : 0, &op, reterr);
}

int instance_device_node_plug(const struct device_node *n, pid_t pid, uid_t uid_base,
			      gid_t gid_base, struct hull_error **reterr)
{
	_cleanup_close_ int tmp = -EBADF, mnt = -EBADF;
	struct mntns_op op = { .path = n->path, .node = true };
	char kmsg[HULL_FS_KMSG_MAX] = "";

	tmp = hull_fs_new("tmpfs", "hull-dev", 0, "mode=0755,size=4k",
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, kmsg, sizeof(kmsg));
	if (tmp < 0)
		return hull_error_errno(reterr, tmp, "a tmpfs for '%s'%s%s", n->path,
					kmsg[0] ? ": " : "", kmsg);
	if (mknodat(tmp, "node", (n->type == 'b' ? S_IFBLK : S_IFCHR) | 0600,
		    makedev(n->major, n->minor)) < 0 ||
	    fchownat(tmp, "node", uid_base + n->uid, gid_base + n->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(tmp, "node", n->mode, 0) < 0)
		return hull_error_errno(reterr, -errno, "make the node %u:%u for '%s'", n->major,
					n->minor, n->path);
	mnt = hull_mount_clone(tmp, "node", false);
	if (mnt < 0)
		return hull_error_errno(reterr, mnt, "clone the node for '%s'", n->path);
	op.mnt_fd = mnt;
	return in_mntns(pid, uid_base, gid_base, &op, reterr);
}

int instance_device_node_unplug(const struct device_node *n, pid_t pid, struct hull_error **reterr)
{
	struct mntns_op op = {
		.mnt_fd = -EBADF,
		.path = n->path,
		.node = true,
		.rdev = makedev(n->major, n->minor),
	};

	return in_mntns(pid, 0, 0, &op, reterr);
}

int instance_device_plug(const struct hull_instance_config *c, const char *dev, pid_t pid,
			 struct hull_error **reterr)
{
	const char *type = hull_instance_device_get(c, dev, "type");
	_cleanup_free_ struct device_node *nodes = NULL;
	bool mapped = instance_own_userns(pid);
	size_t n = 0;
	int r;

	if (!type || !instance_device_type_known(type))
		return 0;
	if (streq(type, "disk"))
		r = plug_disk(c, dev, pid, reterr);
	else
		r = instance_device_nodes(c, dev, &nodes, &n, reterr);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = instance_device_node_plug(&nodes[i], pid, mapped ? c->uid_base : 0,
					      mapped ? c->gid_base : 0, reterr);
		if (r < 0)
			while (i-- > 0)
				instance_device_node_unplug(&nodes[i], pid, NULL);
	}
	return r < 0 ? hull_error_wrap(reterr, r, "device '%s'", dev) : 0;
}

int instance_device_unplug(const struct hull_instance_config *c, const char *dev, pid_t pid,
			   struct hull_error **reterr)
{
	const char *type = hull_instance_device_get(c, dev, "type");
	_cleanup_free_ struct device_node *nodes = NULL;
	size_t n = 0;
	int r = 0;

	if (!type || !instance_device_type_known(type))
		return 0;
	if (streq(type, "disk")) {
		const char *source = hull_instance_device_get(c, dev, "source");
		struct mntns_op op = { .mnt_fd = -EBADF,
				       .path = hull_instance_device_get(c, dev, "path") };
		struct stat st;

		if (!source || !op.path || stat(source, &st) < 0)
			return 0;
		op.st_dev = st.st_dev;
		op.st_ino = st.st_ino;
		r = in_mntns(pid, 0, 0, &op, reterr);
	} else if (instance_device_nodes(c, dev, &nodes, &n, NULL) >= 0) {
		for (size_t i = 0; i < n; i++) {
			int k = instance_device_node_unplug(&nodes[i], pid, r < 0 ? NULL : reterr);

			r = r < 0 ? r : k;
		}
	}
	return r < 0 ? hull_error_wrap(reterr, r, "device '%s'", dev) : 0;
}

int instance_devices_plug_all(const struct hull_instance_config *c, pid_t pid,
			      struct hull_error **reterr)
{
	_cleanup_strv_free_ char **devs = instance_device_names(c);

	if (!devs)
		return -ENOMEM;
	hull_strv_foreach (dev, devs) {
		int r = instance_device_plug(c, dev, pid, reterr);

		if (r < 0)
			return r;
	}
	return 0;
}

int instance_device_set_rules(struct hull_home *h, const char *name,
			      const struct hull_instance_config *c, const struct device_node *extra,
			      struct hull_error **reterr)
{
	_cleanup_free_ struct hull_oci_device_rule *rules = NULL;
	size_t n = 0;
	int r;

	r = instance_device_rules(c, &rules, &n, reterr);
	if (r < 0)
		return r;
	if (extra) {
		struct hull_oci_device_rule *more = realloc(rules, (n + 1) * sizeof(*rules));

		if (!more)
			return hull_error_errno(reterr, -ENOMEM, "device rules");
		rules = more;
		rules[n++] = (struct hull_oci_device_rule){ true, extra->type, extra->major,
							    extra->minor, "rwm" };
	}
	return hull_container_update_devices(&h->rt, name, rules, n, reterr);
}

static int running_pid(struct hull_home *h, const char *name, pid_t *ret,
		       struct hull_error **reterr)
{
	_cleanup_(hull_state_freep) struct hull_state *st = NULL;
	int r = hull_container_state(&h->rt, name, &st, reterr);

	if (r < 0)
		return r;
	if (st->pid <= 0)
		return hull_error_set(reterr, -ESRCH, "instance '%s' is not running", name);
	*ret = st->pid;
	return 0;
}

static bool needs_rules(const struct hull_instance_config *c, const char *dev)
{
	const char *type = hull_instance_device_get(c, dev, "type");

	return type && !streq(type, "disk") && instance_device_type_known(type);
}

int instance_device_live_add(struct hull_home *h, const char *name,
			     const struct hull_instance_config *old,
			     const struct hull_instance_config *new, const char *dev,
			     struct hull_error **reterr)
{
	pid_t pid = 0;
	int r;

	r = running_pid(h, name, &pid, reterr);
	if (r < 0)
		return r;
	if (needs_rules(new, dev)) {
		r = instance_device_set_rules(h, name, new, NULL, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "device '%s'", dev);
	}
	r = instance_device_plug(new, dev, pid, reterr);
	if (r < 0 && needs_rules(new, dev))
		(void)instance_device_set_rules(h, name, old, NULL, NULL);
	return r;
}

int instance_device_live_remove(struct hull_home *h, const char *name,
				const struct hull_instance_config *old,
				const struct hull_instance_config *new, const char *dev,
				struct hull_error **reterr)
{
	pid_t pid = 0;
	int r;

	r = running_pid(h, name, &pid, reterr);
	if (r < 0)
		return r;
	r = instance_device_unplug(old, dev, pid, reterr);
	if (r < 0)
		return r;
	if (needs_rules(old, dev)) {
		r = instance_device_set_rules(h, name, new, NULL, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "device '%s'", dev);
	}
	return 0;
}
