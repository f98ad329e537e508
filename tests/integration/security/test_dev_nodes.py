"""The device nodes the runtime mounts from or opens must be the devices
themselves, never files a hostile rootfs points them at (CVE-2025-31133,
CVE-2025-52565 class): masked paths bound from a /dev/null that is a symlink
to /proc/sys/kernel/core_pattern, a /dev/console or /dev/ptmx symlinked
elsewhere. Each test performs the attack and asserts the exit status and the
host-side effect."""

import contextlib
import os
import stat
import tempfile

import pytest

import helpers

CORE_PATTERN = "/proc/sys/kernel/core_pattern"


def without_dev_mount(b):
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]


def plant_symlink(b, rel, target):
    p = os.path.join(b.rootfs, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.lexists(p):
        os.unlink(p)
    os.symlink(target, p)


@contextlib.contextmanager
def guarded_core_pattern():
    """Yields the host's core_pattern; puts it back (and fails) if it changed."""
    with open(CORE_PATTERN) as f:
        before = f.read()
    try:
        yield before
    finally:
        with open(CORE_PATTERN) as f:
            after = f.read()
        if after != before:
            with open(CORE_PATTERN, "w") as f:
                f.write(before)
            pytest.fail(f"the container rewrote the host's core_pattern: {after!r}")


def test_masked_path_not_bound_from_symlinked_dev_null(hull, bundle):
    """No /dev mount and /dev/null -> /proc/sys/kernel/core_pattern: a runtime
    that masks /proc/keys with "/dev/null" binds the host's core_pattern there,
    writable from inside."""
    marker = f"core.hull-{helpers.SESSION}"
    b = bundle(
        [
            "sh",
            "-c",
            "cat /proc/keys; echo ---; "
            f"echo {marker} > /proc/keys; echo write=$?; "
            "cat /proc/keys; echo ---; stat -c '%F %t:%T' /dev/null",
        ]
    )
    without_dev_mount(b)
    plant_symlink(b, "dev/null", CORE_PATTERN)
    with guarded_core_pattern() as host_pattern:
        p = hull.run(b, timeout=30)
        assert p.returncode == 0, helpers.describe(p, "failed")
        first, rest = p.stdout.split("---\n", 1)
        assert first == "", "reading the masked /proc/keys showed a file"
        assert host_pattern.strip() not in first
        # the write went to the null device: reading gives nothing back
        assert rest.split("---\n")[0].split("\n", 1)[1] == ""
    assert p.stdout.rstrip().endswith("character special file 1:3")


def test_masking_refuses_a_dev_null_that_is_not_the_null_device(hull, bundle):
    """A /dev bound from the bundle (taken as it is, as runc does) whose null
    is a symlink: nothing is created there, so masking must refuse it."""
    b = bundle(["cat", "/proc/keys"])
    devdir = os.path.join(b.path, "devdir")
    os.makedirs(devdir)
    os.symlink(CORE_PATTERN, os.path.join(devdir, "null"))
    for m in b.config["mounts"]:
        if m["destination"] == "/dev":
            m.update({"type": "bind", "source": devdir, "options": ["rbind"]})
    b.config["mounts"] = [
        m for m in b.config["mounts"] if not m["destination"].startswith("/dev/")
    ]
    with guarded_core_pattern():
        p = hull.run(b, timeout=30)
    assert p.returncode != 0, helpers.describe(p, "ran")
    if hull.is_hull:
        assert "linux.maskedPaths" in p.stderr
        assert "'/dev/null': not the device 1:3" in p.stderr
    assert os.path.islink(os.path.join(devdir, "null"))


def test_container_without_dev_mount_gets_default_nodes(hull, bundle):
    b = bundle(
        [
            "sh",
            "-c",
            "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done;"
            " for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done;"
            " echo hi > /dev/null && head -c 4 /dev/zero | wc -c",
        ]
    )
    without_dev_mount(b)
    p = hull.run(b, timeout=30)
    assert p.returncode == 0, helpers.describe(p, "failed")
    lines = p.stdout.splitlines()
    assert lines[:6] == [
        "/dev/null character special file 1:3 666",
        "/dev/zero character special file 1:5 666",
        "/dev/full character special file 1:7 666",
        "/dev/random character special file 1:8 666",
        "/dev/urandom character special file 1:9 666",
        "/dev/tty character special file 5:0 666",
    ]
    assert lines[6:11] == [
        "pts/ptmx",
        "/proc/self/fd",
        "/proc/self/fd/0",
        "/proc/self/fd/1",
        "/proc/self/fd/2",
    ]
    assert lines[11] == "4"


@pytest.mark.parametrize("name", ["null", "zero", "tty"])
def test_dev_node_symlink_to_host_file(hull, bundle, name):
    """/dev/<name> in the rootfs is a symlink to a host file: the node the
    runtime makes replaces the link; neither mknod, chmod, chown nor the
    container's writes reach the host file."""
    with tempfile.TemporaryDirectory(prefix=f"hull-test-{helpers.SESSION}-host-") as d:
        host = os.path.join(d, "victim")
        with open(host, "w") as f:
            f.write("host data\n")
        os.chmod(host, 0o600)
        before = os.stat(host)
        b = bundle(["sh", "-c", f"echo overwritten > /dev/{name}; stat -c '%F' /dev/{name}"])
        without_dev_mount(b)
        plant_symlink(b, f"dev/{name}", host)
        p = hull.run(b, timeout=30)
        assert p.returncode == 0, helpers.describe(p, "failed")
        assert p.stdout == "character special file\n"
        after = os.stat(host)
        with open(host) as f:
            assert f.read() == "host data\n"
        assert (after.st_mode, after.st_uid, after.st_gid) == (
            before.st_mode,
            before.st_uid,
            before.st_gid,
        )
        assert not os.path.islink(os.path.join(b.rootfs, "dev", name))


@pytest.mark.parametrize("dev_mount", [True, False])
def test_dev_console_symlink_is_not_followed(hull, bundle, dev_mount):
    """With a terminal, the pty lands on /dev/console; a /dev/console symlink
    (to core_pattern, as in CVE-2025-52565) must not carry the mount there.
    Without a /dev mount the link is in the rootfs; with one, /dev is bound
    from a bundle dir holding it (taken as it is, as runc does)."""
    b = bundle(["sh", "-c", 'while read -r line; do eval "$line"; done'], terminal=True)
    if dev_mount:
        devdir = os.path.join(b.path, "devdir")
        os.makedirs(os.path.join(devdir, "pts"))
        os.mknod(os.path.join(devdir, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.symlink("pts/ptmx", os.path.join(devdir, "ptmx"))
        os.symlink(CORE_PATTERN, os.path.join(devdir, "console"))
        for m in b.config["mounts"]:
            if m["destination"] == "/dev":
                m.update({"type": "bind", "source": devdir, "options": ["rbind"]})
    else:
        without_dev_mount(b)
        plant_symlink(b, "dev/console", CORE_PATTERN)
    with guarded_core_pattern(), helpers.console_socket() as cs:
        cid = hull.create(b, extra=["--console-socket", cs.path])
        hull.start(cid)
        cs.write(
            "grep -c core_pattern /proc/self/mountinfo; stat -c '%F %t' /dev/console;"
            " echo done-$((1+1))\n"
        )
        out = cs.read_until("done-2\r\n")
        cs.write("exit\n")
        hull.wait_status(cid, "stopped")
    assert "\r\n0\r\n" in out, out
    assert "character special file 88\r\n" in out, out
