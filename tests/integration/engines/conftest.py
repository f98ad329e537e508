"""pytest fixtures for the engine tests (tests/integration/engines/).

  runtime_bin   absolute path of the runtime under test (session): $HULL_RUNTIME
                (e.g. /usr/sbin/runc to validate the suite) or build/'s hull-runtime
  images        dict of the cached busybox images (scripts/make-busybox-images.sh)
  podman        engine_harness.Podman, one per module
  containerd    engine_harness.Containerd, one per module
  dockerd       engine_harness.Docker, one per module

The harness itself (daemons, cleanup, HULL_ENGINES_TRACE) is in engine_harness.py.
"""

import os
import subprocess
from pathlib import Path

import pytest

import helpers
from engine_harness import (
    IMAGE_SCRIPT,
    Containerd,
    Docker,
    Podman,
    cgroup_parent,
    existing_host_dirs,
    finish_teardown,
    make_root,
    missing_binaries,
)


# ----------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def runtime_bin():
    b = helpers.resolve_runtime_bin()
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.fail(
            f"runtime binary '{b}' not found: build it (`make build`) or point HULL_RUNTIME at a runtime"
        )
    return str(Path(b).resolve())


@pytest.fixture(scope="session")
def images():
    missing = missing_binaries(["umoci", "skopeo"])
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/install-deps.sh installs them)")
    p = subprocess.run(
        [str(IMAGE_SCRIPT), "--print-dir"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if p.returncode != 0:
        pytest.fail(f"{IMAGE_SCRIPT} failed:\n{p.stderr}")
    d = Path(p.stdout.strip())
    return {
        "dir": d,
        "oci_layout": d / "busybox-oci",
        "oci_tar": d / "busybox-oci.tar",
        "docker_tar": d / "busybox-docker.tar",
        "rootfs_tar": d / "busybox-rootfs.tar",
    }


def _engine_fixture(cls, tag, runtime_bin, images):
    host_before = existing_host_dirs()
    root = make_root(tag)
    eng = None
    problems = []
    try:
        eng = cls(root, runtime_bin)
        eng.start(images)
        yield eng
    finally:
        if eng is not None:
            try:
                problems += eng.teardown()
            except AssertionError as e:  # a hung client must not stop the cleanup
                problems.append(str(e))
            if eng.daemon is not None:
                eng.daemon.stop()
        problems = finish_teardown(root, cgroup_parent(tag), host_before, problems)
    if problems:
        pytest.fail(f"{cls.name} teardown:\n" + "\n".join(problems))


@pytest.fixture(scope="module")
def podman(runtime_bin, images):
    yield from _engine_fixture(Podman, "podman", runtime_bin, images)


@pytest.fixture(scope="module")
def containerd(runtime_bin, images):
    yield from _engine_fixture(Containerd, "ctr", runtime_bin, images)


@pytest.fixture(scope="module")
def dockerd(runtime_bin, images):
    yield from _engine_fixture(Docker, "docker", runtime_bin, images)
