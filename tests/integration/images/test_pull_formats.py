"""Manifest and layer formats through a real registry: OCI with gzip, zstd and uncompressed
layers, and Docker schema 2 (skopeo converts on push); each is pulled and run."""

import gzip
import hashlib
import json
import os
import shutil
import urllib.request

import pytest

from registry_fixtures import busybox_layout, fresh_registry, henv  # noqa: F401
from registry_helpers import run, skopeo_push


def push_layout(reg, layout, repo, tag):
    """Pushes an OCI layout's image as it is, through the Distribution API (skopeo would
    recompress plain layers, and reuse blobs it knows in other formats)."""
    blobs = layout / "blobs" / "sha256"
    md = json.loads((layout / "index.json").read_text())["manifests"][0]
    mbytes = (blobs / md["digest"][7:]).read_bytes()
    m = json.loads(mbytes)
    for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
        r = urllib.request.urlopen(urllib.request.Request(
            f"http://{reg.addr}/v2/{repo}/blobs/uploads/", data=b"", method="POST"), timeout=30)
        loc = r.headers["Location"]
        url = loc if loc.startswith("http") else f"http://{reg.addr}{loc}"
        url += ("&" if "?" in url else "?") + "digest=" + d
        urllib.request.urlopen(urllib.request.Request(
            url, data=(blobs / d[7:]).read_bytes(), method="PUT",
            headers={"Content-Type": "application/octet-stream"}), timeout=30)
    urllib.request.urlopen(urllib.request.Request(
        f"http://{reg.addr}/v2/{repo}/manifests/{tag}", data=mbytes, method="PUT",
        headers={"Content-Type": md["mediaType"]}), timeout=30)


def uncompressed_layout(src, dest):
    """A copy of the OCI layout whose layers are plain tar (media type ...layer.v1.tar)."""
    shutil.copytree(src, dest)
    blobs = dest / "blobs" / "sha256"
    top = json.loads((dest / "index.json").read_text())
    mdesc = top["manifests"][0]
    m = json.loads((blobs / mdesc["digest"][7:]).read_text())
    for layer in m["layers"]:
        tar = gzip.decompress((blobs / layer["digest"][7:]).read_bytes())
        d = hashlib.sha256(tar).hexdigest()
        (blobs / d).write_bytes(tar)
        layer.update(mediaType="application/vnd.oci.image.layer.v1.tar",
                     digest="sha256:" + d, size=len(tar))
    data = json.dumps(m).encode()
    d = hashlib.sha256(data).hexdigest()
    (blobs / d).write_bytes(data)
    mdesc.update(digest="sha256:" + d, size=len(data))
    (dest / "index.json").write_text(json.dumps(top))


@pytest.mark.parametrize("fmt,layer_type", [
    ("gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
    ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
    ("uncompressed", "application/vnd.oci.image.layer.v1.tar"),
    ("docker", "application/vnd.docker.image.rootfs.diff.tar.gzip"),
])
def test_pull_and_run_each_format(henv, fresh_registry, busybox_layout, tmp_path, fmt, layer_type):
    reg = fresh_registry
    env = dict(os.environ, REGISTRY_AUTH_FILE="/nonexistent/hull-test-auth.json")
    if fmt == "gzip":
        push_layout(reg, busybox_layout, "bb", fmt)
    elif fmt == "zstd":
        run(["skopeo", "copy", "--quiet", "--dest-compress-format", "zstd",
             f"oci:{busybox_layout}:latest", f"oci:{tmp_path / 'zstd'}:latest"], env=env, check=True)
        push_layout(reg, tmp_path / "zstd", "bb", fmt)
    elif fmt == "uncompressed":
        uncompressed_layout(busybox_layout, tmp_path / "plain")
        push_layout(reg, tmp_path / "plain", "bb", fmt)
    else:
        run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--format", "v2s2",
             f"oci:{busybox_layout}:latest", f"docker://{reg.addr}/bb:{fmt}"], env=env, check=True)
    req = urllib.request.Request(
        f"http://{reg.addr}/v2/bb/manifests/{fmt}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                           "application/vnd.docker.distribution.manifest.v2+json"})
    m = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert [l["mediaType"] for l in m["layers"]] == [layer_type]

    p = henv.hull("image", "pull", "-q", "--tls-verify=false", f"{reg.addr}/bb:{fmt}")
    assert p.returncode == 0, p.stderr
    assert henv.has_blob(m["layers"][0]["digest"])
    henv.registries_conf.write_text(f'[[registry]]\nlocation = "{reg.addr}"\ninsecure = true\n')
    p = henv.hull("run", "--rm", "--pull", "never", f"{reg.addr}/bb:{fmt}", "sh", "-c",
                  "echo $0 ok", fmt)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{fmt} ok\n"
    assert henv.hull("image", "delete", f"{reg.addr}/bb:{fmt}").returncode == 0
