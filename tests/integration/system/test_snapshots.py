"""hull snapshot|restore|copy on real Debian instances."""

import json
import os

from sysharness import SUBID_START, new_name
from sysharness import inside, one_line_error, wait_running


def snapshots(h, name):
    return [s["name"] for s in json.loads(h("snapshot", "list", name, "--format", "json").stdout)]


def test_snapshot_change_restore(hullsys, debian_image):
    name = new_name("snap")
    hullsys("launch", "debian/12", name, timeout=120)
    inside(hullsys, name,
           "echo before > /root/f && ln /root/f /root/hard && "
           "mkdir -p /root/d && touch /root/d/keep && setfattr -n user.k -v v1 /root/f "
           "2>/dev/null; true")
    # a running instance is frozen for the copy
    assert hullsys("snapshot", name).stdout.strip() == "snap0"
    inside(hullsys, name,
           "echo after > /root/f && rm /etc/motd && rm -r /usr/share/doc/dpkg && "
           "mkdir /usr/share/doc/dpkg && touch /usr/share/doc/dpkg/new && rm -r /root/d")
    assert hullsys("snapshot", name, "second").stdout.strip() == "second"
    assert snapshots(hullsys, name) == ["snap0", "second"]
    assert hullsys.info(name)["snapshots"] == 2
    assert [i["snapshots"] for i in hullsys.list()] == [2]
    assert hullsys("list").stdout.splitlines()[0].split()[-1] == "SNAPSHOTS"
    assert hullsys("list").stdout.splitlines()[1].split()[-1] == "2"
    one_line_error(hullsys("snapshot", name, "second", check=False),
                   f"snapshot 'second' of '{name}' already exists")
    one_line_error(hullsys("snapshot", name, "../x", check=False), "snapshot name '../x'")
    # stateless restore of a running instance: refused
    one_line_error(hullsys("restore", name, "snap0", check=False),
                   "the instance is running (stop it first")
    one_line_error(hullsys("restore", name, "nope", check=False),
                   f"unknown snapshot 'nope' of '{name}'")
    hullsys("stop", "--force", name)
    hullsys("restore", name, "snap0")
    hullsys("start", name)
    out = inside(hullsys, name,
                 "cat /root/f; test -e /etc/motd && echo motd; "
                 "ls /usr/share/doc/dpkg | grep -c . ; test -e /usr/share/doc/dpkg/new || "
                 "echo nonew; stat -c %i /root/f /root/hard; test -e /root/d/keep && echo keep")
    lines = out.split()
    assert lines[0] == "before"
    assert "motd" in lines  # a deleted file came back (the whiteout is gone)
    assert int(lines[2]) > 1 and "nonew" in lines  # the opaque dir is gone with its file
    assert lines[4] == lines[5]  # hard links stay links
    assert "keep" in lines
    # owners inside are the instance's own, not host root
    assert inside(hullsys, name, "stat -c %u:%g /root/f").strip() == "0:0"
    hullsys("stop", "--force", name)
    hullsys("restore", name, "second")
    hullsys("start", name)
    out = inside(hullsys, name,
                 "cat /root/f; test -e /etc/motd || echo nomotd; ls /usr/share/doc/dpkg")
    assert out.split() == ["after", "nomotd", "new"]
    hullsys("snapshot", "delete", name, "snap0")
    assert snapshots(hullsys, name) == ["second"]
    assert hullsys.info(name)["snapshots"] == 1
    one_line_error(hullsys("snapshot", "delete", name, "snap0", check=False),
                   f"unknown snapshot 'snap0' of '{name}'")
    # delete removes the snapshots with the instance
    hullsys("delete", "--force", name)
    assert not (hullsys.instances_dir() / name).exists()
    assert [e.name for e in hullsys.instances_dir().iterdir()
            if not e.name.startswith(".")] == []


def test_copy_gets_its_own_range(hullsys, debian_image):
    a, b = new_name("cpa"), new_name("cpb")
    hullsys("launch", "debian/12", a, "-c", "user.note=x", timeout=120)
    inside(hullsys, a, "echo mine > /root/f && useradd -m u1 && su u1 -c 'echo u > ~/g'")
    hullsys("copy", a, b)
    one_line_error(hullsys("copy", a, b, check=False), f"instance '{b}' already exists")
    one_line_error(hullsys("copy", "ghost", new_name("x"), check=False),
                   "unknown instance 'ghost'")
    ia, ib = hullsys.info(a), hullsys.info(b)
    assert ib["status"] == "stopped" and ib["config"] == {"user.note": "x"}
    assert ib["idmap"]["uid"] != ia["idmap"]["uid"]
    assert ib["idmap"]["uid"] >= SUBID_START
    # on the host, b's files belong to b's range
    upper = hullsys.instances_dir() / b / "upper"
    st = os.stat(upper / "root" / "f")
    assert st.st_uid == ib["idmap"]["uid"]
    hullsys("start", b)
    assert inside(hullsys, b, "cat /root/f; stat -c %U /home/u1/g; cat /home/u1/g").split() \
        == ["mine", "u1", "u"]
    assert inside(hullsys, b, "cat /proc/self/uid_map").split()[1] == str(ib["idmap"]["uid"])
    state, failed = wait_running(hullsys, b)
    assert state in ("running", "degraded"), failed


def test_copy_takes_the_snapshots(hullsys, debian_image):
    """`hull copy A B` copies A's snapshots too, owners moved to B's range, in their
    order (LXD does); `--instance-only` leaves them out."""
    a, b, c = new_name("csa"), new_name("csb"), new_name("csc")
    hullsys("launch", "debian/12", a, timeout=120)
    inside(hullsys, a, "echo one > /root/v; useradd -m u2 && su u2 -c 'echo mine > ~/h'")
    hullsys("snapshot", a, "first")
    inside(hullsys, a, "echo two > /root/v")
    hullsys("snapshot", a, "second")
    inside(hullsys, a, "echo three > /root/v")
    hullsys("stop", "--force", a, timeout=60)

    hullsys("copy", a, b)
    snaps = json.loads(hullsys("snapshot", "list", b, "--format", "json").stdout)
    assert [s["name"] for s in snaps] == ["first", "second"]
    src = {s["name"]: s["created"]
           for s in json.loads(hullsys("snapshot", "list", a, "--format", "json").stdout)}
    assert {s["name"]: s["created"] for s in snaps} == src
    assert hullsys.info(b)["snapshots"] == 2
    # on the host, the snapshot's files belong to b's range
    base_b = hullsys.info(b)["idmap"]["uid"]
    f = hullsys.instances_dir() / b / "snapshots" / "first" / "upper" / "root" / "v"
    assert f.stat().st_uid == base_b
    # restoring b's snapshot gives its content, owners right inside
    hullsys("restore", b, "first")
    hullsys("start", b, timeout=120)
    assert inside(hullsys, b, "cat /root/v; stat -c %U /home/u2/h") == "one\nu2\n"
    hullsys("stop", "--force", b, timeout=60)
    # a's snapshots are untouched
    assert hullsys.info(a)["snapshots"] == 2

    hullsys("copy", a, c, "--instance-only")
    assert hullsys.info(c)["snapshots"] == 0
    assert json.loads(hullsys("snapshot", "list", c, "--format", "json").stdout) == []
    one_line_error(hullsys("copy", a, new_name("x"), "--bogus", check=False),
                   "unknown option '--bogus'")
