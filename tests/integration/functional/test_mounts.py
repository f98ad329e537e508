"""The root filesystem and the config's mounts, as seen from inside: readonly
root, rootfsPropagation, bind/rbind, ro/nosuid/nodev/noexec, atime options,
propagation flags, tmpfs size and mode, maskedPaths and readonlyPaths."""

import contextlib
import os
import subprocess
import tempfile

import pytest

import helpers
from helpers import inside


def mountinfo(text):
    """Parses mountinfo text into {mount point: entry} (the last mount wins)."""
    res = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        left, right = line.split(" - ", 1)
        f = left.split()
        fstype, source, super_opts = (right.split() + [""])[:3]
        res[f[4]] = {
            "root": f[3],
            "point": f[4],
            "opts": set(f[5].split(",")),
            "optional": f[6:],
            "fstype": fstype,
            "source": source,
            "super": set(super_opts.split(",")),
        }
    return res


def container_mounts(hull, b):
    return mountinfo(inside(hull, b, "cat /proc/self/mountinfo"))


@contextlib.contextmanager
def host_dir(**files):
    """A temp dir on the host with the given files, removed afterwards."""
    d = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-src-")
    try:
        for name, content in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(content)
        yield d
    finally:
        for mp in sorted(helpers.mounts_under(d), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", d], check=False)


def add_mount(b, destination, type_, source, options=()):
    b.config["mounts"].append(
        {"destination": destination, "type": type_, "source": source, "options": list(options)}
    )


# ---- the root ----------------------------------------------------------------


def test_readonly_root(hull, bundle):
    b = bundle()
    assert b.config["root"]["readonly"] is True
    out = inside(hull, b, "touch /newfile 2>&1; echo rc=$?; touch /tmp/x 2>&1; echo rc=$?")
    assert "Read-only file system" in out
    assert out.count("rc=1") == 2
    assert not os.path.exists(os.path.join(b.rootfs, "newfile"))
    assert "ro" in container_mounts(hull, b)["/"]["opts"]


def test_writable_root(hull, bundle):
    b = bundle(readonly=False)
    inside(hull, b, "echo data > /newfile")
    with open(os.path.join(b.rootfs, "newfile")) as f:
        assert f.read() == "data\n"
    assert "rw" in container_mounts(hull, b)["/"]["opts"]


@pytest.mark.parametrize(
    "propagation,field",
    [("shared", "shared:"), ("slave", "master:"), ("private", None), (None, "master:")],
)
def test_rootfs_propagation(hull, bundle, propagation, field):
    if propagation in ("shared", "slave") and not hull.is_hull:
        # runc 1.1.5 makes the rootfs' parent private for pivot_root and never
        # applies rootfsPropagation to the new "/" afterwards; hull does.
        pytest.skip("runc 1.1.5 does not apply rootfsPropagation to /")
    with host_dir() as d:
        # The host's mounts are private here: make the source shared so
        # "slave" has a master to point to.
        subprocess.run(["mount", "--bind", d, d], check=True)
        subprocess.run(["mount", "--make-shared", d], check=True)
        b = bundle()
        b.config["root"]["path"] = d
        subprocess.run(["cp", "-a", f"{b.rootfs}/.", d], check=True)
        if propagation:
            b.config["linux"]["rootfsPropagation"] = propagation
        m = container_mounts(hull, b)["/"]
        tags = [o.split(":")[0] + ":" for o in m["optional"]]
        if field is None:
            assert tags == [], m
        else:
            assert field in tags, m


# ---- bind mounts -------------------------------------------------------------


def test_bind_mount_file_and_dir(hull, bundle):
    with host_dir(data="from-host\n") as d:
        b = bundle()
        add_mount(b, "/mnt/dir", "bind", d, ["bind"])
        add_mount(b, "/etc/hostdata", "bind", os.path.join(d, "data"), ["bind", "ro"])
        out = inside(hull, b, "cat /mnt/dir/data /etc/hostdata; echo w > /mnt/dir/new")
        assert out == "from-host\nfrom-host\n"
        with open(os.path.join(d, "new")) as f:
            assert f.read() == "w\n"


def test_bind_vs_rbind_submounts(hull, bundle):
    with host_dir() as d:
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hulltestsub", sub], check=True)
        with open(os.path.join(sub, "marker"), "w") as f:
            f.write("sub\n")
        b = bundle()
        add_mount(b, "/mnt/bind", "bind", d, ["bind"])
        add_mount(b, "/mnt/rbind", "bind", d, ["rbind"])
        out = inside(
            hull,
            b,
            "cat /mnt/rbind/sub/marker; ls -A /mnt/bind/sub | wc -l; "
            "grep -c ' /mnt/rbind/sub ' /proc/self/mountinfo",
        )
        assert out.split() == ["sub", "0", "1"]


def test_bind_ro(hull, bundle):
    with host_dir(f="x") as d:
        b = bundle()
        add_mount(b, "/mnt", "bind", d, ["rbind", "ro"])
        out = inside(hull, b, "(echo y > /mnt/f) 2>&1; echo rc=$?; cat /mnt/f")
        assert "Read-only file system" in out and "rc=1" in out
        assert out.endswith("x")
        with open(os.path.join(d, "f")) as f:
            assert f.read() == "x"
        assert "ro" in container_mounts(hull, b)["/mnt"]["opts"]


def test_bind_mount_type_none_with_bind_option(hull, bundle):
    # runc and the spec treat {"type": "none", "options": ["bind"]} as a bind.
    with host_dir(f="none-type\n") as d:
        b = bundle()
        add_mount(b, "/mnt", "none", d, ["rbind"])
        assert inside(hull, b, "cat /mnt/f") == "none-type\n"


def test_bind_source_missing_fails(hull, bundle):
    b = bundle(["true"])
    add_mount(b, "/mnt", "bind", "/nonexistent/hull-test-missing", ["rbind"])
    p = hull.run(b)
    assert p.returncode != 0
    if hull.is_hull:
        assert "/nonexistent/hull-test-missing" in p.stderr
    assert hull.list() == []


# ---- mount flags -------------------------------------------------------------


def test_nosuid_nodev_noexec(hull, bundle):
    b = bundle()
    add_mount(b, "/mnt", "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec", "size=4m"])
    add_mount(b, "/exec", "tmpfs", "tmpfs", ["size=4m"])
    m = container_mounts(hull, b)
    assert {"nosuid", "nodev", "noexec"} <= m["/mnt"]["opts"]
    assert not {"nosuid", "nodev", "noexec"} & m["/exec"]["opts"]
    out = inside(
        hull,
        b,
        "cp /bin/busybox /mnt/echo; cp /bin/busybox /exec/echo; "
        "/mnt/echo fails 2>&1; echo rc=$?; /exec/echo runs",
    )
    lines = out.splitlines()
    assert "Permission denied" in out
    assert "rc=126" in lines
    assert lines[-1] == "runs"


@pytest.mark.parametrize(
    "option,present,absent",
    [
        ("noatime", {"noatime"}, {"relatime"}),
        ("strictatime", set(), {"relatime", "noatime"}),
        ("relatime", {"relatime"}, {"noatime"}),
        ("nodiratime", {"nodiratime"}, set()),
    ],
)
def test_atime_options(hull, bundle, option, present, absent):
    b = bundle()
    add_mount(b, "/mnt", "tmpfs", "tmpfs", [option, "size=1m"])
    opts = container_mounts(hull, b)["/mnt"]["opts"]
    assert present <= opts and not (absent & opts), opts


def test_mount_propagation_flags(hull, bundle):
    with host_dir() as d:
        subprocess.run(["mount", "--bind", d, d], check=True)
        subprocess.run(["mount", "--make-shared", d], check=True)
        b = bundle()
        add_mount(b, "/mnt/shared", "tmpfs", "tmpfs", ["size=1m", "shared"])
        add_mount(b, "/mnt/private", "tmpfs", "tmpfs", ["size=1m", "private"])
        add_mount(b, "/mnt/slave", "bind", d, ["rbind", "rslave"])
        add_mount(b, "/mnt/rprivate", "bind", d, ["rbind", "rprivate"])
        m = container_mounts(hull, b)

        def tags(p):
            return {o.split(":")[0] for o in m[p]["optional"]}

        assert "shared" in tags("/mnt/shared")
        assert tags("/mnt/private") == set()
        assert tags("/mnt/slave") == {"master"}
        assert tags("/mnt/rprivate") == set()


def test_tmpfs_size_and_mode(hull, bundle):
    b = bundle()
    add_mount(b, "/mnt", "tmpfs", "tmpfs", ["size=1m", "mode=1777"])
    out = inside(hull, b, "df -k /mnt | tail -n 1; stat -c '%a %F' /mnt")
    df, st = out.splitlines()
    assert df.split()[1] == "1024", df
    assert st == "1777 directory"
    m = container_mounts(hull, b)["/mnt"]
    assert m["fstype"] == "tmpfs"
    # (tmpfs shows no mode= for its default 1777)
    assert "size=1024k" in m["super"], m


def test_mount_creates_missing_destination(hull, bundle):
    b = bundle()
    add_mount(b, "/a/b/c", "tmpfs", "tmpfs", ["size=1m"])
    assert "/a/b/c" in container_mounts(hull, b)
    # Created in the bundle's rootfs (the root is read-only only inside).
    assert os.path.isdir(os.path.join(b.rootfs, "a/b/c"))


def test_mounts_apply_in_order(hull, bundle):
    with host_dir(f="lower\n") as d:
        b = bundle()
        add_mount(b, "/mnt", "tmpfs", "tmpfs", ["size=1m"])
        add_mount(b, "/mnt/inner", "bind", d, ["rbind"])
        assert inside(hull, b, "cat /mnt/inner/f") == "lower\n"


def test_proc_and_sysfs(hull, bundle):
    m = container_mounts(hull, bundle())
    assert m["/proc"]["fstype"] == "proc"
    assert m["/sys"]["fstype"] == "sysfs"
    assert "ro" in m["/sys"]["opts"]
    assert {"nosuid", "nodev", "noexec"} <= m["/sys"]["opts"]


# ---- masked and read-only paths ---------------------------------------------


@pytest.mark.parametrize("path", ["/proc/kcore", "/proc/keys", "/proc/timer_list"])
def test_masked_file_is_dev_null_like(hull, bundle, path):
    if not os.path.isfile(path):
        pytest.skip(f"this kernel has no {path}")
    b = bundle()
    assert path in b.config["linux"]["maskedPaths"]
    out = inside(hull, b, f"wc -c < {path}; stat -c '%F %t:%T' {path}")
    size, kind = out.splitlines()
    assert size.strip() == "0"
    assert kind == "character special file 1:3"


def test_masked_directory_is_empty(hull, bundle):
    b = bundle()
    secret = os.path.join(b.rootfs, "secret")
    os.mkdir(secret)
    with open(os.path.join(secret, "key"), "w") as f:
        f.write("hidden")
    b.config["linux"]["maskedPaths"].append("/secret")
    out = inside(hull, b, "ls -A /secret | wc -l; cat /secret/key 2>&1; (echo > /secret/new) 2>&1; true")
    lines = out.splitlines()
    assert lines[0].strip() == "0"
    assert "hidden" not in out
    assert "No such file" in out
    assert "Read-only file system" in out
    # The host's copy is untouched.
    with open(os.path.join(secret, "key")) as f:
        assert f.read() == "hidden"


def test_masked_path_missing_is_ignored(hull, bundle):
    b = bundle(["true"])
    b.config["linux"]["maskedPaths"].append("/does/not/exist")
    assert hull.run(b).returncode == 0


def test_readonly_paths(hull, bundle):
    b = bundle()
    assert "/proc/sys" in b.config["linux"]["readonlyPaths"]
    # kernel.hostname is per uts namespace: a write would be harmless, but
    # /proc/sys is read-only.
    out = inside(hull, b, "(echo x > /proc/sys/kernel/hostname) 2>&1; echo rc=$?; hostname")
    assert "Read-only file system" in out
    assert out.splitlines()[-2:] == ["rc=1", "runc"]
    m = container_mounts(hull, b)
    assert "ro" in m["/proc/sys"]["opts"]
    # /proc itself stays writable (readonly paths are bind mounts over it).
    assert "rw" in m["/proc"]["opts"]


def test_readonly_path_directory_of_rootfs(hull, bundle):
    b = bundle(readonly=False)
    os.mkdir(os.path.join(b.rootfs, "data"))
    b.config["linux"]["readonlyPaths"].append("/data")
    out = inside(hull, b, "touch /data/x 2>&1; echo rc=$?; touch /ok; echo rc=$?")
    assert "Read-only file system" in out
    assert out.splitlines()[-2:] == ["rc=1", "rc=0"]
