"""hull-agent as the PID 1 of a real micro-VM, in the nested KVM lab
(tests/lab/lab.py, shared LAB.md): inside L1, hull-vmm boots hull's guest
kernel with the initramfs hull writes (hull-mkinitramfs: /init = the static
hull-agent) and an ext4 root image made from the busybox rootfs
(`mke2fs -d`); hull-agent-client reaches the agent over virtio-vsock through
the VMM's unix socket (CONNECT 1024) and runs commands in a container inside
the guest. All cases run in one L1 boot.

HULL_GUEST_KERNEL=DIR uses DIR/bzImage instead of `make guest-kernel`'s.
On a host whose /dev/kvm boots stock kernels, HULL_LAB_ACCEL=kvm makes L1 fast;
the cases are the same.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import helpers

REPO = helpers.REPO
BUILD = REPO / os.environ.get("BUILD", "build")
LAB_DIR = REPO / "tests" / "lab"

# the commands each VM runs, and what the host must see
CASES = {
    "echo": (["echo", "hi"], 0, "hi\n"),
    "exit-code": (["sh", "-c", "echo out; exit 3"], 3, "out\n"),
    # the guest has cgroup2 only, and the container its own cgroup namespace
    "cgroup2-in-guest": (["cat", "/proc/self/cgroup"], 0, "0::/\n"),
}


def _lab():
    if not (LAB_DIR / "lab.py").exists():
        pytest.skip("the nested KVM lab (tests/lab/lab.py) is not in this tree")
    sys.path.insert(0, str(LAB_DIR))
    import lab

    try:
        lab.qemu_binary()
        lab.l1_kernel()
    except lab.LabUnavailable as e:
        pytest.skip(f"nested KVM lab unavailable: {e}")
    if os.environ.get("HULL_GUEST_KERNEL"):
        # a kernel directory (bzImage) given by hand, e.g. one built from another fragment
        return lab, Path(os.environ["HULL_GUEST_KERNEL"])
    build = not os.environ.get("HULL_LAB_NO_BUILD")
    try:
        gk = lab.guest_kernel(build=build)
    except lab.LabUnavailable as e:
        pytest.skip(f"hull's guest kernel cannot be built: {e}")
    if gk is None:
        pytest.skip("hull's guest kernel is not built (make guest-kernel)")
    return lab, gk


def _need(path):
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"'{path}' not built: run `ninja -C build`")
    return path


def _vm_case(name, cmd):
    """The L1 shell snippet: boot one VM, run `cmd` in it through the agent."""
    uds = f"/tmp/{name}.vsock"
    return (
        f"hull-vmm --kernel /guest/bzImage --initrd /guest/agent.cpio "
        f"--disk /guest/rootfs.ext4,ro --memory 256 --vsock-cid 3 --vsock-uds {uds} "
        f"--console file:/tmp/{name}.console &\n"
        "vmm=$!\n"
        f"hull-agent-client --wait 150 --vsock 1024 --config /guest/config.json "
        f"--id {name} {uds} -- {' '.join(json.dumps(a) for a in cmd)} "
        f">/tmp/{name}.out 2>/tmp/{name}.err\n"
        "rc=$?\n"
        # the agent powers the VM off once the session ends: hull-vmm exits 0
        "wait $vmm\n"
        'echo "@@vmm-rc=$?"\n'
        'echo "@@client-rc=$rc"\n'
        f"sed 's/^/@@out: /' /tmp/{name}.out\n"
        f"sed 's/^/@@err: /' /tmp/{name}.err\n"
        f"sed 's/^/@@console: /' /tmp/{name}.console | tail -40\n"
    )


@pytest.fixture(scope="module")
def batch():
    lab, gk = _lab()
    agent = _need(BUILD / "hull-agent")
    client = _need(BUILD / "hull-agent-client")
    vmm = _need(BUILD / "src" / "cli" / "hull-vmm")
    mkinitramfs = _need(BUILD / "hull-mkinitramfs")
    if not shutil.which("mke2fs"):
        pytest.fail("mke2fs missing: scripts/install-deps.sh installs e2fsprogs")
    work = Path(tempfile.mkdtemp(prefix=helpers.BUNDLE_PREFIX + "agent-vm-"))
    try:
        initrd = work / "agent.cpio"
        subprocess.run([str(mkinitramfs), str(agent), str(initrd)], check=True)
        image = work / "rootfs.ext4"
        subprocess.run(
            ["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(helpers.busybox_rootfs()),
             str(image), "32M"],
            check=True,
        )
        spec = helpers.default_spec(["true"])
        # the container gets its own cgroup namespace (runc's default spec has none)
        ns = spec["linux"]["namespaces"]
        if not any(n["type"] == "cgroup" for n in ns):
            ns.append({"type": "cgroup"})
        (work / "config.json").write_text(json.dumps(spec))
        files = {
            "/bin/hull-vmm": vmm,
            "/bin/hull-agent-client": client,
            "/guest/bzImage": gk / "bzImage",
            "/guest/agent.cpio": initrd,
            "/guest/rootfs.ext4": image,
            "/guest/config.json": work / "config.json",
        }
        cases = {name: _vm_case(name, cmd) for name, (cmd, _, _) in CASES.items()}
        yield lab.run_cases(cases, files=files, case_timeout=180)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _parse(case):
    got = {"out": [], "err": [], "console": []}
    for line in case.output.splitlines():
        for k in ("vmm-rc", "client-rc"):
            if line.startswith(f"@@{k}="):
                got[k] = int(line.split("=", 1)[1])
        for k in ("out", "err", "console"):
            if line.startswith(f"@@{k}: "):
                got[k].append(line[len(k) + 4:])
    return got


@pytest.mark.parametrize("name", list(CASES))
def test_agent_in_a_vm(batch, name):
    cmd, code, out = CASES[name]
    case = batch.cases.get(name)
    assert case is not None, f"case '{name}' did not finish in L1:\n{batch.l1.console[-4000:]}"
    got = _parse(case)
    why = f"case '{name}':\n{case.output}"
    assert got.get("client-rc") == code, why
    assert "\n".join(got["out"]) + "\n" == out, why
    assert got["err"] == [], why
    assert got.get("vmm-rc") == 0, why  # the agent powered the VM off
