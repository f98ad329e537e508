"""Smoke runs of bench/: they work and leave nothing behind. Nothing here looks at timings.

Each run is marked with its own HULL_BENCH_TOKEN (the bench names its
containers and cgroups hb<token>-...) and its own TMPDIR, so what it left is
found without looking at anyone else's benchmark.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import helpers

REPO = Path(__file__).resolve().parents[3]
CGROUP_ROOT = Path("/sys/fs/cgroup")


def bench_env(tmp_path, token):
    env = dict(os.environ)
    env["HULL_RUNTIME"] = str(helpers.resolve_runtime_bin())
    env["HULL_BENCH_TOKEN"] = token
    env["TMPDIR"] = str(tmp_path)
    env.pop("HULL_BENCH_EXTRA", None)
    return env


def bench_cgroups(token):
    """The cgroup directories of the bench run marked with token, in every hierarchy."""
    parents = [CGROUP_ROOT / "hullbench"] + [h / "hullbench" for h in CGROUP_ROOT.iterdir()]
    return [c for parent in parents if parent.is_dir() for c in parent.iterdir()
            if c.is_dir() and c.name.startswith(f"hb{token}-")]


def cgroup_pids(c):
    procs = c / "cgroup.procs"
    try:
        return [int(p) for p in procs.read_text().split()]
    except OSError:
        return []


def leftovers(tmp_path, token):
    """cgroups, processes and temp files of the bench run marked with token."""
    found = []
    for c in bench_cgroups(token):
        found.append(f"cgroup {c}")
        found += [f"process {p} in {c}" for p in cgroup_pids(c)]
    found += [f"file {p}" for p in tmp_path.iterdir()]
    return found


def kill_leftovers(tmp_path, token):
    """Best effort, so a failing test does not leave the bench's containers running."""
    for c in bench_cgroups(token):
        for p in cgroup_pids(c):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(0.2)
    for c in bench_cgroups(token):
        try:
            c.rmdir()
        except OSError:
            pass
    subprocess.run(["rm", "-rf", "--one-file-system", *map(str, tmp_path.iterdir())])


@pytest.fixture
def bench_run(tmp_path):
    if not (REPO / "build" / "bench" / "rss-exec").exists():
        pytest.skip("build/bench/rss-exec not built (sanitizer build)")
    token = "t" + uuid.uuid4().hex[:5]
    yield token, bench_env(tmp_path, token)
    kill_leftovers(tmp_path, token)


def test_oci_run_smoke_reports_ratios_and_leaves_nothing(tmp_path, bench_run):
    token, env = bench_run
    p = subprocess.run([sys.executable, str(REPO / "bench" / "oci-run"), "1"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "hull " in p.stdout and "median ms" in p.stdout
    for peer in ("crun", "runc"):
        if f"\n{peer} " in p.stdout:
            assert f"hull/{peer} median ratio" in p.stdout
    assert leftovers(tmp_path, token) == []


def test_oci_exec_interrupted_leaves_nothing(tmp_path, bench_run):
    """Ctrl-C while the long-running containers exist: the bench removes them all."""
    token, env = bench_run
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "oci-exec"), "100000"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # the hull container is up once its cgroup holds a process
            if any(cgroup_pids(c) for c in bench_cgroups(token)
                   if c.name == f"hb{token}-hull-exec"):
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.1)
        else:
            pytest.fail("the bench never started its container")
        assert leftovers(tmp_path, token) != []  # the attack on cleanup is real
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: cleaning up" in err
    assert leftovers(tmp_path, token) == []
