/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the files of the net room only. */
#pragma once

#include <sys/types.h>

#include "net/network.h"
#include "net/nft.h"

/* Checks a network name (it is also the bridge's name). */
int net_name_check(const char *name, struct hull_error **reterr);
/* <state>/networks, made on first use. */
int net_dir_open(int state_fd, int *ret_fd, struct hull_error **reterr);
/* The lock all network changes take (bounded wait). */
int net_lock(int state_fd, int *ret_fd, struct hull_error **reterr);

/* The absolute path of <state>/networks/NAME (a new string). */
char *net_path(int state_fd, const char *name);

/* dnsmasq for one network: see dnsmasq.c. */
int net_dnsmasq_start(int state_fd, const struct hull_network *n, struct hull_error **reterr);
int net_dnsmasq_stop(int state_fd, const char *name, struct hull_error **reterr);
/* The pid of the network's running dnsmasq, or 0. */
pid_t net_dnsmasq_pid(int state_fd, const char *name);

/* sha256 of (what, a, b): the source of stable MACs and interface names. */
void net_hash(const char *what, const char *a, const char *b, unsigned char ret[32]);

/* forward.c: the nft DNAT rules of the network's forwards (a strv, maybe empty). */
int net_forward_rules(int state_fd, const char *name, char ***ret);
