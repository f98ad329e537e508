"""Devices other than nics (docs/devices.md): disks (host directories, id-mapped for
unprivileged instances), unix-char nodes with their device cgroup rules, and gpu/usb
devices matched in a sysfs tree the test makes (HULL_SYSFS_ROOT).  Each is added to a
running instance (hot-plug) and taken out again; the busybox image keeps it quick.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import helpers
from sysharness import Hull, inside, new_name, one_line_error


@pytest.fixture
def bb(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    return hullsys


def launch(h, *args):
    name = new_name("dev")
    h("launch", "bb", name, *args, timeout=60)
    return name


def devices_list(h, name):
    """The v1 devices.list of the instance's cgroup (None on a cgroup v2 host)."""
    if not (helpers.CGROUP_ROOT / "devices" / "devices.list").exists():
        return None
    lists = list(helpers.CGROUP_ROOT.glob(f"devices/hull/{name}/devices.list"))
    assert len(lists) == 1, lists
    return lists[0].read_text().split("\n")


def test_disk_live_idmapped_and_gone_on_remove(bb, tmp_path):
    h = bb
    name = launch(h)
    src = tmp_path / "share"
    src.mkdir()
    (src / "owned").write_text("hello\n")
    os.chown(src / "owned", 1000, 1000)
    h("config", "device", "add", name, "data", "disk", f"source={src}", "path=/mnt/data")
    # the host's uid 1000 is the instance's 1000: an id-mapped mount, nothing chowned
    out = inside(h, name, "stat -c '%u:%g' /mnt/data/owned; cat /mnt/data/owned")
    assert out.split() == ["1000:1000", "hello"]
    assert os.stat(src / "owned").st_uid == 1000
    # what the instance's root makes is the host's root's
    inside(h, name, "echo made > /mnt/data/new")
    assert (src / "new").read_text() == "made\n"
    assert os.stat(src / "new").st_uid == 0
    assert "data" in h("config", "device", "list", name).stdout.split()
    # hull file sees the disk as the instance does
    h("file", "pull", f"{name}/mnt/data/owned", tmp_path / "pulled")
    assert (tmp_path / "pulled").read_text() == "hello\n"
    h("file", "push", "-", f"{name}/mnt/data/pushed", "--uid", "1000", "--gid", "1000",
      input="pushed\n")
    assert os.stat(src / "pushed").st_uid == 1000
    assert inside(h, name, "stat -c '%u' /mnt/data/pushed; cat /mnt/data/pushed").split() == [
        "1000", "pushed"]
    # the instance's own view of the mount is not the host's
    assert not any(str(src) in m for m in helpers.mounts_under(h.state_dir))
    h("config", "device", "remove", name, "data")
    assert inside(h, name, "ls /mnt/data").split() == []
    assert (src / "owned").exists()


def test_disk_readonly_and_back_after_restart(bb, tmp_path):
    h = bb
    name = launch(h)
    src = tmp_path / "ro"
    src.mkdir()
    (src / "f").write_text("x\n")
    h("config", "device", "add", name, "ro", "disk", f"source={src}", "path=/srv/ro",
      "readonly=true")
    p = h("exec", name, "--", "sh", "-c", "echo y > /srv/ro/f", check=False)
    assert p.returncode != 0 and "Read-only" in p.stderr, p.stderr
    h("stop", "--timeout", "1", name, timeout=60)
    h("start", name, timeout=60)
    assert inside(h, name, "cat /srv/ro/f") == "x\n"
    assert (src / "f").read_text() == "x\n"


def test_unix_char_node_owner_mode_and_cgroup(bb):
    h = bb
    name = launch(h)
    h("config", "device", "add", name, "z", "unix-char", "source=/dev/zero",
      "path=/dev/myzero", "uid=1000", "gid=1000", "mode=0640")
    out = inside(h, name, "stat -c '%u %g %a %t:%T' /dev/myzero; "
                          "head -c 4 /dev/myzero | od -An -tx1")
    assert out.split() == ["1000", "1000", "640", "1:5", "00", "00", "00", "00"]
    # /dev/fuse (10:229) is not among the defaults: the node and its cgroup rule come
    # with the device and go with it
    assert not inside(h, name, "ls /dev").count("fuse")
    h("config", "device", "add", name, "f", "unix-char", "source=/dev/fuse")
    assert inside(h, name, "exec 3<>/dev/fuse && echo opened") == "opened\n"
    dl = devices_list(h, name)
    if dl is not None:
        assert "c 10:229 rwm" in dl
    h("config", "device", "remove", name, "f")
    assert "fuse" not in inside(h, name, "ls /dev")
    dl = devices_list(h, name)
    if dl is not None:
        assert "c 10:229 rwm" not in dl
    h("config", "device", "remove", name, "z")
    assert "myzero" not in inside(h, name, "ls /dev")


def test_cgroup_denies_a_node_not_allowed(bb):
    """In a privileged instance mknod works; opening is the device cgroup's call."""
    h = bb
    name = launch(h, "-c", "security.privileged=true")
    inside(h, name, "mknod /tmp/fusex c 10 229")
    p = h("exec", name, "--", "sh", "-c", "exec 3<>/tmp/fusex", check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.stderr, p.stderr
    h("config", "device", "add", name, "f", "unix-char", "major=10", "minor=229",
      "path=/dev/fuse")
    assert inside(h, name, "exec 3<>/tmp/fusex && echo opened") == "opened\n"
    h("config", "device", "remove", name, "f")
    p = h("exec", name, "--", "sh", "-c", "exec 3<>/tmp/fusex", check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.stderr, p.stderr


def fake_sysfs(root):
    """A sysfs tree with one Intel GPU (card0, renderD128) and one USB device."""
    pci = root / "devices" / "pci0000:00" / "0000:00:02.0"
    pci.mkdir(parents=True)
    (pci / "vendor").write_text("0x8086\n")
    (pci / "device").write_text("0x46a6\n")
    drm = root / "class" / "drm"
    drm.mkdir(parents=True)
    # the numbers of /dev/zero and /dev/null, so the nodes can be used inside
    for node, num in (("card0", "1:5"), ("renderD128", "1:3")):
        d = drm / node
        d.mkdir()
        (d / "dev").write_text(num + "\n")
        (d / "device").symlink_to(pci)
    (drm / "card0-eDP-1").mkdir()  # a connector, not a node
    return root


def add_usb(root, name, vendor, product, busnum, devnum, dev):
    d = root / "bus" / "usb" / "devices" / name
    d.mkdir(parents=True)
    for f, v in (("idVendor", vendor), ("idProduct", product), ("busnum", busnum),
                 ("devnum", devnum), ("dev", dev)):
        (d / f).write_text(f"{v}\n")
    (root / "bus" / "usb" / "devices" / f"{name}:1.0").mkdir(exist_ok=True)  # an interface


def test_gpu_matching_in_a_fake_sysfs(bb, tmp_path):
    h = bb
    sysfs = fake_sysfs(tmp_path / "sys")
    env = {"HULL_SYSFS_ROOT": str(sysfs), "HULL_DEV_ROOT": str(tmp_path / "dev")}
    name = new_name("gpu")
    h("launch", "bb", name, timeout=60, env=env)
    one_line_error(h("config", "device", "add", name, "g", "gpu", "vendorid=10de",
                     check=False, env=env), "gpu: no GPU vendorid=10de matches")
    one_line_error(h("config", "device", "add", name, "g", "gpu", "pci=0000:01:00.0",
                     check=False, env=env), "gpu: no GPU pci=0000:01:00.0 matches")
    h("config", "device", "add", name, "g", "gpu", "vendorid=8086", "productid=46A6",
      "gid=44", "mode=0660", env=env)
    out = inside(h, name, "stat -c '%n %g %a %t:%T' /dev/dri/*")
    assert out.splitlines() == ["/dev/dri/card0 44 660 1:5", "/dev/dri/renderD128 44 660 1:3"]
    assert inside(h, name, "head -c 2 /dev/dri/card0 | od -An -tx1").split() == ["00", "00"]
    h("config", "device", "remove", name, "g", env=env)
    assert inside(h, name, "ls /dev/dri 2>/dev/null || true") == ""
    # with no GPU at all (the real host has none either way here)
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(h("config", "device", "add", name, "g", "gpu", check=False,
                     env={"HULL_SYSFS_ROOT": str(empty)}), "gpu: no GPU matches")


def test_usb_matching_in_a_fake_sysfs(bb, tmp_path):
    h = bb
    sysfs = tmp_path / "sys"
    add_usb(sysfs, "1-1", "046d", "c52b", 1, 3, "1:5")
    add_usb(sysfs, "1-2", "1234", "0001", 1, 4, "1:3")
    env = {"HULL_SYSFS_ROOT": str(sysfs)}
    name = new_name("usb")
    h("launch", "bb", name, timeout=60, env=env)
    h("config", "device", "add", name, "u", "usb", "vendorid=046d", "productid=c52b",
      env=env)
    assert inside(h, name, "ls /dev/bus/usb/001").split() == ["003"]
    h("config", "device", "remove", name, "u", env=env)
    assert inside(h, name, "ls /dev/bus/usb/001 2>/dev/null || true").split() == []


def test_bad_device_config_is_one_line_and_changes_nothing(bb, tmp_path):
    h = bb
    name = launch(h)
    src = tmp_path / "d"
    src.mkdir()
    before = h("config", "device", "show", name).stdout
    cases = [
        (["disk", "path=/mnt"], "disk: missing source=HOST_PATH"),
        (["disk", f"source={src}"], "disk: missing path=PATH_INSIDE"),
        (["disk", f"source={src}", "path=/mnt/../../etc"], "must be a plain path"),
        (["disk", f"source={src}", "path=relative"], "expected an absolute path"),
        (["disk", f"source={src}", "path=/mnt", "size=1G"], "disk: unknown key 'size'"),
        (["disk", f"source={tmp_path}/nope", "path=/mnt"], "disk: source"),
        (["unix-char", "path=/dev/x"], "unix-char: missing source"),
        (["unix-char", "source=/etc/passwd"], "is not a character device"),
        (["unix-char", "source=/dev/zero", "uid=70000"], "unix-char: uid"),
        (["usb", "productid=0001"], "usb: missing vendorid"),
        (["gpu", "vendorid=xyz"], "gpu: vendorid: expected 4 hex digits"),
        (["floppy"], "unknown device type 'floppy'"),
    ]
    for args, msg in cases:
        one_line_error(h("config", "device", "add", name, "x", *args, check=False), msg)
    h("config", "device", "add", name, "x", "disk", f"source={src}", "path=/mnt/x")
    one_line_error(h("config", "device", "add", name, "x", "disk", f"source={src}",
                     "path=/mnt/y", check=False), "already has a device 'x'")
    # a target the instance made a symlink out of the rootfs stays inside it
    inside(h, name, "ln -s /../../../tmp /mnt/esc")
    h("config", "device", "add", name, "y", "disk", f"source={src}", "path=/mnt/esc/in")
    assert not Path("/tmp/in").exists()
    assert inside(h, name, "test -d /tmp/in && echo inside") == "inside\n"
    h("config", "device", "remove", name, "y")
    h("config", "device", "remove", name, "x")
    assert h("config", "device", "show", name).stdout == before
    one_line_error(h("config", "device", "remove", name, "x", check=False),
                   "has no device 'x'")


class NsHull(Hull):
    """hull (and so each instance's monitor) in the network namespace `netns`."""

    def __init__(self, base, netns):
        super().__init__(base.state_dir)
        self.env = dict(base.env)
        self.netns = netns

    def argv(self, *args):
        return ["nsenter", f"--net=/run/netns/{self.netns}", *super().argv(*args)]


@pytest.fixture
def nshull(bb):
    """The monitor's uevent socket in a netns of the test's: the uevents the test
    multicasts there (NETLINK_KOBJECT_UEVENT, group 1, as the kernel sends them)
    reach no other listener (udevd lives in the host's namespace)."""
    ns = f"hull-test-{helpers.SESSION}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    h = NsHull(bb, ns)
    try:
        yield h
    finally:
        for d in (bb.state_dir / "instances").iterdir():
            if not d.name.startswith("."):
                h("delete", "--force", d.name, check=False)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def send_uevent(h, action, devpath, **env):
    msg = f"{action}@{devpath}\0ACTION={action}\0DEVPATH={devpath}\0"
    msg += "".join(f"{k}={v}\0" for k, v in env.items())
    code = ("import socket, sys\n"
            "s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)\n"
            "s.bind((0, 0))\n"
            "s.sendto(sys.stdin.buffer.read(), (0, 1))\n")
    subprocess.run(["nsenter", f"--net=/run/netns/{h.netns}", sys.executable, "-c", code],
                   input=msg.encode(), check=True)


def wait_inside(h, name, script, want, timeout=30):
    """Runs script until it prints `want` (bounded; the monitor works asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        out = inside(h, name, script)
        if out == want or time.monotonic() > deadline:
            return out
        time.sleep(0.2)


def usb_uevent(vendor, product, busnum, devnum, major, minor):
    return dict(SUBSYSTEM="usb", DEVTYPE="usb_device", PRODUCT=f"{vendor}/{product}/100",
                BUSNUM=f"{busnum:03}", DEVNUM=f"{devnum:03}", MAJOR=major, MINOR=minor)


def test_usb_hotplug_by_uevents(nshull, tmp_path):
    h = nshull
    sysfs = tmp_path / "sys"
    (sysfs / "bus" / "usb" / "devices").mkdir(parents=True)
    env = {"HULL_SYSFS_ROOT": str(sysfs)}
    h.env.update(env)
    name = new_name("usbhp")
    h("launch", "bb", name, timeout=60)
    h("config", "device", "add", name, "key", "usb", "vendorid=046d", "productid=c52b",
      "uid=1000", "mode=0600")
    ls = "ls /dev/bus/usb/001 2>/dev/null || true"
    assert inside(h, name, ls) == ""
    # another device first: not this instance's
    add_usb(sysfs, "1-2", "1234", "0001", 1, 4, "1:3")
    send_uevent(h, "add", "/devices/pci0000:00/usb1/1-2", **usb_uevent("1234", "1", 1, 4, 1, 3))
    add_usb(sysfs, "1-1", "046d", "c52b", 1, 5, "1:5")
    send_uevent(h, "add", "/devices/pci0000:00/usb1/1-1",
                **usb_uevent("46d", "c52b", 1, 5, 1, 5))
    assert wait_inside(h, name, ls, "005\n") == "005\n"
    out = inside(h, name, "stat -c '%u %a %t:%T' /dev/bus/usb/001/005; "
                          "head -c 1 /dev/bus/usb/001/005 | od -An -tx1")
    assert out.split() == ["1000", "600", "1:5", "00"]
    # unplugged from the host: gone from the instance
    shutil.rmtree(sysfs / "bus" / "usb" / "devices" / "1-1")
    send_uevent(h, "remove", "/devices/pci0000:00/usb1/1-1",
                **usb_uevent("46d", "c52b", 1, 5, 1, 5))
    assert wait_inside(h, name, ls, "") == ""
    # and plugged again (another devnum, as the kernel numbers it)
    add_usb(sysfs, "1-1", "046d", "c52b", 1, 6, "1:5")
    send_uevent(h, "add", "/devices/pci0000:00/usb1/1-1",
                **usb_uevent("46d", "c52b", 1, 6, 1, 5))
    assert wait_inside(h, name, ls, "006\n") == "006\n"
