"""A several-layer image made with umoci (files, a symlink, a hard link, a setuid file owned by
12:34, then a deleted file and a directory replaced, which umoci writes as whiteouts), pushed
with skopeo to the TLS + htpasswd registry, pulled by hull with credentials, and its tree as
hull stacks it compared with the tree podman unpacks from the same image."""

import json
import os
import shutil
import sys
import tarfile

import pytest

import helpers
from registry_fixtures import (  # noqa: F401
    PASSWORD,
    USER,
    busybox_layout,
    henv,
    test_ca,
    tls_auth_registry,
)
from registry_helpers import run, skopeo_push
from tree_compare import stacked_tree, tree

sys.path.insert(0, str(helpers.REPO / "tests" / "integration" / "engines"))
from engine_harness import Podman, cgroup_parent, existing_host_dirs, finish_teardown, make_root  # noqa: E402,E501


def umoci(*args):
    p = run(["umoci", *map(str, args)])
    assert p.returncode == 0, p.stderr


@pytest.fixture(scope="module")
def layered_layout(busybox_layout, tmp_path_factory):
    d = tmp_path_factory.mktemp("umoci")
    layout, bundle = d / "layout", d / "bundle"
    shutil.copytree(busybox_layout, layout)
    img = f"{layout}:latest"
    umoci("unpack", "--image", img, bundle)
    root = bundle / "rootfs"
    (root / "srv" / "dir").mkdir(parents=True)
    (root / "srv" / "dir" / "a").write_text("a\n")
    (root / "srv" / "keep").write_text("keep\n")
    (root / "srv" / "gone").write_text("gone\n")
    os.symlink("keep", root / "srv" / "sym")
    os.link(root / "srv" / "keep", root / "srv" / "hard")
    (root / "srv" / "suid").write_text("#!/bin/sh\n")
    os.chown(root / "srv" / "suid", 12, 34)
    os.chmod(root / "srv" / "suid", 0o4755)
    umoci("repack", "--image", img, bundle)
    # a bundle repacks against the image it was unpacked from: unpack the new one
    shutil.rmtree(bundle)
    umoci("unpack", "--image", img, bundle)
    (root / "srv" / "gone").unlink()
    shutil.rmtree(root / "srv" / "dir")
    (root / "srv" / "dir").mkdir()
    (root / "srv" / "dir" / "new").write_text("new\n")
    umoci("repack", "--image", img, bundle)
    umoci("gc", "--layout", layout)
    yield layout
    shutil.rmtree(bundle, ignore_errors=True)


def layer_names(layout):
    blobs = layout / "blobs" / "sha256"
    top = json.loads((layout / "index.json").read_text())
    m = json.loads((blobs / top["manifests"][0]["digest"].split(":")[1]).read_text())
    out = []
    for l in m["layers"]:
        with tarfile.open(blobs / l["digest"].split(":")[1]) as t:
            out.append(t.getnames())
    return out


def test_umoci_layers_pulled_match_podman(henv, tls_auth_registry, layered_layout, tmp_path):
    reg = tls_auth_registry
    layers = layer_names(layered_layout)
    assert len(layers) == 3
    assert any(n.endswith(".wh.gone") for n in layers[2]), layers[2]
    certs = tmp_path / "push-certs"
    certs.mkdir()
    shutil.copy(reg.ca.cert, certs / "ca.crt")
    skopeo_push(f"oci:{layered_layout}:latest", f"{reg.addr}/layered:1", tls_verify=True,
                cert_dir=certs, creds=f"{USER}:{PASSWORD}")
    henv.trust(reg)
    p = henv.hull("login", "-u", USER, "--password-stdin", reg.addr, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    p = henv.hull("image", "pull", "-q", f"{reg.addr}/layered:1")
    assert p.returncode == 0, p.stderr
    digest = henv.pulled_digest(p)
    img = [i for i in json.loads(henv.hull("image", "list", "--format", "json").stdout)
           if i.get("digest") == digest][0]
    ours = tmp_path / "ours"
    ours.mkdir()
    mine = stacked_tree(henv.state / "images" / "layers", img["layers"], ours)
    assert "srv/gone" not in mine and "srv/dir/a" not in mine and "srv/dir/new" in mine
    assert mine["srv/suid"][1:4] == ("0o4755", 12, 34)

    if not shutil.which("podman"):
        pytest.skip("podman not installed")
    host_before = existing_host_dirs()
    root = make_root("um")
    eng, problems = None, []
    try:
        eng = Podman(root, shutil.which("runc") or "runc")
        eng.cgroup_parent = cgroup_parent("um")
        eng("pull", f"oci:{layered_layout}:latest")
        mnt = eng("image", "mount", f"oci:{layered_layout}:latest", check=False)
        if mnt.returncode != 0:
            listing = json.loads(eng("images", "--format", "json").stdout)
            mnt = eng("image", "mount", listing[0]["Id"])
        try:
            theirs = tree(mnt.stdout.strip())
        finally:
            eng("image", "unmount", "--all", check=False)
    finally:
        if eng is not None:
            problems += eng.teardown()
        problems = finish_teardown(root, cgroup_parent("um"), host_before, problems)
    assert not problems, problems
    diff = {k: (mine.get(k), theirs.get(k)) for k in set(mine) | set(theirs)
            if mine.get(k) != theirs.get(k)}
    assert diff == {}
