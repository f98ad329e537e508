/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The linux object of config.json: namespaces, id mappings, time offsets,
 * devices, sysctl, seccomp, personality, paths.  linux.resources lives in
 * config-resources.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config-internal.h"
#include "oci/config.h"
#include "util/json.h"
#include "util/str.h"

/* mknod(2) takes a 32-bit dev_t: 12 bits of major, 20 of minor */
#define DEV_MAJOR_MAX 0xfff
#define DEV_MINOR_MAX 0xfffff
/* SECCOMP_RET_DATA is 16 bits */
#define SECCOMP_DATA_MAX 0xffff
/* syscalls take at most six arguments */
#define SECCOMP_ARGS_MAX 6

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (streq(*list, s))
			return true;
	return false;
}

/* ---- namespaces ------------------------------------------------------ */

static int parse_ns_type(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (hull_ns_type_from_name(json_object_get_string(v), field) < 0)
		return hull_error_set(reterr, -EINVAL, "%s: unknown namespace '%s'", path,
				      json_object_get_string(v));
	return 0;
}

static const struct hull_json_field namespace_table[] = {
	{ "type", parse_ns_type, offsetof(struct hull_oci_namespace, type), true },
	{ "path", hull_oci_parse_abs_path, offsetof(struct hull_oci_namespace, path) },
	{},
};

static int parse_namespace(const char *path, struct json_object *v, void *elem,
			   struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, namespace_table, elem, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

static void namespace_done(void *elem)
{
	free(((struct hull_oci_namespace *)elem)->path);
}

static int parse_namespaces(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	struct hull_oci_linux *l = container_of(field, struct hull_oci_linux, namespaces);
	bool seen[_HULL_NS_MAX] = {};
	int r;

	r = hull_oci_parse_array(path, v, sizeof(struct hull_oci_namespace), parse_namespace,
				 namespace_done, (void **)&l->namespaces, &l->n_namespaces, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n_namespaces; i++) {
		enum hull_ns_type t = l->namespaces[i].type;

		if (seen[t])
			return hull_error_set(reterr, -EINVAL, "%s: duplicate namespace '%s'", path,
					      hull_ns_type_name(t));
		seen[t] = true;
	}
	return 0;
}

/* ---- id mappings ----------------------------------------------------- */

int hull_oci_parse_idmaps(const char *path, struct json_object *v, struct hull_oci_idmap **maps,
			  size_t *n, struct hull_error **reterr)
{
	int r = hull_oci_parse_array(path, v, sizeof(struct hull_oci_idmap), hull_oci_parse_idmap,
				     NULL, (void **)maps, n, reterr);
	if (r < 0)
		return r;
	return hull_oci_check_idmaps(path, *n, reterr);
}

static int parse_uid_mappings(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	struct hull_oci_linux *l = container_of(field, struct hull_oci_linux, uid_mappings);

	return hull_oci_parse_idmaps(path, v, &l->uid_mappings, &l->n_uid_mappings, reterr);
}

static int parse_gid_mappings(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	struct hull_oci_linux *l = container_of(field, struct hull_oci_linux, gid_mappings);

	return hull_oci_parse_idmaps(path, v, &l->gid_mappings, &l->n_gid_mappings, reterr);
}

/* ---- timeOffsets ----------------------------------------------------- */

static const struct hull_json_field time_offset_table[] = {
	{ "secs", hull_json_parse_i64, offsetof(struct hull_oci_time_offset, secs) },
	{ "nanosecs", hull_json_parse_u32, offsetof(struct hull_oci_time_offset, nanosecs) },
	{},
};

static int parse_time_offset(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	struct hull_oci_time_offset *o = field;
	int r;

	r = hull_json_dispatch(path, v, time_offset_table, o, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (o->nanosecs >= 1000000000)
		return hull_error_set(reterr, -ERANGE, "%s.nanosecs: must be less than 1000000000",
				      path);
	o->set = true;
	return 0;
}

static const struct hull_json_field time_offsets_table[] = {
	{ "monotonic", parse_time_offset, offsetof(struct hull_oci_linux, time_offsets.monotonic) },
	{ "boottime", parse_time_offset, offsetof(struct hull_oci_linux, time_offsets.boottime) },
	{},
};

static int parse_time_offsets(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	struct hull_oci_linux *l = container_of(field, struct hull_oci_linux, time_offsets);

	return hull_json_dispatch(path, v, time_offsets_table, l, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- devices --------------------------------------------------------- */

static int parse_device_type(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	s = json_object_get_string(v);
	if (strlen(s) != 1 || !strchr("cbup", s[0]))
		return hull_error_set(reterr, -EINVAL,
				      "%s: unknown device type '%s' (must be c, b, u or p)", path,
				      s);
	*(char *)field = s[0];
	return 0;
}

static int parse_dev_number(const char *path, struct json_object *v, int64_t max, int64_t *ret,
			    struct hull_error **reterr)
{
	int64_t x;
	int r = hull_json_get_i64(path, v, &x, reterr);

	if (r < 0)
		return r;
	if (x < 0 || x > max)
		return hull_error_set(reterr, -ERANGE, "%s: must be between 0 and %" PRId64, path,
				      max);
	*ret = x;
	return 0;
}

int hull_oci_parse_dev_major(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	return parse_dev_number(path, v, DEV_MAJOR_MAX, field, reterr);
}

int hull_oci_parse_dev_minor(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	return parse_dev_number(path, v, DEV_MINOR_MAX, field, reterr);
}

static int parse_device_mode(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	struct hull_ou64 *o = field;
	uint64_t x;
	int r;

	r = hull_json_get_u64(path, v, &x, reterr);
	if (r < 0)
		return r;
	/* some engines pass st_mode with the S_IFCHR/S_IFBLK bits (8630 == 020666); keep
	 * only the permission bits, the type comes from `type` */
	if (x > 0177777)
		return hull_error_set(reterr, -ERANGE, "%s: number out of range", path);
	o->v = x & 07777;
	o->set = true;
	return 0;
}

static int parse_ou32(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	struct hull_ou64 *o = field;
	uint32_t x;
	int r;

	r = hull_json_parse_u32(path, v, &x, reterr);
	if (r < 0)
		return r;
	o->v = x;
	o->set = true;
	return 0;
}

static const struct hull_json_field device_table[] = {
	{ "type", parse_device_type, offsetof(struct hull_oci_device, type), true },
	{ "path", hull_oci_parse_abs_path, offsetof(struct hull_oci_device, path), true },
	{ "major", hull_oci_parse_dev_major, offsetof(struct hull_oci_device, major) },
	{ "minor", hull_oci_parse_dev_minor, offsetof(struct hull_oci_device, minor) },
	{ "fileMode", parse_device_mode, offsetof(struct hull_oci_device, file_mode) },
	{ "uid", parse_ou32, offsetof(struct hull_oci_device, uid) },
	{ "gid", parse_ou32, offsetof(struct hull_oci_device, gid) },
	{},
};

static int parse_device(const char *path, struct json_object *v, void *elem,
			struct hull_error **reterr)
{
	struct hull_oci_device *d = elem;
	int r;

	d->major = d->minor = -1;
	r = hull_json_dispatch(path, v, device_table, d, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (d->type == 'p') {
		d->major = d->minor = 0;
		return 0;
	}
	if (d->major < 0 || d->minor < 0)
		return hull_error_set(reterr, -EINVAL,
				      "%s.type: type '%c' requires major and minor", path, d->type);
	return 0;
}

static void device_done(void *elem)
{
	free(((struct hull_oci_device *)elem)->path);
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_devices, struct hull_oci_linux, devices, n_devices,
			    struct hull_oci_device, parse_device, device_done)

/* ---- seccomp --------------------------------------------------------- */

struct named_value {
	const char *name;
	int value;
};

static const struct named_value seccomp_actions[] = {
	{ "SCMP_ACT_KILL", HULL_SECCOMP_KILL },
	{ "SCMP_ACT_KILL_PROCESS", HULL_SECCOMP_KILL_PROCESS },
	{ "SCMP_ACT_KILL_THREAD", HULL_SECCOMP_KILL_THREAD },
	{ "SCMP_ACT_TRAP", HULL_SECCOMP_TRAP },
	{ "SCMP_ACT_ERRNO", HULL_SECCOMP_ERRNO },
	{ "SCMP_ACT_TRACE", HULL_SECCOMP_TRACE },
	{ "SCMP_ACT_ALLOW", HULL_SECCOMP_ALLOW },
	{ "SCMP_ACT_LOG", HULL_SECCOMP_LOG },
	{ "SCMP_ACT_NOTIFY", HULL_SECCOMP_NOTIFY },
};

static const struct named_value seccomp_ops[] = {
	{ "SCMP_CMP_NE", HULL_SCMP_NE },
	{ "SCMP_CMP_LT", HULL_SCMP_LT },
	{ "SCMP_CMP_LE", HULL_SCMP_LE },
	{ "SCMP_CMP_EQ", HULL_SCMP_EQ },
	{ "SCMP_CMP_GE", HULL_SCMP_GE },
	{ "SCMP_CMP_GT", HULL_SCMP_GT },
	{ "SCMP_CMP_MASKED_EQ", HULL_SCMP_MASKED_EQ },
};

/* runtime-spec 1.1's list, plus the ones later versions and libseccomp 2.5+ added */
static const char *const seccomp_archs[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",	    "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",	    "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	    "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	    "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K",    "SCMP_ARCH_SH",	   "SCMP_ARCH_SHEB",	    NULL,
};

static const char *const seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	NULL,
};

/* A string that must be one of table[0..n); `what` names it in the error. */
static int parse_named(const char *path, struct json_object *v, const struct named_value *table,
		       size_t n, const char *what, int *ret, struct hull_error **reterr)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	s = json_object_get_string(v);
	for (size_t i = 0; i < n; i++)
		if (streq(table[i].name, s)) {
			*ret = table[i].value;
			return 0;
		}
	return hull_error_set(reterr, -EINVAL, "%s: unknown %s '%s'", path, what, s);
}

static int parse_seccomp_action(const char *path, struct json_object *v, void *field,
				struct hull_error **reterr)
{
	int x = 0, r = parse_named(path, v, seccomp_actions, ELEMENTSOF(seccomp_actions), "action",
				   &x, reterr);

	if (r >= 0)
		*(enum hull_seccomp_action *)field = (enum hull_seccomp_action)x;
	return r;
}

static int parse_seccomp_op(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	int x = 0,
	    r = parse_named(path, v, seccomp_ops, ELEMENTSOF(seccomp_ops), "operator", &x, reterr);

	if (r >= 0)
		*(enum hull_seccomp_op *)field = (enum hull_seccomp_op)x;
	return r;
}

/* A string list whose entries must come from `allowed`; `what` names an entry. */
static int parse_strv_in(const char *path, struct json_object *v, void *field,
			 const char *const *allowed, const char *what, struct hull_error **reterr)
{
	char **l;
	int r;

	r = hull_json_parse_strv(path, v, field, reterr);
	if (r < 0)
		return r;
	l = *(char ***)field;
	for (size_t i = 0; l[i]; i++)
		if (!in_list(allowed, l[i]))
			return hull_error_set(reterr, -EINVAL, "%s[%zu]: unknown %s '%s'", path, i,
					      what, l[i]);
	return 0;
}

static int parse_seccomp_archs(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	return parse_strv_in(path, v, field, seccomp_archs, "architecture", reterr);
}

static int parse_seccomp_flags(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	return parse_strv_in(path, v, field, seccomp_flags, "flag", reterr);
}

static int parse_seccomp_errno(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	struct hull_ou64 *o = field;
	uint64_t x;
	int r;

	r = hull_json_get_u64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x > SECCOMP_DATA_MAX)
		return hull_error_set(reterr, -ERANGE, "%s: must be between 0 and %d", path,
				      SECCOMP_DATA_MAX);
	o->v = x;
	o->set = true;
	return 0;
}

static int parse_seccomp_arg_index(const char *path, struct json_object *v, void *field,
				   struct hull_error **reterr)
{
	uint32_t x;
	int r;

	r = hull_json_parse_u32(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x >= SECCOMP_ARGS_MAX)
		return hull_error_set(reterr, -ERANGE, "%s: must be between 0 and %d", path,
				      SECCOMP_ARGS_MAX - 1);
	*(uint32_t *)field = x;
	return 0;
}

static const struct hull_json_field seccomp_arg_table[] = {
	{ "index", parse_seccomp_arg_index, offsetof(struct hull_oci_seccomp_arg, index), true },
	{ "value", hull_json_parse_u64, offsetof(struct hull_oci_seccomp_arg, value), true },
	{ "valueTwo", hull_json_parse_u64, offsetof(struct hull_oci_seccomp_arg, value_two) },
	{ "op", parse_seccomp_op, offsetof(struct hull_oci_seccomp_arg, op), true },
	{},
};

static int parse_seccomp_arg(const char *path, struct json_object *v, void *elem,
			     struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, seccomp_arg_table, elem, HULL_JSON_ALLOW_UNKNOWN,
				  reterr);
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_seccomp_args, struct hull_oci_seccomp_syscall, args, n_args,
			    struct hull_oci_seccomp_arg, parse_seccomp_arg, NULL)

static int parse_syscall_names(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	int r = hull_json_parse_strv(path, v, field, reterr);

	if (r < 0)
		return r;
	if (!(*(char ***)field)[0])
		return hull_error_set(reterr, -EINVAL, "%s: must not be empty", path);
	return 0;
}

static const struct hull_json_field seccomp_syscall_table[] = {
	{ "names", parse_syscall_names, offsetof(struct hull_oci_seccomp_syscall, names), true },
	{ "action", parse_seccomp_action, offsetof(struct hull_oci_seccomp_syscall, action), true },
	{ "errnoRet", parse_seccomp_errno, offsetof(struct hull_oci_seccomp_syscall, errno_ret) },
	{ "args", parse_seccomp_args, offsetof(struct hull_oci_seccomp_syscall, args) },
	{},
};

static int parse_seccomp_syscall(const char *path, struct json_object *v, void *elem,
				 struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, seccomp_syscall_table, elem, HULL_JSON_ALLOW_UNKNOWN,
				  reterr);
}

static void seccomp_syscall_done(void *elem)
{
	struct hull_oci_seccomp_syscall *s = elem;

	hull_strv_free(s->names);
	free(s->args);
}

HULL_OCI_DEFINE_ARRAY_FIELD(parse_seccomp_syscalls, struct hull_oci_seccomp, syscalls, n_syscalls,
			    struct hull_oci_seccomp_syscall, parse_seccomp_syscall,
			    seccomp_syscall_done)

static const struct hull_json_field seccomp_table[] = {
	{ "defaultAction", parse_seccomp_action, offsetof(struct hull_oci_seccomp, default_action),
	  true },
	{ "defaultErrnoRet", parse_seccomp_errno,
	  offsetof(struct hull_oci_seccomp, default_errno_ret) },
	{ "architectures", parse_seccomp_archs, offsetof(struct hull_oci_seccomp, architectures) },
	{ "flags", parse_seccomp_flags, offsetof(struct hull_oci_seccomp, flags) },
	{ "listenerPath", hull_json_parse_string,
	  offsetof(struct hull_oci_seccomp, listener_path) },
	{ "listenerMetadata", hull_json_parse_string,
	  offsetof(struct hull_oci_seccomp, listener_metadata) },
	{ "syscalls", parse_seccomp_syscalls, offsetof(struct hull_oci_seccomp, syscalls) },
	{},
};

static void seccomp_free(struct hull_oci_seccomp *s)
{
	if (!s)
		return;
	hull_strv_free(s->architectures);
	hull_strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	hull_oci_free_array(s->syscalls, s->n_syscalls, sizeof(struct hull_oci_seccomp_syscall),
			    seccomp_syscall_done);
	free(s);
}

static int parse_seccomp(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	struct hull_oci_seccomp **sp = field;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	seccomp_free(*sp);
	*sp = calloc(1, sizeof(**sp));
	if (!*sp)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	return hull_json_dispatch(path, v, seccomp_table, *sp, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- rootfsPropagation, personality ---------------------------------- */

static const char *const propagations[] = {
	"shared", "slave",    "private",     "unbindable", "rshared",
	"rslave", "rprivate", "runbindable", NULL,
};

static int parse_propagation(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (!in_list(propagations, json_object_get_string(v)))
		return hull_error_set(reterr, -EINVAL, "%s: unknown propagation '%s'", path,
				      json_object_get_string(v));
	return hull_json_parse_string(path, v, field, reterr);
}

static const char *const personality_domains[] = { "LINUX", "LINUX32", NULL };

static int parse_personality_domain(const char *path, struct json_object *v, void *field,
				    struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (!in_list(personality_domains, json_object_get_string(v)))
		return hull_error_set(reterr, -EINVAL, "%s: unknown domain '%s'", path,
				      json_object_get_string(v));
	return hull_json_parse_string(path, v, field, reterr);
}

static const struct hull_json_field personality_table[] = {
	{ "domain", parse_personality_domain, offsetof(struct hull_oci_linux, personality.domain),
	  true },
	{ "flags", hull_json_parse_strv, offsetof(struct hull_oci_linux, personality.flags) },
	{},
};

static int parse_personality(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	struct hull_oci_linux *l = container_of(field, struct hull_oci_linux, personality);
	int r;

	r = hull_json_dispatch(path, v, personality_table, l, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	l->personality.set = true;
	return 0;
}

/* ---- the linux object ------------------------------------------------ */

static const struct hull_json_field linux_table[] = {
	{ "namespaces", parse_namespaces, offsetof(struct hull_oci_linux, namespaces) },
	{ "uidMappings", parse_uid_mappings, offsetof(struct hull_oci_linux, uid_mappings) },
	{ "gidMappings", parse_gid_mappings, offsetof(struct hull_oci_linux, gid_mappings) },
	{ "timeOffsets", parse_time_offsets, offsetof(struct hull_oci_linux, time_offsets) },
	{ "devices", parse_devices, offsetof(struct hull_oci_linux, devices) },
	{ "cgroupsPath", hull_json_parse_string, offsetof(struct hull_oci_linux, cgroups_path) },
	{ "resources", hull_oci_parse_resources_field, offsetof(struct hull_oci_linux, resources) },
	{ "sysctl", hull_json_parse_string_map, offsetof(struct hull_oci_linux, sysctl) },
	{ "seccomp", parse_seccomp, offsetof(struct hull_oci_linux, seccomp) },
	{ "rootfsPropagation", parse_propagation,
	  offsetof(struct hull_oci_linux, rootfs_propagation) },
	{ "maskedPaths", hull_json_parse_strv, offsetof(struct hull_oci_linux, masked_paths) },
	{ "readonlyPaths", hull_json_parse_strv, offsetof(struct hull_oci_linux, readonly_paths) },
	{ "mountLabel", hull_json_parse_string, offsetof(struct hull_oci_linux, mount_label) },
	{ "personality", parse_personality, offsetof(struct hull_oci_linux, personality) },
	{},
};

void hull_oci_linux_free(struct hull_oci_linux *l)
{
	if (!l)
		return;
	hull_oci_free_array(l->namespaces, l->n_namespaces, sizeof(struct hull_oci_namespace),
			    namespace_done);
	free(l->uid_mappings);
	free(l->gid_mappings);
	hull_oci_free_array(l->devices, l->n_devices, sizeof(struct hull_oci_device), device_done);
	free(l->cgroups_path);
	hull_oci_resources_free(l->resources);
	hull_strv_free(l->sysctl);
	seccomp_free(l->seccomp);
	free(l->rootfs_propagation);
	hull_strv_free(l->masked_paths);
	hull_strv_free(l->readonly_paths);
	free(l->mount_label);
	free(l->personality.domain);
	hull_strv_free(l->personality.flags);
	free(l);
}

int hull_oci_parse_linux_field(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	struct hull_oci_linux **lp = field;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	hull_oci_linux_free(*lp);
	*lp = calloc(1, sizeof(**lp));
	if (!*lp)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	return hull_json_dispatch(path, v, linux_table, *lp, HULL_JSON_ALLOW_UNKNOWN, reterr);
}
