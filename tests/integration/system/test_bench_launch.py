"""Smoke run of bench/launch (hull vs LXC) with one round and one instance each: it runs,
prints its table and ratio line, and leaves no instance, cgroup, mount or file behind.
Nothing here looks at the figures."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import helpers
from sysharness import HULL_BIN, CACHE

REPO = helpers.REPO
CG = Path("/sys/fs/cgroup")


def leftovers(token, tmp):
    found = [str(c) for c in CG.glob(f"*/hull/hb{token}-*")]
    found += [str(c) for c in CG.glob(f"*/lxc.*.hb{token}-*")]
    found += [m for m in helpers.mounts_under(tmp)]
    found += [str(p) for p in tmp.iterdir()]
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if f"hb{token}-".encode() in cmd:
            found.append(f"process {d.name}: {cmd[:80]!r}")
    return found


@pytest.mark.skipif(not shutil.which("lxc-start"), reason="Debian's lxc is not installed")
def test_bench_launch_smoke(debian_cache):
    token = "t" + uuid.uuid4().hex[:5]
    # a TMPDIR the instances' roots can traverse (pytest's tmp_path is 0700)
    tmp = Path(tempfile.mkdtemp(prefix=f"hull-test-bench-{token}-", dir="/tmp"))
    tmp.chmod(0o711)
    env = dict(os.environ, HULL_BENCH_TOKEN=token, HULL_BENCH_SETTLE="1", TMPDIR=str(tmp),
               HULL_BIN=str(HULL_BIN), HULL_TEST_CACHE=str(CACHE))
    try:
        p = subprocess.run([sys.executable, str(REPO / "bench" / "launch"), "1", "1"],
                           env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        lines = p.stdout.strip().splitlines()
        assert any(line.startswith("hull ") for line in lines), p.stdout
        assert any(line.startswith("lxc ") for line in lines), p.stdout
        # systemd reached running or degraded in both
        for peer in ("hull", "lxc"):
            row = next(line for line in lines if line.startswith(peer + " "))
            assert re.search(r"(running|degraded):1", row), row
        ratio = next(line for line in lines if line.startswith("hull/lxc launch ratio"))
        assert re.match(r"hull/lxc launch ratio \d+\.\d\d \(exec \d+\.\d\d, idle memory "
                        r"\d+\.\d\d, density cgroups \d+\.\d\d, host memory (\d+\.\d\d|n/a)\)$", ratio), ratio
        assert leftovers(token, tmp) == []
    finally:
        # a failed run: best effort so nothing keeps running
        for d in tmp.glob("hull-bench-launch-*/hull"):
            for inst in (d / "instances").glob(f"hb{token}-*"):
                subprocess.run([str(HULL_BIN), "--state-dir", str(d), "delete", "--force",
                                inst.name], capture_output=True)
        for d in tmp.glob("hull-bench-launch-*/lxc"):
            for inst in d.glob(f"hb{token}-*"):
                subprocess.run(["lxc-stop", "-P", str(d), "-n", inst.name, "--kill"],
                               capture_output=True)
                subprocess.run(["lxc-destroy", "-P", str(d), "-n", inst.name],
                               capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", str(tmp)])
