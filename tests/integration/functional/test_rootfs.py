"""How the rootfs is put together on odd configs, as runc does it (compared
with runc through the `reference` fixture where it is installed): a read-only
/dev, --no-pivot, no mount namespace, rootfsPropagation "unbindable", bind
sources only the runtime can reach with a user namespace."""

import os

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
