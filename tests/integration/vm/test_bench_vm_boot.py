"""Smoke run of bench/vm-boot in the nested KVM lab (one round: one L1 boot,
one hull VM running a container through the agent, one QEMU microvm boot of
the same kernel and initramfs): it runs, exits 0, prints its table and the
ratio line, and leaves no file behind.  Nothing here looks at the figures."""

import os
import re
import subprocess
import sys

import pytest

import helpers

REPO = helpers.REPO
LINE = re.compile(
    r"^hull/qemu-microvm boot ratio \d+\.\d\d \(hull \d+\.\d\d s, qemu \d+\.\d\d s, "
    r"vmm overhead \d+\.\d MiB\)$"
)


def test_bench_vm_boot_smoke(lab, guest_kernel, tmp_path):
    env = dict(os.environ)
    env["HULL_GUEST_KERNEL"] = str(guest_kernel)
    env["TMPDIR"] = str(tmp_path)
    for k in ("HULL_BENCH_EXTRA", "HULL_BENCH_DMESG"):
        env.pop(k, None)
    try:
        r = subprocess.run(
            [sys.executable, str(REPO / "bench" / "vm-boot"), "1"],
            env=env, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"bench/vm-boot did not end in 30 minutes: {e.stdout!r:.3000}")
    out = r.stdout.strip()
    assert r.returncode == 0, f"exit {r.returncode}\n{out[-4000:]}\n{r.stderr[-2000:]}"
    last = out.splitlines()[-1]
    assert LINE.match(last), f"last line {last!r}\n{out[-4000:]}"
    assert "container running s" in out, out[-4000:]
    assert list(tmp_path.iterdir()) == [], "bench/vm-boot left files in TMPDIR"
