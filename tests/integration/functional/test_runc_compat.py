"""hull-runtime as a drop-in for runc (issue 8): each case runs through hull
and, where runc is installed, through runc (the `reference` fixture), and the
outcomes are compared.  Cases: kill signal 0, exec exit statuses and
--ignore-paused, --log line shapes, events (end on delete, OOM, --interval),
update flags, createContainer hooks, terminal ownership.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import helpers


@pytest.fixture
def runtimes(hull, request):
    """hull, then runc when installed (only when hull is under test: with
    HULL_RUNTIME=runc the suite checks runc alone)."""
    rts = [hull]
    if hull.is_hull and shutil.which("runc"):
        rts.append(request.getfixturevalue("reference"))
    return rts


def start_sleeper(rt, bundle, **kw):
    b = bundle(["sleep", "1000"], **kw)
    cid = rt.create(b)
    rt.start(cid)
    return b, cid


# -- kill ID 0 --------------------------------------------------------------------------


def test_kill_signal_zero(runtimes, bundle):
    """`kill ID 0` probes the init: 0 while it exists (created or running), an
    error once stopped; `kill -a ID 0` succeeds for both (runc 1.1 signals the cgroup, empty or not)."""
    seen = {}
    for rt in runtimes:
        b = bundle(["sleep", "1000"])
        cid = rt.create(b)
        out = [rt("kill", cid, "0", check=False).returncode]  # created: the init exists
        rt.start(cid)
        out += [
            rt("kill", cid, "0", check=False).returncode,
            rt("kill", "-a", cid, "0", check=False).returncode,
        ]
        assert rt.state(cid)["status"] == "running"  # signal 0 delivered nothing
        rt.kill(cid, "KILL")
        rt.wait_status(cid, "stopped")
        out += [
            rt("kill", cid, "0", check=False).returncode,
            rt("kill", "-a", cid, "0", check=False).returncode,
        ]
        rt.delete(cid)
        seen[rt.bin] = out
    for rt in runtimes:
        assert seen[rt.bin] == [0, 0, 0, 1, 0], (rt, seen)


# -- exec: exit statuses and --ignore-paused --------------------------------------------


def exec_failures(rt, b, cid, tmp):
    bad = tmp / "bad.json"
    bad.write_text("{bad")
    return {
        "paused": rt("exec", cid, "true", check=False),
        "pid-file": rt(
            "exec", "--pid-file", tmp / "no" / "dir" / "pid", cid, "sleep", "777", check=False
        ),
        "process.json": rt("exec", "--process", bad, cid, check=False),
        "missing": rt("exec", helpers.new_id("nosuch"), "true", check=False),
    }


def test_exec_own_failures_exit_255(runtimes, bundle, tmp_path):
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        own = rt("exec", cid, "sh", "-c", "exit 3", check=False)
        assert own.returncode == 3, helpers.describe(own, "exit 3")
        rt("pause", cid)
        paused = rt("exec", cid, "true", check=False)
        rt("resume", cid)
        fails = exec_failures(rt, b, cid, tmp_path)
        fails["paused"] = paused
        for what, p in fails.items():
            assert p.returncode == 255, (rt, what, helpers.describe(p, "exec"))
            assert p.stderr.strip(), (rt, what)
        # as runc: the process whose pid could not be written is not left running
        assert "sleep 777" not in rt("ps", cid).stdout, rt
        if rt.is_hull:
            assert "--ignore-paused" in paused.stderr
            assert "pid" in fails["pid-file"].stderr
        rt.delete(cid, force=True)


def test_exec_ignore_paused(runtimes, bundle):
    """exec --ignore-paused into a paused container: the process is made in the
    frozen cgroup and runs once the container is resumed."""
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        rt("pause", cid)
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(
                rt.argv("exec", "--ignore-paused", cid, "sh", "-c", "echo ran; exit 4"),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                # frozen: the process cannot finish while the container is paused
                with pytest.raises(subprocess.TimeoutExpired):
                    proc.wait(timeout=1)
                assert rt.state(cid)["status"] == "paused"
                rt("resume", cid)
                rc = proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
            out.seek(0)
            text = out.read()
        assert rc == 4, (rt, text)
        assert "ran" in text
        rt.delete(cid, force=True)


# -- --log / --log-format ------------------------------------------------------------------

TEXT_LINE = re.compile(
    r'^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)" level=(\w+) msg=("(?:[^"\\]|\\.)*"|\S+)'
    r'( \w+=("(?:[^"\\]|\\.)*"|\S+))*$'  # runc --debug adds func=, file=
)


def test_log_lines_in_runc_shape(runtimes, tmp_path):
    for rt in runtimes:
        text = tmp_path / f"{rt.name}.txt"
        js = tmp_path / f"{rt.name}.json"
        missing = helpers.new_id("nosuch")
        rt("state", missing, check=False, global_args=["--log", text])
        rt("state", missing, check=False, global_args=["--log", js, "--log-format", "json"])
        lines = text.read_text().splitlines()
        assert lines, rt
        m = TEXT_LINE.match(lines[-1])
        assert m, (rt, lines[-1])
        assert m.group(2) == "error"
        assert "does not exist" in m.group(3)
        raw = js.read_text().splitlines()[-1]
        entry = json.loads(raw)
        # the key order podman and containerd's shim see from runc
        assert list(entry) == ["level", "msg", "time"], (rt, raw)
        assert entry["level"] == "error" and "does not exist" in entry["msg"]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", entry["time"])


def test_log_debug_lines(runtimes, bundle, tmp_path):
    for rt in runtimes:
        b = bundle(["true"])
        log = tmp_path / f"{rt.name}-debug.txt"
        cid = rt.prepare(b)
        rt("run", "--bundle", b.path, cid, global_args=["--debug", "--log", log])
        levels = set()
        for ln in log.read_text().splitlines():
            m = TEXT_LINE.match(ln)
            assert m, (rt, ln)
            levels.add(m.group(2))
        assert "debug" in levels, rt
        quiet = tmp_path / f"{rt.name}-quiet.txt"
        cid = rt.prepare(b)
        rt("run", "--bundle", b.path, cid, global_args=["--log", quiet])
        assert "level=debug" not in (quiet.read_text() if quiet.exists() else "")


# -- events -------------------------------------------------------------------------------


class EventStream:
    """`events` running in the background; lines read from a temp file."""

    def __init__(self, rt, cid, *flags):
        self.out = tempfile.TemporaryFile("w+")
        self.err = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            rt.argv("events", *flags, cid),
            stdin=subprocess.DEVNULL,
            stdout=self.out,
            stderr=self.err,
            text=True,
        )

    def events(self):
        self.out.seek(0)
        return [json.loads(ln) for ln in self.out.read().splitlines() if ln.strip()]

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.out.close()
        self.err.close()


def test_events_end_when_container_deleted(runtimes, bundle):
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        ev = EventStream(rt, cid, "--interval", "100ms")
        try:
            helpers.wait_for(
                lambda: any(e["type"] == "stats" for e in ev.events()), 20, "a stats event"
            )
            assert ev.proc.poll() is None
            rt.delete(cid, force=True)
            rc = ev.wait(timeout=30)
            assert rc == 0, (rt, rc, ev.events()[-1:])
            stats = [e for e in ev.events() if e["type"] == "stats"]
            assert stats and all(e["id"] == cid for e in stats)
            assert "cpu" in stats[0]["data"] and "memory" in stats[0]["data"]
        finally:
            ev.close()


def test_events_report_oom_kills(runtimes, bundle):
    limit = 32 * 1024 * 1024
    mem = {"limit": limit, "swap": limit}
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle, linux={"resources": {"memory": mem}})
        ev = EventStream(rt, cid, "--interval", "1m")
        try:
            # the stream may not be listening yet when the first OOM happens:
            # keep making OOM kills (bounded) until one is reported
            for _ in range(40):
                rt("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1",
                   check=False)
                if any(e["type"] == "oom" for e in ev.events()):
                    break
            ooms = [e for e in ev.events() if e["type"] == "oom"]
            assert ooms, (rt, ev.events())
            assert ooms[0] == {"type": "oom", "id": cid}
            assert rt.state(cid)["status"] == "running"  # only dd was killed
            rt.delete(cid, force=True)
            assert ev.wait(timeout=30) == 0, rt
        finally:
            ev.close()


@pytest.mark.parametrize("bad", ["bad", "5", "1x", "0", "-1s", ""])
def test_events_interval_rejected(runtimes, bad):
    for rt in runtimes:
        p = rt("events", "--interval", bad, helpers.new_id("x"), check=False)
        assert p.returncode == 1, (rt, helpers.describe(p, "events"))
        if rt.is_hull:
            assert "--interval" in p.stderr and "does not exist" not in p.stderr


@pytest.mark.parametrize("good", ["100ms", "1s", "2m", "1m30s", "1.5h", "500us"])
def test_events_interval_accepted(runtimes, good):
    for rt in runtimes:
        # a valid duration gets as far as looking the container up
        p = rt("events", "--interval", good, helpers.new_id("x"), check=False)
        assert p.returncode == 1
        assert "interval" not in p.stderr, (rt, p.stderr)


# -- update -----------------------------------------------------------------------------------

# flag, value, controller, file, expected content (v1 files; this host is hybrid)
UPDATE_FLAGS = [
    ("--memory", "64m", "memory", "memory.limit_in_bytes", "67108864"),
    ("--memory-swap", "128m", "memory", "memory.memsw.limit_in_bytes", "134217728"),
    ("--memory-reservation", "32m", "memory", "memory.soft_limit_in_bytes", "33554432"),
    ("--cpu-share", "512", "cpu", "cpu.shares", "512"),
    ("--cpu-period", "200000", "cpu", "cpu.cfs_period_us", "200000"),
    ("--cpu-quota", "50000", "cpu", "cpu.cfs_quota_us", "50000"),
    ("--cpu-rt-period", "900000", "cpu", "cpu.rt_period_us", "900000"),
    ("--cpu-rt-runtime", "0", "cpu", "cpu.rt_runtime_us", "0"),
    ("--cpuset-cpus", "0", "cpuset", "cpuset.cpus", "0"),
    ("--cpuset-mems", "0", "cpuset", "cpuset.mems", "0"),
    ("--pids-limit", "100", "pids", "pids.max", "100"),
]


def cgroup_file(pid, controller, name):
    return (helpers.cgroup_dir(pid, controller) / name).read_text().strip()


def blkio_weight(pid):
    d = helpers.cgroup_dir(pid, "blkio")
    for name in ("blkio.weight", "blkio.bfq.weight"):
        if (d / name).exists():
            return (d / name).read_text().split()[-1]
    return None


@pytest.mark.skipif(helpers.is_cgroup_v2_only(), reason="asserts cgroup v1 files")
def test_update_flags_land_in_cgroup(runtimes, bundle):
    results = {}
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        pid = rt.state(cid)["pid"]
        argv = ["update"]
        for flag, value, *_ in UPDATE_FLAGS:
            argv += [flag, value]
        rt(*argv, "--blkio-weight", "300", cid)
        got = {f[0]: cgroup_file(pid, f[2], f[3]) for f in UPDATE_FLAGS}
        got["--blkio-weight"] = blkio_weight(pid)
        # -1 is "unlimited"
        rt("update", "--memory", "-1", "--memory-swap", "-1", "--pids-limit", "-1",
           "--cpu-quota", "-1", cid)
        got["unlimited"] = (
            int(cgroup_file(pid, "memory", "memory.limit_in_bytes")) > 2**60,
            cgroup_file(pid, "pids", "pids.max"),
            cgroup_file(pid, "cpu", "cpu.cfs_quota_us"),
        )
        rt.delete(cid, force=True)
        results[rt.name] = got
        for flag, value, ctrl, name, want in UPDATE_FLAGS:
            assert got[flag] == want, (rt, flag, got[flag])
        assert got["unlimited"] == (True, "max", "-1"), rt
    if len(results) == 2:
        a, b = results.values()
        assert a == b


@pytest.mark.skipif(helpers.is_cgroup_v2_only(), reason="asserts cgroup v1 files")
def test_update_resources_file_and_stdin(runtimes, bundle, tmp_path):
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        pid = rt.state(cid)["pid"]
        f = tmp_path / f"{rt.name}-res.json"
        f.write_text(json.dumps({"memory": {"limit": 50331648}, "pids": {"limit": 77}}))
        rt("update", "-r", f, cid)
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes") == "50331648"
        assert cgroup_file(pid, "pids", "pids.max") == "77"
        res = json.dumps({"memory": {"limit": 41943040}, "cpu": {"shares": 256}})
        rt("update", "--resources", "-", cid, input=res)
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes") == "41943040"
        assert cgroup_file(pid, "cpu", "cpu.shares") == "256"
        # as runc: with -r the single-value flags are not read
        rt("update", "-r", f, "--pids-limit", "55", cid)
        assert cgroup_file(pid, "pids", "pids.max") == "77"
        rt.delete(cid, force=True)


def test_update_bad_values(runtimes, bundle):
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        for flag, bad in [("--memory", "bogus"), ("--cpu-share", "x"), ("--pids-limit", "1.5")]:
            p = rt("update", flag, bad, cid, check=False)
            assert p.returncode == 1, (rt, flag)
            if rt.is_hull:
                assert flag in p.stderr and bad in p.stderr
        rt.delete(cid, force=True)


@pytest.mark.skipif(
    any(ln.split()[2] == "resctrl" for ln in open("/proc/mounts") if len(ln.split()) > 2),
    reason="resctrl is mounted",
)
@pytest.mark.parametrize("flag,value", [("--l3-cache-schema", "L3:0=f"), ("--mem-bw-schema", "MB:0=50")])
def test_update_rdt_without_resctrl(runtimes, bundle, flag, value):
    for rt in runtimes:
        b, cid = start_sleeper(rt, bundle)
        p = rt("update", flag, value, cid, check=False)
        assert p.returncode == 1, (rt, helpers.describe(p, "update"))
        assert "Intel RDT" in p.stderr and "not enabled" in p.stderr, (rt, p.stderr)
        rt.delete(cid, force=True)


# -- createContainer hooks --------------------------------------------------------------------

HOOK_SCRIPT = """#!/bin/sh
readlink /proc/self/ns/mnt > hook-mntns
pwd > hook-cwd
"""


def test_create_container_hook_runs_from_container_root(runtimes, bundle):
    """A relative createContainer hook path names a program that exists only
    in the rootfs; it runs in the container's mount namespace with the
    container's root as its working directory."""
    for rt in runtimes:
        b = bundle(["sleep", "1000"])
        (b.rootfs / "only-in-rootfs-hook").write_text(HOOK_SCRIPT)
        (b.rootfs / "only-in-rootfs-hook").chmod(0o755)
        b.config["hooks"] = {"createContainer": [{"path": "only-in-rootfs-hook"}]}
        cid = rt.create(b)
        pid = rt.state(cid)["pid"]
        # files the hook wrote relative to its cwd landed at the top of the rootfs
        assert (b.rootfs / "hook-mntns").read_text().strip() == os.readlink(
            f"/proc/{pid}/ns/mnt"
        ), rt
        assert (b.rootfs / "hook-mntns").read_text().strip() != os.readlink(
            "/proc/self/ns/mnt"
        )
        assert (b.rootfs / "hook-cwd").read_text().strip().endswith("/rootfs"), rt
        rt.delete(cid, force=True)


def test_create_container_hook_killed_by_signal(runtimes, bundle):
    for rt in runtimes:
        b = bundle(["true"])
        b.config["hooks"] = {
            "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "kill -SYS $$"]}]
        }
        p = rt.run(b)
        assert p.returncode == 1, (rt, helpers.describe(p, "run"))
        assert "error running hook" in p.stderr, (rt, p.stderr)
        assert "signal: bad system call" in p.stderr, (rt, p.stderr)
        assert rt.list() == [] or all(c["id"] != b.cid for c in rt.list())


# -- terminal ownership -----------------------------------------------------------------------

OWN_PROBE = "echo own-$(stat -L -c %u-%g-%a /proc/self/fd/0)-end; sleep 1000"


def pty_owner(cs, index):
    out = cs.read_until("-end", index=index)
    m = re.search(r"own-(\d+)-(\d+)-(\d+)-end", out)
    assert m, out
    return tuple(int(x) if i < 2 else x for i, x in enumerate(m.groups()))


def test_terminal_owned_by_process_user(runtimes, bundle):
    """terminal: true with a non-root process.user: the pty slave belongs to
    that uid; its group stays the devpts one (gid=5, tty), for run and exec."""
    seen = {}
    for rt in runtimes:
        b = bundle(["sh", "-c", OWN_PROBE], terminal=True)
        b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
        with helpers.console_socket() as cs:
            cid = rt.prepare(b)
            rt("run", "--detach", "--console-socket", cs.path, "--bundle", b.path, cid)
            run_owner = pty_owner(cs, 0)
            rt("exec", "--detach", "--tty", "--console-socket", cs.path, "--user", "1001:1002",
               cid, "sh", "-c", OWN_PROBE)
            exec_owner = pty_owner(cs, 1)
            rt.delete(cid, force=True)
        seen[rt.name] = (run_owner, exec_owner)
        assert run_owner == (1000, 5, "620"), (rt, run_owner)
        assert exec_owner == (1001, 5, "620"), (rt, exec_owner)
    assert len(set(seen.values())) == 1, seen
