/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registries.conf (containers-registries.conf(5)): the TOML subset podman
 * uses, short-name resolution and [[registry]] prefix matching.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/reference.h"
#include "util/file.h"
#include "util/str.h"

#define CONF_MAX_SIZE (1 << 20)

static void entry_done(struct hull_registry_entry *e)
{
	free(e->prefix);
	free(e->location);
	*e = (struct hull_registry_entry){};
}

void hull_registries_conf_free(struct hull_registries_conf *c)
{
	if (!c)
		return;
	hull_strv_free(c->search);
	hull_strv_free(c->aliases);
	for (size_t i = 0; i < c->n_entries; i++)
		entry_done(&c->entries[i]);
	free(c->entries);
	hull_strv_free(c->files);
	free(c);
}

struct hull_registries_conf *hull_registries_conf_new(void)
{
	return calloc(1, sizeof(struct hull_registries_conf));
}

void hull_registry_endpoint_done(struct hull_registry_endpoint *e)
{
	free(e->host);
	free(e->path);
	*e = (struct hull_registry_endpoint){};
}

/* ---- a tokenizer for the TOML subset ---- */

enum table {
	T_TOP,
	T_REGISTRY,
	T_ALIASES,
	T_V1_SEARCH,
	T_V1_INSECURE,
	T_V1_BLOCK,
	T_SKIP, /* [[registry.mirror]], [engine], anything else: keys ignored */
};

enum vtype { V_STRING, V_BOOL, V_ARRAY, V_OTHER };

struct value {
	enum vtype type;
	char *s;
	bool b;
	char **arr;
};

static void value_done(struct value *v)
{
	free(v->s);
	hull_strv_free(v->arr);
	*v = (struct value){};
}

struct parser {
	const char *p, *end;
	const char *file;
	unsigned line;
	unsigned registry_line; /* of the [[registry]] being read */
	struct hull_error **reterr;
};

static int perr(struct parser *ps, const char *why)
{
	return hull_error_set(ps->reterr, -EINVAL, "%s:%u: %s", ps->file, ps->line, why);
}

static void skip_blank(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* Skips blanks, comments and newlines (inside arrays and between statements). */
static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r') {
			ps->p++;
		} else if (*ps->p == '\n') {
			ps->line++;
			ps->p++;
		} else if (*ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else {
			break;
		}
	}
}

/* After a statement: blanks, an optional comment, then a newline or the end. */
static int end_of_line(struct parser *ps)
{
	skip_blank(ps);
	if (ps->p < ps->end && *ps->p == '#')
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
	if (ps->p < ps->end && *ps->p == '\r')
		ps->p++;
	if (ps->p < ps->end && *ps->p != '\n')
		return perr(ps, "expected the end of the line");
	return 0;
}

static int parse_string(struct parser *ps, char **ret)
{
	char quote = *ps->p++;
	_cleanup_free_ char *out = malloc(ps->end - ps->p + 1);
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	if (quote == '"' && ps->end - ps->p >= 2 && ps->p[0] == '"' && ps->p[1] == '"')
		return perr(ps, "multi-line strings are not supported");
	while (ps->p < ps->end && *ps->p != quote) {
		char c = *ps->p++;

		if (c == '\n')
			return perr(ps, "unterminated string");
		if (c == '\\' && quote == '"') {
			if (ps->p >= ps->end)
				break;
			c = *ps->p++;
			switch (c) {
			case '"':
			case '\\':
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			default:
				return perr(ps, "unsupported escape in a string");
			}
		}
		out[n++] = c;
	}
	if (ps->p >= ps->end)
		return perr(ps, "unterminated string");
	ps->p++;
	out[n] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static int parse_value(struct parser *ps, struct value *v, bool in_array)
{
	int r;

	if (ps->p >= ps->end)
		return perr(ps, "missing value");
	if (*ps->p == '"' || *ps->p == '\'') {
		v->type = V_STRING;
		return parse_string(ps, &v->s);
	}
	if (*ps->p == '[') {
		if (in_array)
			return perr(ps, "nested arrays are not supported");
		v->type = V_ARRAY;
		v->arr = calloc(1, sizeof(char *));
		if (!v->arr)
			return -ENOMEM;
		ps->p++;
		for (;;) {
			struct value item = {};

			skip_space(ps);
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				return 0;
			}
			r = parse_value(ps, &item, true);
			if (r < 0)
				return r;
			if (item.type != V_STRING) {
				value_done(&item);
				return perr(ps, "expected an array of strings");
			}
			r = hull_strv_consume(&v->arr, TAKE_PTR(item.s));
			if (r < 0)
				return r;
			skip_space(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				return 0;
			}
			return perr(ps, "expected ',' or ']' in an array");
		}
	}
	if (ps->end - ps->p >= 4 && strncmp(ps->p, "true", 4) == 0) {
		v->type = V_BOOL;
		v->b = true;
		ps->p += 4;
		return 0;
	}
	if (ps->end - ps->p >= 5 && strncmp(ps->p, "false", 5) == 0) {
		v->type = V_BOOL;
		v->b = false;
		ps->p += 5;
		return 0;
	}
	/* numbers, dates, inline tables: not used by the keys hull reads */
	if (*ps->p == '{')
		return perr(ps, "inline tables are not supported");
	v->type = V_OTHER;
	while (ps->p < ps->end && *ps->p != '\n' && *ps->p != '#' && *ps->p != ',' &&
	       *ps->p != ']' && *ps->p != ' ' && *ps->p != '\t' && *ps->p != '\r')
		ps->p++;
	return 0;
}

static bool isalnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int parse_key(struct parser *ps, char **ret)
{
	const char *start = ps->p;

	if (*ps->p == '"' || *ps->p == '\'')
		return parse_string(ps, ret);
	while (ps->p < ps->end && (isalnum_ascii(*ps->p) || *ps->p == '_' || *ps->p == '-'))
		ps->p++;
	if (ps->p == start)
		return perr(ps, "expected a key, a [table] or a comment");
	if (ps->p < ps->end && *ps->p == '.')
		return perr(ps, "dotted keys are not supported");
	*ret = strndup(start, ps->p - start);
	return *ret ? 0 : -ENOMEM;
}

/* ---- merging values into the configuration ---- */

static struct hull_registry_entry *entry_add(struct hull_registries_conf *c)
{
	struct hull_registry_entry *n = reallocarray(c->entries, c->n_entries + 1, sizeof(*n));

	if (!n)
		return NULL;
	c->entries = n;
	n[c->n_entries] = (struct hull_registry_entry){};
	return &n[c->n_entries++];
}

/* The entry named `prefix`, made when missing (v1 tables and drop-in overrides). */
static struct hull_registry_entry *entry_get(struct hull_registries_conf *c, const char *prefix)
{
	struct hull_registry_entry *e;

	for (size_t i = 0; i < c->n_entries; i++)
		if (c->entries[i].prefix && streq(c->entries[i].prefix, prefix))
			return &c->entries[i];
	e = entry_add(c);
	if (e && !(e->prefix = strdup(prefix))) {
		c->n_entries--;
		return NULL;
	}
	return e;
}

static int alias_set(struct hull_registries_conf *c, const char *name, const char *value)
{
	for (size_t i = 0; c->aliases && c->aliases[i]; i += 2)
		if (streq(c->aliases[i], name)) {
			char *v = strdup(value);

			if (!v)
				return -ENOMEM;
			free(c->aliases[i + 1]);
			c->aliases[i + 1] = v;
			return 0;
		}
	if (hull_strv_push(&c->aliases, name) < 0 || hull_strv_push(&c->aliases, value) < 0)
		return -ENOMEM;
	return 0;
}

static int want(struct parser *ps, const struct value *v, enum vtype t, const char *key)
{
	static const char *const names[] = { "a string", "true or false", "an array of strings" };
	_cleanup_free_ char *why = NULL;

	if (v->type == t)
		return 0;
	why = hull_strdup_printf("%s: expected %s", key, names[t]);
	return perr(ps, why ? why : key);
}

/* The last [[registry]] of this file is complete: give it a prefix, merge duplicates. */
static int registry_finish(struct parser *ps, struct hull_registries_conf *c, size_t first_new)
{
	struct hull_registry_entry *e;

	if (c->n_entries <= first_new)
		return 0;
	e = &c->entries[c->n_entries - 1];
	if (!e->prefix || !*e->prefix) {
		free(e->prefix);
		e->prefix = NULL;
		if (!e->location || !*e->location) {
			ps->line = ps->registry_line;
			return perr(ps, "[[registry]] needs a prefix or a location");
		}
		e->prefix = strdup(e->location);
		if (!e->prefix)
			return -ENOMEM;
	}
	/* a drop-in's [[registry]] replaces an earlier one of the same prefix */
	for (size_t i = 0; i + 1 < c->n_entries; i++)
		if (streq(c->entries[i].prefix, e->prefix)) {
			entry_done(&c->entries[i]);
			c->entries[i] = *e;
			c->n_entries--;
			break;
		}
	return 0;
}

static int set_key(struct parser *ps, struct hull_registries_conf *c, enum table t, const char *key,
		   struct value *v)
{
	struct hull_registry_entry *e;
	int r;

	switch (t) {
	case T_TOP:
		if (streq(key, "unqualified-search-registries")) {
			r = want(ps, v, V_ARRAY, key);
			if (r < 0)
				return r;
			hull_strv_free(c->search);
			c->search = TAKE_PTR(v->arr);
		} else if (streq(key, "short-name-mode")) {
			r = want(ps, v, V_STRING, key);
			if (r < 0)
				return r;
			if (streq(v->s, "enforcing"))
				c->mode = HULL_SHORT_NAME_ENFORCING;
			else if (streq(v->s, "permissive"))
				c->mode = HULL_SHORT_NAME_PERMISSIVE;
			else if (streq(v->s, "disabled"))
				c->mode = HULL_SHORT_NAME_DISABLED;
			else
				return perr(ps, "short-name-mode: expected \"enforcing\", "
						"\"permissive\" or \"disabled\"");
		}
		return 0;
	case T_REGISTRY:
		e = &c->entries[c->n_entries - 1];
		if (streq(key, "prefix") || streq(key, "location")) {
			char **field = streq(key, "prefix") ? &e->prefix : &e->location;

			r = want(ps, v, V_STRING, key);
			if (r < 0)
				return r;
			free(*field);
			*field = TAKE_PTR(v->s);
		} else if (streq(key, "insecure") || streq(key, "blocked")) {
			r = want(ps, v, V_BOOL, key);
			if (r < 0)
				return r;
			if (streq(key, "insecure"))
				e->insecure = v->b;
			else
				e->blocked = v->b;
		}
		return 0;
	case T_ALIASES:
		r = want(ps, v, V_STRING, key);
		if (r < 0)
			return r;
		return alias_set(c, key, v->s);
	case T_V1_SEARCH:
	case T_V1_INSECURE:
	case T_V1_BLOCK:
		if (!streq(key, "registries"))
			return 0;
		r = want(ps, v, V_ARRAY, key);
		if (r < 0)
			return r;
		if (t == T_V1_SEARCH) {
			hull_strv_free(c->search);
			c->search = TAKE_PTR(v->arr);
			return 0;
		}
		hull_strv_foreach (reg, v->arr) {
			e = entry_get(c, reg);
			if (!e)
				return -ENOMEM;
			if (t == T_V1_INSECURE)
				e->insecure = true;
			else
				e->blocked = true;
		}
		return 0;
	case T_SKIP:
		return 0;
	}
	return 0;
}

static int parse_header(struct parser *ps, struct hull_registries_conf *c, size_t first_new,
			enum table *t)
{
	bool array = ps->end - ps->p >= 2 && ps->p[1] == '[';
	const char *start, *close;
	_cleanup_free_ char *name = NULL;
	int r;

	ps->p += array ? 2 : 1;
	skip_blank(ps);
	start = ps->p;
	close = ps->p;
	while (close < ps->end && *close != ']' && *close != '\n')
		close++;
	if (close >= ps->end || *close != ']' ||
	    (array && (close + 1 >= ps->end || close[1] != ']')))
		return perr(ps, array ? "expected ']]' closing the table name"
				      : "expected ']' closing the table name");
	while (close > start && (close[-1] == ' ' || close[-1] == '\t'))
		close--;
	name = strndup(start, close - start);
	if (!name)
		return -ENOMEM;
	ps->p = (const char *)memchr(ps->p, ']', ps->end - ps->p) + (array ? 2 : 1);

	if (*t == T_REGISTRY) {
		r = registry_finish(ps, c, first_new);
		if (r < 0)
			return r;
	}
	if (array && streq(name, "registry")) {
		if (!entry_add(c))
			return -ENOMEM;
		*t = T_REGISTRY;
		ps->registry_line = ps->line;
	} else if (!array && streq(name, "aliases")) {
		*t = T_ALIASES;
	} else if (!array && streq(name, "registries.search")) {
		*t = T_V1_SEARCH;
	} else if (!array && streq(name, "registries.insecure")) {
		*t = T_V1_INSECURE;
	} else if (!array && streq(name, "registries.block")) {
		*t = T_V1_BLOCK;
	} else {
		*t = T_SKIP;
	}
	return end_of_line(ps);
}

int hull_registries_conf_parse(struct hull_registries_conf *c, const char *text,
			       const char *filename, struct hull_error **reterr)
{
	struct parser ps = {
		.p = text, .end = text + strlen(text), .file = filename, .line = 1, .reterr = reterr
	};
	size_t first_new = c->n_entries;
	enum table t = T_TOP;
	int r;

	for (;;) {
		_cleanup_free_ char *key = NULL;
		struct value v = {};

		skip_space(&ps);
		if (ps.p >= ps.end)
			break;
		if (*ps.p == '[') {
			r = parse_header(&ps, c, first_new, &t);
			if (r < 0)
				return r;
			continue;
		}
		r = parse_key(&ps, &key);
		if (r < 0)
			return r;
		skip_blank(&ps);
		if (ps.p >= ps.end || *ps.p != '=')
			return perr(&ps, "expected '=' after the key");
		ps.p++;
		skip_blank(&ps);
		r = parse_value(&ps, &v, false);
		if (r >= 0)
			r = end_of_line(&ps);
		if (r >= 0)
			r = set_key(&ps, c, t, key, &v);
		value_done(&v);
		if (r < 0)
			return r;
	}
	if (t == T_REGISTRY) {
		r = registry_finish(&ps, c, first_new);
		if (r < 0)
			return r;
	}
	return hull_strv_push(&c->files, filename);
}

static int load_file(struct hull_registries_conf *c, const char *path, struct hull_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = hull_read_file_at(AT_FDCWD, path, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hull_error_errno(reterr, r, "read '%s'", path);
	if (len > CONF_MAX_SIZE || strlen(text) != len)
		return hull_error_set(reterr, -EINVAL, "%s: not a text file of at most 1 MiB",
				      path);
	return hull_registries_conf_parse(c, text, path, reterr);
}

static int dirent_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && streq(d->d_name + n - 5, ".conf");
}

static int load_dropins(struct hull_registries_conf *c, const char *dir, struct hull_error **reterr)
{
	struct dirent **list = NULL;
	int n, r = 0;

	n = scandir(dir, &list, conf_filter, dirent_cmp);
	if (n < 0)
		return 0; /* no drop-in directory */
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = NULL;

		if (r >= 0) {
			p = hull_strdup_printf("%s/%s", dir, list[i]->d_name);
			r = p ? load_file(c, p, reterr) : -ENOMEM;
		}
		free(list[i]);
	}
	free(list);
	return r;
}

int hull_registries_conf_load(struct hull_registries_conf **ret, struct hull_error **reterr)
{
	_cleanup_(hull_registries_conf_freep) struct hull_registries_conf *c = NULL;
	_cleanup_free_ char *user = NULL, *dropins = NULL;
	const char *main_path = getenv("CONTAINERS_REGISTRIES_CONF");
	const char *home = getenv("HOME"), *own = getenv("HULL_REGISTRIES_CONF");
	int r;

	c = hull_registries_conf_new();
	if (!c)
		return -ENOMEM;
	if (!main_path || !*main_path) {
		if (home && *home) {
			user = hull_strdup_printf("%s/.config/containers/registries.conf", home);
			if (!user)
				return -ENOMEM;
		}
		main_path =
			user && access(user, F_OK) == 0 ? user : "/etc/containers/registries.conf";
		dropins = hull_strdup_printf("%s.d", main_path);
		if (!dropins)
			return -ENOMEM;
	}
	r = load_file(c, main_path, reterr);
	if (r >= 0 && dropins)
		r = load_dropins(c, dropins, reterr);
	if (r >= 0)
		r = load_file(c, own && *own ? own : "/etc/hull/registries.conf", reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---- resolution ---- */

static int push_ref(struct hull_image_ref ***l, size_t *n, struct hull_image_ref *r)
{
	struct hull_image_ref **nl = reallocarray(*l, *n + 2, sizeof(*nl));

	if (!nl) {
		hull_image_ref_free(r);
		return -ENOMEM;
	}
	nl[(*n)++] = r;
	nl[*n] = NULL;
	*l = nl;
	return 0;
}

/* `registry` + short name, with the tag/digest of ref, normalised as a reference. */
static int qualify(const char *registry, const char *path, const struct hull_image_ref *ref,
		   struct hull_image_ref **ret, struct hull_error **reterr)
{
	_cleanup_free_ char *s = NULL;

	s = hull_strdup_printf("%s/%s%s%s%s%s", registry, path, ref->tag ? ":" : "",
			       ref->tag ? ref->tag : "", ref->digest ? "@" : "",
			       ref->digest ? ref->digest : "");
	if (!s)
		return -ENOMEM;
	return hull_image_ref_parse(s, ret, reterr);
}

static const char *conf_files(const struct hull_registries_conf *c)
{
	return c->files && c->files[0] ? c->files[0] : "/etc/containers/registries.conf";
}

int hull_image_ref_resolve(const struct hull_registries_conf *c, const struct hull_image_ref *ref,
			   struct hull_image_ref ***ret, struct hull_error **reterr)
{
	_cleanup_(hull_image_ref_list_freep) struct hull_image_ref **l = NULL;
	struct hull_image_ref *q = NULL;
	size_t n = 0, n_search = hull_strv_length(c->search);
	int r;

	if (!hull_image_ref_is_short(ref)) {
		q = hull_image_ref_copy(ref);
		if (!q)
			return -ENOMEM;
		r = push_ref(&l, &n, q);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(l);
		return 0;
	}
	for (size_t i = 0; c->aliases && c->aliases[i]; i += 2) {
		_cleanup_(hull_image_ref_freep) struct hull_image_ref *a = NULL;

		if (!streq(c->aliases[i], ref->path))
			continue;
		r = hull_image_ref_parse(c->aliases[i + 1], &a, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "alias '%s'", ref->path);
		if (hull_image_ref_is_short(a) || (a->tag && !streq(a->tag, "latest")) || a->digest)
			return hull_error_set(reterr, -EINVAL,
					      "alias '%s': '%s' must be a fully qualified name "
					      "without tag or digest",
					      ref->path, c->aliases[i + 1]);
		r = qualify(a->domain, a->path, ref, &q, reterr);
		if (r < 0)
			return r;
		r = push_ref(&l, &n, q);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(l);
		return 0;
	}
	if (n_search == 0)
		return hull_error_set(reterr, -EINVAL,
				      "short name '%s': no registry to search "
				      "(unqualified-search-registries is empty in %s); use a fully "
				      "qualified name such as 'docker.io/library/%s'",
				      ref->path, conf_files(c), ref->path);
	if (n_search > 1 && c->mode == HULL_SHORT_NAME_ENFORCING) {
		_cleanup_free_ char *list = hull_strv_join(c->search, ", ");

		return hull_error_set(reterr, -EINVAL,
				      "short name '%s' is ambiguous: it could come from any of %s "
				      "(short-name-mode is \"enforcing\"); use a fully qualified "
				      "name",
				      ref->path, list ? list : "several registries");
	}
	hull_strv_foreach (reg, c->search) {
		r = qualify(reg, ref->path, ref, &q, reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "unqualified-search-registries '%s'",
					       reg);
		r = push_ref(&l, &n, q);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/*
 * Length of the match of `prefix` against `name` ("host/path"), 0 when it
 * does not match.  A prefix matches at a path boundary; "*.example.com"
 * matches any subdomain of example.com (the host part only).
 */
static size_t prefix_match(const char *prefix, const char *name, const char *host)
{
	size_t n = strlen(prefix);

	if (startswith(prefix, "*.")) {
		const char *colon = strrchr(host, ':'), *slash = strchr(prefix, '/');
		size_t hl = strlen(host), sl = n - 1; /* ".example.com" */

		if (colon && !strchr(colon, ']'))
			hl = colon - host; /* a port does not count */

		if (slash)
			return 0; /* wildcards name a host only */
		if (hl > sl && strncmp(host + hl - sl, prefix + 1, sl) == 0)
			return n;
		return 0;
	}
	if (strncmp(name, prefix, n) != 0)
		return 0;
	if (name[n] == '\0' || name[n] == '/' || name[n] == ':' || name[n] == '@')
		return n;
	return 0;
}

int hull_registries_conf_endpoint(const struct hull_registries_conf *c,
				  const struct hull_image_ref *ref,
				  struct hull_registry_endpoint *ret, struct hull_error **reterr)
{
	_cleanup_free_ char *name = NULL, *host = NULL, *path = NULL;
	const struct hull_registry_entry *best = NULL;
	size_t best_len = 0;

	if (hull_image_ref_is_short(ref))
		return hull_error_set(reterr, -EINVAL, "reference '%s': not fully qualified",
				      ref->path);
	name = hull_image_ref_name(ref);
	if (!name)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_entries; i++) {
		size_t m = prefix_match(c->entries[i].prefix, name, ref->domain);

		if (m > best_len) {
			best = &c->entries[i];
			best_len = m;
		}
	}
	if (best && best->blocked)
		return hull_error_set(reterr, -EACCES,
				      "registry '%s' is blocked in the registries configuration",
				      best->prefix);
	if (best && best->location && *best->location && !startswith(best->prefix, "*.")) {
		const char *rest = name + best_len, *slash;
		_cleanup_free_ char *loc = hull_strdup_printf("%s%s", best->location, rest);

		if (!loc)
			return -ENOMEM;
		slash = strchr(loc, '/');
		if (!slash)
			return hull_error_set(reterr, -EINVAL,
					      "registry '%s': location '%s' names no repository",
					      best->prefix, best->location);
		host = strndup(loc, slash - loc);
		path = strdup(slash + 1);
	} else {
		host = strdup(ref->domain);
		path = strdup(ref->path);
	}
	if (!host || !path)
		return -ENOMEM;
	ret->host = TAKE_PTR(host);
	ret->path = TAKE_PTR(path);
	ret->insecure = best && best->insecure;
	return 0;
}
