"""No unbounded wait on anything a container or another process controls.

Each test builds the stuck situation for real (a frozen cgroup the container is
asked to join, a process sitting on the container's lock forever, a container
init stopped before `start`) and asserts that the runtime answers within the
subprocess timeout, says why, and leaves nothing behind. On the code before
these bounds existed, each of them hangs until the timeout (a failure).

Run against runc (HULL_RUNTIME=runc) the frozen-cgroup test passes the same
way (runc 1.1.5 hangs below a frozen parent: hull refuses that too); the lock
tests are hull's own (runc has no per-container lock).
"""

import os
import signal
import subprocess
import sys
import uuid

import pytest

import helpers
from helpers import CGROUP_ROOT, pid_alive, wait_for

V2_ONLY = helpers.is_cgroup_v2_only()


# ---- run into a frozen cgroup ---------------------------------------------------------


def _freezer_dir(path):
    return (CGROUP_ROOT / path.lstrip("/")) if V2_ONLY else (CGROUP_ROOT / "freezer" / path.lstrip("/"))


def _freeze(d):
    if V2_ONLY:
        (d / "cgroup.freeze").write_text("1")
    else:
        (d / "freezer.state").write_text("FROZEN")


def _frozen(d):
    if V2_ONLY:
        return (d / "cgroup.freeze").read_text().strip() == "1"
    return (d / "freezer.state").read_text().strip() == "FROZEN"


def _thaw_and_remove(d):
    try:
        if V2_ONLY:
            (d / "cgroup.freeze").write_text("0")
        else:
            (d / "freezer.state").write_text("THAWED")
    except OSError:
        pass
    for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            sub.rmdir()
        except OSError:
            pass
    try:
        d.rmdir()
    except OSError:
        pass


def _other_hierarchy_dirs(path):
    """The cgroup's directories on every hierarchy but the freezer's (v1)."""
    if V2_ONLY:
        return []
    return [
        h / path.lstrip("/")
        for h in CGROUP_ROOT.iterdir()
        if h.is_dir() and h.name != "freezer" and (h / "cgroup.procs").exists()
    ]


@pytest.mark.parametrize("where", ["itself", "parent"])
def test_run_into_frozen_cgroup_is_refused(hull, bundle, where):
    """runc: "container's cgroup unexpectedly frozen". Before: `run` hung for good
    with a container process holding the caller's stdout."""
    if where == "parent" and not hull.is_hull:
        pytest.skip("runc 1.1.5 checks only the cgroup itself: below a frozen parent it hangs")
    top = helpers.cgroups_path(f"frozen-{uuid.uuid4().hex[:6]}")
    path = top if where == "itself" else f"{top}/child"
    d = _freezer_dir(top)
    d.mkdir(parents=True)
    try:
        _freeze(d)
        b = bundle(["echo", "ran"])
        b.config["linux"]["cgroupsPath"] = path
        p = hull.run(b, timeout=30)
        assert p.returncode != 0, helpers.describe(p, "succeeded")
        assert "ran" not in p.stdout
        assert "container's cgroup unexpectedly frozen" in p.stderr, p.stderr
        # left as it was: the pre-existing cgroup stays frozen, nothing else remains
        assert _frozen(d)
        assert hull.list() == []
        assert not (hull.root / b.cid).exists()
        if where == "parent":
            assert not (d / "child").exists()
        left = [str(x) for x in _other_hierarchy_dirs(path) if x.exists()]
        assert left == [], left
    finally:
        _thaw_and_remove(d)


# ---- a process sitting on the container's lock --------------------------------------------


class LockHolder:
    """A process that takes the container directory's flock() and never lets go."""

    CODE = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(3600)\n"
    )

    def __init__(self, path):
        self.p = subprocess.Popen(
            [sys.executable, "-c", self.CODE, str(path)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.p.stdout.readline()
        assert line.strip() == "locked", f"lock holder did not take the lock: {line!r}"
        self.pid = self.p.pid

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)
        self.p.stdout.close()


def _hull_only(hull):
    if not hull.is_hull:
        pytest.skip("runc has no per-container lock to get stuck on")


def _running_sleep(hull, bundle):
    b = bundle(["sleep", "1000"])
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.wait_status(cid, "running")["pid"]
    return b, cid, pid


def test_plain_commands_report_busy_after_a_bounded_wait(hull, bundle):
    _hull_only(hull)
    b, cid, pid = _running_sleep(hull, bundle)
    holder = LockHolder(hull.root / cid)
    try:
        busy = f"container '{cid}' is busy (held by pid {holder.pid})"
        for args in (("kill", cid, "KILL"), ("pause", cid), ("delete", cid)):
            p = hull(*args, check=False, timeout=30)
            assert p.returncode != 0, helpers.describe(p, "succeeded")
            assert busy in p.stderr, helpers.describe(p, "said something else")
        assert pid_alive(pid)
        # state only reads: it needs no lock
        assert hull.state(cid)["status"] == "running"
    finally:
        holder.stop()
    hull.delete(cid, force=True)
    assert not pid_alive(pid)


def test_start_reports_busy(hull, bundle):
    _hull_only(hull)
    b = bundle(["true"])
    cid = hull.create(b)
    holder = LockHolder(hull.root / cid)
    try:
        p = hull("start", cid, check=False, timeout=30)
        assert p.returncode != 0
        assert f"container '{cid}' is busy (held by pid {holder.pid})" in p.stderr, p.stderr
        assert hull.state(cid)["status"] == "created"
    finally:
        holder.stop()
    hull.delete(cid, force=True)


def test_delete_force_wins_over_a_stuck_lock_holder(hull, bundle):
    _hull_only(hull)
    b, cid, pid = _running_sleep(hull, bundle)
    cgroup = helpers.cgroup_dir(pid, "memory" if not V2_ONLY else "")
    holder = LockHolder(hull.root / cid)
    try:
        p = hull("delete", "--force", cid, check=False, timeout=30)
        assert p.returncode == 0, helpers.describe(p, "failed")
        assert f"container '{cid}' is busy (held by pid {holder.pid})" in p.stderr, p.stderr
        assert "deleting it anyway" in p.stderr
        wait_for(lambda: not pid_alive(pid), what=f"container init {pid} to die")
        assert not cgroup.exists()
        assert not (hull.root / cid).exists()
        assert hull("state", cid, check=False).returncode != 0
        assert holder.p.poll() is None  # the holder is not ours to kill
    finally:
        holder.stop()


# ---- start on an init that cannot answer -------------------------------------------------


def test_start_of_a_paused_created_container_is_refused(hull, bundle):
    _hull_only(hull)
    b = bundle(["echo", "ran"])
    cid = hull.create(b)
    hull("pause", cid)
    p = hull("start", cid, check=False, timeout=30)
    assert p.returncode != 0
    assert f"cannot start container '{cid}': it is paused" in p.stderr, p.stderr
    hull.delete(cid, force=True)


def test_start_of_a_stopped_init_is_bounded(hull, bundle):
    _hull_only(hull)
    b = bundle(["echo", "ran"])
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        p = hull("start", cid, check=False, timeout=60)
        assert p.returncode != 0
        assert "did not take the start signal within" in p.stderr, p.stderr
    finally:
        hull.delete(cid, force=True)
    wait_for(lambda: not pid_alive(pid), what=f"container init {pid} to die")
