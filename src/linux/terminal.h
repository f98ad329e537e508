/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pseudo-terminals and runc's --console-socket protocol.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "oci/config.h"
#include "util/error.h"

/*
 * Opens a new pty through /dev/ptmx (inside the container, after pivot_root,
 * so the slave lives in the container's devpts).  Applies process.consoleSize
 * when set and gives the slave to process.user.uid (its group unchanged), as
 * runc does.  Both fds are O_CLOEXEC.
 */
int hull_terminal_open(const struct hull_oci_process *p, int *ret_master, int *ret_slave,
		       struct hull_error **reterr);

/* setsid(), makes `slave` the controlling tty and dup2()s it onto stdio. */
int hull_terminal_make_controlling(int slave, struct hull_error **reterr);

/*
 * Bind-mounts the pty `slave` onto /dev/console (creating an empty file
 * there first), as runc does for a process with a terminal.  After
 * pivot_root, with `slave` opened in the container's mount namespace
 * (hull_terminal_open there): open_tree() refuses fds of another one.
 */
int hull_terminal_mount_console(int slave, struct hull_error **reterr);

/*
 * Connects to the unix socket at `socket_path` and sends `master` with
 * SCM_RIGHTS, as runc does for --console-socket.
 */
int hull_console_socket_send(const char *socket_path, int master, struct hull_error **reterr);

/* Sets the window size of a tty. */
int hull_terminal_set_size(int fd, unsigned rows, unsigned cols);

/*
 * Puts the caller's terminal `fd` in raw mode, saving the old settings in
 * *ret_saved (restore with hull_terminal_restore).  -ENOTTY when fd is no tty.
 */
struct termios;
int hull_terminal_make_raw(int fd, struct termios *ret_saved);
int hull_terminal_restore(int fd, const struct termios *saved);
