"""The OCI image store: import/export of docker-archive and oci-archive tarballs (the
busybox images skopeo/umoci write), names, inspect, tag, delete, prune, concurrency."""

import json
import subprocess
import threading

from store_fixtures import bb, hs, name  # noqa: F401


def test_import_both_archive_kinds_share_the_layer(hs, bb):
    p = hs("image", "import", bb["docker"])
    assert "localhost/busybox:latest" in p.stdout
    hs("image", "import", bb["oci"], "--name", "bb-oci")
    imgs = {i["names"][0]: i for i in hs.images()}
    assert set(imgs) == {"localhost/busybox:latest", "localhost/bb-oci:latest"}
    # one config (the image ID), one layer unpacked once, for both
    assert imgs["localhost/busybox:latest"]["id"] == imgs["localhost/bb-oci:latest"]["id"]
    assert imgs["localhost/busybox:latest"]["layers"] == imgs["localhost/bb-oci:latest"]["layers"]
    layers = sorted(e.name for e in (hs.path / "images" / "layers").iterdir())
    assert layers == [imgs["localhost/busybox:latest"]["layers"][0][7:]]
    table = hs("image", "list").stdout
    assert "localhost/busybox:latest" in table and "oci" in table
    assert not list((hs.path / "images").glob("**/.tmp-*"))


def test_inspect_tag_untag_delete_prune(hs, bb):
    hs("image", "import", bb["docker"])
    cfg = json.loads(hs("image", "inspect", "busybox").stdout)
    assert cfg["config"]["Cmd"] == ["sh"] and cfg["rootfs"]["type"] == "layers"
    hs("image", "tag", "busybox", "example.com/team/bb:1.0", "other")
    names = hs.images()[0]["names"]
    assert names == ["example.com/team/bb:1.0", "localhost/busybox:latest",
                     "localhost/other:latest"]
    # short names, full names and ID prefixes find it
    img_id = hs.images()[0]["id"]
    for ref in ("bb:1.0", "team/bb:1.0", "other", "localhost/other:latest", img_id[:12]):
        assert json.loads(hs("image", "inspect", ref).stdout)["os"] == "linux", ref
    hs("image", "untag", "other")
    assert "localhost/other:latest" not in hs.images()[0]["names"]
    assert hs.error("image", "inspect", "nosuch") == "hull: unknown image 'nosuch'"
    blobs = hs.path / "images" / "blobs" / "sha256"
    assert len(list(blobs.iterdir())) >= 3
    # one name of several: only the name goes (podman rmi); by ID: the image
    hs("image", "delete", "busybox")
    assert hs.images()[0]["names"] == ["example.com/team/bb:1.0"]
    hs("image", "delete", img_id[:12])
    assert hs.images() == []
    # blobs and layers wait for prune
    assert list(blobs.iterdir())
    out = hs("image", "prune").stdout
    assert out.startswith("freed ") and int(out.split()[1]) > 0
    assert list(blobs.iterdir()) == []
    assert list((hs.path / "images" / "layers").iterdir()) == []


def test_export_round_trips_through_skopeo(hs, bb, tmp_path):
    hs("image", "import", bb["oci"], "--name", "bb")
    orig = hs.images()[0]
    for fmt, scheme in (("docker-archive", "docker-archive"), ("oci-archive", "oci-archive")):
        out = tmp_path / f"bb-{fmt}.tar"
        hs("image", "export", "bb", "-o", out, "--format", fmt)
        # a real third-party reader accepts it and sees the same image config
        p = subprocess.run(["skopeo", "inspect", "--config", f"{scheme}:{out}"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["rootfs"]["diff_ids"] == orig["layers"]
        # and it comes back into a fresh store as the same image
        other = type(hs)(tmp_path / f"state-{fmt}")
        other("image", "import", out)
        back = other.images()[0]
        assert back["id"] == orig["id"] and back["layers"] == orig["layers"]
        assert "localhost/bb:latest" in back["names"]


def test_concurrent_imports_of_one_archive(hs, bb):
    hs("image", "list")  # the state dir exists before the race
    results = []

    def imp():
        results.append(hs("image", "import", bb["docker"], check=False))

    ts = [threading.Thread(target=imp) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(p.returncode == 0 for p in results), [p.stderr for p in results]
    assert len(hs.images()) == 1
    assert len(list((hs.path / "images" / "layers").iterdir())) == 1
    assert not list((hs.path / "images").glob("**/.tmp-*"))


def test_import_errors_leave_nothing(hs, bb, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    line = hs.error("image", "import", junk, "--format", "oci-archive")
    assert "junk.tar" in line
    line = hs.error("image", "import", tmp_path / "missing.tar")
    assert "missing.tar" in line and "No such file" in line
    assert hs.images() == []


def test_delete_refuses_an_image_a_container_uses(hs, bb):
    hs("image", "import", bb["docker"])
    n = name("inuse")
    hs("run", "-d", "--name", n, "busybox", "sleep", "60")
    line = hs.error("image", "delete", "busybox")
    assert f"used by container '{n}'" in line
    hs("image", "prune", "--all")  # the running container keeps its (named) image
    assert len(hs.images()) == 1
    hs("image", "delete", "--force", "busybox")
    assert hs.images() == []
    # its layers stay while the container runs on them: prune keeps what containers use
    hs("image", "prune")
    assert len(list((hs.path / "images" / "layers").iterdir())) == 1
    hs("delete", "--force", n)
    hs("image", "prune")
    assert list((hs.path / "images" / "layers").iterdir()) == []
    assert list((hs.path / "images" / "blobs" / "sha256").iterdir()) == []
