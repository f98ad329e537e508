"""The front ends of hull's micro-VMs (docs/vm.md, "Front ends"): `hull run --vm`
and hull-runtime-vm.

The cases that boot VMs run in ONE boot of the nested KVM lab (tests/lab/lab.py):
inside L1, `hull` (with its shared libraries, copied by the lab through ldd),
hull-agent, hull-runtime and mke2fs run as on a host; the guest kernel sits in
a `make guest-kernel` cache directory of L1, where hull finds it. The bad-input
cases run on this host: their errors come before /dev/kvm is opened.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import helpers

REPO = helpers.REPO
BUILD = REPO / os.environ.get("BUILD", "build")
HULL = BUILD / "src" / "cli" / "hull"
sys.path.insert(0, str(REPO / "tests" / "integration" / "images"))

from store_fixtures import bb, hs  # noqa: E402,F401

L1_ENV = "export HULL_DIR=/tmp/hs PATH=/bin:/sbin:/usr/bin:/usr/sbin\n"
RUN = "hull run --rm --vm"


def _run_case(cmd, stdin=None):
    """An L1 snippet running `cmd` (a shell string) with stdout, stderr and rc marked."""
    feed = f"printf '{stdin}' | " if stdin is not None else ""
    return (
        L1_ENV + f"{feed}{cmd} >/tmp/out 2>/tmp/err\n"
        'echo "@@rc=$?"\n'
        "sed 's/^/@@out: /' /tmp/out\n"
        "sed 's/^/@@err: /' /tmp/err\n"
        "for c in /tmp/hs/apps/*/console.log; do [ -f $c ] && tail -30 $c; done\n"
    )


# name: (L1 snippet, exit code, stdout lines, stderr lines)
RUN_CASES = {
    "run-echo": (_run_case(f"{RUN} busybox echo hi"), 0, ["hi"], []),
    "run-exit-code": (
        _run_case(f"{RUN} busybox sh -c 'echo out; echo err >&2; exit 3'"),
        3,
        ["out"],
        ["err"],
    ),
    "run-signal": (_run_case(f"{RUN} busybox sh -c 'kill -9 $$'"), 137, [], []),
    "run-stdin": (_run_case(f"{RUN} -i busybox cat", stdin="a line\\nanother\\n"), 0,
                  ["a line", "another"], []),
    "run-no-stdin-without-i": (_run_case(f"{RUN} busybox cat", stdin="not passed\\n"), 0, [], []),
}


def _parse(case):
    got = {"rc": None, "out": [], "err": []}
    for line in case.output.splitlines():
        if line.startswith("@@rc="):
            got["rc"] = int(line[5:])
        for k in ("out", "err"):
            if line.startswith(f"@@{k}: "):
                got[k].append(line[len(k) + 4:])
    return got


def _need(path):
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"'{path}' not built: run `ninja -C build`")
    return path


@pytest.fixture(scope="module")
def batch(lab, guest_kernel, bb):  # noqa: F811
    mke2fs = shutil.which("mke2fs")
    if not mke2fs:
        pytest.fail("mke2fs missing: scripts/install-deps.sh installs e2fsprogs")
    files = {
        "/bin/hull": _need(HULL),
        "/bin/hull-agent": _need(BUILD / "hull-agent"),
        "/sbin/mke2fs": Path(mke2fs),
        "/var/cache/hull/guest-kernel/lab/bzImage": guest_kernel / "bzImage",
        "/var/cache/hull/guest-kernel/lab/BUILT": b"",
        "/images/busybox.tar": bb["docker"],
    }
    cases = {"import": L1_ENV + "hull image import /images/busybox.tar"}
    cases.update({n: c[0] for n, c in RUN_CASES.items()})
    cases["run-size"] = _run_case(
        f"{RUN} --cpus 2 --memory 256 busybox sh -c 'nproc; grep MemTotal /proc/meminfo'")
    # the state left behind: no app, no VMM process, no mount under the state dir
    cases["leftovers"] = (
        "ls /tmp/hs/apps\n"
        "ps -o comm | grep -c hull || true\n"
        "grep -c /tmp/hs /proc/mounts || true\n"
    )
    return lab.run_cases(cases, files=files, case_timeout=180, mem_mib=1536)


def _case(batch, name):
    case = batch.cases.get(name)
    assert case is not None, f"case '{name}' did not finish in L1:\n{batch.l1.console[-4000:]}"
    return case


@pytest.mark.parametrize("name", list(RUN_CASES))
def test_run_vm(batch, name):
    assert _case(batch, "import").rc == 0, _case(batch, "import").output
    _, code, out, err = RUN_CASES[name]
    case = _case(batch, name)
    got = _parse(case)
    assert (got["rc"], got["out"], got["err"]) == (code, out, err), case.output


def test_run_vm_cpus_memory_seen_inside(batch):
    case = _case(batch, "run-size")
    got = _parse(case)
    assert got["rc"] == 0, case.output
    assert got["out"][0] == "2", case.output
    mem_kib = int(re.match(r"MemTotal:\s+(\d+) kB", got["out"][1]).group(1))
    # 256 MiB less what the kernel keeps for itself
    assert 192 * 1024 < mem_kib <= 256 * 1024, case.output


def test_run_vm_leaves_nothing(batch):
    case = _case(batch, "leftovers")
    assert case.output.split() == ["0", "0"], case.output


# ---- bad input, on this host: one clear line, nothing left, no VM started --------------


@pytest.fixture
def imported(hs, bb):  # noqa: F811
    hs("image", "import", bb["docker"])
    return hs


@pytest.fixture
def garbage_kernel(tmp_path):
    k = tmp_path / "kernel"
    k.mkdir()
    (k / "bzImage").write_bytes(b"not a kernel\n" * 100)
    (k / "BUILT").write_text("")
    return k


def _error(hs, args, env):
    line = hs.error(*args, env=env, timeout=60)
    hs.assert_clean()
    return line


def test_no_guest_kernel(imported, tmp_path):
    empty = tmp_path / "no-kernels"
    empty.mkdir()
    line = _error(imported, ["run", "--rm", "--vm", "busybox", "true"],
                  {"HULL_GUEST_KERNEL_CACHE": str(empty), "HULL_GUEST_KERNEL": ""})
    assert f"no guest kernel in '{empty}': run `make guest-kernel`" in line


def test_corrupt_kernel(imported, garbage_kernel):
    line = _error(imported, ["run", "--rm", "--vm", "busybox", "true"],
                  {"HULL_GUEST_KERNEL_CACHE": str(garbage_kernel.parent), "HULL_GUEST_KERNEL": ""})
    assert re.search(r"vm: kernel '.*bzImage': not a bzImage", line), line


def test_more_memory_than_the_host(imported, garbage_kernel):
    line = _error(imported, ["run", "--rm", "--vm", "--memory", "1048576", "busybox", "true"],
                  {"HULL_GUEST_KERNEL": str(garbage_kernel)})
    assert "vm: memory 1048576 MiB: more than the host has" in line, line


@pytest.mark.parametrize("args,field", [
    (["--cpus", "0"], "--cpus '0'"),
    (["--cpus", "65"], "--cpus '65'"),
    (["--cpus", "1.5"], "--cpus '1.5'"),
    (["--memory", "lots"], "--memory 'lots'"),
    (["--memory", "0"], "--memory '0'"),
    (["-d"], "--vm with -d"),
    (["-v", "/tmp:/x"], "--vm with -v"),
])
def test_bad_command_line(imported, args, field):
    line = _error(imported, ["run", "--rm", "--vm", *args, "busybox", "true"], {})
    assert field in line, line
