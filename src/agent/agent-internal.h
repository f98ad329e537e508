/* SPDX-License-Identifier: Apache-2.0 */
/* hull-agent's parts (agent.c: the loop and main; agent-session.c: streams, the
 * runner children and the host's requests; agent-guest.c: PID 1's set-up and end). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent-proto.h"
#include "linux/terminal.h"
#include "runtime/cloned-binary.h"
#include "runtime/container.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/socket.h"
#include "util/str.h"

#define OUT_HIGH (512 * 1024)	/* stop reading the processes above this much unsent */
#define STDIN_HIGH (256 * 1024) /* stop reading the host while a stdin holds this much */
#define DRAIN_READS 16		/* reads of a pipe after its process ended: 1 MiB */
#define ORPHANS 64		/* exit statuses of pids reaped before we knew them */
#define DEFAULT_STATE "/run/hull-agent"
#define GUEST_ROOTFS "/run/hull-agent/rootfs"

struct stream {
	uint32_t id;
	bool used, is_init, tty;
	pid_t runner; /* > 0 while the runner lives */
	int runner_err;
	pid_t pid; /* the process, once the runner said it runs */
	bool started, exited;
	int status;
	int in_fd;  /* stdin pipe (write end) or the pty master */
	int out_fd; /* stdout pipe (read end) or the pty master */
	int err_fd;
	int console_listen;
	char console_path[256];
	char pid_path[256];
	uint8_t *inbuf;
	size_t in_len;
	bool in_eof;
	bool has_size;
	unsigned short rows, cols;
};

struct agent {
	struct hull_runtime rt;
	const char *state_dir;
	const char *rootfs; /* default rootfs for RUN */
	bool pid1;
	int sfd, listen_fd, conn;
	struct hull_agent_decoder dec;
	bool hello_done, ran, session_over;
	char *id; /* the container */
	struct stream streams[HULL_AGENT_MAX_STREAMS];
	uint8_t *out;
	size_t out_len, out_cap;
	struct {
		pid_t pid;
		int status;
	} orphans[ORPHANS];
	size_t n_orphans;
};

/* agent-session.c */
void agent_send_error(struct agent *a, uint32_t stream, const char *msg);
void agent_send_int(struct agent *a, enum hull_agent_type type, uint32_t stream, const char *k1,
		    int v1, const char *k2, int v2);
void agent_flush_out(struct agent *a);
void agent_stream_free(struct stream *s);
bool agent_pump_output(struct agent *a, struct stream *s, int *fd, enum hull_agent_type type);
void agent_pump_stdin(struct stream *s);
void agent_stream_finish(struct agent *a, struct stream *s);
void agent_handle_msg(struct agent *a, const struct hull_agent_msg *m);

/* agent-guest.c */
int agent_listen_on(const char *spec, struct hull_error **reterr);
bool agent_is_fs(const char *path, long magic);
int agent_mount_at(const char *src, const char *dst, const char *type, unsigned long flags,
		   const char *data, struct hull_error **reterr);
int agent_guest_setup(struct agent *a, struct hull_error **reterr);
_noreturn_ void agent_power_off(void);
void agent_linger(int fd);
