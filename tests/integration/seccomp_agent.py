"""A seccomp agent for tests: a unix socket server in a thread of the test
process that receives listener fds (SCM_RIGHTS) with the containerProcessState
JSON, as linux.seccomp.listenerPath expects, and answers notifications through
SECCOMP_IOCTL_NOTIF_RECV / SECCOMP_IOCTL_NOTIF_SEND (or misbehaves on purpose)."""

import contextlib
import errno
import fcntl
import json
import os
import select
import socket
import struct
import tempfile
import threading

import helpers

# struct seccomp_notif { u64 id; u32 pid; u32 flags; struct seccomp_data data; } (80 bytes)
# struct seccomp_notif_resp { u64 id; s64 val; s32 error; u32 flags; } (24 bytes)
NOTIF = struct.Struct("=QII iIQ6Q")
RESP = struct.Struct("=QqiI")
IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)
FLAG_CONTINUE = 1  # SECCOMP_USER_NOTIF_FLAG_CONTINUE

# What hull's init (and the exec'd process) does after loading the filter,
# and what any workload does: every one of these goes through the agent.
NOTIFIED = [
    "execve", "openat", "open", "close", "read", "write", "sendmsg", "recvmsg",
    "fcntl", "close_range", "prctl", "capset", "setresuid", "setresgid", "setgroups",
    "umask", "getppid", "rt_sigaction", "rt_sigprocmask",
]

TIMEOUT_ANNOTATION = "run.hull.seccomp-listener-timeout"


class Agent:
    """A seccomp agent on a unix socket.

    mode:
      continue  answers every notification with FLAG_CONTINUE (one thread per
                connection: `exec` hands over a listener of its own)
      close     accepts and closes the connection without reading
      silent    accepts and never reads
      mute      receives the listener and never answers a notification
      refuse    the socket exists but nobody listens (connection refused)
      missing   there is no socket at the path
    """

    def __init__(self, mode="continue", public=False):
        self.mode = mode
        self.dir = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-agent-")
        if public:  # reachable by an unprivileged runtime
            os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "agent.sock")
        self.states = []
        self.notified = []  # (pid, syscall nr)
        self.errors = []
        self._keep = []  # connections and fds held until close()
        self._threads = []
        self._lock = threading.Lock()
        self._stop = False
        self.sock = None
        if mode == "missing":
            return
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.bind(self.path)
        if public:
            os.chmod(self.path, 0o777)
        if mode == "refuse":
            return
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.mode == "close":
                conn.close()
                continue
            if self.mode == "silent":
                self._keep.append(conn)
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn):
        try:
            with conn:
                conn.settimeout(10)
                data, fds = b"", []
                while True:
                    msg, got, _, _ = socket.recv_fds(conn, 65536, 8)
                    fds += got
                    if not msg:
                        break
                    data += msg
                    try:
                        state = json.loads(data)
                        break
                    except ValueError:
                        continue
            with self._lock:
                self.states.append(state)
            fd = fds[state["fds"].index("seccompFd")]
            for other in fds:
                if other != fd:
                    os.close(other)
            if self.mode == "mute":
                self._keep.append(fd)
                return
            self._answer(fd)
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))

    def _answer(self, fd):
        # poll first: POLLHUP says nobody uses the filter any more (a blocked
        # RECV would never return then); ENOENT from RECV only means the task
        # was interrupted by a signal before we took its notification.
        try:
            buf = bytearray(NOTIF.size)
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not self._stop:
                events = poller.poll(200)
                if not events:
                    continue
                if events[0][1] & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    return
                buf[:] = bytes(NOTIF.size)
                try:
                    fcntl.ioctl(fd, IOCTL_NOTIF_RECV, buf)
                except OSError as e:
                    if e.errno in (errno.EINTR, errno.ENOENT):
                        continue
                    raise
                nid, pid, _, nr = NOTIF.unpack(buf)[:4]
                with self._lock:
                    self.notified.append((pid, nr))
                resp = bytearray(RESP.pack(nid, 0, 0, FLAG_CONTINUE))
                with contextlib.suppress(OSError):  # ENOENT: the task died meanwhile
                    fcntl.ioctl(fd, IOCTL_NOTIF_SEND, resp)
        finally:
            os.close(fd)

    def close(self):
        self._stop = True
        if self.sock:
            with contextlib.suppress(OSError):
                self.sock.close()
        for k in self._keep:
            with contextlib.suppress(OSError):
                k.close() if hasattr(k, "close") else os.close(k)
        for t in self._threads:
            t.join(10)
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)


@contextlib.contextmanager
def agent(mode="continue", public=False):
    a = Agent(mode, public)
    try:
        yield a
    finally:
        a.close()
