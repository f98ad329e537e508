/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance devices other than nics (disk, unix-char, unix-block, gpu,
 * usb): their settings (device-check.c), the host nodes they stand for
 * (device-match.c, which reads sysfs), and how they are put into a running
 * container and taken out again (device-plug.c).  Internal to instance/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "instance/instance-internal.h"
#include "oci/config.h"

/* True for the types device-check.c knows (everything but nic). */
bool instance_device_type_known(const char *type);

/*
 * Checks the "key=value" settings of device `dev` of `type` for instance c
 * and appends its "DEV.KEY", value pairs (with "DEV.type") to *kv.  A bad
 * or unknown key, a missing source, a path that is not a plain absolute
 * path inside the instance, or a gpu that matches nothing: one message
 * naming it.
 */
int instance_device_settings(const struct hull_instance_config *c, const char *dev,
			     const char *type, char *const *settings, char ***kv,
			     struct hull_error **reterr);

/*
 * The disk (of a directory) of c that holds `path` inside the instance, the
 * longest match: an O_PATH fd of its host source and, in *ret_rest, the
 * rest of the path below it ("." for its top).  0 when no disk holds it.
 */
int instance_disk_for_path(const struct hull_instance_config *c, const char *path,
			   const char **ret_rest, struct hull_error **reterr);

/* The names of c's devices (a strv), in order. */
char **instance_device_names(const struct hull_instance_config *c);

/* One device node to create in an instance. */
struct device_node {
	char type; /* 'c' or 'b' */
	unsigned major, minor;
	char path[256]; /* inside the instance, absolute */
	uid_t uid;	/* the instance's ids */
	gid_t gid;
	mode_t mode;
};

/* uid/gid/mode of device dev of c (defaults 0, 0, 0660) into n. */
void instance_device_node_owner(const struct hull_instance_config *c, const char *dev,
				struct device_node *n);

/*
 * The nodes device `dev` of c stands for now (unix-char/unix-block: one;
 * gpu: the matching /dev/dri nodes and NVIDIA's; usb: the matching devices
 * present, maybe none).  $HULL_SYSFS_ROOT and $HULL_DEV_ROOT (tests only)
 * replace /sys and /dev as where the host's devices are looked up.
 */
int instance_device_nodes(const struct hull_instance_config *c, const char *dev,
			  struct device_node **ret, size_t *ret_n, struct hull_error **reterr);

/*
 * The device cgroup rules c's devices need (allow, "rwm"), for the OCI
 * config at start and for the container's cgroup while it runs.
 */
int instance_device_rules(const struct hull_instance_config *c, struct hull_oci_device_rule **ret,
			  size_t *ret_n, struct hull_error **reterr);

struct json_object;
/* Adds instance_device_rules() to linux.resources.devices of the OCI config `oci`. */
int instance_device_rules_json(const struct hull_instance_config *c, struct json_object *oci,
			       struct hull_error **reterr);

/*
 * Puts device `dev` of c into the running container whose init is `pid`:
 * disks bind-mounted (id-mapped with the container's user namespace when it
 * has one), nodes created on a private tmpfs and bind-mounted.  The
 * mount is made on the host and moved into the container's mount namespace
 * onto a target resolved inside its root.
 */
int instance_device_plug(const struct hull_instance_config *c, const char *dev, pid_t pid,
			 struct hull_error **reterr);
/* Takes device `dev` of c out of the running container (best effort: what is there). */
int instance_device_unplug(const struct hull_instance_config *c, const char *dev, pid_t pid,
			   struct hull_error **reterr);
/* Plugs one node (usb hot-plug) or takes it out. */
int instance_device_node_plug(const struct device_node *n, pid_t pid, uid_t uid_base,
			      gid_t gid_base, struct hull_error **reterr);
int instance_device_node_unplug(const struct device_node *n, pid_t pid, struct hull_error **reterr);

/* Plugs every device of c (the monitor, between create and start). */
int instance_devices_plug_all(const struct hull_instance_config *c, pid_t pid,
			      struct hull_error **reterr);

/*
 * Device changes on a running instance (device.c): `old` and `new` are its
 * configs before and after; `dev` is added (plugged, cgroup rules widened
 * first) or removed (unplugged, rules narrowed after).  On failure nothing
 * stays changed in the container.
 */
int instance_device_live_add(struct hull_home *h, const char *name,
			     const struct hull_instance_config *old,
			     const struct hull_instance_config *new, const char *dev,
			     struct hull_error **reterr);
int instance_device_live_remove(struct hull_home *h, const char *name,
				const struct hull_instance_config *old,
				const struct hull_instance_config *new, const char *dev,
				struct hull_error **reterr);

/* True when pid lives in a user namespace of its own (not a privileged instance). */
bool instance_own_userns(pid_t pid);

/*
 * Sets the device cgroup rules of the running container `name` to what c's
 * devices need (and `extra`, a node sysfs may not show yet; may be NULL).
 */
int instance_device_set_rules(struct hull_home *h, const char *name,
			      const struct hull_instance_config *c, const struct device_node *extra,
			      struct hull_error **reterr);

/*
 * usb hot-plug (device-usb.c): the monitor's uevent socket (netlink
 * NETLINK_KOBJECT_UEVENT, the kernel's group), and what it does with the
 * uevents waiting there: a USB device matching one of the instance's usb
 * devices is passed in on "add" (cgroup rule, then node) and taken out on
 * "remove".
 */
int instance_uevent_open(void);
void instance_uevent_handle(struct hull_home *h, int dfd, const char *name, pid_t pid, int fd);
