"""A container in a cgroup that is not only its own, and exec into sub-cgroups.

- A cgroupsPath naming a pre-existing cgroup that holds a host process: hull
  joins it with runc 1.1's warning ("container's cgroup is not empty"), and
  kill, kill --all and delete of a container with its own pid namespace never
  signal the host process (runc 1.1.5 kills it on `kill --all`).
- Without its own pid namespace, cgroup membership is the only way to find the
  container's processes: kill --all and delete reach all of them, as in runc.
- exec --cgroup [CONTROLLER[,..]:]PATH puts the process in an existing
  sub-cgroup of the container's and refuses a path outside it.

Every test runs the same way against runc (HULL_RUNTIME=runc), except where a
hull-only assertion is guarded by `is_hull`.
"""

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

import helpers
from helpers import CGROUP_ROOT, pid_alive, wait_for

V1 = not helpers.is_cgroup_v2_only()


def _hierarchies():
    """Mounted cgroup hierarchies under /sys/fs/cgroup (the root itself on v2)."""
    if not V1:
        return [CGROUP_ROOT]
    return [h for h in CGROUP_ROOT.iterdir() if h.is_dir() and (h / "cgroup.procs").exists()]


class HostProcess:
    """A host `sleep` put into `path` on every hierarchy but cpuset (which would
    need cpus and mems first); runc 1.1.5 looks for processes on "devices" only."""

    def __init__(self, path):
        self.path = path
        self.p = subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL)
        self.pid = self.p.pid
        for h in _hierarchies():
            if h.name == "cpuset":
                continue
            d = h / path.lstrip("/")
            d.mkdir(parents=True, exist_ok=True)
            (d / "cgroup.procs").write_text(str(self.pid))

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        """Kill it (by pid: it is ours) and remove the cgroup on every hierarchy."""
        if self.p.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.p.wait(timeout=10)
        for h in _hierarchies():
            d = h / self.path.lstrip("/")
            if not d.exists():
                continue
            for sub in sorted((x for x in d.rglob("*") if x.is_dir()), key=lambda x: -len(x.parts)):
                sub.rmdir()
            wait_for(lambda: _rmdir(d), timeout=5, what=f"rmdir {d} ({_procs(d)})")


def _procs(d):
    try:
        return "processes: " + " ".join((d / "cgroup.procs").read_text().split())
    except OSError as e:
        return str(e)


def _rmdir(d):
    try:
        d.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _busy_bundle(bundle, path, args=("sleep", "1000")):
    b = bundle(list(args))
    b.config["linux"]["cgroupsPath"] = path
    return b


def _run_detached(hull, b):
    cid = hull.prepare(b)
    p = hull("run", "--detach", "--bundle", b.path, cid, check=False, timeout=60)
    assert p.returncode == 0, helpers.describe(p, "failed")
    st = hull.wait_status(cid, "running")
    return cid, st["pid"], p


def test_joining_a_busy_cgroup_warns_and_delete_spares_the_host_process(hull, bundle):
    path = helpers.cgroups_path(f"busy-{uuid.uuid4().hex[:6]}")
    host = HostProcess(path)
    try:
        b = _busy_bundle(bundle, path)
        cid, pid, p = _run_detached(hull, b)
        assert "container's cgroup is not empty" in p.stderr, p.stderr
        hull.kill(cid, "KILL")
        hull.wait_status(cid, "stopped")
        d = hull("delete", cid, check=False, timeout=60)
        assert d.returncode == 0, helpers.describe(d, "failed")
        assert hull("state", cid, check=False).returncode != 0
        assert host.alive(), "the host process in the shared cgroup was killed"
        assert not pid_alive(pid)
        if hull.is_hull:
            assert "not the container's: the cgroup stays" in d.stderr, d.stderr
    finally:
        host.stop()


def test_delete_force_of_a_running_container_spares_the_host_process(hull, bundle):
    path = helpers.cgroups_path(f"busy-{uuid.uuid4().hex[:6]}")
    host = HostProcess(path)
    try:
        b = _busy_bundle(bundle, path, ["sh", "-c", "sleep 1000 & exec sleep 1001"])
        cid, pid, _ = _run_detached(hull, b)
        d = hull("delete", "--force", cid, check=False, timeout=60)
        assert d.returncode == 0, helpers.describe(d, "failed")
        wait_for(lambda: not pid_alive(pid), what=f"container init {pid} to die")
        assert host.alive(), "the host process in the shared cgroup was killed"
    finally:
        host.stop()


def test_kill_all_spares_the_host_process(hull, bundle):
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 signals every member of the cgroup, the host process too")
    path = helpers.cgroups_path(f"busy-{uuid.uuid4().hex[:6]}")
    host = HostProcess(path)
    try:
        b = _busy_bundle(bundle, path, ["sh", "-c", "sleep 1000 & exec sleep 1001"])
        cid, pid, _ = _run_detached(hull, b)
        ps = wait_for(
            lambda: (lambda l: l if len(l) == 3 else None)(
                json.loads(hull("ps", "--format", "json", cid).stdout)
            ),
            what="the container's two processes and the host's in ps",
        )
        assert host.pid in ps
        hull("kill", "--all", cid, "KILL")
        hull.wait_status(cid, "stopped")
        for q in ps:
            if q != host.pid:
                wait_for(lambda: not pid_alive(q), what=f"container process {q} to die")
        assert host.alive(), "kill --all reached the host process"
        hull.delete(cid)
        assert host.alive()
    finally:
        host.stop()


def _without_pidns(b):
    b.config["linux"]["namespaces"] = [
        ns for ns in b.config["linux"]["namespaces"] if ns["type"] != "pid"
    ]


def _container_children(init):
    """Pids whose parent is `init` (the container shares the host's pid namespace)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == init:
                out.append(int(d.name))
    return out


@pytest.mark.parametrize("how", ["kill-all", "delete-force"])
def test_without_pid_namespace_every_member_is_ended(hull, bundle, how):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1001 & wait"])
    _without_pidns(b)
    cid = hull.create(b)
    hull.start(cid)
    init = hull.wait_status(cid, "running")["pid"]
    kids = wait_for(
        lambda: (lambda k: k if len(k) == 2 else None)(_container_children(init)),
        what="the container's two sleeps",
    )
    if how == "kill-all":
        hull("kill", "--all", cid, "KILL")
        hull.wait_status(cid, "stopped")
        hull.delete(cid)
    else:
        hull.delete(cid, force=True)
    for q in kids + [init]:
        wait_for(lambda: not pid_alive(q), what=f"container process {q} to die")


# ---- exec --cgroup -------------------------------------------------------------------------


def _container_cgroup_dir(pid, controller):
    return helpers.cgroup_dir(pid, controller)


def _exec_cgroup_lines(hull, cid, *cg_args):
    p = hull("exec", *cg_args, cid, "cat", "/proc/self/cgroup", check=False, timeout=60)
    return p, {
        l.split(":", 2)[1]: l.split(":", 2)[2] for l in p.stdout.splitlines() if l.count(":") >= 2
    }


@pytest.mark.skipif(not V1, reason="controller:path forms are cgroup v1")
def test_exec_into_sub_cgroup_v1(hull, bundle):
    b = bundle(["sleep", "1000"])
    b.config["linux"]["cgroupsPath"] = helpers.cgroups_path(b.cid)
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.wait_status(cid, "running")["pid"]
    base = helpers.cgroups_path(b.cid)
    for ctrl in ("memory", "pids"):
        (_container_cgroup_dir(pid, ctrl) / "inner").mkdir()
    # one controller list, and a second flag for another one
    p, lines = _exec_cgroup_lines(hull, cid, "--cgroup", "memory:inner", "--cgroup", "pids:/inner")
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert lines["memory"] == f"{base}/inner"
    assert lines["pids"] == f"{base}/inner"
    assert lines["freezer"] == base
    p, lines = _exec_cgroup_lines(hull, cid, "--cgroup", "memory,pids:inner")
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert lines["memory"] == lines["pids"] == f"{base}/inner"

    # a sub-cgroup must exist; a path may not leave the container's cgroup
    for bad in ("memory:missing", "memory:../..", "memory:inner/../../x"):
        p, _ = _exec_cgroup_lines(hull, cid, "--cgroup", bad)
        assert p.returncode != 0, helpers.describe(p, f"accepted --cgroup {bad}")
        if hull.is_hull:
            assert "--cgroup" in p.stderr, p.stderr
    # the plain path names every hierarchy, so it must exist on each
    p, _ = _exec_cgroup_lines(hull, cid, "--cgroup", "inner")
    assert p.returncode != 0, helpers.describe(p, "accepted a sub-cgroup missing on most hierarchies")
    hull.delete(cid, force=True)
    for ctrl in ("memory", "pids", "freezer"):
        assert not (CGROUP_ROOT / ctrl / base.lstrip("/")).exists()


@pytest.mark.skipif(V1, reason="the plain path form alone is the cgroup v2 case")
def test_exec_into_sub_cgroup_v2(hull, bundle):
    b = bundle(["sleep", "1000"])
    b.config["linux"]["cgroupsPath"] = helpers.cgroups_path(b.cid)
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.wait_status(cid, "running")["pid"]
    base = helpers.cgroups_path(b.cid)
    (_container_cgroup_dir(pid, "") / "inner").mkdir()
    p, lines = _exec_cgroup_lines(hull, cid, "--cgroup", "inner")
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert lines[""] == f"{base}/inner"
    p, _ = _exec_cgroup_lines(hull, cid, "--cgroup", "../x")
    assert p.returncode != 0
    hull.delete(cid, force=True)
