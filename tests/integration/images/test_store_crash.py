"""The store stays consistent when a pull dies at any point (kill -9 in the middle of a layer)
and when a pull races a delete of the same image: list, run, delete and prune still work and
leave nothing behind."""

import json
import os
import signal
import subprocess
import threading

from faulty_registry import faulty  # noqa: F401
from registry_fixtures import busybox_layout, henv, plain_registry  # noqa: F401
from registry_helpers import HULL


def oci_images(henv):
    p = henv.hull("image", "list", "--format", "json")
    assert p.returncode == 0, p.stderr
    return [i for i in json.loads(p.stdout) if i.get("type") == "oci"]


def leftovers(henv):
    """Partial blobs and half-unpacked layers: what a crash leaves until prune."""
    layers = henv.state / "images" / "layers"
    out = [p.name for p in henv.blobs.iterdir() if p.name.startswith(".tmp-")] \
        if henv.blobs.is_dir() else []
    if layers.is_dir():
        out += [p.name for p in layers.iterdir() if p.name.startswith(".tmp-")]
    return out


def test_kill_9_in_the_middle_of_a_layer(henv, faulty):
    m = faulty.manifest
    layer = m["layers"][0]["digest"]
    faulty.faults[layer] = ["hold"]
    ref = f"{faulty.addr}/busybox"
    p = subprocess.Popen([str(HULL), "image", "pull", "--tls-verify=false", ref], env=henv.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert faulty.holding.wait(60), faulty.log
        os.kill(p.pid, signal.SIGKILL)
        assert p.wait(30) == -signal.SIGKILL
    finally:
        faulty.release.set()
        if p.poll() is None:
            p.kill()
            p.wait(30)
    # the half layer is a partial file, never a blob, and no image names anything
    assert not henv.has_blob(layer)
    assert leftovers(henv), "the killed pull left no partial blob: not killed mid-layer?"
    assert oci_images(henv) == []

    # pulling again completes (the partial file is not mistaken for the blob)
    p = henv.hull("image", "pull", "-q", "--tls-verify=false", ref)
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == faulty.manifest_digest
    henv.registries_conf.write_text(f'[[registry]]\nlocation = "{faulty.addr}"\ninsecure = true\n')
    p = henv.hull("run", "--rm", "--pull", "never", ref, "echo", "after the crash")
    assert (p.returncode, p.stdout) == (0, "after the crash\n"), p.stderr

    # prune frees what the crash left and keeps every blob of the image
    p = henv.hull("image", "prune")
    assert p.returncode == 0, p.stderr
    assert leftovers(henv) == []
    want = {d.split(":")[1] for d in [faulty.manifest_digest, m["config"]["digest"]]
            + [l["digest"] for l in m["layers"]]}
    assert henv.blob_names() == want
    assert henv.hull("image", "delete", ref).returncode == 0
    assert henv.hull("image", "prune").returncode == 0
    assert henv.blob_names() == set()
    assert list((henv.state / "images" / "layers").iterdir()) == []


def test_pull_racing_delete(henv, plain_registry):
    """Pulls and deletes of one image at once: each command succeeds or fails with one line,
    and afterwards the store is whole (a listed image runs; prune leaves nothing)."""
    ref = f"{plain_registry.addr}/busybox:latest"
    henv.registries_conf.write_text(
        f'[[registry]]\nlocation = "{plain_registry.addr}"\ninsecure = true\n')
    results = {"pull": [], "delete": []}

    def loop(kind, argv):
        for _ in range(6):
            results[kind].append(henv.hull(*argv, timeout=120))

    threads = [threading.Thread(target=loop, args=("pull", ["image", "pull", "-q", ref])),
               threading.Thread(target=loop, args=("delete", ["image", "delete", ref]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads)
    assert all(p.returncode == 0 for p in results["pull"]), \
        [p.stderr for p in results["pull"] if p.returncode]
    for p in results["delete"]:
        errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
        assert p.returncode == 0 or (len(errs) == 1 and "unknown image" in errs[0]), p.stderr
    assert any(p.returncode == 0 for p in results["delete"]) or oci_images(henv)

    imgs = oci_images(henv)
    if imgs:
        p = henv.hull("run", "--rm", "--pull", "never", ref, "echo", "whole")
        assert (p.returncode, p.stdout) == (0, "whole\n"), p.stderr
        assert henv.hull("image", "delete", ref).returncode == 0
    # a last pull after the race is whole too
    p = henv.hull("image", "pull", "-q", ref)
    assert p.returncode == 0, p.stderr
    p = henv.hull("run", "--rm", "--pull", "never", ref, "echo", "whole")
    assert (p.returncode, p.stdout) == (0, "whole\n"), p.stderr
    assert henv.hull("image", "delete", ref).returncode == 0
    assert henv.hull("image", "prune").returncode == 0
    assert henv.blob_names() == set()
    assert leftovers(henv) == []
