"""Attack shapes on the mounts a runtime makes (CVE-2021-30465, CVE-2015-1335
and friends): symlinked mount targets, a symlink swapped in while containers
are being created, symlinked proc and sys, a hostile process.cwd. Each test
performs the attack, asserts the exit status (and the message of a
refusal), and asserts that nothing landed on the host."""

import contextlib
import ctypes
import errno
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

import helpers

AT_FDCWD = -100
RENAME_EXCHANGE = 2


@contextlib.contextmanager
def host_target():
    """An empty host directory the hostile symlinks point at; it must stay empty."""
    d = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-host-")
    try:
        yield d
    finally:
        for mp in sorted(helpers.mounts_under(d), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], check=False)
        shutil.rmtree(d, ignore_errors=True)


def assert_host_untouched(target):
    assert os.listdir(target) == [], f"the runtime wrote into host '{target}'"
    assert helpers.mounts_under(target) == [], f"a mount landed on host '{target}'"


def plant(rootfs, rel, link):
    p = os.path.join(rootfs, rel)
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(link, p)


def test_dev_pts_symlink_to_host_dir(hull, bundle):
    """No /dev mount and the rootfs' /dev/pts -> <host dir>: devpts lands on
    the same path inside the rootfs, and the container's ptmx works."""
    with host_target() as target:
        b = bundle(["sh", "-c", "stat -L -c '%t:%T' /dev/ptmx; readlink -f /dev/pts/ptmx"])
        b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
        plant(b.rootfs, "dev/pts", target)
        p = hull.run(b, timeout=30)
        assert_host_untouched(target)
        assert p.returncode == 0, helpers.describe(p, "failed")
        assert p.stdout == f"5:2\n{target}/ptmx\n"
        assert os.path.isdir(os.path.join(b.rootfs, target.lstrip("/")))


@pytest.mark.parametrize("name,link", [("proc", "/"), ("sys", "sys.d"), ("sys", "/proc/sys")])
def test_proc_or_sys_symlink_is_refused(hull, bundle, name, link):
    """A symlinked proc or sys (absolute or relative, pointing in or out) is
    refused as runc refuses it; a writable /sys through it is never had."""
    b = bundle(["sh", "-c", "echo ran; touch /sys/x && echo sys-writable"])
    os.makedirs(os.path.join(b.rootfs, "sys.d"), exist_ok=True)
    plant(b.rootfs, name, link)
    p = hull.run(b, timeout=30)
    assert p.returncode != 0, helpers.describe(p, "ran")
    assert p.stdout == ""
    assert "must be mounted on ordinary directory" in p.stderr
    if hull.is_hull:
        fs = "proc" if name == "proc" else "sysfs"
        assert f"filesystem '{fs}' must be mounted on ordinary directory ('/{name}' is a symlink)" in p.stderr


def test_proc_symlink_refused_same_as_runc(hull, reference, bundle):
    res = []
    for rt in (hull, reference):
        b = bundle(["true"])
        plant(b.rootfs, "proc", "/")
        p = rt.run(b, timeout=30)
        res.append((p.returncode != 0, "must be mounted on ordinary directory" in p.stderr))
    assert res[0] == res[1] == (True, True)


def test_hostile_cwd_symlink_to_host_dir(hull, bundle):
    """process.cwd below a symlink to a host dir: made and entered inside."""
    with host_target() as target:
        b = bundle(["sh", "-c", "pwd -P; touch here"], cwd="/work/sub", readonly=False)
        plant(b.rootfs, "work", target)
        p = hull.run(b, timeout=30)
        assert_host_untouched(target)
        if not hull.is_hull and "mkdir /work: file exists" in p.stderr:
            pytest.xfail("runc 1.1.5 cannot make a cwd below a dangling symlink")
        assert p.returncode == 0, helpers.describe(p, "failed")
        assert p.stdout == f"{target}/sub\n"
        assert os.path.isfile(os.path.join(b.rootfs, target.lstrip("/"), "sub", "here"))


def test_hostile_cwd_dotdot(hull, bundle):
    marker = f"hull-test-{helpers.SESSION}-cwd"
    b = bundle(["sh", "-c", "pwd -P"], cwd=f"/../../../../../tmp/{marker}")
    try:
        p = hull.run(b, timeout=30)
        assert not os.path.exists(f"/tmp/{marker}")
        assert p.returncode == 0, helpers.describe(p, "failed")
        assert p.stdout == f"/tmp/{marker}\n"
    finally:
        shutil.rmtree(f"/tmp/{marker}", ignore_errors=True)


def _exchange(a, b):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def test_symlink_swapped_in_while_containers_are_created(hull, bundle):
    """A thread swaps /mnt/x of the rootfs between a directory and a symlink
    to a host dir (atomically, renameat2 RENAME_EXCHANGE) as fast as it can,
    while containers with mounts below /mnt/x are created for a bounded
    time. Whatever each run does, nothing may ever land on the host."""
    with host_target() as target, host_target() as source:
        with open(os.path.join(source, "f"), "w") as f:
            f.write("bound\n")
        b = bundle(["true"])
        mnt = os.path.join(b.rootfs, "mnt")
        os.makedirs(os.path.join(mnt, "x"), exist_ok=True)
        os.symlink(target, os.path.join(mnt, "y"))
        b.config["mounts"] += [
            {"destination": "/mnt/x/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
            {"destination": "/mnt/x/bound", "type": "bind", "source": source, "options": ["rbind"]},
        ]
        stop = threading.Event()
        swaps = [0]
        failure = []

        def flip():
            try:
                while not stop.is_set():
                    _exchange(os.path.join(mnt, "x"), os.path.join(mnt, "y"))
                    swaps[0] += 1
            except OSError as e:  # pragma: no cover - reported below
                failure.append(e)

        t = threading.Thread(target=flip, daemon=True)
        runs, ok = 0, 0
        deadline = time.monotonic() + 8
        t.start()
        try:
            while time.monotonic() < deadline and runs < 40:
                p = hull.run(b, timeout=30)
                runs += 1
                if p.returncode == 0:
                    ok += 1
                else:
                    # a refusal names the mount it could not make
                    assert "/mnt/x" in p.stderr, helpers.describe(p, "failed")
                assert_host_untouched(target)
        finally:
            stop.set()
            t.join(10)
        assert not failure, failure
        assert swaps[0] > runs, "the swapping thread did not run"
        assert runs >= 3
        assert_host_untouched(target)
        with open(os.path.join(source, "f")) as f:
            assert f.read() == "bound\n"
