/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull network forward: a port of an address of the host sent on (DNAT) to an
 * address and port on the network.  The forwards of a network live in
 * <state>/networks/NAME/forwards, one per line
 * ("PROTO LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT"), and become rules
 * of the network's own dnat chains in hull's table (nft.c) whenever the
 * network is brought up; a change re-applies them at once when it is up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "util/file.h"
#include "util/str.h"

#define FORWARDS_MAX 256

/* "ADDR:PORT" (IPv4) into its parts. */
static int parse_endpoint(const char *s, struct hull_ip *ret_ip, uint32_t *ret_port)
{
	_cleanup_free_ char *addr = NULL;
	const char *colon = strrchr(s, ':');

	if (!colon || hull_parse_u32(colon + 1, ret_port) < 0 || *ret_port == 0 ||
	    *ret_port > 65535)
		return -EINVAL;
	addr = strndup(s, (size_t)(colon - s));
	if (!addr)
		return -ENOMEM;
	if (hull_ip_parse(addr, ret_ip) < 0 || ret_ip->family != AF_INET)
		return -EINVAL;
	return 0;
}

/* The network's forward lines (a strv, empty when it has none). */
static int forwards_read(int state_fd, const char *name, char ***ret, struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("networks/%s/forwards", name);
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	char *save = NULL;
	int r;

	if (!path || !l)
		return -ENOMEM;
	r = hull_read_file_at(state_fd, path, &text, NULL);
	if (r < 0 && r != -ENOENT)
		return hull_error_errno(reterr, r, "read '%s'", path);
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (*line && hull_strv_push(&l, line) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static int forwards_write(int state_fd, const char *name, char *const *l,
			  struct hull_error **reterr)
{
	_cleanup_free_ char *path = hull_strdup_printf("networks/%s", name);
	_cleanup_free_ char *text = strdup("");
	_cleanup_close_ int dir = -EBADF;
	int r;

	if (!path || !text)
		return -ENOMEM;
	hull_strv_foreach (line, l) {
		char *more = hull_strdup_printf("%s%s\n", text, line);

		if (!more)
			return -ENOMEM;
		free(text);
		text = more;
	}
	dir = openat(state_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return hull_error_errno(reterr, -errno, "open '%s'", path);
	r = hull_write_file_atomic_at(dir, "forwards", text, strlen(text), 0600, HULL_ATOMIC_SYNC);
	if (r < 0)
		return hull_error_errno(reterr, r, "write '%s/forwards'", path);
	return 0;
}

/* One stored forward: "PROTO LISTEN-IP LISTEN-PORT TARGET-IP TARGET-PORT". */
struct forward_line {
	char proto[4], laddr[16], taddr[16];
	unsigned lport, tport;
};

static bool forward_line_parse(const char *line, struct forward_line *f)
{
	return sscanf(line, "%3s %15s %u %15s %u", f->proto, f->laddr, &f->lport, f->taddr,
		      &f->tport) == 5;
}

int net_forward_rules(int state_fd, const char *name, char ***ret)
{
	_cleanup_strv_free_ char **lines = NULL, **rules = calloc(1, sizeof(char *));
	int r;

	if (!rules)
		return -ENOMEM;
	r = forwards_read(state_fd, name, &lines, NULL);
	if (r < 0)
		return r;
	hull_strv_foreach (line, lines) {
		struct forward_line f;

		if (!forward_line_parse(line, &f))
			continue;
		r = hull_strv_consume(
			&rules, hull_strdup_printf("ip daddr %s %s dport %u dnat ip to %s:%u",
						   f.laddr, f.proto, f.lport, f.taddr, f.tport));
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(rules);
	return 0;
}

/* Re-applies the network's rules when it is up. */
static int reapply(int state_fd, const struct hull_network *n, struct hull_error **reterr)
{
	if (!hull_network_is_up(state_fd, n))
		return 0;
	return hull_network_up(state_fd, n, reterr);
}

/*
 * For add and remove: `listen_on` parsed, network `name` loaded (*n) and locked
 * (*lock), its forwards read (*lines) and the key of `proto` on `listen_on`
 * (what a line starts with) made.
 */
static int forward_open(int state_fd, const char *name, const char *proto, const char *listen_on,
			struct hull_network **n, int *lock, char ***lines, char **key,
			struct hull_error **reterr)
{
	struct hull_ip lip;
	uint32_t lport;
	char ls[INET6_ADDRSTRLEN];
	int r;

	if (parse_endpoint(listen_on, &lip, &lport) < 0)
		return hull_error_set(reterr, -EINVAL,
				      "network forward: listen: expected IPV4:PORT, got '%s'",
				      listen_on);
	r = hull_network_load(state_fd, name, n, reterr);
	if (r >= 0)
		r = net_lock(state_fd, lock, reterr);
	if (r >= 0)
		r = forwards_read(state_fd, name, lines, reterr);
	if (r < 0)
		return r;
	*key = hull_strdup_printf("%s %s %u ", proto, hull_ip_format(&lip, ls, sizeof(ls)), lport);
	return *key ? 0 : -ENOMEM;
}

int hull_network_forward_add(int state_fd, const char *name, const char *proto,
			     const char *listen_on, const char *target, struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_strv_free_ char **lines = NULL, **old = NULL;
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *key = NULL;
	struct hull_ip tip;
	uint32_t tport;
	char ts[INET6_ADDRSTRLEN];
	int r;

	if (!streq(proto, "tcp") && !streq(proto, "udp"))
		return hull_error_set(reterr, -EINVAL,
				      "network forward: protocol: expected tcp or udp, got '%s'",
				      proto);
	if (parse_endpoint(target, &tip, &tport) < 0)
		return hull_error_set(reterr, -EINVAL,
				      "network forward: target: expected IPV4:PORT, got '%s'",
				      target);
	r = forward_open(state_fd, name, proto, listen_on, &n, &lock, &lines, &key, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (line, lines)
		if (startswith(line, key))
			return hull_error_set(reterr, -EEXIST,
					      "network '%s' already forwards %s %s", name, proto,
					      listen_on);
	if (hull_strv_length(lines) >= FORWARDS_MAX)
		return hull_error_set(reterr, -ENOSPC, "network '%s' has %d forwards already", name,
				      FORWARDS_MAX);
	old = hull_strv_copy(lines);
	if (!old)
		return -ENOMEM;
	r = hull_strv_consume(
		&lines,
		hull_strdup_printf("%s%s %u", key, hull_ip_format(&tip, ts, sizeof(ts)), tport));
	if (r >= 0)
		r = forwards_write(state_fd, name, lines, reterr);
	if (r >= 0)
		r = reapply(state_fd, n, reterr);
	if (r < 0 && forwards_write(state_fd, name, old, NULL) >= 0)
		(void)reapply(state_fd, n, NULL); /* as it was */
	return r;
}

int hull_network_forward_remove(int state_fd, const char *name, const char *proto,
				const char *listen_on, struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_strv_free_ char **lines = NULL, **kept = calloc(1, sizeof(char *));
	_cleanup_close_ int lock = -EBADF;
	_cleanup_free_ char *key = NULL;
	bool found = false;
	int r;

	if (!kept)
		return -ENOMEM;
	r = forward_open(state_fd, name, proto, listen_on, &n, &lock, &lines, &key, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (line, lines) {
		if (startswith(line, key))
			found = true;
		else if (hull_strv_push(&kept, line) < 0)
			return -ENOMEM;
	}
	if (!found)
		return hull_error_set(reterr, -ENOENT, "network '%s' has no forward of %s %s", name,
				      proto, listen_on);
	r = forwards_write(state_fd, name, kept, reterr);
	return r < 0 ? r : reapply(state_fd, n, reterr);
}

int hull_network_forward_list(int state_fd, const char *name, char ***ret,
			      struct hull_error **reterr)
{
	_cleanup_(hull_network_freep) struct hull_network *n = NULL;
	_cleanup_strv_free_ char **lines = NULL, **out = calloc(1, sizeof(char *));
	int r;

	if (!out)
		return -ENOMEM;
	r = hull_network_load(state_fd, name, &n, reterr);
	if (r >= 0)
		r = forwards_read(state_fd, name, &lines, reterr);
	if (r < 0)
		return r;
	hull_strv_foreach (line, lines) {
		struct forward_line f;

		if (!forward_line_parse(line, &f))
			continue;
		r = hull_strv_consume(&out, hull_strdup_printf("%s %s:%u -> %s:%u", f.proto,
							       f.laddr, f.lport, f.taddr, f.tport));
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}
