"""linux.resources and cgroupsPath on this host's cgroup layout (v1 hybrid):
limits read back from inside (the cgroup mount at /sys/fs/cgroup) and from the
host, enforcement (OOM kill, pids limit, cpuset), freezer, and cleanup."""

import os
import time

import pytest

import helpers
from helpers import CGROUP_ROOT, inside

V1 = not helpers.is_cgroup_v2_only()
pytestmark = pytest.mark.skipif(not V1, reason="these tests read cgroup v1 files")

MiB = 1024 * 1024


def resources(b, **res):
    b.config["linux"].setdefault("resources", {}).update(res)


def host_hierarchies():
    """Mounted v1 hierarchies (+ the unified one) under /sys/fs/cgroup."""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4]
            fstype = right.split()[0]
            if fstype in ("cgroup", "cgroup2") and point.startswith(str(CGROUP_ROOT) + "/"):
                res.append(point)
    return res


def cgroup_dirs(path):
    return [os.path.join(h, path.lstrip("/")) for h in host_hierarchies()]


def assert_cgroup_gone(path):
    left = [d for d in cgroup_dirs(path) if os.path.exists(d)]
    assert left == [], left


def read_host(pid, controller, name):
    with open(os.path.join(helpers.cgroup_dir(pid, controller), name)) as f:
        return f.read().strip()


def running(hull, b):
    """create + start a `sleep` container; returns (cid, pid)."""
    b.config["process"]["args"] = ["sleep", "30"]
    cid = hull.create(b)
    hull.start(cid)
    return cid, hull.state(cid)["pid"]


# ---- memory -----------------------------------------------------------------


def test_memory_limits_inside_and_on_host(hull, bundle):
    b = bundle()
    resources(
        b,
        memory={"limit": 64 * MiB, "reservation": 16 * MiB, "swap": 64 * MiB, "swappiness": 10},
    )
    out = inside(
        hull,
        b,
        "cd /sys/fs/cgroup/memory && cat memory.limit_in_bytes memory.soft_limit_in_bytes "
        "memory.memsw.limit_in_bytes memory.swappiness",
    )
    assert out.split() == [str(64 * MiB), str(16 * MiB), str(64 * MiB), "10"]
    cid, pid = running(hull, b)
    assert read_host(pid, "memory", "memory.limit_in_bytes") == str(64 * MiB)
    assert read_host(pid, "memory", "memory.soft_limit_in_bytes") == str(16 * MiB)
    d = helpers.cgroup_dir(pid, "memory")
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)
    assert not d.exists()


def test_memory_limit_oom_kills(hull, bundle):
    b = bundle()
    resources(b, memory={"limit": 32 * MiB, "swap": 32 * MiB})
    # tail buffers /dev/zero (no newline ever) until the cgroup OOM-kills it.
    out = inside(
        hull,
        b,
        "tail /dev/zero; echo rc=$?; grep oom_kill /sys/fs/cgroup/memory/memory.oom_control; "
        "cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes",
        timeout=30,
    )
    lines = out.splitlines()
    assert "rc=137" in lines
    fields = dict(line.split() for line in lines if line.startswith("oom_kill"))
    assert fields["oom_kill_disable"] == "0"
    assert int(fields["oom_kill"]) >= 1
    assert int(lines[-1]) <= 32 * MiB


def test_disable_oom_killer(hull, bundle):
    b = bundle()
    resources(b, memory={"limit": 32 * MiB, "disableOOMKiller": True})
    out = inside(hull, b, "cat /sys/fs/cgroup/memory/memory.oom_control")
    fields = dict(line.split() for line in out.splitlines())
    assert fields["oom_kill_disable"] == "1"


def test_swap_below_limit_fails(hull, bundle):
    b = bundle(["true"])
    resources(b, memory={"limit": 64 * MiB, "swap": 32 * MiB})
    p = hull.run(b)
    assert p.returncode != 0
    if hull.is_hull:
        assert "linux.resources.memory.swap" in p.stderr
    assert hull.list() == []
    assert_cgroup_gone(f"/hull/{b.cid}")


# ---- cpu, cpuset --------------------------------------------------------------


def test_cpu_shares_quota_period(hull, bundle):
    b = bundle()
    resources(b, cpu={"shares": 512, "quota": 50000, "period": 100000})
    out = inside(
        hull,
        b,
        "cd /sys/fs/cgroup/cpu && cat cpu.shares cpu.cfs_quota_us cpu.cfs_period_us",
    )
    assert out.split() == ["512", "50000", "100000"]


def test_cpu_quota_on_host(hull, bundle):
    b = bundle()
    resources(b, cpu={"quota": 20000, "period": 50000})
    cid, pid = running(hull, b)
    assert read_host(pid, "cpu", "cpu.cfs_quota_us") == "20000"
    assert read_host(pid, "cpu", "cpu.cfs_period_us") == "50000"


def test_cpuset(hull, bundle):
    b = bundle()
    resources(b, cpu={"cpus": "0", "mems": "0"})
    out = inside(
        hull,
        b,
        "grep -e Cpus_allowed_list -e Mems_allowed_list /proc/self/status; "
        "cat /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpuset/cpuset.mems; nproc",
    )
    lines = [line.split(":")[-1].strip() for line in out.splitlines()]
    assert lines == ["0", "0", "0", "0", "1"]


def test_cpuset_invalid_cpu_fails(hull, bundle):
    b = bundle(["true"])
    resources(b, cpu={"cpus": "4096"})
    p = hull.run(b)
    assert p.returncode != 0
    if hull.is_hull:
        assert "cpuset.cpus" in p.stderr or "linux.resources.cpu.cpus" in p.stderr
    assert hull.list() == []
    assert_cgroup_gone(f"/hull/{b.cid}")


# ---- pids -------------------------------------------------------------------------


def test_pids_limit(hull, bundle):
    b = bundle(readonly=False)
    resources(b, pids={"limit": 5})
    # ash exits when `&` cannot fork, so the loop runs in a subshell: at the
    # limit there are sh, the subshell and 3 sleeps. Afterwards only builtins
    # are used (no fork needed) to count what is left.
    out = inside(
        hull,
        b,
        "(for i in $(seq 20); do sleep 10 & done) 2>/tmp/err; echo rc=$?; "
        "read cur < /sys/fs/cgroup/pids/pids.current; read max < /sys/fs/cgroup/pids/pids.max; "
        "echo $cur $max; read err < /tmp/err; echo $err; n=0; "
        "for f in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n",
    )
    rc, counts, err, procs = out.splitlines()
    assert rc == "rc=2"
    assert counts == "4 5"
    assert "can't fork" in err and "Resource temporarily unavailable" in err
    # sh and the 3 background children (busybox may run sleep unexec'ed).
    assert procs == "procs=4"


# ---- blkio, hugetlb -----------------------------------------------------------------


def test_blkio_weight(hull, bundle):
    names = [n for n in ("blkio.weight", "blkio.bfq.weight") if (CGROUP_ROOT / "blkio" / n).exists()]
    if not names:
        pytest.skip("no blkio weight file on this host (no CFQ/BFQ)")
    b = bundle()
    resources(b, blockIO={"weight": 300})
    out = inside(hull, b, f"cat /sys/fs/cgroup/blkio/{names[0]}")
    assert out.split()[-1] == "300"


def test_hugepage_limit(hull, bundle):
    f = CGROUP_ROOT / "hugetlb" / "hugetlb.2MB.limit_in_bytes"
    if not f.exists():
        pytest.skip("hugetlb is not a v1 hierarchy here")
    b = bundle()
    resources(b, hugepageLimits=[{"pageSize": "2MB", "limit": 4 * MiB}])
    out = inside(hull, b, "cat /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes")
    assert out.strip() == str(4 * MiB)


# ---- unified on v1 -------------------------------------------------------------------


def test_unified_on_v1_fails(hull, bundle):
    b = bundle(["true"])
    resources(b, unified={"memory.max": "1000000"})
    p = hull.run(b)
    assert p.returncode != 0
    if hull.is_hull:
        assert "linux.resources.unified" in p.stderr
        assert "v2" in p.stderr
    assert hull.list() == []
    assert_cgroup_gone(f"/hull/{b.cid}")


# ---- cgroupsPath -----------------------------------------------------------------------


def assert_in_cgroup(pid, path):
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().split()
    for line in lines:
        _, ctrls, p = line.split(":", 2)
        if ctrls == "":
            continue  # the unified hierarchy is not used for resources on v1
        assert p == path, lines


def test_cgroups_path_absolute(hull, bundle):
    b = bundle()
    path = helpers.cgroups_path(b.cid)  # /hull-test-<session>/<id>
    b.config["linux"]["cgroupsPath"] = path
    cid, pid = running(hull, b)
    assert_in_cgroup(pid, path)
    for ctrl in ("memory", "pids", "cpu", "freezer", "devices"):
        assert (CGROUP_ROOT / ctrl / path.lstrip("/")).is_dir(), ctrl
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)
    assert_cgroup_gone(path)


def test_cgroups_path_empty_is_under_hull(hull, bundle):
    # hull puts it at /hull/<id>; the fixture gives runc the same absolute path.
    b = bundle()
    b.config["linux"].pop("cgroupsPath", None)
    cid, pid = running(hull, b)
    assert_in_cgroup(pid, f"/hull/{cid}")
    hull.delete(cid, force=True)
    assert_cgroup_gone(f"/hull/{cid}")


def test_cgroups_path_relative_is_under_hull(hull, bundle):
    if not hull.is_hull:
        pytest.skip("runc resolves a relative cgroupsPath under its caller's cgroup")
    b = bundle()
    parent = f"{helpers.ID_PREFIX}rel"
    b.config["linux"]["cgroupsPath"] = f"{parent}/{b.cid}"
    try:
        cid, pid = running(hull, b)
        assert_in_cgroup(pid, f"/hull/{parent}/{cid}")
        hull.delete(cid, force=True)
        assert_cgroup_gone(f"/hull/{parent}/{cid}")
    finally:
        for d in cgroup_dirs(f"/hull/{parent}"):
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


def test_all_cgroup_dirs_gone_after_delete(hull, bundle):
    b = bundle()
    resources(b, memory={"limit": 64 * MiB}, pids={"limit": 50}, cpu={"shares": 256})
    cid, pid = running(hull, b)
    dirs = [d for d in cgroup_dirs(f"/hull/{cid}") if os.path.isdir(d)]
    assert len(dirs) >= 5
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)
    assert [d for d in dirs if os.path.exists(d)] == []


# ---- freezer ---------------------------------------------------------------------------------


def test_pause_resume_freezer(hull, bundle):
    b = bundle()
    cid, pid = running(hull, b)
    state_file = helpers.cgroup_dir(pid, "freezer") / "freezer.state"
    assert state_file.read_text().strip() == "THAWED"
    hull("pause", cid)
    assert state_file.read_text().strip() == "FROZEN"
    assert hull.state(cid)["status"] == "paused"
    with open(f"/proc/{pid}/stat") as f:
        # A frozen task sleeps in the freezer (state D or S), never R.
        assert f.read().rsplit(")", 1)[1].split()[0] in ("D", "S")
    hull("resume", cid)
    assert state_file.read_text().strip() == "THAWED"
    assert hull.state(cid)["status"] == "running"
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)


def test_delete_force_of_paused_container(hull, bundle):
    b = bundle()
    cid, pid = running(hull, b)
    hull("pause", cid)
    hull.delete(cid, force=True)
    assert_cgroup_gone(f"/hull/{cid}")
    deadline = time.monotonic() + 5
    while not process_gone(pid):
        assert time.monotonic() < deadline, f"process {pid} of a deleted container still alive"
        time.sleep(0.05)


def process_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
