"""Mount targets that try to leave the rootfs: symlinks in the rootfs pointing
to host paths, and destinations with `..`. Each test asserts what the runtime
does (the refusal with its exit status and message, or the run and where the
mount landed inside the rootfs) and that the host's tree stays untouched."""

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

import helpers


def host_mountinfo(points, trees):
    """The host's mounts (mount point, fstype, source) exactly at `points`,
    anywhere below `trees`, or anywhere with this session's marker in the
    path. (Other engineers' tests mount and unmount under /tmp meanwhile.)"""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4]
            if (
                point in points
                or any(point == t or point.startswith(t.rstrip("/") + "/") for t in trees)
                or helpers.SESSION in point
            ):
                res.append((point, right.split()[0], right.split()[1]))
    return sorted(res)


def snapshot(paths):
    return {p: sorted(os.listdir(p)) for p in paths}


@contextlib.contextmanager
def host_target():
    """An empty dir on the host that a malicious symlink points to."""
    d = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-target-")
    try:
        yield d
    finally:
        for mp in sorted(helpers.mounts_under(d), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], check=False)
        shutil.rmtree(d, ignore_errors=True)


def replace_with_symlink(rootfs, rel, target):
    p = os.path.join(rootfs, rel)
    if os.path.islink(p) or os.path.isfile(p):
        os.unlink(p)
    elif os.path.isdir(p):
        shutil.rmtree(p)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(target, p)


WATCHED = ["/", "/etc", "/tmp", "/proc", "/dev", "/sys"]


def run_and_check_host(hull, b, extra_watch=()):
    trees = ["/etc", "/proc", "/sys", "/dev"] + list(extra_watch)
    dirs = ["/", "/etc", "/tmp"] + [d for d in extra_watch if os.path.isdir(d)]
    before_mounts = host_mountinfo(WATCHED, trees)
    before_dirs = snapshot(dirs)
    p = hull.run(b, timeout=30)
    after_dirs = snapshot(dirs)
    assert host_mountinfo(WATCHED, trees) == before_mounts
    for d in dirs:
        new = set(after_dirs[d]) - set(before_dirs[d])
        if d in ("/etc", "/tmp"):
            # Others on this machine create files there too: only names this
            # session made up can be the runtime's doing.
            new = {n for n in new if helpers.SESSION in n}
        assert new == set(), f"new entries in host '{d}': {sorted(new)}"
    return p


def test_proc_symlink_to_root(hull, bundle):
    # As runc: proc is never mounted through a symlink, not even inside.
    b = bundle(["sh", "-c", "cat /proc/self/mountinfo"])
    replace_with_symlink(b.rootfs, "proc", "/")
    p = run_and_check_host(hull, b)
    assert p.returncode != 0, helpers.describe(p, "ran")
    assert "must be mounted on ordinary directory" in p.stderr
    assert "proc" in p.stderr.split("must be mounted")[0][-20:]
    assert p.stdout == ""


def test_etc_symlink_with_bind_file(hull, bundle):
    marker = f"hull-test-{helpers.SESSION}-{uuid.uuid4().hex[:8]}"
    with host_target() as src_dir:
        src = os.path.join(src_dir, "payload")
        with open(src, "w") as f:
            f.write("payload\n")
        b = bundle(["sh", "-c", "cat /etc/x 2>&1; ls /etc"])
        replace_with_symlink(b.rootfs, "etc/x", "/etc")
        b.config["mounts"].append(
            {"destination": "/etc/x", "type": "bind", "source": src, "options": ["bind"]}
        )
        # A second mount whose target must be created: a naive runtime would
        # create it in the host's /etc.
        b.config["mounts"].append(
            {
                "destination": f"/etc/x/{marker}",
                "type": "bind",
                "source": src,
                "options": ["bind"],
            }
        )
        try:
            p = run_and_check_host(hull, b)
            # /etc/x resolves (inside) to the rootfs' /etc, a directory: a file
            # cannot be bound there, and both runtimes say so.
            assert p.returncode != 0, helpers.describe(p, "ran")
            assert "/etc/x" in p.stderr
            assert p.stdout == ""
        finally:
            leaked = os.path.join("/etc", marker)
            if os.path.lexists(leaked):
                subprocess.run(["umount", "-l", leaked], stderr=subprocess.DEVNULL)
                if os.path.isdir(leaked):
                    os.rmdir(leaked)
                else:
                    os.unlink(leaked)
                pytest.fail(f"the runtime created '{leaked}' on the host")
        with open("/etc/hostname") as f:
            assert "payload" not in f.read()


@pytest.mark.parametrize("with_dev_tmpfs", [True, False])
def test_dev_symlink_to_host_dir(hull, bundle, with_dev_tmpfs):
    with host_target() as target:
        b = bundle(["sh", "-c", "stat -c '%F %t:%T' /dev/null; readlink -f /dev/null"])
        replace_with_symlink(b.rootfs, "dev", target)
        if not with_dev_tmpfs:
            # Without a tmpfs on /dev runtimes create device nodes right in the
            # rootfs' /dev, i.e. through the symlink.
            b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
        try:
            p = run_and_check_host(hull, b, extra_watch=[target])
            assert os.listdir(target) == []
            assert helpers.mounts_under(target) == []
            # /dev resolved inside the rootfs (to rootfs/<target>) and got its nodes
            assert p.returncode == 0, helpers.describe(p, "failed")
            assert p.stdout == f"character special file 1:3\n{target}/null\n"
        except AssertionError:
            if hull.is_hull:
                raise
            # runc 1.1.5 creates the /dev/fd, /dev/std* and /dev/ptmx links by
            # joining paths, following the symlink onto the host.
            pytest.xfail("runc 1.1.5 follows a /dev symlink out of the rootfs")


def test_sys_fs_cgroup_symlink_to_host(hull, bundle):
    with host_target() as target:
        b = bundle(["true"])
        os.makedirs(os.path.join(b.rootfs, "sys/fs"), exist_ok=True)
        replace_with_symlink(b.rootfs, "sys", target)
        p = run_and_check_host(hull, b, extra_watch=[target])
        assert os.listdir(target) == []
        # As runc: sysfs is never mounted through a symlink.
        assert p.returncode != 0, helpers.describe(p, "ran")
        assert "must be mounted on ordinary directory" in p.stderr


def test_nested_symlink_chain_out_of_rootfs(hull, bundle):
    with host_target() as target:
        b = bundle(["grep", "-c", f" {target}/sub ", "/proc/self/mountinfo"])
        # /a -> ../../../../.. and /data -> /a/<target>: both must stay inside.
        os.symlink("../../../../../..", os.path.join(b.rootfs, "a"))
        os.symlink("/a" + target, os.path.join(b.rootfs, "data"))
        b.config["mounts"].append(
            {"destination": "/data/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}
        )
        p = run_and_check_host(hull, b, extra_watch=[target])
        assert os.listdir(target) == []
        # the tmpfs is on rootfs/<target>/sub, seen inside as <target>/sub
        assert p.returncode == 0, helpers.describe(p, "failed")
        assert p.stdout == "1\n"
        assert os.path.isdir(os.path.join(b.rootfs, target.lstrip("/"), "sub"))


@pytest.mark.parametrize(
    "dest",
    [
        "/../../../../../../tmp/{marker}",
        "/tmp/../../../../../tmp/{marker}",
        "../../../../tmp/{marker}",
    ],
)
def test_mount_destination_with_dotdot(hull, bundle, dest):
    marker = f"hull-test-{helpers.SESSION}-dotdot-{uuid.uuid4().hex[:8]}"
    host_path = os.path.join("/tmp", marker)
    b = bundle(["sh", "-c", f"grep -c ' /tmp/{marker} ' /proc/self/mountinfo; true"])
    b.config["mounts"].append(
        {
            "destination": dest.format(marker=marker),
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["size=1m"],
        }
    )
    try:
        p = run_and_check_host(hull, b)
        assert not os.path.exists(host_path)
        if hull.is_hull and not dest.startswith("/"):
            # hull refuses a relative destination (runc warns and takes it)
            assert p.returncode != 0, helpers.describe(p, "ran")
            assert "destination: must be an absolute path" in p.stderr
            assert not os.path.exists(os.path.join(b.rootfs, "tmp", marker))
        else:
            # Resolved inside the rootfs: /tmp/<marker> of the container.
            assert p.returncode == 0, helpers.describe(p, "failed")
            assert p.stdout.strip() == "1"
            assert os.path.isdir(os.path.join(b.rootfs, "tmp", marker))
    finally:
        if os.path.lexists(host_path):
            subprocess.run(["umount", "-l", host_path], stderr=subprocess.DEVNULL)
            shutil.rmtree(host_path, ignore_errors=True)


def test_bind_target_parent_symlink_stays_in_rootfs(hull, bundle):
    # An absolute symlink as the destination's parent: /mnt -> /tmp.
    marker = f"hull-test-{helpers.SESSION}-mnt-{uuid.uuid4().hex[:8]}"
    with host_target() as source:
        with open(os.path.join(source, "f"), "w") as f:
            f.write("bound\n")
        b = bundle(["cat", f"/mnt/{marker}/f"])
        replace_with_symlink(b.rootfs, "mnt", "/tmp")
        b.config["mounts"].append(
            {"destination": f"/mnt/{marker}", "type": "bind", "source": source, "options": ["rbind"]}
        )
        try:
            p = run_and_check_host(hull, b)
            assert p.returncode == 0, p.stderr
            assert p.stdout == "bound\n"
            # The mount point was created in the rootfs' /tmp, not the host's.
            assert os.path.isdir(os.path.join(b.rootfs, "tmp", marker))
            assert not os.path.exists(os.path.join("/tmp", marker))
        finally:
            leaked = os.path.join("/tmp", marker)
            if os.path.lexists(leaked):
                subprocess.run(["umount", "-l", leaked], stderr=subprocess.DEVNULL)
                shutil.rmtree(leaked, ignore_errors=True)
