"""hull-agent in its test mode: the VM's PID 1 program serving the agent
protocol on a unix socket, running containers from the busybox rootfs with
the library's create/start/exec, driven by hull-agent-client (the library's
host-side client, src/agent/agent-client.h). No VM: the same binary, the same
session, the container on this host.
"""

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import helpers

BUILD = helpers.REPO / os.environ.get("BUILD", "build")
AGENT = BUILD / "hull-agent"
CLIENT = BUILD / "hull-agent-client"

HELLO, RUN, EXEC, STARTED, STDIN, STDIN_EOF, STDOUT, STDERR, RESIZE, SIGNAL, EXIT, ERROR = range(1, 13)


def frame(ftype, stream, payload, flags=0):
    if isinstance(payload, dict):
        payload = json.dumps(payload).encode()
    return struct.pack(">IBBHI", len(payload), ftype, flags, 0, stream) + payload


class Agent:
    """One hull-agent process listening on a unix socket, with its own state dir."""

    def __init__(self):
        for b in (AGENT, CLIENT):
            if not b.exists():
                pytest.fail(f"'{b}' not built: run `ninja -C build`")
        self.dir = Path(tempfile.mkdtemp(prefix=helpers.BUNDLE_PREFIX + "agent-"))
        helpers._roots.append(self.dir)  # the leak checks watch it (mounts, processes)
        self.sock = self.dir / "agent.sock"
        self.log = open(self.dir / "agent.log", "w+")
        self.proc = subprocess.Popen(
            [
                str(AGENT),
                "--listen",
                f"unix:{self.sock}",
                "--rootfs",
                str(helpers.busybox_rootfs()),
                "--state",
                str(self.dir / "state"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        helpers.wait_for(lambda: self.sock.exists() or self.proc.poll() is not None,
                         what="the agent's socket")
        assert self.proc.poll() is None, self.logtext()

    def logtext(self):
        self.log.seek(0)
        return self.log.read()

    def client(self, args, cmd=(), input=None, tty=False, timeout=60):
        cfg = helpers.default_spec(list(cmd) if cmd else ["true"])
        cfg_path = self.dir / "config.json"
        cfg_path.write_text(json.dumps(cfg))
        argv = [str(CLIENT), "--config", str(cfg_path), "--id", helpers.new_id("agent")]
        argv += list(args) + [str(self.sock), "--"] + list(cmd)
        return helpers.run_captured(argv, input=input, timeout=timeout)

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the agent did not end its session:\n" + self.logtext())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        helpers._roots.remove(self.dir)


@pytest.fixture
def agent():
    a = Agent()
    yield a
    a.close()


def test_stdout_stderr_exit_code(agent):
    r = agent.client([], ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert r.returncode == 7, helpers.describe(r, "exit 7")
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"
    # one session: the agent ends once the container has, and leaves no bundle or state
    assert agent.wait_exit() == 0, agent.logtext()
    assert list((agent.dir / "state" / "state").iterdir()) == []
    assert list((agent.dir / "state" / "bundles").iterdir()) == []


def test_stdin_to_stdout(agent):
    # more than every buffer on the way (pipes, socket, queues) holds
    data = "".join(f"line {i} of the stdin round trip\n" for i in range(40000))
    r = agent.client([], ["cat"], input=data)
    assert r.returncode == 0, helpers.describe(r, "cat")
    assert r.stdout == data


def test_kill_9_is_137(agent):
    r = agent.client(["--signal", "9"], ["sleep", "1000"])
    assert r.returncode == 137, helpers.describe(r, "137 after SIGKILL")
    assert "killed by signal 9" in r.stderr


def test_signal_term_reaches_the_process(agent):
    # the container's init ignores signals it has no handler for: the signal goes
    # once an exec has seen the marker the script writes after setting its trap
    script = "trap 'echo got-term; exit 3' TERM; touch /dev/ready; while :; do sleep 0.1; done"
    wait = "i=0; while [ ! -e /dev/ready ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
    r = agent.client(["--exec", wait, "--signal", "15"], ["sh", "-c", script])
    assert r.returncode == 3, helpers.describe(r, "the trap's exit code")
    assert "got-term" in r.stdout


def test_exec_into_the_running_container(agent):
    # the exec'd process sees the container's init as pid 1: same pid namespace
    r = agent.client(
        ["--exec", "echo from-exec; cat /proc/1/cmdline | tr '\\0' ' '; exit 5", "--signal", "9"],
        ["sleep", "1000"],
    )
    assert r.returncode == 137, helpers.describe(r, "main killed after the exec")
    assert "from-exec" in r.stdout
    assert "sleep 1000" in r.stdout
    assert "exec exit 5" in r.stderr


def test_resize_seen_by_stty(agent):
    r = agent.client(["-t", "--resize", "30x77"], ["sh", "-c", "read x; stty size"],
                     input="go\n")
    assert r.returncode == 0, helpers.describe(r, "stty size")
    assert "30 77" in r.stdout


def test_tty_process(agent):
    r = agent.client(["-t"], ["sh", "-c", "tty; [ -t 0 ] && echo is-a-tty; exit 4"])
    assert r.returncode == 4, helpers.describe(r, "exit 4")
    assert "/dev/pts/" in r.stdout
    assert "is-a-tty" in r.stdout


def test_no_fd_leaks_into_the_container(agent):
    r = agent.client([], ["sh", "-c", "ls /proc/self/fd"])
    assert r.returncode == 0, helpers.describe(r, "ls")
    assert sorted(r.stdout.split()) == ["0", "1", "2", "3"]  # 3: ls's own directory


def test_missing_program_is_one_error(agent):
    r = agent.client([], ["no-such-program"])
    assert r.returncode == 125, helpers.describe(r, "125")
    assert "no-such-program" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert agent.wait_exit() == 0, agent.logtext()


def _raw_session(agent, data):
    """Sends raw bytes after a proper hello; returns the frames the agent sent back."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(agent.sock))
    s.sendall(frame(HELLO, 0, {"version": 1}) + data)
    got = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        got += chunk
    s.close()
    frames = []
    while len(got) >= 12:
        n, t, _, _, stream = struct.unpack(">IBBHI", got[:12])
        frames.append((t, stream, got[12:12 + n]))
        got = got[12 + n:]
    return frames


def test_oversized_message_is_refused(agent):
    # a length of 4 GiB: refused from the header, before anything is buffered
    frames = _raw_session(agent, struct.pack(">IBBHI", 0xFFFFFFFF, RUN, 0, 0, 1) + b"x" * 64)
    assert frames[0][0] == HELLO
    assert frames[-1][0] == ERROR and frames[-1][1] == 0
    assert "above the limit" in json.loads(frames[-1][2])["message"]
    assert agent.wait_exit() == 0, agent.logtext()


def test_hostile_json_is_refused(agent):
    deep = b'{"id":"x","config":' + b"[" * 100000 + b"]" * 100000 + b"}"
    frames = _raw_session(agent, frame(RUN, 1, deep))
    assert frames[-1][0] == ERROR
    assert "JSON" in json.loads(frames[-1][2])["message"]
    assert agent.wait_exit() == 0, agent.logtext()


def test_frame_the_host_may_not_send(agent):
    frames = _raw_session(agent, frame(EXIT, 1, {"code": 0}))
    assert frames[-1][0] == ERROR
    assert "not allowed from the host" in json.loads(frames[-1][2])["message"]
    assert agent.wait_exit() == 0, agent.logtext()


def test_host_leaving_kills_the_container(agent):
    # the host goes away mid-run: the agent tears the container down and ends
    cfg = helpers.default_spec(["sleep", "1000"])
    cid = helpers.new_id("agent")
    frames = _raw_session(
        agent, frame(RUN, 1, {"id": cid, "config": cfg}) + frame(ERROR, 0, {"message": "bye"})
    )
    assert all(f[0] != ERROR for f in frames), frames
    assert agent.wait_exit() == 0, agent.logtext()
    assert list((agent.dir / "state" / "state").iterdir()) == []


def _fake_agent(tmp_path):
    """The listening socket of a hostile guest."""
    path = tmp_path / "fake.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    return srv, path


@pytest.mark.parametrize(
    "reply,expect",
    [
        (struct.pack(">IBBHI", 0xFFFFFFFF, STDOUT, 0, 0, 1), "above the limit"),
        (frame(RUN, 1, {"id": "x", "config": {}}), "not allowed from the agent"),
        (frame(EXIT, 1, {"code": 999}), "'code': out of range"),
        (frame(STDOUT, 9, b"data for a stream nobody opened"), "unknown stream"),
        (frame(ERROR, 0, {"message": "agent gave up"}), "agent gave up"),
    ],
)
def test_hostile_guest_is_refused(tmp_path, reply, expect):
    # the host's client decodes the guest with the same bounds: one error, no hang
    srv, path = _fake_agent(tmp_path)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(helpers.default_spec(["true"])))
    p = subprocess.Popen(
        [str(CLIENT), "--config", str(cfg), str(path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        srv.settimeout(30)
        conn, _ = srv.accept()
        conn.settimeout(30)
        hdr = conn.recv(12)
        n = struct.unpack(">I", hdr[:4])[0]
        while n > 0:
            n -= len(conn.recv(n))
        conn.sendall(frame(HELLO, 0, {"version": 1}) + frame(STARTED, 1, {"pid": 7}) + reply)
        out, err = p.communicate(timeout=30)
        conn.close()
    finally:
        srv.close()
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 125, (out, err)
    assert expect in err, err
    assert len(err.strip().splitlines()) == 1, err
