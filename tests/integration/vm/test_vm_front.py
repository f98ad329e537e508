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

# /usr/local/sbin first: the real mke2fs, not busybox's applet (which has no -d)
L1_ENV = "export HULL_DIR=/tmp/hs PATH=/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin\n"
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
    # the shell is the container's PID 1, which SIGKILL from inside cannot end: a child
    # is killed, and the shell says so ("Killed") and exits with 128+9, as in a container
    "run-signal": (_run_case(f"{RUN} busybox sh -c " + "\"sh -c 'kill -9 \\$\\$'; exit \\$?\""),
                   137, [], ["Killed"]),
    "run-stdin": (_run_case(f"{RUN} -i busybox cat", stdin="a line\\nanother\\n"), 0,
                  ["a line", "another"], []),
    "run-no-stdin-without-i": (_run_case(f"{RUN} busybox cat", stdin="not passed\\n"), 0, [], []),
}


# hull-runtime-vm on a busybox bundle: the runc verbs, one VM
RUNTIME_VM = L1_ENV + r"""
R="hull-runtime-vm --root /tmp/rt"
B=/tmp/bundle
mkdir -p $B/rootfs && tar -xf /images/rootfs.tar -C $B/rootfs && cp /images/config.json $B/
st() { $R state c1 | grep '"status"' | tr -d ' ",' ; }
alive() { [ -d /proc/$1 ] && ! grep -q '^State:.*Z' /proc/$1/status && echo yes || echo no; }
$R create -b $B --pid-file /tmp/c1.pid c1 >/tmp/c1.out 2>/tmp/c1.err
echo "@@create=$?"
echo "@@state1=$(st)"
pid=$($R state c1 | grep '"pid"' | tr -dc 0-9)
mon=$($R state c1 | grep '"hull.monitor"' | tr -dc 0-9)
[ "$pid" = "$(cat /tmp/c1.pid)" ] && [ -d /proc/$pid ] && echo "@@pid-is-the-vmm=yes"
$R start c1
echo "@@start=$?"
echo "@@state2=$(st)"
$R exec c1 sh -c 'echo exec-out; echo exec-err >&2; exit 5' >/tmp/x.out 2>/tmp/x.err
echo "@@exec=$?"
echo "@@exec-out=$(cat /tmp/x.out)"
echo "@@exec-err=$(cat /tmp/x.err)"
echo piped | $R exec c1 cat >/tmp/y.out
echo "@@exec-stdin=$(cat /tmp/y.out)"
$R kill c1 KILL
echo "@@kill=$?"
for i in $(seq 60); do [ "$(st)" = status:stopped ] && break; sleep 1; done
echo "@@state3=$(st)"
$R delete c1
echo "@@delete=$?"
$R state c1 >/dev/null 2>&1 || echo "@@gone=yes"
echo "@@left=$(ls -A /tmp/rt | tr '\n' ' ')"
echo "@@alive=$(alive $pid) $(alive $mon)"
sed 's/^/@@c1-out: /' /tmp/c1.out
sed 's/^/@@c1-err: /' /tmp/c1.err
"""

# hull-runtime (its own name) with the annotation: created, then deleted while created
RUNTIME_ANNOTATION = L1_ENV + r"""
R="hull-runtime --root /tmp/rt2"
B=/tmp/bundle2
mkdir -p $B/rootfs && tar -xf /images/rootfs.tar -C $B/rootfs
cp /images/config-annotated.json $B/config.json
$R create -b $B c2 2>&1
echo "@@create=$?"
pid=$($R state c2 | grep '"pid"' | tr -dc 0-9)
echo "@@state=$($R state c2 | grep '"status"' | tr -d ' ",')"
$R delete c2
echo "@@delete=$?"
echo "@@left=$(ls -A /tmp/rt2 | tr '\n' ' ')"
echo "@@alive=$([ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status && echo yes || echo no)"
"""


def _marks(case):
    got = {}
    for line in case.output.splitlines():
        m = re.match(r"@@([\w-]+)(?:=|: )(.*)$", line)
        if m:
            got.setdefault(m.group(1), []).append(m.group(2))
    return got


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
        "/usr/local/sbin/mke2fs": Path(mke2fs),
        "/var/cache/hull/guest-kernel/lab/bzImage": guest_kernel / "bzImage",
        "/var/cache/hull/guest-kernel/lab/BUILT": b"",
        "/images/busybox.tar": bb["docker"],
        "/images/rootfs.tar": bb["rootfs"],
        # loaded on first use (util/dl.h), so ldd of hull does not name them; the lab
        # brings their own libraries through ldd of these
        "/lib/x86_64-linux-gnu/libcrypto.so.3": Path("/lib/x86_64-linux-gnu/libcrypto.so.3"),
        "/lib/x86_64-linux-gnu/libarchive.so.13": Path("/lib/x86_64-linux-gnu/libarchive.so.13"),
        "/bin/hull-runtime": _need(BUILD / "src" / "cli" / "hull-runtime"),
        # the same binary by its other name
        "/bin/hull-runtime-vm": _need(BUILD / "src" / "cli" / "hull-runtime"),
    }
    spec = helpers.default_spec(["sh", "-c", "echo started; exec sleep 300"])
    files["/images/config.json"] = json.dumps(spec).encode()
    spec = helpers.default_spec(["true"])
    spec["annotations"] = {"run.hull.isolation": "vm", "run.hull.vm.memory": "128"}
    files["/images/config-annotated.json"] = json.dumps(spec).encode()
    cases = {"import": L1_ENV + "hull image import /images/busybox.tar"}
    cases.update({n: c[0] for n, c in RUN_CASES.items()})
    cases["run-size"] = _run_case(
        f"{RUN} --cpus 2 --memory 256 busybox sh -c 'nproc; grep MemTotal /proc/meminfo'")
    cases["runtime-vm"] = RUNTIME_VM
    cases["runtime-annotation"] = RUNTIME_ANNOTATION
    # the state left behind: no app, no VMM process, no mount under the state dir
    cases["leftovers"] = (
        'echo "@@apps=$(ls /tmp/hs/apps | wc -l)"\n'
        "n=0; for p in /proc/[0-9]*; do tr '\\0' ' ' 2>/dev/null <$p/cmdline | grep -q '^hull' "
        "&& n=$((n+1)); done 2>/dev/null\n"
        'echo "@@procs=$n"\n'
        'echo "@@mounts=$(grep -c /tmp/hs /proc/mounts)"\n'
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
    got = _marks(case)
    assert {k: got.get(k) for k in ("apps", "procs", "mounts")} == {
        "apps": ["0"], "procs": ["0"], "mounts": ["0"]}, case.output


def test_runtime_vm_lifecycle(batch):
    case = _case(batch, "runtime-vm")
    got = _marks(case)
    want = {
        "create": ["0"], "state1": ["status:created"], "pid-is-the-vmm": ["yes"],
        "start": ["0"], "state2": ["status:running"],
        "exec": ["5"], "exec-out": ["exec-out"], "exec-err": ["exec-err"],
        "exec-stdin": ["piped"],
        "kill": ["0"], "state3": ["status:stopped"],
        "delete": ["0"], "gone": ["yes"], "left": [".vm-cache "], "alive": ["no no"],
        "c1-out": ["started"],
    }
    assert {k: got.get(k) for k in want} == want, case.output


def test_runtime_annotation_selects_a_vm(batch):
    case = _case(batch, "runtime-annotation")
    got = _marks(case)
    want = {"create": ["0"], "state": ["status:created"], "delete": ["0"],
            "left": [".vm-cache "], "alive": ["no"]}
    assert {k: got.get(k) for k in want} == want, case.output


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


# ---- hull-runtime-vm, bad input on this host --------------------------------------------


@pytest.fixture
def bundle(tmp_path):
    b = tmp_path / "bundle"
    b.mkdir()
    (b / "rootfs").symlink_to(helpers.busybox_rootfs())
    (b / "config.json").write_text(json.dumps(helpers.default_spec(["true"])))
    return b


def _runtime_vm_error(args, root, env):
    rt = BUILD / "src" / "cli" / "hull-runtime-vm"
    p = subprocess.run([str(rt), "--root", str(root), *args], capture_output=True, text=True,
                       timeout=60, env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode != 0 and len(lines) == 1, p.stderr
    # nothing left but the assets' cache
    assert sorted(e.name for e in root.iterdir()) in ([], [".vm-cache"]) if root.exists() else True
    return lines[0]


def test_runtime_vm_bad_input(bundle, tmp_path, garbage_kernel):
    root = tmp_path / "root"
    line = _runtime_vm_error(["create", "-b", str(bundle), "c1"], root,
                             {"HULL_GUEST_KERNEL": str(garbage_kernel)})
    assert "vm: kernel '" in line and "not a bzImage" in line, line
    (tmp_path / "no-kernels").mkdir()
    line = _runtime_vm_error(["create", "-b", str(bundle), "c1"], root,
                             {"HULL_GUEST_KERNEL": "",
                              "HULL_GUEST_KERNEL_CACHE": str(tmp_path / "no-kernels")})
    assert "run `make guest-kernel`" in line, line
    spec = helpers.default_spec(["true"])
    spec["annotations"] = {"run.hull.vm.memory": "1048576"}
    (bundle / "config.json").write_text(json.dumps(spec))
    line = _runtime_vm_error(["create", "-b", str(bundle), "c1"], root,
                             {"HULL_GUEST_KERNEL": str(garbage_kernel)})
    assert "vm: memory 1048576 MiB: more than the host has" in line, line
    spec["annotations"] = {"run.hull.vm.cpus": "zero"}
    (bundle / "config.json").write_text(json.dumps(spec))
    line = _runtime_vm_error(["create", "-b", str(bundle), "c1"], root, {})
    assert "annotations: --cpus 'zero'" in line, line
    spec["annotations"] = {}
    spec["process"]["terminal"] = True
    (bundle / "config.json").write_text(json.dumps(spec))
    line = _runtime_vm_error(["create", "-b", str(bundle), "c1"], root, {})
    assert "process.terminal: not supported in a VM yet" in line, line
    line = _runtime_vm_error(["state", "nope"], root, {})
    assert "container 'nope' does not exist" in line, line
