"""Attacks found by a red-team pass that still work on main; each test performs
the attack and asserts the host-side effect is absent (each failed on the main of the day it
was written)."""

import os
import subprocess
import tempfile

import pytest

import helpers


def _wait_file(path, timeout=10):
    helpers.wait_for(lambda: os.path.exists(path), timeout=timeout, what=path)


def test_exec_keeps_no_caller_groups_through_fake_proc_setgroups(hull, bundle):
    # The container (CAP_SYS_ADMIN, no user namespace) binds a directory over
    # /proc whose self/setgroups says "deny"; the runtime is called with a
    # supplementary group 4242 that the exec'd uid 1000 process must not keep.
    if not helpers.default_runtime_is_hull():
        pytest.skip("hull-specific: runc reads setgroups differently")
    setup = (
        "mkdir -p /tmp/p/self && echo deny > /tmp/p/self/setgroups && "
        "mount --bind /tmp/p /proc && exec sleep 60"
    )
    b = bundle(["sh", "-c", setup], readonly=False)
    caps = b.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k].append("CAP_SYS_ADMIN")
    b.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.state(cid)["pid"]
    # the bind is in place once the init's /proc has no real pid directory
    helpers.wait_for(
        lambda: not os.path.exists(f"/proc/{pid}/root/proc/1"), what="the fake /proc"
    )
    with tempfile.TemporaryDirectory(prefix="hull-redteam-") as d:
        pidf = os.path.join(d, "pid")
        with open(os.path.join(d, "err"), "w+") as err:
            p = subprocess.run(
                ["setpriv", "--groups", "4242",
                 *hull.argv("exec", "-d", "--pid-file", pidf, "--user", "1000:1000",
                            cid, "sleep", "30")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                timeout=30,
            )
            err.seek(0)
            assert p.returncode == 0, err.read()
        xpid = int(open(pidf).read())
    with open(f"/proc/{xpid}/status") as f:
        groups = next(l for l in f if l.startswith("Groups:")).split()[1:]
    assert "4242" not in groups, groups


def _status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        return next(l for l in f if l.startswith(name + ":")).split()[1]


def test_exec_cap_leaves_inheritable_empty(hull, bundle):
    b = bundle(["sleep", "60"])
    b.config["process"]["noNewPrivileges"] = False
    cid = hull.create(b)
    hull.start(cid)
    with tempfile.TemporaryDirectory(prefix="hull-redteam-") as d:
        pidf = os.path.join(d, "pid")
        with open(os.path.join(d, "err"), "w+") as err:
            p = subprocess.run(
                hull.argv("exec", "-d", "--pid-file", pidf, "--user", "1000:1000",
                          "--cap", "CAP_NET_RAW", cid, "sleep", "30"),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                timeout=30,
            )
            err.seek(0)
            assert p.returncode == 0, err.read()
        xpid = int(open(pidf).read())
    assert int(_status_field(xpid, "CapInh"), 16) == 0, _status_field(xpid, "CapInh")


CAP_SYS_MODULE = 16


def test_exec_bounding_set_not_widened_by_fake_cap_last_cap(hull, bundle):
    # The container holds CAP_SYS_ADMIN (and nothing like CAP_SYS_MODULE) and
    # binds a directory over /proc/sys whose kernel/cap_last_cap says "0".
    setup = (
        "mkdir -p /tmp/s/kernel && echo 0 > /tmp/s/kernel/cap_last_cap && "
        "mount --bind /tmp/s /proc/sys && exec sleep 60"
    )
    b = bundle(["sh", "-c", setup], readonly=False)
    b.config["process"]["noNewPrivileges"] = False
    caps = b.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k].append("CAP_SYS_ADMIN")
    b.config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.state(cid)["pid"]
    helpers.wait_for(
        lambda: not os.path.exists(f"/proc/{pid}/root/proc/sys/kernel/osrelease"),
        what="the fake /proc/sys",
    )
    p = hull("exec", cid, "sh", "-c", "grep -E '^Cap(Bnd|Eff)' /proc/self/status", timeout=30)
    fields = dict(l.split(":") for l in p.stdout.splitlines())
    for k in ("CapBnd", "CapEff"):
        v = int(fields[k].strip(), 16)
        assert not v & (1 << CAP_SYS_MODULE), (k, hex(v))
