"""hull image import|list|show|delete|alias|build, and the state directory."""

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from sysharness import HULL_BIN, Hull, leftovers


def fingerprints(h):
    return [i["fingerprint"] for i in json.loads(h("image", "list", "--format", "json").stdout)]


def store_entries(h):
    """Everything in the image store but its lock file."""
    d = h.state_dir / "images"
    return sorted(e.name for e in d.iterdir() if e.name != ".lock") if d.exists() else []


def test_state_dir_from_env(tmp_path):
    """HULL_DIR moves all state; --state-dir wins over it."""
    env_dir = tmp_path / "from-env"
    p = subprocess.run([str(HULL_BIN), "image", "list"], capture_output=True, text=True,
                       env={**os.environ, "HULL_DIR": str(env_dir)}, timeout=30)
    assert p.returncode == 0, p.stderr
    for sub in ("images", "instances", "run"):
        assert (env_dir / sub).is_dir()
    assert oct((env_dir / "instances").stat().st_mode & 0o777) == "0o711"
    flag_dir = tmp_path / "from-flag"
    p = subprocess.run([str(HULL_BIN), "--state-dir", str(flag_dir), "list"],
                       capture_output=True, text=True, timeout=30,
                       env={**os.environ, "HULL_DIR": str(env_dir / "unused")})
    assert p.returncode == 0, p.stderr
    assert (flag_dir / "instances").is_dir()
    assert not (env_dir / "unused").exists()


@pytest.mark.parametrize("compression", ["", "gz", "xz", "zst"])
def test_import_compressions(hullsys, busybox_tar, tmp_path, compression):
    src = busybox_tar
    if compression == "gz":
        src = tmp_path / "bb.tar.gz"
        subprocess.run(f"gzip -c {busybox_tar} > {src}", shell=True, check=True)
    elif compression == "xz":
        src = tmp_path / "bb.tar.xz"
        subprocess.run(f"xz -T1 -c {busybox_tar} > {src}", shell=True, check=True)
    elif compression == "zst":
        src = tmp_path / "bb.tar.zst"
        subprocess.run(["zstd", "-q", "-o", str(src), str(busybox_tar)], check=True)
    p = hullsys("image", "import", src, "--alias", "bb")
    fp = p.stdout.strip()
    assert len(fp) == 64
    rootfs = hullsys.state_dir / "images" / fp / "rootfs"
    assert (rootfs / "bin" / "busybox").stat().st_size == Path("/bin/busybox").stat().st_size
    assert os.readlink(rootfs / "bin" / "sh") == os.readlink(
        Path(__file__).resolve().parents[3] / ".cache" / "busybox-rootfs" / "bin" / "sh")
    show = json.loads(hullsys("image", "show", "bb").stdout)
    assert show["fingerprint"] == fp and show["aliases"] == ["bb"]
    assert show["size"] == src.stat().st_size


def test_import_list_alias_delete(hullsys, busybox_tar):
    fp = hullsys("image", "import", busybox_tar, "--alias", "bb/1").stdout.strip()
    # importing the same tarball again unpacks nothing new and only adds the alias
    assert hullsys("image", "import", busybox_tar, "--alias", "bb/2").stdout.strip() == fp
    assert fingerprints(hullsys) == [fp]
    hullsys("image", "alias", "third", fp[:12])
    img = json.loads(hullsys("image", "list", "--format", "json").stdout)[0]
    assert img["aliases"] == ["bb/1", "bb/2", "third"]
    assert fp[:12] in hullsys("image", "list").stdout
    hullsys("image", "alias", "--delete", "bb/2")
    p = hullsys("image", "show", "bb/2", check=False)
    assert p.returncode != 0 and p.stderr.strip() == "hull: unknown image 'bb/2'"
    hullsys("image", "delete", "bb/1")
    assert fingerprints(hullsys) == []
    assert store_entries(hullsys) == ["aliases.json"]
    assert json.loads((hullsys.state_dir / "images" / "aliases.json").read_text()) == {}


def test_image_errors(hullsys, busybox_tar, tmp_path):
    cases = [
        (("image", "show", "nope"), "hull: unknown image 'nope'"),
        (("image", "delete", "nope"), "hull: unknown image 'nope'"),
        (("image", "import", busybox_tar, "--alias", "../x"), "alias '../x'"),
        (("image", "import", tmp_path / "missing.tar"), "No such file or directory"),
        (("image", "import", tmp_path), "not a regular file"),
        (("image", "build", "plan9/4"), "unknown distribution"),
        (("image", "frobnicate"), "unknown subcommand 'frobnicate'"),
    ]
    for args, msg in cases:
        p = hullsys(*args, check=False)
        assert p.returncode != 0, args
        assert msg in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"\x01" * 4096)
    p = hullsys("image", "import", garbage, check=False)
    assert p.returncode != 0 and "read archive" in p.stderr
    assert store_entries(hullsys) == []


def test_image_in_use_is_not_deleted(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    from sysharness import new_name
    name = new_name("img")
    hullsys("init", "bb", name)
    p = hullsys("image", "delete", "bb", check=False)
    assert p.returncode != 0
    assert p.stderr.strip() == f"hull: image 'bb' is used by instance '{name}'"
    hullsys("delete", name)
    hullsys("image", "delete", "bb")


# ---- hostile tarballs ----------------------------------------------------


def _tar(path, members):
    """members: list of (TarInfo, bytes or None)."""
    with tarfile.open(path, "w") as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)


def _file(name, data=b"pwned\n"):
    i = tarfile.TarInfo(name)
    i.size = len(data)
    return i, data


def _dir(name):
    i = tarfile.TarInfo(name)
    i.type = tarfile.DIRTYPE
    i.mode = 0o755
    return i, None


def _symlink(name, target):
    i = tarfile.TarInfo(name)
    i.type = tarfile.SYMTYPE
    i.linkname = target
    return i, None


def _hardlink(name, target):
    i = tarfile.TarInfo(name)
    i.type = tarfile.LNKTYPE
    i.linkname = target
    return i, None


def _chardev(name):
    i = tarfile.TarInfo(name)
    i.type = tarfile.CHRTYPE
    i.devmajor, i.devminor = 1, 3
    return i, None


def _expect_refused(h, tarball, entry, why):
    p = h("image", "import", tarball, "--alias", "evil", check=False)
    assert p.returncode != 0, p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert f"entry '{entry}'" in lines[0] and why in lines[0], lines[0]
    # refused whole: no image, no alias, no temp dir
    assert store_entries(h) == [], store_entries(h)


def test_hostile_dotdot(hullsys, tmp_path):
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    depth = "../" * 12
    rel = depth + str(victim_dir / "pwned").lstrip("/")
    t = tmp_path / "dotdot.tar"
    _tar(t, [_dir("./"), _file("./ok"), _file(rel)])
    _expect_refused(hullsys, t, rel, "'..' in the path")
    assert not (victim_dir / "pwned").exists()


def test_hostile_absolute(hullsys, tmp_path):
    victim = tmp_path / "abs-pwned"
    t = tmp_path / "abs.tar"
    _tar(t, [_file(str(victim))])
    _expect_refused(hullsys, t, str(victim), "absolute path")
    assert not victim.exists()


def test_hostile_symlink_then_through(hullsys, tmp_path):
    """An absolute symlink to a host dir, then an entry through it."""
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    t = tmp_path / "through.tar"
    _tar(t, [_dir("./"), _symlink("./etc", str(victim_dir)), _file("./etc/pwned")])
    _expect_refused(hullsys, t, "./etc/pwned", "goes through a symlink")
    assert list(victim_dir.iterdir()) == []


def test_hostile_relative_symlink_escape(hullsys, tmp_path):
    """A relative symlink climbing out, then a directory entry through it."""
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    t = tmp_path / "rel.tar"
    up = "../" * 12 + str(victim_dir).lstrip("/")
    _tar(t, [_symlink("d", up), _dir("d/sub"), _file("d/sub/pwned")])
    _expect_refused(hullsys, t, "d/sub/", "goes through a symlink")
    assert list(victim_dir.iterdir()) == []


def test_hostile_hardlink_out(hullsys, tmp_path):
    victim = tmp_path / "secret"
    victim.write_text("host secret\n")
    before = victim.stat().st_nlink
    t = tmp_path / "hard.tar"
    target = "../" * 12 + str(victim).lstrip("/")
    _tar(t, [_dir("./"), _hardlink("./stolen", target)])
    _expect_refused(hullsys, t, "./stolen", "hard link target leaves the image root")
    assert victim.stat().st_nlink == before
    # an absolute target is refused the same way
    t2 = tmp_path / "hard2.tar"
    _tar(t2, [_hardlink("stolen", str(victim))])
    _expect_refused(hullsys, t2, "stolen", "hard link target leaves the image root")
    assert victim.stat().st_nlink == before


def test_hostile_hardlink_through_symlink(hullsys, tmp_path):
    victim = tmp_path / "secret"
    victim.write_text("host secret\n")
    before = victim.stat().st_nlink
    t = tmp_path / "hard3.tar"
    _tar(t, [_symlink("s", str(tmp_path)), _hardlink("stolen", "s/secret")])
    _expect_refused(hullsys, t, "stolen", "hard link target")
    assert victim.stat().st_nlink == before


def test_hostile_device_node(hullsys, tmp_path):
    t = tmp_path / "dev.tar"
    _tar(t, [_dir("dev"), _chardev("dev/mem")])
    _expect_refused(hullsys, t, "dev/mem", "device nodes are refused")


# ---- debootstrap builds ----------------------------------------------------


def test_build_debian_cached(debian_cache):
    """The Debian 12 image: minbase + systemd-sysv, dbus, iproute2, a DHCP client, a
    locale; a second build is the cached image (no rebuild unless asked)."""
    state, fp = debian_cache
    h = Hull(state)
    p = h("image", "build", "debian/12", timeout=60)
    assert p.stdout.strip() == fp
    img = json.loads(h("image", "show", "debian/12").stdout)
    assert img["fingerprint"] == fp and img["source"] == "build:debian/12"
    root = state / "images" / fp / "rootfs"
    for f in ("lib/systemd/systemd", "usr/bin/dbus-daemon", "bin/ip", "sbin/dhclient",
              "sbin/ifup", "usr/lib/locale/locale-archive"):
        assert (root / f).exists(), f
    assert os.readlink(root / "sbin" / "init").endswith("systemd")
    assert "LANG=en_US.UTF-8" in (root / "etc/default/locale").read_text()
    # no device nodes in an unprivileged image
    assert list((root / "dev").iterdir()) == []
    assert not list(state.glob("images/.tmp-*"))
    assert leftovers(state) == []
