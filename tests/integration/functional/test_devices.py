"""/dev inside the container: default device nodes, links, the pts/shm/mqueue
mounts, linux.devices and the device cgroup."""

import os

import pytest

from helpers import cgroup_dir, inside

DEFAULT_NODES = {
    "null": "1:3",
    "zero": "1:5",
    "full": "1:7",
    "random": "1:8",
    "urandom": "1:9",
    "tty": "5:0",
}


def stat_lines(out):
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_default_device_nodes(hull, bundle):
    names = " ".join(f"/dev/{n}" for n in DEFAULT_NODES)
    # %t:%T are the major:minor in hex (all below 10 here).
    out = inside(hull, bundle(), f"stat -c '%n %F %t:%T %a %u:%g' {names}")
    got = stat_lines(out)
    for name, majmin in DEFAULT_NODES.items():
        assert got[f"/dev/{name}"] == f"character special file {majmin} 666 0:0"


def test_default_devices_work(hull, bundle):
    out = inside(
        hull,
        bundle(),
        "echo gone > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; "
        "head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c; "
        "(echo x > /dev/full) 2>&1; true",
    )
    lines = out.splitlines()
    assert lines[0] == "null-ok"
    assert [x.strip() for x in lines[1:4]] == ["4", "8", "8"]
    assert "No space left on device" in lines[4]


def test_dev_links(hull, bundle):
    out = inside(
        hull,
        bundle(),
        "for l in ptmx fd stdin stdout stderr; do echo \"$l $(readlink /dev/$l)\"; done",
    )
    assert stat_lines(out) == {
        "ptmx": "pts/ptmx",
        "fd": "/proc/self/fd",
        "stdin": "/proc/self/fd/0",
        "stdout": "/proc/self/fd/1",
        "stderr": "/proc/self/fd/2",
    }


def test_dev_mounts(hull, bundle):
    out = inside(hull, bundle(), "cat /proc/self/mountinfo")
    fstypes = {}
    opts = {}
    for line in out.splitlines():
        left, right = line.split(" - ", 1)
        point = left.split()[4]
        fstypes[point] = right.split()[0]
        opts[point] = set(left.split()[5].split(",")) | set(right.split()[2].split(","))
    assert fstypes["/dev"] == "tmpfs"
    assert fstypes["/dev/pts"] == "devpts"
    assert fstypes["/dev/shm"] == "tmpfs"
    assert fstypes["/dev/mqueue"] == "mqueue"
    assert {"nosuid", "noexec", "nodev"} <= opts["/dev/shm"]
    assert {"nosuid", "noexec", "gid=5", "mode=620", "ptmxmode=666"} <= opts["/dev/pts"]


def test_dev_pts_ptmx_and_shm(hull, bundle):
    out = inside(
        hull,
        bundle(),
        "stat -c '%F %a' /dev/pts/ptmx; stat -c '%a' /dev/shm; "
        "echo shared > /dev/shm/x && cat /dev/shm/x; ls /dev/pts",
    )
    lines = out.splitlines()
    assert lines[0] == "character special file 666"
    assert lines[1] == "1777"
    assert lines[2] == "shared"
    # A new devpts instance: no pty of the host is visible.
    assert lines[3:] == ["ptmx"]


def test_no_console_without_terminal(hull, bundle):
    out = inside(hull, bundle(), "test -e /dev/console && echo yes || echo no")
    assert out == "no\n"


def test_linux_devices_node(hull, bundle):
    b = bundle()
    b.config["linux"]["devices"] = [
        {
            "path": "/dev/mynull",
            "type": "c",
            "major": 1,
            "minor": 3,
            "fileMode": 0o600,
            "uid": 1,
            "gid": 1,
        },
        {"path": "/dev/sub/myloop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o640},
    ]
    out = inside(hull, b, "stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/sub/myloop")
    got = stat_lines(out)
    assert got["/dev/mynull"] == "character special file 1:3 600 1:1"
    assert got["/dev/sub/myloop"] == "block special file 7:0 640 0:0"


def test_linux_devices_fifo(hull, bundle):
    b = bundle()
    b.config["linux"]["devices"] = [{"path": "/dev/myfifo", "type": "p", "fileMode": 0o620}]
    assert inside(hull, b, "stat -c '%F %a' /dev/myfifo") == "fifo 620\n"


FUSE = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}


@pytest.mark.parametrize("allowed", [False, True])
def test_device_cgroup_rules(hull, bundle, allowed):
    # /dev/fuse is not among the devices runtimes allow by default, and opening
    # it needs no capability: only the device cgroup decides.
    b = bundle()
    b.config["linux"]["devices"] = [dict(FUSE)]
    rules = [{"allow": False, "access": "rwm"}]
    if allowed:
        rules.append({"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"})
    b.config["linux"]["resources"]["devices"] = rules
    out = inside(hull, b, "(: < /dev/fuse) 2>&1 && echo opened; echo ok > /dev/null && echo null")
    if allowed:
        assert out.splitlines() == ["opened", "null"]
    else:
        assert "Operation not permitted" in out
        assert "opened" not in out
        assert out.splitlines()[-1] == "null"


def test_device_cgroup_list_from_host(hull, bundle):
    b = bundle(["sleep", "10"])
    b.config["linux"]["devices"] = [dict(FUSE)]
    b.config["linux"]["resources"]["devices"] = [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"},
    ]
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    d = cgroup_dir(pid, "devices")
    with open(os.path.join(d, "devices.list")) as f:
        rules = f.read().split("\n")
    assert "c 10:229 r" in rules
    assert "a *:* rwm" not in rules
    hull.delete(cid, force=True)
    assert not os.path.exists(d)
