"""Layers: gzip, zstd and plain; whiteouts and opaque directories as overlayfs sees them
(and the flattened fallback); symlinks, hard links, setuid kept; hostile layers refused
with one line naming the entry, leaving nothing; digests checked."""

import os
import stat

import pytest

from store_fixtures import D, F, H, L, bb, hs, make_image, name  # noqa: F401

LAYERS = [
    ([D("a"), F("a/x", "x1"), F("a/y", "y1\n"), D("d"), F("d/old", "old"), D("s"),
      F("s/real", "real\n"), L("s/link", "real"), H("s/hard", "s/real"),
      F("gone", "g")], "gzip"),
    ([F("a/.wh.x"), D("d"), F("d/.wh..wh..opq"), F("d/new", "new\n"), F(".wh.gone")], "zstd"),
    ([F("bin/suid-thing", "#!/bin/sh\n", mode=0o4755), F("a/z", "z3", uid=1000, gid=100,
                                                          xattrs={"user.note": "kept"})],
     None),
]

# what a user sees in the container: the merged tree
SCRIPT = ("cd /; ls a d; cat a/y d/new s/link; test -e a/x || echo no-x; "
          "test -e d/old || echo no-old; test -e gone || echo no-gone; "
          "stat -c '%a %u %g %h' bin/suid-thing a/z s/real")
EXPECT = ["a:", "y", "z", "", "d:", "new", "y1", "new", "real", "no-x", "no-old", "no-gone",
          "4755 0 0 1", "644 1000 100 1", "644 0 0 2"]


@pytest.fixture
def layered(hs, bb, tmp_path):
    out = tmp_path / "layered.tar"
    make_image(out, LAYERS, ref="localhost/layered:1", base=bb["rootfs"])
    hs("image", "import", out)
    return hs


def merged_lines(hs, env=None):
    p = hs("run", "--rm", "layered:1", "sh", "-c", SCRIPT, env=env)
    return [w for l in p.stdout.splitlines() for w in (l.split("  ") if "  " in l else [l])]


def test_overlay_stack_applies_whiteouts(layered):
    hs = layered
    assert merged_lines(hs) == EXPECT
    # each layer unpacked once, whiteouts in overlayfs form
    layers = hs.path / "images" / "layers"
    img = hs.images()[0]
    l2 = layers / img["layers"][2][7:]
    wh = os.lstat(l2 / "a" / "x")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(l2 / "d", "trusted.overlay.opaque") == b"y"
    assert not (l2 / "a" / ".wh.x").exists()
    # xattrs of the tar entries are kept
    assert os.getxattr(layers / img["layers"][3][7:] / "a" / "z", "user.note") == b"kept"


def test_flattened_fallback_gives_the_same_tree(layered):
    assert merged_lines(layered, env={"HULL_APP_FLATTEN": "1"}) == EXPECT


def test_changes_stay_in_the_container(layered):
    hs = layered
    n = name("chg")
    hs("run", "--name", n, "layered:1", "sh", "-c", "echo changed > /a/y; rm /d/new")
    # the shared layer is untouched; a new container sees the image as it was
    assert merged_lines(hs) == EXPECT
    hs("delete", n)


@pytest.mark.parametrize("entries,why", [
    ([F("../evil", "x")], "'..' in the path"),
    ([F("/abs", "x")], "absolute path"),
    ([L("l", "/tmp"), F("l/through", "x")], "goes through a symlink"),
    ([H("h", "../../../etc/passwd")], "hard link target leaves the image root"),
    ([F("a/.wh...", "x")], "bad whiteout name"),
    ([D("o", xattrs={"trusted.overlay.opaque": "y"})], "overlayfs xattrs are refused"),
    ([F("o", "x", xattrs={"user.overlay.redirect": "/etc"})], "overlayfs xattrs are refused"),
])
def test_hostile_layer_refused(hs, tmp_path, entries, why):
    out = tmp_path / "hostile.tar"
    make_image(out, [([D("a")] + entries, "gzip")], ref="localhost/hostile:1")
    line = hs.error("image", "import", out)
    assert why in line and "entry '" in line, line
    assert hs.images() == []
    assert list((hs.path / "images" / "layers").iterdir()) == []
    assert not os.path.exists("/evil") and not os.path.exists("/tmp/through")


def test_diff_id_mismatch_refused(hs, tmp_path):
    out = tmp_path / "baddiff.tar"
    make_image(out, [([F("f", "x")], "gzip")], bad_diff_id=True)
    line = hs.error("image", "import", out)
    assert "does not match the config's diff_id" in line
    assert hs.images() == [] and list((hs.path / "images" / "layers").iterdir()) == []


def test_corrupted_blob_refused(hs, tmp_path):
    out = tmp_path / "corrupt.tar"
    make_image(out, [([F("f", "x" * 1000)], None)], corrupt_layer=0)
    line = hs.error("image", "import", out)
    assert "digest mismatch" in line
    assert hs.images() == []
    blobs = hs.path / "images" / "blobs" / "sha256"
    assert not [b for b in blobs.iterdir() if b.name.startswith(".tmp")]


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../etc/passwd"])
def test_docker_archive_symlink_out_refused(hs, tmp_path, target):
    """A docker-archive whose layer entry is a symlink leaving the archive: the host file
    it names never becomes a layer."""
    import io
    import json
    import tarfile

    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": [
                          "sha256:" + "0" * 64]}}).encode()
    out = tmp_path / "evil-docker.tar"
    with tarfile.open(out, "w") as t:
        def add(n, b):
            ti = tarfile.TarInfo(n)
            ti.size = len(b)
            t.addfile(ti, io.BytesIO(b))
        add("cfg.json", cfg)
        ti = tarfile.TarInfo("x/layer.tar")
        ti.type, ti.linkname = tarfile.SYMTYPE, target
        t.addfile(ti)
        add("manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": ["evil:1"],
                                          "Layers": ["x/layer.tar"]}]).encode())
    line = hs.error("image", "import", out)
    assert "Layers[0]: not found" in line, line
    assert hs.images() == []
