"""security.privileged=true: no user namespace (the instance's root is the host's root);
switching a stopped instance shifts its files between host ids and its own range."""

import os
from pathlib import Path

from sysharness import new_name
from sysharness import inside, one_line_error, wait_running


def host_uid(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int([ln for ln in status.splitlines() if ln.startswith("Uid:")][0].split()[1])


def test_privileged_instance_and_switching(hullsys, debian_image):
    name = new_name("priv")
    hullsys("launch", "debian/12", name, "-c", "security.privileged=true", timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    info = hullsys.info(name)
    base = info["idmap"]["uid"]
    # no user namespace: the host's own (identity) map, init is host root
    assert inside(hullsys, name, "cat /proc/self/uid_map").split() == ["0", "0", "4294967295"]
    assert os.readlink(f"/proc/{info['pid']}/ns/user") == os.readlink("/proc/self/ns/user")
    assert host_uid(info["pid"]) == 0
    # the host's sysctls are read-only inside
    p = hullsys("exec", name, "--", "sh", "-c", "echo 1 > /proc/sys/kernel/sysrq", check=False)
    assert p.returncode != 0
    # files written inside belong to host root on the host
    inside(hullsys, name, "echo hi > /root/note; chown 1000:1000 /root/note")
    upper = hullsys.instances_dir() / name / "upper" / "root" / "note"
    assert (upper.stat().st_uid, upper.stat().st_gid) == (1000, 1000)
    assert (hullsys.instances_dir() / name / "upper").stat().st_uid == 0

    # switched off: at the next start its files move into its own range
    hullsys("config", "set", name, "security.privileged", "false")
    hullsys("restart", "--force", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    assert inside(hullsys, name, "cat /proc/self/uid_map").split() == ["0", str(base), "65536"]
    assert upper.stat().st_uid == base + 1000 and upper.stat().st_gid == base + 1000
    assert inside(hullsys, name, "stat -c %u:%g /root/note; cat /root/note") == "1000:1000\nhi\n"
    assert host_uid(hullsys.info(name)["pid"]) == base

    # a snapshot holds the current ids: switching while one exists is refused at start
    hullsys("stop", "--force", name, timeout=60)
    hullsys("snapshot", name, "s1")
    hullsys("config", "set", name, "security.privileged=true")
    one_line_error(hullsys("start", name, check=False, timeout=120),
                   "security.privileged changed to 'true' but the instance has snapshots")
    assert hullsys.info(name)["status"] == "stopped"
    assert upper.stat().st_uid == base + 1000  # nothing was shifted
    hullsys("snapshot", "delete", name, "s1")
    # and back to privileged
    hullsys("start", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    assert upper.stat().st_uid == 1000
    assert inside(hullsys, name, "stat -c %u:%g /root/note") == "1000:1000\n"
