/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Managed networks: settings, their store, create/set/rename/delete.
 * Bringing a network up and down is network-up.c; dnsmasq is dnsmasq.c.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "net/net-internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/str.h"

#define LOCK_WAIT_MS 10000

void hull_network_free(struct hull_network *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->description);
	free(n->dns_domain);
	free(n);
}

int net_name_check(const char *name, struct hull_error **reterr)
{
	size_t n = name ? strlen(name) : 0;

	/* the name is the bridge's name too: an interface name's limits */
	if (n == 0 || n > 15)
		return hull_error_set(reterr, -EINVAL, "bad network name '%s': 1 to 15 characters",
				      name ? name : "");
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return hull_error_set(
				reterr, -EINVAL,
				"bad network name '%s': letters, digits, '-' and '_' only", name);
	if (name[0] == '-' || name[0] == '_')
		return hull_error_set(reterr, -EINVAL, "bad network name '%s'", name);
	return 0;
}

/* <state>/networks, made on first use. */
int net_dir_open(int state_fd, int *ret_fd, struct hull_error **reterr)
{
	int fd, r;

	r = hull_mkdir_p_at(state_fd, "networks", 0711);
	if (r < 0)
		return hull_error_errno(reterr, r, "create the networks directory");
	fd = openat(state_fd, "networks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open the networks directory");
	*ret_fd = fd;
	return 0;
}

/* Takes the networks' lock (one for all: changes are rare and quick). */
int net_lock(int state_fd, int *ret_fd, struct hull_error **reterr)
{
	_cleanup_close_ int dir = -EBADF, fd = -EBADF;
	int r;

	r = net_dir_open(state_fd, &dir, reterr);
	if (r < 0)
		return r;
	fd = openat(dir, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hull_error_errno(reterr, -errno, "open the networks lock");
	r = hull_flock_bounded(fd, LOCK_EX, LOCK_WAIT_MS);
	if (r == -EBUSY)
		return hull_error_set(reterr, r, "networks are busy (locked by another hull)");
	if (r < 0)
		return hull_error_errno(reterr, r, "lock networks");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int parse_bool(const char *key, const char *v, bool *ret, struct hull_error **reterr)
{
	if (streq(v, "true") || streq(v, "1") || streq(v, "yes"))
		*ret = true;
	else if (streq(v, "false") || streq(v, "0") || streq(v, "no"))
		*ret = false;
	else
		return hull_error_set(reterr, -EINVAL, "%s: expected true or false, got '%s'", key,
				      v);
	return 0;
}

static int parse_address(const char *key, const char *v, int family, unsigned min_prefix,
			 unsigned max_prefix, struct hull_ip *ret, unsigned *ret_prefix,
			 bool *ret_has, struct hull_error **reterr)
{
	struct hull_ip ip;
	unsigned len;

	if (streq(v, "none")) {
		*ret_has = false;
		return 0;
	}
	if (hull_ip_parse_cidr(v, &ip, &len) < 0 || ip.family != family)
		return hull_error_set(reterr, -EINVAL,
				      "%s: expected ADDRESS/PREFIX, auto or none, got '%s'", key,
				      v);
	if (len < min_prefix || len > max_prefix)
		return hull_error_set(reterr, -EINVAL, "%s: prefix length must be %u to %u, got %u",
				      key, min_prefix, max_prefix, len);
	if (family == AF_INET) {
		uint32_t host = ntohl(ip.v4.s_addr) & (len ? ~(~0u << (32 - len)) : ~0u);

		if (host == 0 || host == (len ? ~(~0u << (32 - len)) : ~0u))
			return hull_error_set(
				reterr, -EINVAL,
				"%s: '%s' is the subnet's network or broadcast address, "
				"not a host's",
				key, v);
	}
	*ret = ip;
	*ret_prefix = len;
	*ret_has = true;
	return 0;
}

static const char *const keys[] = {
	"ipv4.address", "ipv4.nat", "ipv6.address", "ipv6.nat", "dns.domain", "description",
};

static int domain_check(const char *v, struct hull_error **reterr)
{
	size_t n = strlen(v);

	if (n == 0 || n > 63 || v[0] == '.' || v[0] == '-')
		return hull_error_set(reterr, -EINVAL, "dns.domain: bad domain '%s'", v);
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return hull_error_set(reterr, -EINVAL,
					      "dns.domain: bad domain '%s' (a-z, 0-9, '-', '.')",
					      v);
	return 0;
}

/* Applies one setting to n; "auto" addresses must have been resolved by the caller. */
static int network_apply_key(struct hull_network *n, const char *key, const char *v,
			     struct hull_error **reterr)
{
	char *s;

	if (streq(key, "ipv4.address"))
		return parse_address(key, v, AF_INET, 8, 30, &n->addr4, &n->prefix4, &n->has4,
				     reterr);
	if (streq(key, "ipv6.address"))
		return parse_address(key, v, AF_INET6, 48, 64, &n->addr6, &n->prefix6, &n->has6,
				     reterr);
	if (streq(key, "ipv4.nat"))
		return parse_bool(key, v, &n->nat4, reterr);
	if (streq(key, "ipv6.nat"))
		return parse_bool(key, v, &n->nat6, reterr);
	if (streq(key, "dns.domain")) {
		int r = domain_check(v, reterr);

		if (r < 0)
			return r;
		s = strdup(v);
		if (!s)
			return -ENOMEM;
		free(n->dns_domain);
		n->dns_domain = s;
		return 0;
	}
	if (streq(key, "description")) {
		s = strdup(v);
		if (!s)
			return -ENOMEM;
		free(n->description);
		n->description = s;
		return 0;
	}
	return hull_error_set(reterr, -EINVAL,
			      "unknown network key '%s' (known: ipv4.address, ipv4.nat, "
			      "ipv6.address, ipv6.nat, dns.domain, description)",
			      key);
}

static int network_defaults(const char *name, struct hull_network **ret)
{
	_cleanup_(hull_network_freep) struct hull_network *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->name = strdup(name);
	n->dns_domain = strdup("hull");
	n->description = strdup("");
	if (!n->name || !n->dns_domain || !n->description)
		return -ENOMEM;
	n->nat4 = true;
	n->nat6 = true;
	*ret = TAKE_PTR(n);
	return 0;
}

char *hull_network_to_json(const struct hull_network *n)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *cfg = json_object_new_object();
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN];
	char *ret;

	if (!o || !cfg) {
		json_object_put(cfg);
		return NULL;
	}
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "config", cfg);
	snprintf(a, sizeof(a), "%s/%u", hull_ip_format(&n->addr4, b, sizeof(b)), n->prefix4);
	json_object_object_add(cfg, "ipv4.address", json_object_new_string(n->has4 ? a : "none"));
	json_object_object_add(cfg, "ipv4.nat", json_object_new_string(n->nat4 ? "true" : "false"));
	snprintf(a, sizeof(a), "%s/%u", hull_ip_format(&n->addr6, b, sizeof(b)), n->prefix6);
	json_object_object_add(cfg, "ipv6.address", json_object_new_string(n->has6 ? a : "none"));
	json_object_object_add(cfg, "ipv6.nat", json_object_new_string(n->nat6 ? "true" : "false"));
	json_object_object_add(cfg, "dns.domain", json_object_new_string(n->dns_domain));
	json_object_object_add(cfg, "description", json_object_new_string(n->description));
	ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	return ret;
}

int hull_network_get(const struct hull_network *n, const char *key, char **ret,
		     struct hull_error **reterr)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ char *text = hull_network_to_json(n);
	struct json_object *cfg, *v;
	char *s;
	int r;

	if (!text)
		return -ENOMEM;
	r = hull_json_parse(text, strlen(text), "network", &o, reterr);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "config", &cfg) ||
	    !json_object_object_get_ex(cfg, key, &v))
		return network_apply_key(NULL, key, "", reterr); /* names the unknown key */
	s = strdup(json_object_get_string(v));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int network_save(int state_fd, const struct hull_network *n, struct hull_error **reterr)
{
	_cleanup_close_ int dir = -EBADF, nd = -EBADF;
	_cleanup_free_ char *text = hull_network_to_json(n);
	int r;

	if (!text)
		return -ENOMEM;
	r = net_dir_open(state_fd, &dir, reterr);
	if (r < 0)
		return r;
	if (mkdirat(dir, n->name, 0711) < 0 && errno != EEXIST)
		return hull_error_errno(reterr, -errno, "create network '%s'", n->name);
	nd = openat(dir, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nd < 0)
		return hull_error_errno(reterr, -errno, "open network '%s'", n->name);
	r = hull_write_file_atomic_at(nd, "config.json", text, strlen(text), 0600,
				      HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "save network '%s'", n->name);
	return 0;
}

int hull_network_load(int state_fd, const char *name, struct hull_network **ret,
		      struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_free_ char *text = NULL, *path = NULL;
	struct json_object *cfg;
	size_t len;
	int r;

	r = net_name_check(name, reterr);
	if (r < 0)
		return r;
	path = hull_strdup_printf("networks/%s/config.json", name);
	if (!path)
		return -ENOMEM;
	r = hull_read_file_at(state_fd, path, &text, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return hull_error_set(reterr, -ENOENT, "network '%s' does not exist", name);
	if (r < 0)
		return hull_error_errno(reterr, r, "read network '%s'", name);
	r = hull_json_parse(text, len, path, &o, reterr);
	if (r < 0)
		return r;
	r = network_defaults(name, &n);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "config", &cfg) ||
	    !json_object_is_type(cfg, json_type_object))
		return hull_error_set(reterr, -EINVAL, "%s: config: expected an object", path);
	json_object_object_foreach(cfg, key, v)
	{
		if (!json_object_is_type(v, json_type_string))
			return hull_error_set(reterr, -EINVAL, "%s: config.%s: expected a string",
					      path, key);
		r = network_apply_key(n, key, json_object_get_string(v), reterr);
		if (r < 0)
			return hull_error_wrap(reterr, r, "%s", path);
	}
	*ret = TAKE_PTR(n);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hull_network_names(int state_fd, char ***ret, struct hull_error **reterr)
{
	_cleanup_close_ int dir = -EBADF;
	_cleanup_(hull_strv_freep) char **names = NULL;
	DIR *d = NULL;
	struct dirent *de;
	size_t n = 0;
	int r;

	r = net_dir_open(state_fd, &dir, reterr);
	if (r < 0)
		return r;
	r = hull_opendir_dup(dir, &d);
	if (r < 0)
		return hull_error_errno(reterr, r, "list networks");
	names = calloc(1, sizeof(char *));
	if (!names)
		r = -ENOMEM;
	while (r >= 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || net_name_check(de->d_name, NULL) < 0)
			continue;
		if (faccessat(dir, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		r = hull_strv_push(&names, de->d_name);
		n++;
	}
	closedir(d);
	if (r < 0)
		return hull_error_errno(reterr, r, "list networks");
	qsort(names, n, sizeof(char *), cmp_str);
	*ret = TAKE_PTR(names);
	return 0;
}

/* Whether [a, a+2^(32-la)) and [b, ...) overlap. */
static bool v4_overlap(uint32_t a, unsigned la, uint32_t b, unsigned lb)
{
	unsigned l = la < lb ? la : lb;
	uint32_t mask = l ? ~0u << (32 - l) : 0;

	return (a & mask) == (b & mask);
}

struct pick {
	uint32_t candidate;
	bool taken;
};

static int pick_route_cb(const struct in_addr *dst, unsigned prefixlen, void *userdata)
{
	struct pick *p = userdata;

	/* the default route (and other very wide ones) overlaps everything: ignore */
	if (prefixlen >= 8 && v4_overlap(p->candidate, 24, ntohl(dst->s_addr), prefixlen))
		p->taken = true;
	return 0;
}

/* Picks a free 10.x.y.1/24 that no route or address here and no hull network uses. */
static int pick_subnet4(int state_fd, struct hull_ip *ret, unsigned *ret_prefix,
			struct hull_error **reterr)
{
	_cleanup_nl_ struct hull_nl *nl = NULL;
	_cleanup_(hull_strv_freep) char **names = NULL;
	int r;

	r = hull_nl_open(-1, &nl, reterr);
	if (r >= 0)
		r = hull_network_names(state_fd, &names, reterr);
	if (r < 0)
		return r;
	for (int tries = 0; tries < 256; tries++) {
		struct pick p = { 0, false };
		uint16_t rnd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return hull_error_errno(reterr, negative_errno(), "getrandom");
		p.candidate = (10u << 24) | ((uint32_t)rnd << 8);
		r = hull_route_foreach_v4(nl, pick_route_cb, &p, reterr);
		if (r >= 0)
			r = hull_addr_foreach_v4(nl, pick_route_cb, &p, reterr);
		if (r < 0)
			return r;
		for (char **n = names; !p.taken && *n; n++) {
			_cleanup_(hull_network_freep) struct hull_network *other = NULL;

			if (hull_network_load(state_fd, *n, &other, NULL) >= 0 && other->has4 &&
			    v4_overlap(p.candidate, 24, ntohl(other->addr4.v4.s_addr),
				       other->prefix4))
				p.taken = true;
		}
		if (!p.taken) {
			ret->family = AF_INET;
			ret->v4.s_addr = htonl(p.candidate | 1);
			*ret_prefix = 24;
			return 0;
		}
	}
	return hull_error_set(reterr, -EADDRINUSE,
			      "ipv4.address: no free 10.x.y.0/24 subnet found");
}

static int pick_subnet6(struct hull_ip *ret, unsigned *ret_prefix, struct hull_error **reterr)
{
	uint8_t rnd[7];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return hull_error_errno(reterr, negative_errno(), "getrandom");
	memset(ret, 0, sizeof(*ret));
	ret->family = AF_INET6;
	ret->v6.s6_addr[0] = 0xfd; /* a unique local address, RFC 4193 */
	memcpy(&ret->v6.s6_addr[1], rnd, sizeof(rnd));
	ret->v6.s6_addr[15] = 1;
	*ret_prefix = 64;
	return 0;
}

static bool is_key(const char *key)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (streq(keys[i], key))
			return true;
	return false;
}

/* Applies key=value to n, resolving "auto" addresses. */
static int network_set_one(int state_fd, struct hull_network *n, const char *key, const char *v,
			   struct hull_error **reterr)
{
	if (!is_key(key))
		return network_apply_key(n, key, v, reterr);
	if (streq(key, "ipv4.address") && streq(v, "auto")) {
		int r = pick_subnet4(state_fd, &n->addr4, &n->prefix4, reterr);

		n->has4 = r >= 0;
		return r;
	}
	if (streq(key, "ipv6.address") && streq(v, "auto")) {
		int r = pick_subnet6(&n->addr6, &n->prefix6, reterr);

		n->has6 = r >= 0;
		return r;
	}
	return network_apply_key(n, key, v, reterr);
}

int hull_network_create(int state_fd, const char *name, char *const *settings,
			struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_close_ int lock = -EBADF, dir = -EBADF;
	bool v4_given = false;
	int r;

	r = net_name_check(name, reterr);
	if (r < 0)
		return r;
	r = net_lock(state_fd, &lock, reterr);
	if (r < 0)
		return r;
	r = net_dir_open(state_fd, &dir, reterr);
	if (r < 0)
		return r;
	if (faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return hull_error_set(reterr, -EEXIST, "network '%s' already exists", name);
	r = network_defaults(name, &n);
	if (r < 0)
		return r;
	for (char *const *s = settings; s && *s; s++) {
		_cleanup_free_ char *key = NULL;
		const char *eq = strchr(*s, '=');

		if (!eq)
			return hull_error_set(reterr, -EINVAL, "expected KEY=VALUE, got '%s'", *s);
		key = strndup(*s, (size_t)(eq - *s));
		if (!key)
			return -ENOMEM;
		if (streq(key, "ipv4.address"))
			v4_given = true;
		r = network_set_one(state_fd, n, key, eq + 1, reterr);
		if (r < 0)
			return r;
	}
	if (!v4_given) {
		r = network_set_one(state_fd, n, "ipv4.address", "auto", reterr);
		if (r < 0)
			return r;
	}
	r = network_save(state_fd, n, reterr);
	if (r >= 0)
		r = hull_network_up(state_fd, n, reterr);
	if (r < 0) {
		(void)hull_network_down(state_fd, name, NULL);
		(void)hull_rm_rf_at(dir, name);
		return r;
	}
	return 0;
}

int hull_network_delete(int state_fd, const char *name, struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_close_ int lock = -EBADF, dir = -EBADF;
	int r;

	r = hull_network_load(state_fd, name, &n, reterr);
	if (r >= 0)
		r = net_lock(state_fd, &lock, reterr);
	if (r >= 0)
		r = hull_network_down(state_fd, name, reterr);
	if (r >= 0)
		r = net_dir_open(state_fd, &dir, reterr);
	if (r < 0)
		return r;
	r = hull_rm_rf_at(dir, name);
	if (r < 0)
		return hull_error_errno(reterr, r, "remove network '%s'", name);
	return 0;
}

int hull_network_set(int state_fd, const char *name, const char *key, const char *value,
		     struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_close_ int lock = -EBADF;
	bool was_up;
	int r;

	r = hull_network_load(state_fd, name, &n, reterr);
	if (r >= 0)
		r = net_lock(state_fd, &lock, reterr);
	if (r < 0)
		return r;
	if (!*value) { /* back to the default */
		static const struct {
			const char *key, *value;
		} defaults[] = {
			{ "ipv4.address", "auto" }, { "ipv4.nat", "true" },
			{ "ipv6.address", "none" }, { "ipv6.nat", "true" },
			{ "dns.domain", "hull" },   { "description", "" },
		};
		for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
			if (streq(defaults[i].key, key))
				value = defaults[i].value;
	}
	was_up = hull_network_is_up(state_fd, n);
	r = network_set_one(state_fd, n, key, value, reterr);
	if (r < 0)
		return r;
	if (was_up) {
		/* addresses may have changed: rebuild the bridge's side */
		r = hull_network_down(state_fd, name, reterr);
		if (r < 0)
			return r;
	}
	r = network_save(state_fd, n, reterr);
	if (r >= 0 && was_up)
		r = hull_network_up(state_fd, n, reterr);
	return r;
}

int hull_network_rename(int state_fd, const char *name, const char *new_name,
			struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_close_ int lock = -EBADF, dir = -EBADF;
	bool was_up;
	int r;

	r = net_name_check(new_name, reterr);
	if (r >= 0)
		r = hull_network_load(state_fd, name, &n, reterr);
	if (r >= 0)
		r = net_lock(state_fd, &lock, reterr);
	if (r >= 0)
		r = net_dir_open(state_fd, &dir, reterr);
	if (r < 0)
		return r;
	if (faccessat(dir, new_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return hull_error_set(reterr, -EEXIST, "network '%s' already exists", new_name);
	was_up = hull_network_is_up(state_fd, n);
	r = hull_network_down(state_fd, name, reterr);
	if (r < 0)
		return r;
	if (renameat(dir, name, dir, new_name) < 0)
		return hull_error_errno(reterr, -errno, "rename network '%s'", name);
	free(n->name);
	n->name = strdup(new_name);
	if (!n->name)
		return -ENOMEM;
	r = network_save(state_fd, n, reterr);
	if (r >= 0 && was_up)
		r = hull_network_up(state_fd, n, reterr);
	return r;
}
