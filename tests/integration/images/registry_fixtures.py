"""Fixtures of the registry tests (imported by test_registry_*.py and test_pull_*.py)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from registry_helpers import HULL, REPO, CA, HullEnv, Registry, skopeo_push


def _need(tool):
    if not shutil.which(tool):
        pytest.skip(f"'{tool}' not installed (scripts/install-deps.sh)")


@pytest.fixture(scope="session")
def busybox_layout():
    for t in ("docker-registry", "skopeo", "umoci", "openssl", "htpasswd"):
        _need(t)
    if not HULL.exists():
        pytest.fail(f"'{HULL}' not built (ninja -C build)")
    had = os.path.exists("/var/lib/containers/cache")
    p = subprocess.run([str(REPO / "scripts" / "make-busybox-images.sh"), "--print-dir"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    yield Path(p.stdout.strip()) / "busybox-oci"
    # skopeo keeps a blob-info cache for root it cannot be told to put elsewhere
    if not had:
        shutil.rmtree("/var/lib/containers/cache", ignore_errors=True)
        try:
            os.rmdir("/var/lib/containers")
        except OSError:
            pass


@pytest.fixture
def henv(tmp_path):
    return HullEnv(tmp_path)


@pytest.fixture(scope="module")
def plain_registry(busybox_layout):
    """A plain-HTTP registry holding busybox:latest (shared by a module's tests, read-only)."""
    reg = Registry()
    try:
        reg.start()
        skopeo_push(f"oci:{busybox_layout}:latest", f"{reg.addr}/busybox:latest")
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture
def fresh_registry(busybox_layout):
    """A plain-HTTP registry of the test's own (its storage may be damaged)."""
    reg = Registry()
    try:
        reg.start()
        skopeo_push(f"oci:{busybox_layout}:latest", f"{reg.addr}/busybox:latest")
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture(scope="module")
def test_ca():
    d = tempfile.mkdtemp(prefix="hull-test-ca-")
    try:
        yield CA(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


USER, PASSWORD = "hulltest", "s3cret-Passw0rd"


@pytest.fixture(scope="module")
def tls_auth_registry(busybox_layout, test_ca):
    """HTTPS (certificate of the test CA) with htpasswd basic auth, holding busybox:latest."""
    reg = Registry(tls_ca=test_ca, htpasswd=(USER, PASSWORD))
    try:
        reg.start()
        certs = Path(reg.tmp) / "push-certs"
        certs.mkdir()
        shutil.copy(test_ca.cert, certs / "ca.crt")
        skopeo_push(f"oci:{busybox_layout}:latest", f"{reg.addr}/busybox:latest",
                    tls_verify=True, cert_dir=certs, creds=f"{USER}:{PASSWORD}")
        yield reg
    finally:
        reg.cleanup()
