/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process object of config.json, also parsed alone for `exec --process`.
 */
#include <errno.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config-internal.h"
#include "oci/config.h"
#include "util/json.h"
#include "util/str.h"

#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
/* reserved by the kernel, never implemented; the spec still lists it */
#define SCHED_ISO 4

/* the kernel's setgroups(2) limit */
#define GROUPS_MAX 65536

struct name_value {
	const char *name;
	uint64_t value;
};

static const struct name_value sched_policies[] = {
	{ "SCHED_OTHER", SCHED_OTHER },
	{ "SCHED_FIFO", SCHED_FIFO },
	{ "SCHED_RR", SCHED_RR },
	{ "SCHED_BATCH", SCHED_BATCH },
	{ "SCHED_ISO", SCHED_ISO },
	{ "SCHED_IDLE", SCHED_IDLE },
	{ "SCHED_DEADLINE", SCHED_DEADLINE },
};

/* SCHED_FLAG_* of <linux/sched.h> (which clashes with <sched.h>, so spelled out) */
static const struct name_value sched_flags[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 },  { "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 },     { "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

static const struct name_value ioprio_classes[] = {
	{ "IOPRIO_CLASS_RT", IOPRIO_CLASS_RT },
	{ "IOPRIO_CLASS_BE", IOPRIO_CLASS_BE },
	{ "IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE },
};

static const struct name_value *lookup(const struct name_value *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return &t[i];
	return NULL;
}

/* Parses a string from table `t` into an int; `what` names the kind for the error. */
static int parse_enum(const char *path, struct json_object *v, const struct name_value *t, size_t n,
		      const char *what, int *ret, struct hull_error **reterr)
{
	const struct name_value *e;

	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	e = lookup(t, n, json_object_get_string(v));
	if (!e)
		return hull_error_set(reterr, -EINVAL, "%s: unknown %s '%s'", path, what,
				      json_object_get_string(v));
	*ret = (int)e->value;
	return 0;
}

static int parse_int_range(const char *path, struct json_object *v, int min, int max, int *ret,
			   struct hull_error **reterr)
{
	int x = 0;
	int r = hull_json_parse_int(path, v, &x, reterr);

	if (r < 0)
		return r;
	if (x < min || x > max)
		return hull_error_set(reterr, -ERANGE, "%s: must be between %d and %d", path, min,
				      max);
	*ret = x;
	return 0;
}

/* ---- consoleSize, user ----------------------------------------------- */

static const struct hull_json_field console_size_table[] = {
	{ "height", hull_json_parse_u32, offsetof(struct hull_oci_process, console_size.height),
	  true },
	{ "width", hull_json_parse_u32, offsetof(struct hull_oci_process, console_size.width),
	  true },
	{},
};

static int parse_console_size(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	struct hull_oci_process *p = container_of(field, struct hull_oci_process, console_size);
	int r;

	r = hull_json_dispatch(path, v, console_size_table, p, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	p->console_size.set = true;
	return 0;
}

static int parse_umask(const char *path, struct json_object *v, void *field,
		       struct hull_error **reterr)
{
	struct hull_ou64 *o = field;
	uint64_t x;
	int r;

	r = hull_json_get_u64(path, v, &x, reterr);
	if (r < 0)
		return r;
	if (x > 0777)
		return hull_error_set(reterr, -ERANGE, "%s: must be between 0 and 0777", path);
	o->v = x;
	o->set = true;
	return 0;
}

static int parse_additional_gids(const char *path, struct json_object *v, void *field,
				 struct hull_error **reterr)
{
	struct hull_oci_user *u = container_of(field, struct hull_oci_user, additional_gids);
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return hull_json_type_error(path, "an array of numbers", reterr);
	n = json_object_array_length(v);
	if (n > GROUPS_MAX)
		return hull_error_set(reterr, -EINVAL, "%s: too many groups (at most %d)", path,
				      GROUPS_MAX);
	free(u->additional_gids);
	u->additional_gids = NULL;
	u->n_additional_gids = 0;
	if (n == 0)
		return 0;
	u->additional_gids = calloc(n, sizeof(uint32_t));
	if (!u->additional_gids)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	u->n_additional_gids = n;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *sub = hull_json_path_index(path, i);
		int r;

		if (!sub)
			return hull_error_errno(reterr, -ENOMEM, "%s", path);
		r = hull_json_parse_u32(sub, json_object_array_get_idx(v, i),
					&u->additional_gids[i], reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct hull_json_field user_table[] = {
	{ "uid", hull_json_parse_u32, offsetof(struct hull_oci_user, uid), true },
	{ "gid", hull_json_parse_u32, offsetof(struct hull_oci_user, gid), true },
	{ "umask", parse_umask, offsetof(struct hull_oci_user, umask) },
	{ "additionalGids", parse_additional_gids,
	  offsetof(struct hull_oci_user, additional_gids) },
	{ "username", hull_json_parse_string, offsetof(struct hull_oci_user, username) },
	{},
};

static int parse_user(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, user_table, field, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- args, env ------------------------------------------------------- */

static int parse_env(const char *path, struct json_object *v, void *field,
		     struct hull_error **reterr)
{
	char **env;
	int r;

	r = hull_json_parse_strv(path, v, field, reterr);
	if (r < 0)
		return r;
	env = *(char ***)field;
	for (size_t i = 0; env[i]; i++) {
		const char *eq = strchr(env[i], '=');

		if (!eq || eq == env[i])
			return hull_error_set(reterr, -EINVAL,
					      "%s[%zu]: must be of the form KEY=VALUE", path, i);
	}
	return 0;
}

/* ---- capabilities ---------------------------------------------------- */

static int parse_capset(const char *path, struct json_object *v, uint64_t *mask, bool *set,
			struct hull_error **reterr)
{
	uint64_t m = 0;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return hull_json_type_error(path, "an array of strings", reterr);
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		int cap;

		if (!json_object_is_type(e, json_type_string))
			return hull_error_set(reterr, -EINVAL, "%s[%zu]: expected a string", path,
					      i);
		if (hull_cap_from_name(json_object_get_string(e), &cap) < 0)
			return hull_error_set(reterr, -EINVAL, "%s[%zu]: unknown capability '%s'",
					      path, i, json_object_get_string(e));
		m |= UINT64_C(1) << cap;
	}
	*mask = m;
	*set = true;
	return 0;
}

#define DEFINE_CAPSET_FIELD(name)                                                          \
	static int parse_caps_##name(const char *path, struct json_object *v, void *field, \
				     struct hull_error **reterr)                           \
	{                                                                                  \
		struct hull_oci_caps *c = container_of(field, struct hull_oci_caps, name); \
		return parse_capset(path, v, &c->name, &c->name##_set, reterr);            \
	}

DEFINE_CAPSET_FIELD(bounding)
DEFINE_CAPSET_FIELD(effective)
DEFINE_CAPSET_FIELD(inheritable)
DEFINE_CAPSET_FIELD(permitted)
DEFINE_CAPSET_FIELD(ambient)

static const struct hull_json_field caps_table[] = {
	{ "bounding", parse_caps_bounding, offsetof(struct hull_oci_caps, bounding) },
	{ "effective", parse_caps_effective, offsetof(struct hull_oci_caps, effective) },
	{ "inheritable", parse_caps_inheritable, offsetof(struct hull_oci_caps, inheritable) },
	{ "permitted", parse_caps_permitted, offsetof(struct hull_oci_caps, permitted) },
	{ "ambient", parse_caps_ambient, offsetof(struct hull_oci_caps, ambient) },
	{},
};

static int parse_caps(const char *path, struct json_object *v, void *field,
		      struct hull_error **reterr)
{
	return hull_json_dispatch(path, v, caps_table, field, HULL_JSON_ALLOW_UNKNOWN, reterr);
}

/* ---- rlimits --------------------------------------------------------- */

static int parse_rlimit_type(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	if (!json_object_is_type(v, json_type_string))
		return hull_json_type_error(path, "a string", reterr);
	if (hull_rlimit_from_name(json_object_get_string(v), field) < 0)
		return hull_error_set(reterr, -EINVAL, "%s: unknown rlimit '%s'", path,
				      json_object_get_string(v));
	return 0;
}

static const struct hull_json_field rlimit_table[] = {
	{ "type", parse_rlimit_type, offsetof(struct hull_oci_rlimit, resource), true },
	{ "hard", hull_json_parse_u64, offsetof(struct hull_oci_rlimit, hard), true },
	{ "soft", hull_json_parse_u64, offsetof(struct hull_oci_rlimit, soft), true },
	{},
};

static int parse_rlimit(const char *path, struct json_object *v, void *elem,
			struct hull_error **reterr)
{
	struct hull_oci_rlimit *rl = elem;
	int r;

	r = hull_json_dispatch(path, v, rlimit_table, rl, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	/* setrlimit(2) would refuse it with EINVAL, long after the config was accepted */
	if (rl->soft > rl->hard)
		return hull_error_set(reterr, -EINVAL, "%s.soft: must not be greater than hard",
				      path);
	return 0;
}

static int parse_rlimits(const char *path, struct json_object *v, void *field,
			 struct hull_error **reterr)
{
	struct hull_oci_process *p = container_of(field, struct hull_oci_process, rlimits);
	int r;

	r = hull_oci_parse_array(path, v, sizeof(struct hull_oci_rlimit), parse_rlimit, NULL,
				 (void **)&p->rlimits, &p->n_rlimits, reterr);
	if (r < 0)
		return r;
	/* the spec: duplicated types are an error */
	for (size_t i = 1; i < p->n_rlimits; i++)
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[i].resource == p->rlimits[j].resource)
				return hull_error_set(reterr, -EINVAL,
						      "%s[%zu].type: duplicate rlimit '%s'", path,
						      i, hull_rlimit_name(p->rlimits[i].resource));
	return 0;
}

/* ---- oomScoreAdj, ioPriority, scheduler ------------------------------- */

static int parse_oom_score_adj(const char *path, struct json_object *v, void *field,
			       struct hull_error **reterr)
{
	struct hull_oi64 *o = field;
	int x = 0;
	int r;

	r = parse_int_range(path, v, -1000, 1000, &x, reterr);
	if (r < 0)
		return r;
	o->v = x;
	o->set = true;
	return 0;
}

static int parse_ioprio_class(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	return parse_enum(path, v, ioprio_classes, ELEMENTSOF(ioprio_classes), "class", field,
			  reterr);
}

static int parse_ioprio_level(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	return parse_int_range(path, v, 0, 7, field, reterr);
}

static const struct hull_json_field io_priority_table[] = {
	{ "class", parse_ioprio_class, offsetof(struct hull_oci_io_priority, class), true },
	{ "priority", parse_ioprio_level, offsetof(struct hull_oci_io_priority, priority), true },
	{},
};

static int parse_io_priority(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	struct hull_oci_io_priority *io = field;
	int r;

	r = hull_json_dispatch(path, v, io_priority_table, io, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	io->set = true;
	return 0;
}

static int parse_sched_policy(const char *path, struct json_object *v, void *field,
			      struct hull_error **reterr)
{
	return parse_enum(path, v, sched_policies, ELEMENTSOF(sched_policies), "policy", field,
			  reterr);
}

static int parse_sched_nice(const char *path, struct json_object *v, void *field,
			    struct hull_error **reterr)
{
	return parse_int_range(path, v, -20, 19, field, reterr);
}

static int parse_sched_flags(const char *path, struct json_object *v, void *field,
			     struct hull_error **reterr)
{
	uint64_t m = 0;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return hull_json_type_error(path, "an array of strings", reterr);
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		const struct name_value *f;

		if (!json_object_is_type(e, json_type_string))
			return hull_error_set(reterr, -EINVAL, "%s[%zu]: expected a string", path,
					      i);
		f = lookup(sched_flags, ELEMENTSOF(sched_flags), json_object_get_string(e));
		if (!f)
			return hull_error_set(reterr, -EINVAL, "%s[%zu]: unknown flag '%s'", path,
					      i, json_object_get_string(e));
		m |= f->value;
	}
	*(uint64_t *)field = m;
	return 0;
}

static const struct hull_json_field scheduler_table[] = {
	{ "policy", parse_sched_policy, offsetof(struct hull_oci_scheduler, policy), true },
	{ "nice", parse_sched_nice, offsetof(struct hull_oci_scheduler, nice) },
	{ "priority", hull_json_parse_int, offsetof(struct hull_oci_scheduler, priority) },
	{ "flags", parse_sched_flags, offsetof(struct hull_oci_scheduler, flags) },
	{ "runtime", hull_json_parse_u64, offsetof(struct hull_oci_scheduler, runtime) },
	{ "deadline", hull_json_parse_u64, offsetof(struct hull_oci_scheduler, deadline) },
	{ "period", hull_json_parse_u64, offsetof(struct hull_oci_scheduler, period) },
	{},
};

static int parse_scheduler(const char *path, struct json_object *v, void *field,
			   struct hull_error **reterr)
{
	struct hull_oci_scheduler *s = field;
	int r;

	r = hull_json_dispatch(path, v, scheduler_table, s, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	s->set = true;
	return 0;
}

/* ---- the process object ---------------------------------------------- */

static const struct hull_json_field process_table[] = {
	{ "terminal", hull_json_parse_bool, offsetof(struct hull_oci_process, terminal) },
	{ "consoleSize", parse_console_size, offsetof(struct hull_oci_process, console_size) },
	{ "user", parse_user, offsetof(struct hull_oci_process, user) },
	{ "args", hull_json_parse_strv, offsetof(struct hull_oci_process, args), true },
	{ "env", parse_env, offsetof(struct hull_oci_process, env) },
	{ "cwd", hull_oci_parse_abs_path, offsetof(struct hull_oci_process, cwd), true },
	{ "capabilities", parse_caps, offsetof(struct hull_oci_process, caps) },
	{ "rlimits", parse_rlimits, offsetof(struct hull_oci_process, rlimits) },
	{ "noNewPrivileges", hull_json_parse_bool,
	  offsetof(struct hull_oci_process, no_new_privileges) },
	{ "apparmorProfile", hull_json_parse_string,
	  offsetof(struct hull_oci_process, apparmor_profile) },
	{ "selinuxLabel", hull_json_parse_string,
	  offsetof(struct hull_oci_process, selinux_label) },
	{ "oomScoreAdj", parse_oom_score_adj, offsetof(struct hull_oci_process, oom_score_adj) },
	{ "ioPriority", parse_io_priority, offsetof(struct hull_oci_process, io_priority) },
	{ "scheduler", parse_scheduler, offsetof(struct hull_oci_process, scheduler) },
	{},
};

void hull_oci_process_free(struct hull_oci_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	hull_strv_free(p->args);
	hull_strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p);
}

int hull_oci_parse_process_field(const char *path, struct json_object *v, void *field,
				 struct hull_error **reterr)
{
	struct hull_oci_process **pp = field;
	struct hull_oci_process *p;
	int r;

	if (!json_object_is_type(v, json_type_object))
		return hull_json_type_error(path, "an object", reterr);
	hull_oci_process_free(*pp);
	p = *pp = calloc(1, sizeof(*p));
	if (!p)
		return hull_error_errno(reterr, -ENOMEM, "%s", path);
	r = hull_json_dispatch(path, v, process_table, p, HULL_JSON_ALLOW_UNKNOWN, reterr);
	if (r < 0)
		return r;
	if (!p->args[0])
		return hull_error_set(reterr, -EINVAL, "%s.args: must not be empty", path);
	return 0;
}

int hull_oci_process_parse(const char *text, size_t len, struct hull_oci_process **ret,
			   struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *obj = NULL;
	_cleanup_(hull_oci_process_freep) struct hull_oci_process *p = NULL;
	int r;

	r = hull_json_parse(text, len, "process", &obj, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	r = hull_oci_parse_process_field("process", obj, &p, reterr);
	if (r < 0)
		return hull_oci_input_error(r, reterr);
	*ret = TAKE_PTR(p);
	return 0;
}
