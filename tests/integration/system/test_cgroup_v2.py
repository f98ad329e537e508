"""System containers on a pure cgroup v2 host.

This host is hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified).  The
test runs hull in a private mount namespace of its own where /sys/fs/cgroup is
a cgroup2 mount and the v1 hierarchies are unmounted (inside that namespace
only: the host's mounts never change), so hull sees what it sees on a v2-only
machine.  The controllers stay bound to the v1 hierarchies, so this cgroup2
has none of memory, cpu, pids: a v2 host without controllers, as hull
documents it (docs/system-containers.md).
"""

import subprocess
import time
from pathlib import Path

import pytest

from sysharness import Hull, new_name
from sysharness import inside, one_line_error, wait_running

UNIFIED = Path("/sys/fs/cgroup/unified")
# the namespace: every cgroup mount off (deepest first), one cgroup2 at /sys/fs/cgroup
SETUP = r"""
set -e
for m in $(awk '{ for (i = 7; $i != "-"; i++) ; if ($(i + 1) ~ /^cgroup2?$/) print $5 }' \
           /proc/self/mountinfo | sort -r); do
    umount -l "$m"
done
mountpoint -q /sys/fs/cgroup && umount -l /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo ready
exec sleep infinity
"""


class NsHull(Hull):
    """hull run inside the namespace of process `pid` (nsenter), same state dir."""

    def __init__(self, h, pid):
        super().__init__(h.state_dir, env=h.env)
        self.pid = pid

    def argv(self, *args):
        return ["nsenter", "-t", str(self.pid), "-m", "--", *super().argv(*args)]


@pytest.fixture
def v2ns(hullsys):
    if not UNIFIED.is_dir() or not (UNIFIED / "cgroup.controllers").exists():
        pytest.skip("no cgroup2 hierarchy on this host")
    holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", SETUP],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    h = None
    try:
        assert holder.stdout.readline().strip() == "ready"
        h = NsHull(hullsys, holder.pid)
        yield h
    finally:
        if h is not None:
            # the instances' mounts live in this namespace: delete them from inside it
            inst = hullsys.state_dir / "instances"
            for d in (inst.iterdir() if inst.is_dir() else []):
                if not d.name.startswith("."):
                    h("delete", "--force", d.name, check=False, timeout=60)
        holder.kill()
        holder.wait(timeout=30)


def host_cgroup(name):
    return UNIFIED / "hull" / name


def test_systemd_on_cgroup_v2_only(v2ns, debian_image):
    h = v2ns
    p = subprocess.run(["nsenter", "-t", str(h.pid), "-m", "--", "stat", "-f", "-c", "%T",
                        "/sys/fs/cgroup"], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "cgroup2fs"
    p = subprocess.run(["nsenter", "-t", str(h.pid), "-m", "--", "sh", "-c",
                        "grep -c ' - cgroup ' /proc/self/mountinfo || true"],
                       capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "0"  # no v1 hierarchy visible to hull
    controllers = (UNIFIED / "cgroup.controllers").read_text().split()

    name = new_name("v2")
    h("launch", "debian/12", name, timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", f"is-system-running: {state}\n{failed}"
    # inside: cgroup2 at /sys/fs/cgroup, systemd's own tree in the delegated cgroup
    assert inside(h, name, "stat -f -c %T /sys/fs/cgroup").strip() == "cgroup2fs"
    assert inside(h, name, "cat /proc/1/cgroup | grep '^0::'").strip() == "0::/init.scope"
    cg = host_cgroup(name)
    assert (cg / "init.scope").is_dir() and (cg / "system.slice").is_dir()
    base = h.info(name)["idmap"]["uid"]
    assert cg.stat().st_uid == base  # delegated to the instance's root
    assert (cg / "cgroup.procs").stat().st_uid == base
    assert (cg / "cgroup.subtree_control").stat().st_uid == base

    # limits.processes on a running instance
    if "pids" in controllers:  # a v2 host with the pids controller: applied live
        h("config", "set", name, "limits.processes", "123")
        assert (cg / "pids.max").read_text().strip() == "123"
        h("config", "unset", name, "limits.processes")
    else:  # without it: refused in one line naming the controller, nothing recorded
        one_line_error(h("config", "set", name, "limits.processes", "123", check=False),
                       f"apply limits.processes to '{name}': cgroup controller 'pids' not "
                       f"available in '/sys/fs/cgroup/hull/{name}'")
        assert h.info(name)["config"] == {}
        assert not (cg / "pids.max").exists()
    if "memory" not in controllers:
        one_line_error(h("config", "set", name, "limits.memory", "256MiB", check=False),
                       "cgroup controller 'memory' not available")
        assert h.info(name)["config"] == {}

    # stopped: the key is recorded; a start that cannot apply it fails in one line and
    # leaves the instance stopped, with no cgroup
    h("stop", name, timeout=120)
    assert not cg.exists()
    h("config", "set", name, "limits.processes", "123")
    if "pids" not in controllers:
        one_line_error(h("start", name, check=False, timeout=120),
                       "cgroup controller 'pids'")
        assert h.info(name)["status"] == "stopped"
        assert not cg.exists()
        h("config", "unset", name, "limits.processes")
    h("start", name, timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", f"is-system-running: {state}\n{failed}"

    # delete: the cgroup tree systemd made goes with the instance
    h("delete", "--force", name, timeout=120)
    for _ in range(50):
        if not cg.exists():
            break
        time.sleep(0.1)
    assert not cg.exists()
