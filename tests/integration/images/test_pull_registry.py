"""hull image pull against a real registry (docker-registry) on loopback, plain HTTP."""

import hashlib
import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest

from registry_fixtures import busybox_layout, fresh_registry, henv, plain_registry  # noqa: F401
from registry_helpers import Registry, free_port, make_multiarch_layout, sha256_file, skopeo_push

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def manifest(reg, repo, ref):
    """(digest, parsed JSON) of a manifest as the registry serves it."""
    req = urllib.request.Request(f"http://{reg.addr}/v2/{repo}/manifests/{ref}",
                                 headers={"Accept": ACCEPT})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return "sha256:" + hashlib.sha256(body).hexdigest(), json.loads(body)


def error_line(p):
    """The one error line of a failed hull (progress lines may precede it)."""
    assert p.returncode != 0, p.stdout
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert len(errs) == 1, p.stderr
    return errs[0]


def no_temp_files(henv):
    if not henv.blobs.is_dir():
        return True
    return not [p.name for p in henv.blobs.iterdir() if p.name.startswith(".")]


def test_pull_by_tag_then_by_digest(henv, plain_registry, busybox_layout):
    digest, m = manifest(plain_registry, "busybox", "latest")
    p = henv.hull("image", "pull", "--tls-verify=false", f"{plain_registry.addr}/busybox:latest")
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == digest
    # every blob of the image is stored, and equals the registry's bytes
    for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
        assert henv.has_blob(d), d
        assert sha256_file(henv.blobs / d.split(":")[1]) == d
        src = Path(busybox_layout) / "blobs" / "sha256" / d.split(":")[1]
        assert (henv.blobs / d.split(":")[1]).read_bytes() == src.read_bytes()
    assert henv.has_blob(digest)
    assert no_temp_files(henv)

    # again, by digest, into an empty store; the registry's access log shows the GETs
    other = henv.tmp / "state2"
    p = henv.hull("image", "pull", "--tls-verify=false",
                  f"{plain_registry.addr}/busybox@{digest}", env={"HULL_DIR": str(other)})
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p, env={"HULL_DIR": str(other)}) == digest
    assert (other / "images/blobs/sha256" / m["layers"][0]["digest"].split(":")[1]).is_file()
    assert f"GET /v2/busybox/manifests/{digest}" in plain_registry.log_text()

    # a second pull finds the blobs stored already
    p = henv.hull("image", "pull", "--tls-verify=false", f"{plain_registry.addr}/busybox")
    assert p.returncode == 0, p.stderr
    assert "exists" in p.stderr


def test_plain_http_needs_tls_verify_false(henv, plain_registry):
    p = henv.hull("image", "pull", f"{plain_registry.addr}/busybox:latest")
    err = error_line(p)
    assert f"registry '{plain_registry.addr}'" in err
    assert "--tls-verify=false" in err
    assert henv.blob_names() == set()


def test_insecure_registry_from_registries_conf_and_short_names(henv, plain_registry):
    digest, _ = manifest(plain_registry, "busybox", "latest")
    henv.registries_conf.write_text(
        f'unqualified-search-registries = ["{plain_registry.addr}"]\n'
        f'[[registry]]\nlocation = "{plain_registry.addr}"\ninsecure = true\n')
    p = henv.hull("image", "pull", "--quiet", "busybox")
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == digest
    names = json.loads(henv.hull("image", "list", "--format", "json").stdout)[0]["names"]
    assert names == [f"{plain_registry.addr}/busybox:latest"]
    assert p.stderr == ""

    # a short name with two search registries is refused, never guessed (enforcing mode)
    henv.registries_conf.write_text(
        f'unqualified-search-registries = ["{plain_registry.addr}", "quay.io"]\n'
        f'[[registry]]\nlocation = "{plain_registry.addr}"\ninsecure = true\n')
    p = henv.hull("image", "pull", "busybox")
    assert p.returncode != 0
    assert "short name 'busybox' is ambiguous" in p.stderr
    assert "quay.io" in p.stderr

    # permissive: tried in order; an unknown name in the first, then the second
    free = f"127.0.0.1:{free_port()}"
    henv.registries_conf.write_text(
        f'unqualified-search-registries = ["{free}", "{plain_registry.addr}"]\n'
        'short-name-mode = "permissive"\n'
        f'[[registry]]\nlocation = "{plain_registry.addr}"\ninsecure = true\n'
        f'[[registry]]\nlocation = "{free}"\ninsecure = true\n')
    p = henv.hull("image", "pull", "-q", "busybox")
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == digest

    # blocked
    henv.registries_conf.write_text(f'[[registry]]\nlocation = "{plain_registry.addr}"\nblocked = true\n')
    p = henv.hull("image", "pull", "--tls-verify=false", f"{plain_registry.addr}/busybox")
    assert p.returncode != 0
    assert f"registry '{plain_registry.addr}' is blocked" in p.stderr


def test_no_search_registry_and_bad_references(henv):
    p = henv.hull("image", "pull", "busybox")
    assert p.returncode != 0
    assert "short name 'busybox': no registry to search" in p.stderr
    for ref, why in [("BusyBox", "repository name must be lowercase"),
                     ("busybox:", "empty tag"),
                     ("busybox@sha256:12", "digest must be 'sha256:' followed by 64 hex")]:
        p = henv.hull("image", "pull", ref)
        assert p.returncode != 0
        assert p.stderr.strip().startswith(f"hull: reference '{ref}': {why}"), p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
    assert henv.blob_names() == set()


def test_unknown_tag(henv, plain_registry):
    p = henv.hull("image", "pull", "--tls-verify=false", f"{plain_registry.addr}/busybox:nope")
    assert p.returncode != 0
    assert "manifest 'busybox:nope': not found" in p.stderr
    p = henv.hull("image", "pull", "--tls-verify=false", f"{plain_registry.addr}/nothere")
    assert p.returncode != 0
    assert "not found" in p.stderr
    assert henv.blob_names() == set()


def test_platform_choice_from_an_index(henv, fresh_registry, busybox_layout, tmp_path):
    digests = make_multiarch_layout(busybox_layout, tmp_path / "multi")
    skopeo_push(f"oci:{tmp_path / 'multi'}:multi", f"{fresh_registry.addr}/multi:1", all_images=True)
    ref = f"{fresh_registry.addr}/multi:1"
    idx_digest, idx = manifest(fresh_registry, "multi", "1")
    assert idx["mediaType"] == "application/vnd.oci.image.index.v1+json"

    p = henv.hull("image", "pull", "--tls-verify=false", ref)
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == digests["linux/amd64"]
    assert henv.has_blob(idx_digest)

    p = henv.hull("image", "pull", "--tls-verify=false", "--platform", "linux/arm64", ref)
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == digests["linux/arm64"]
    _, m = manifest(fresh_registry, "multi", digests["linux/arm64"])
    cfg = json.loads((henv.blobs / m["config"]["digest"].split(":")[1]).read_text())
    assert cfg["architecture"] == "arm64"

    p = henv.hull("image", "pull", "--tls-verify=false", "--platform", "linux/s390x", ref)
    assert p.returncode != 0
    assert "no manifest for platform 'linux/s390x'" in p.stderr
    p = henv.hull("image", "pull", "--tls-verify=false", "--platform", "linux", ref)
    assert p.returncode != 0
    assert "--platform" in p.stderr


def test_corrupted_blob_is_refused_and_nothing_kept(henv, fresh_registry):
    _, m = manifest(fresh_registry, "busybox", "latest")
    layer = m["layers"][0]["digest"]
    path = fresh_registry.blob_path(layer)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))

    p = henv.hull("image", "pull", "--tls-verify=false", f"{fresh_registry.addr}/busybox")
    err = error_line(p)
    assert f"blob '{layer}': digest mismatch" in err
    assert not henv.has_blob(layer)
    assert no_temp_files(henv)


def test_truncated_blob_is_refused_and_nothing_kept(henv, fresh_registry):
    _, m = manifest(fresh_registry, "busybox", "latest")
    layer = m["layers"][0]["digest"]
    path = fresh_registry.blob_path(layer)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])

    p = henv.hull("image", "pull", "--tls-verify=false", f"{fresh_registry.addr}/busybox")
    err = error_line(p)
    assert f"blob '{layer}'" in err and "size mismatch" in err
    assert not henv.has_blob(layer)
    assert no_temp_files(henv)


def test_stopped_registry_fails_naming_its_address(henv, busybox_layout):
    reg = Registry()
    try:
        reg.start()
        addr = reg.addr
        reg.stop()
    finally:
        reg.cleanup()
    p = henv.hull("image", "pull", "--tls-verify=false", f"{addr}/busybox", timeout=60)
    err = error_line(p)
    assert f"registry '{addr}'" in err
    assert "Connection refused" in err or "Couldn't connect" in err or "Failed to connect" in err


def test_unanswered_connect_times_out_naming_the_address(henv):
    """A listener whose accept queue is full drops SYNs: the connect never completes
    and the bounded connect timeout (HULL_REGISTRY_CONNECT_TIMEOUT) ends the pull."""
    lst = socket.socket()
    fillers = []
    try:
        lst.bind(("127.0.0.1", 0))
        lst.listen(0)
        addr = "127.0.0.1:%d" % lst.getsockname()[1]
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(lst.getsockname())
            except BlockingIOError:
                pass
            fillers.append(s)
        p = henv.hull("image", "pull", "--tls-verify=false", f"{addr}/busybox",
                      env={"HULL_REGISTRY_CONNECT_TIMEOUT": "2"}, timeout=60)
    finally:
        for s in fillers:
            s.close()
        lst.close()
    err = error_line(p)
    assert f"registry '{addr}'" in err
    assert "timed out" in err.lower() or "timeout" in err.lower()


def test_progress_is_one_line_per_event_off_a_terminal(henv, plain_registry):
    _, m = manifest(plain_registry, "busybox", "latest")
    p = henv.hull("image", "pull", "--tls-verify=false", f"{plain_registry.addr}/busybox")
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    layer = m["layers"][0]["digest"]
    assert any(l.startswith(f"layer {layer}") and l.endswith("downloading") for l in lines), lines
    assert any(l.startswith(f"layer {layer}") and l.endswith("done") for l in lines), lines
    assert not any("\r" in l or "\033" in l for l in lines)
    p = henv.hull("image", "pull", "-q", "--tls-verify=false", f"{plain_registry.addr}/busybox")
    assert p.returncode == 0 and p.stderr == ""


def test_progress_on_a_terminal_redraws_one_line_per_blob(henv, plain_registry):
    """Under a pty (script(1)) each blob has its own line, redrawn in place."""
    import shlex
    import shutil as sh

    if not sh.which("script"):
        pytest.skip("script (util-linux) not installed")
    _, m = manifest(plain_registry, "busybox", "latest")
    cmd = " ".join(shlex.quote(str(a)) for a in
                   [Path(__file__).resolve().parents[3] / "build/src/cli/hull", "image", "pull",
                    "--tls-verify=false", f"{plain_registry.addr}/busybox"])
    from registry_helpers import run

    p = run(["script", "-qec", cmd, "/dev/null"], env=henv.env)
    assert p.returncode == 0, p.stdout
    out = p.stdout
    short = m["layers"][0]["digest"][7:26]
    assert "\033[2A" in out  # two blobs: the cursor goes back up two lines to redraw
    assert f"layer  {short} [====================]" in out
    # stdout's last line: the image ID (the config digest's hex), as podman prints it
    assert out.rstrip().splitlines()[-1].strip() == m["config"]["digest"][7:]


def test_concurrent_pulls_of_the_same_image(henv, plain_registry):
    """Three pulls of one image at once into one store: all succeed, one image, whole blobs."""
    import subprocess

    from registry_helpers import HULL

    digest, m = manifest(plain_registry, "busybox", "latest")
    procs = [subprocess.Popen([str(HULL), "image", "pull", "-q", "--tls-verify=false",
                               f"{plain_registry.addr}/busybox"], env=henv.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = []
    for pr in procs:
        out, err = pr.communicate(timeout=120)
        assert pr.returncode == 0, err
        outs.append(out.strip())
    assert len(set(outs)) == 1
    assert outs[0] == m["config"]["digest"][7:]
    images = json.loads(henv.hull("image", "list", "--format", "json").stdout)
    assert [i["digest"] for i in images if i.get("type") == "oci"] == [digest]
    for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
        assert sha256_file(henv.blobs / d.split(":")[1]) == d
    assert no_temp_files(henv)
