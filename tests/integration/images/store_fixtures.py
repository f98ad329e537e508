"""Fixtures and helpers of the OCI store and `hull run` tests (test_store_*.py, test_run_*.py).

  bb           the cached busybox images (scripts/make-busybox-images.sh): a dict of paths
  hs           a HullState: a private state dir (HULL_DIR) and a runner of hull in it;
               at teardown every app container is deleted and nothing may be left
               (no mount under the state dir, no runtime state, no /hull/app.* cgroup)
  make_image() writes an oci-archive of layers the test describes (gzip, zstd or plain),
               on top of the busybox rootfs, with the image config it is given
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

import helpers

HULL = helpers.REPO / "build" / "src" / "cli" / "hull"
IMAGE_SCRIPT = helpers.REPO / "scripts" / "make-busybox-images.sh"
CGROUP = Path("/sys/fs/cgroup")


def name(tag):
    """A container name carrying this session's id."""
    return f"ht-{helpers.SESSION}-{tag}"


class HullState:
    def __init__(self, path):
        self.path = Path(path)
        self.env = {**os.environ, "HULL_DIR": str(self.path)}
        self.names = set()

    def __call__(self, *args, check=True, input=None, timeout=120, env=None):
        for i, a in enumerate(args):
            if a == "--name" and i + 1 < len(args):
                self.names.add(str(args[i + 1]))
        p = subprocess.run([str(HULL), *map(str, args)], capture_output=True, text=True,
                           env={**self.env, **(env or {})}, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(map(str, args))}: exit {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def error(self, *args, **kw):
        """The one error line of a failing command (asserting there is exactly one)."""
        p = self(*args, check=False, **kw)
        assert p.returncode != 0, p.stdout
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("hull: "), p.stderr
        return lines[0]

    def apps(self):
        d = self.path / "apps"
        return sorted(e.name for e in d.iterdir() if not e.name.startswith(".")) if d.exists() else []

    def runtime_dirs(self):
        d = self.path / "run"
        return sorted(e.name for e in d.iterdir() if e.name.startswith("app.")) if d.exists() else []

    def cgroups(self):
        left = []
        for n in self.names | {a for a in self.apps()}:
            for c in CGROUP.glob(f"*/hull/app.{n}"):
                left.append(str(c))
        return left

    def leftovers(self):
        return {
            "apps": self.apps(),
            "runtime": self.runtime_dirs(),
            "mounts": helpers.mounts_under(str(self.path)),
            "cgroups": self.cgroups(),
        }

    def assert_clean(self):
        left = self.leftovers()
        assert left == {"apps": [], "runtime": [], "mounts": [], "cgroups": []}, left

    def images(self):
        return [i for i in json.loads(self("image", "list", "--format", "json").stdout)
                if i.get("type") == "oci"]

    def cleanup(self):
        for a in self.apps():
            self("delete", "--force", a, check=False, timeout=60)
        for m in reversed(helpers.mounts_under(str(self.path))):
            subprocess.run(["umount", "-l", m], capture_output=True)
        for c in self.cgroups():
            for sub in sorted(Path(c).glob("**/"), key=lambda p: -len(p.parts)):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass


@pytest.fixture(scope="session")
def bb():
    for t in ("umoci", "skopeo"):
        if not shutil.which(t):
            pytest.skip(f"'{t}' not installed (scripts/install-deps.sh)")
    if not HULL.exists():
        pytest.fail(f"'{HULL}' not built (ninja -C build)")
    had = os.path.exists("/var/lib/containers/cache")
    p = subprocess.run([str(IMAGE_SCRIPT), "--print-dir"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    d = Path(p.stdout.strip())
    yield {"docker": d / "busybox-docker.tar", "oci": d / "busybox-oci.tar",
           "layout": d / "busybox-oci", "rootfs": d / "busybox-rootfs.tar"}
    if not had:
        shutil.rmtree("/var/lib/containers/cache", ignore_errors=True)
        try:
            os.rmdir("/var/lib/containers")
        except OSError:
            pass


@pytest.fixture
def hs(tmp_path):
    h = HullState(tmp_path / "state")
    try:
        yield h
        left = h.leftovers()
    finally:
        h.cleanup()
    assert left == {"apps": [], "runtime": [], "mounts": [], "cgroups": []}, left


# ---- test images ------------------------------------------------------------------


def F(path, data=b"", mode=0o644, uid=0, gid=0, xattrs=None):
    return ("file", path, data if isinstance(data, bytes) else data.encode(), mode, uid, gid,
            xattrs)


def D(path, mode=0o755, xattrs=None):
    return ("dir", path, None, mode, 0, 0, xattrs)


def L(path, target):
    return ("symlink", path, target, 0o777, 0, 0)


def H(path, target):
    return ("hardlink", path, target, 0o644, 0, 0)


def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for kind, path, data, mode, uid, gid, *rest in entries:
            ti = tarfile.TarInfo(path)
            ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, 1700000000
            if rest and rest[0]:
                ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in rest[0].items()}
            if kind == "file":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
                continue
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
            t.addfile(ti)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        z = subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True)
        return z.stdout, "application/vnd.oci.image.layer.v1.tar+zstd"
    return data, "application/vnd.oci.image.layer.v1.tar"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def make_image(out, layers, config=None, ref="localhost/test:latest", base=None,
               bad_diff_id=False, corrupt_layer=None):
    """Writes an oci-archive to `out`.  layers: [(entries, compression)]; base: a plain
    rootfs tar put first (uncompressed).  Returns the manifest digest."""
    blobs, descs, diff_ids = {}, [], []
    raw_layers = ([(Path(base).read_bytes(), None)] if base else []) + [
        (layer_tar(e), c) for e, c in layers]
    for raw, how in raw_layers:
        data, mt = compress(raw, how)
        diff_ids.append(sha(raw))
        blobs[sha(data)] = data
        descs.append({"mediaType": mt, "digest": sha(data), "size": len(data)})
    if bad_diff_id:
        diff_ids[-1] = sha(b"something else")
    cfg = {"architecture": "amd64", "os": "linux",
           "config": config or {"Cmd": ["sh"]},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cfg_b = json.dumps(cfg).encode()
    blobs[sha(cfg_b)] = cfg_b
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": sha(cfg_b), "size": len(cfg_b)},
           "layers": descs}
    man_b = json.dumps(man).encode()
    blobs[sha(man_b)] = man_b
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man_b),
        "size": len(man_b), "annotations": {"org.opencontainers.image.ref.name": ref}}]}
    if corrupt_layer is not None:
        d = descs[corrupt_layer]["digest"]
        blobs[d] = blobs[d][:-1] + bytes([blobs[d][-1] ^ 1])
    with tarfile.open(out, "w") as t:
        def add(n, b):
            ti = tarfile.TarInfo(n)
            ti.size = len(b)
            t.addfile(ti, io.BytesIO(b))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(index).encode())
        for d, b in blobs.items():
            add("blobs/sha256/" + d[7:], b)
    return sha(man_b)


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
