"""How the rootfs is put together on odd configs, as runc does it (compared
with runc through the `reference` fixture where it is installed): a read-only
/dev, --no-pivot, no mount namespace, rootfsPropagation "unbindable", bind
sources only the runtime can reach with a user namespace."""

import os
import subprocess
import time

import pytest

import helpers

DEV_RO_SCRIPT = (
    "for m in /dev /dev/pts /dev/shm /dev/mqueue; do"
    " grep -q \" $m \" /proc/self/mountinfo && echo mounted $m; done;"
    " stat -c '%n %t:%T' /dev/null /dev/zero /dev/tty;"
    " test -c /dev/pts/ptmx && echo ptmx;"
    " touch /dev/new 2>/dev/null && echo dev-writable || echo dev-ro;"
    " touch /dev/shm/x && echo shm-writable"
)


def dev_ro_bundle(bundle):
    b = bundle(["sh", "-c", DEV_RO_SCRIPT])
    for m in b.config["mounts"]:
        if m["destination"] == "/dev":
            m["options"] = m["options"] + ["ro"]
    return b


def test_readonly_dev_still_gets_its_mounts_and_nodes(hull, bundle, request):
    p = hull.run(dev_ro_bundle(bundle), timeout=30)
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert p.stdout == (
        "mounted /dev\nmounted /dev/pts\nmounted /dev/shm\nmounted /dev/mqueue\n"
        "/dev/null 1:3\n/dev/zero 1:5\n/dev/tty 5:0\nptmx\ndev-ro\nshm-writable\n"
    )


def test_readonly_dev_same_as_runc(hull, reference, bundle):
    outs = []
    for rt in (hull, reference):
        p = rt.run(dev_ro_bundle(bundle), timeout=30)
        assert p.returncode == 0, helpers.describe(p, "failed")
        outs.append(p.stdout)
    assert outs[0] == outs[1]


FRESH_PROC = "unshare -mrpf sh -c 'mount -t proc none /proc && echo mounted' 2>&1; echo rc=$?"


def fresh_proc_bundle(bundle):
    b = bundle(["sh", "-c", FRESH_PROC])
    # mapping root in a new user namespace needs CAP_SETFCAP (Linux 5.12)
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k].append("CAP_SETFCAP")
    return b


@pytest.mark.parametrize("no_pivot", [False, True])
def test_no_fresh_procfs_inside(hull, bundle, no_pivot):
    """A process in the container may not mount a fresh procfs (the kernel's
    mount_too_revealing check), with pivot_root and with --no-pivot alike:
    with --no-pivot the host's proc and sysfs are detached before the chroot."""
    p = hull.run(fresh_proc_bundle(bundle), timeout=30, extra=["--no-pivot"] if no_pivot else [])
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert p.stdout == "mount: permission denied (are you root?)\nrc=1\n"


def test_no_fresh_procfs_with_no_pivot_same_as_runc(hull, reference, bundle):
    outs = []
    for rt in (hull, reference):
        p = rt.run(fresh_proc_bundle(bundle), timeout=30, extra=["--no-pivot"])
        assert p.returncode == 0, helpers.describe(p, "failed")
        outs.append(p.stdout)
    assert outs[0] == outs[1]


HOST_POINTS = {"/", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/tmp"}


def host_mount_table():
    """The host's mounts a runtime without a mount namespace could touch: at the
    usual points, or anywhere with this session's marker in the path (other
    sessions mount and unmount elsewhere meanwhile)."""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4]
            if point in HOST_POINTS or helpers.SESSION in point:
                res.append((left.split()[2], point, left.split()[5], right.split()[0]))
    return res


def no_mount_ns_bundle(bundle, args):
    b = bundle(args)
    b.config["linux"]["namespaces"] = [
        n for n in b.config["linux"]["namespaces"] if n["type"] != "mount"
    ]
    # as runc, masks cannot be had without a mount namespace (see the refusal test)
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    return b


def test_config_without_mount_namespace_runs_and_leaves_host_mounts(hull, bundle):
    b = no_mount_ns_bundle(
        bundle, ["sh", "-c", "readlink /proc/self/ns/mnt 2>&1; ls /; echo x > /marker; sleep 10"]
    )
    os.rmdir(os.path.join(b.rootfs, "proc"))  # nothing gets mounted: ls shows the rootfs as is
    ours = set(m for m in host_mount_table() if b.path.as_posix() in m)
    before = host_mount_table()
    cid = hull.create(b)
    hull.start(cid)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(b.rootfs, "marker")) and time.monotonic() < deadline:
        time.sleep(0.05)
    # a later exec lands in the container's root too, not in the host's
    p = hull("exec", cid, "sh", "-c", "cat /marker; test -e /bin/busybox && echo rootfs", check=False)
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert p.stdout == "x\nrootfs\n"
    assert host_mount_table() == before
    assert ours == set()
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)
    assert host_mount_table() == before
    assert sorted(os.listdir(b.rootfs)) == sorted(
        ["bin", "dev", "etc", "home", "linuxrc", "marker", "root", "run", "sbin", "sys", "tmp",
         "usr", "var"]
    )


def test_masks_without_mount_namespace_are_refused(hull, bundle, request):
    b = no_mount_ns_bundle(bundle, ["true"])
    b.config["linux"]["maskedPaths"] = ["/proc/kcore"]
    before = host_mount_table()
    p = hull.run(b, timeout=30)
    assert p.returncode != 0, helpers.describe(p, "ran")
    if hull.is_hull:
        assert "linux.maskedPaths: cannot be applied without a mount namespace" in p.stderr
    else:
        assert "without a private MNT namespace" in p.stderr
    assert host_mount_table() == before


def test_rootfs_propagation_unbindable(hull, bundle):
    b = bundle(["awk", "$5 == \"/\"", "/proc/self/mountinfo"])
    b.config["linux"]["rootfsPropagation"] = "unbindable"
    p = hull.run(b, timeout=30)
    if not hull.is_hull and p.returncode != 0:
        pytest.xfail("runc 1.1.5 binds the rootfs after making it unbindable (EINVAL); crun works")
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert " unbindable " in p.stdout, p.stdout


USERNS_ID = 100000


def userns_bundle(bundle, args):
    b = bundle(args)
    b.config["linux"]["namespaces"].append({"type": "user"})
    for key in ("uidMappings", "gidMappings"):
        b.config["linux"][key] = [{"containerID": 0, "hostID": USERNS_ID, "size": 65536}]
    b.config["root"]["readonly"] = False
    os.chmod(b.path, 0o755)
    subprocess.run(["chown", "-R", "-h", f"{USERNS_ID}:{USERNS_ID}", b.rootfs], check=True)
    return b


def unreachable_source_case(rt, bundle):
    """The source lies below a 0700 directory of host root: the container's
    mapped root cannot reach it, the runtime (host root) can. Returns what a
    later `exec` sees (exit status, stdout)."""
    b = userns_bundle(bundle, ["sh", "-c", "cat /data/file; sleep 10"])
    private = os.path.join(b.path, "private")
    os.makedirs(os.path.join(private, "vol"))
    os.chmod(private, 0o700)
    with open(os.path.join(private, "vol", "file"), "w") as f:
        f.write("reached\n")
    os.chmod(os.path.join(private, "vol", "file"), 0o644)
    b.config["mounts"].append(
        {
            "destination": "/data",
            "type": "bind",
            "source": os.path.join(private, "vol"),
            "options": ["rbind", "ro"],
        }
    )
    cid = rt.create(b)
    rt.start(cid)
    p = rt("exec", cid, "sh", "-c", "cat /data/file; touch /data/x 2>/dev/null || echo ro", check=False)
    rt.kill(cid, "KILL")
    rt.wait_status(cid, "stopped")
    rt.delete(cid)
    return p.returncode, p.stdout


def test_userns_bind_source_only_the_runtime_can_reach(hull, bundle):
    """The runtime clones the source before the init enters its user
    namespace, so `create` mounts it and a later `exec` sees the files."""
    assert unreachable_source_case(hull, bundle) == (0, "reached\nro\n")


def test_userns_bind_source_same_as_runc(hull, reference, bundle):
    assert unreachable_source_case(hull, bundle) == unreachable_source_case(reference, bundle)
