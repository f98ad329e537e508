"""Smoke run of bench/image (hull vs podman: pull, and run --rm with the image cached) with
one round of each and a 1 MiB data layer: it runs, prints both rows and the ratio line, and
leaves no store, mount, cgroup, registry or container process behind.
Nothing here looks at the figures."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import helpers

TOOLS = ("docker-registry", "skopeo", "umoci", "podman", "runc")


def bench_paths():
    """The bench's temp dirs (in /tmp: podman wants a short --runroot) and cgroups."""
    return {str(c) for c in Path("/sys/fs/cgroup").glob("*/hull-bench-image-*")} | {
        str(d) for d in Path("/tmp").glob("hull-bench-image-*")}


def leftovers(before):
    new = sorted(bench_paths() - before)
    found = list(new)
    for d in new:
        found += helpers.mounts_under(Path(d))
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if any(n.encode() in cmd for n in new):
            found.append(f"process {d.name}: {cmd[:80]!r}")
    return found


@pytest.mark.skipif(any(not shutil.which(t) for t in TOOLS),
                    reason=f"needs {', '.join(TOOLS)} (scripts/install-deps.sh)")
def test_bench_image_smoke():
    before = bench_paths()
    try:
        p = subprocess.run([sys.executable, str(helpers.REPO / "bench" / "image"), "--rounds",
                            "1", "--run-rounds", "1", "--layers-mib", "1"],
                           capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, p.stdout + p.stderr
        out = p.stdout
        assert "pull, cold store" in out and "run --rm IMAGE true" in out, out
        assert re.search(r"^  hull +median \d+\.\d+ s", out, re.M), out
        assert re.search(r"^  podman \(runc\) +median \d+\.\d+ s", out, re.M), out
        assert re.search(r"^hull/podman pull \d+\.\d\d \(goal <= 1\), run \d+\.\d\d "
                         r"\(goal <= 0\.3\)$", out, re.M), out
        assert "cleanup:" not in p.stderr, p.stderr
        assert leftovers(before) == []
    finally:
        for d in bench_paths() - before:  # what a failed run left, for the next test
            if d.startswith("/tmp/"):
                shutil.rmtree(d, ignore_errors=True)
