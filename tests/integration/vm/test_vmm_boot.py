"""hull-vmm boots hull's guest kernel in the nested KVM lab (tests/lab/lab.py,
shared LAB.md): inside L1, with a real /dev/kvm, hull-vmm boots the bzImage
(64-bit boot protocol) and the vmlinux (PVH entry) with a busybox initramfs.
What a user checks: the guest's serial output reaches the host, `nproc` is
--cpus, MemTotal is close to --memory, the guest's end exits 0, stdin reaches
the guest's console, SIGTERM stops the VM, and bad input gets one line and a
non-zero exit, quickly. All cases run in one L1 boot.

On a host whose /dev/kvm boots stock kernels, HULL_LAB_ACCEL=kvm makes L1 fast.
"""

import os
import re
from pathlib import Path

import pytest

import helpers

REPO = helpers.REPO
BUILD = REPO / os.environ.get("BUILD", "build")
MARK = "HULL-L2-UP"
# every case is bounded; a hang is a failure (rc 137), never a stuck run
CASE_TIMEOUT = 420

# the L2 initramfs variants: name -> extra shell run by /init after the marker
INITS = {
    "report": 'echo "nproc=$(nproc)"; grep MemTotal /proc/meminfo',
    # PID 1 exits: the kernel panics, panic=-1 reboots at once, the VMM exits 0
    "exit": "exit 0",
    "stdin": 'read -r line </dev/console; echo "guest read: $line"',
    "sleep": "echo sleeping; sleep 100000",
}


def _vmm(kernel, init, args="", cmdline="console=ttyS0 reboot=k panic=-1"):
    return (
        f"hull-vmm --kernel /guest/{kernel} --initrd /guest/{init}.cpio "
        f"--cmdline '{cmdline}' {args}; echo \"vmm-rc=$?\""
    )


BOUND = "timeout -s KILL 60 hull-vmm"

CASES = {
    "bzimage-2cpu": _vmm("bzImage", "report", "--cpus 2 --memory 192"),
    "pvh-1cpu": _vmm("vmlinux", "report", "--cpus 1 --memory 256"),
    "pvh-3cpu": _vmm("vmlinux", "report", "--cpus 3 --memory 160"),
    "init-exits": _vmm("bzImage", "exit", "--memory 128"),
    # reboot=t: the reset is a triple fault, KVM_EXIT_SHUTDOWN
    "triple-fault": _vmm("vmlinux", "exit", "--memory 128", "console=ttyS0 reboot=t panic=-1"),
    "console-file": (
        "hull-vmm --kernel /guest/bzImage --initrd /guest/report.cpio --memory 128 "
        "--console file:/tmp/console.log; echo \"vmm-rc=$?\"; "
        "grep -c " + MARK + " /tmp/console.log"
    ),
    "stdin": "echo hello-from-host | " + _vmm("bzImage", "stdin", "--memory 128").replace(
        "--cmdline", "--console stdio --cmdline"
    ),
    "sigterm": (
        "hull-vmm --kernel /guest/bzImage --initrd /guest/sleep.cpio --memory 128 "
        ">/tmp/sleep.out 2>&1 & pid=$!; "
        "i=0; while ! grep -q sleeping /tmp/sleep.out && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; "
        "kill -TERM $pid; wait $pid; echo \"vmm-rc=$?\"; cat /tmp/sleep.out | grep -c sleeping"
    ),
    # bad input: one line on stderr and exit 1, never a hang (a 60 s bound: 137)
    "no-kernel": f"{BOUND} --kernel /nonexistent/bzImage; echo \"vmm-rc=$?\"",
    "corrupt-kernel": (
        f"head -c 200000 /dev/urandom >/tmp/junk; {BOUND} --kernel /tmp/junk; echo \"vmm-rc=$?\""
    ),
    "truncated-kernel": (
        f"head -c 300000 /guest/bzImage >/tmp/cut; {BOUND} --kernel /tmp/cut; echo \"vmm-rc=$?\""
    ),
    "too-much-memory": f"{BOUND} --kernel /guest/bzImage --memory 4000000; echo \"vmm-rc=$?\"",
    "cmdline-too-long": (
        f"{BOUND} --kernel /guest/bzImage --cmdline \"$(head -c 3000 /dev/zero | tr '\\0' a)\"; "
        "echo \"vmm-rc=$?\""
    ),
    "no-dev-kvm": (
        f"mv /dev/kvm /dev/kvm.away; {BOUND} --kernel /guest/bzImage; echo \"vmm-rc=$?\"; "
        "mv /dev/kvm.away /dev/kvm"
    ),
}


@pytest.fixture(scope="module")
def batch(lab, guest_kernel, tmp_path_factory):
    gk = guest_kernel
    vmm = BUILD / "src" / "cli" / "hull-vmm"
    if not (vmm.is_file() and os.access(vmm, os.X_OK)):
        pytest.fail(f"'{vmm}' not built: run `ninja -C build`")
    tmp = tmp_path_factory.mktemp("vmm-lab")
    files = {
        "/bin/hull-vmm": vmm,
        "/guest/bzImage": gk / "bzImage",
        "/guest/vmlinux": gk / "vmlinux",
    }
    for name, extra in INITS.items():
        p = tmp / f"{name}.cpio"
        p.write_bytes(lab.busybox_initramfs(lab.l2_marker_init(MARK, extra)))
        files[f"/guest/{name}.cpio"] = p
    return lab.run_cases(CASES, files=files, case_timeout=CASE_TIMEOUT, mem_mib=1024, cpus=2)


def _case(batch, name):
    c = batch.cases.get(name)
    if c is None:
        pytest.fail(f"case {name} did not finish; L1 console tail:\n"
                    + "\n".join(batch.l1.console.splitlines()[-40:]))
    assert c.rc != 137, f"case {name} hit the {CASE_TIMEOUT} s bound:\n{c.output[-3000:]}"
    return c


def _vmm_rc(out):
    m = re.findall(r"^vmm-rc=(\d+)$", out, re.M)
    assert m, f"no exit status in:\n{out[-3000:]}"
    return int(m[-1])


@pytest.mark.parametrize("name,cpus,mib", [
    ("bzimage-2cpu", 2, 192), ("pvh-1cpu", 1, 256), ("pvh-3cpu", 3, 160),
])
def test_boot_reports_cpus_and_memory(batch, name, cpus, mib):
    out = _case(batch, name).output
    assert MARK in out, out[-3000:]
    assert f"nproc={cpus}" in out, out[-3000:]
    m = re.search(r"MemTotal:\s+(\d+) kB", out)
    assert m, out[-3000:]
    total = int(m.group(1)) * 1024
    # the kernel keeps its image and reserved pages out of MemTotal (hull's small
    # kernel a few MiB, a distro kernel tens)
    assert (mib << 20) * 0.6 <= total <= mib << 20, f"MemTotal {total} for --memory {mib}"
    assert _vmm_rc(out) == 0


@pytest.mark.parametrize("name", ["init-exits", "triple-fault"])
def test_guest_end_exits_zero(batch, name):
    out = _case(batch, name).output
    assert MARK in out
    assert _vmm_rc(out) == 0


def test_console_to_file(batch):
    out = _case(batch, "console-file").output
    assert _vmm_rc(out) == 0
    # the marker went to the file, not to stdout
    assert out.strip().splitlines()[-1] == "1"
    assert MARK not in out


def test_stdin_reaches_guest(batch):
    out = _case(batch, "stdin").output
    assert "guest read: hello-from-host" in out, out[-3000:]
    assert _vmm_rc(out) == 0


def test_sigterm_stops_vm(batch):
    out = _case(batch, "sigterm").output
    assert _vmm_rc(out) == 128 + 15, out[-3000:]
    assert out.strip().splitlines()[-1] == "1"  # it was running when stopped


@pytest.mark.parametrize("name,message", [
    ("no-kernel", "hull-vmm: kernel '/nonexistent/bzImage': No such file or directory"),
    ("corrupt-kernel", "hull-vmm: kernel '/tmp/junk': not a bzImage (no 'HdrS' setup header) nor an ELF vmlinux"),
    ("truncated-kernel", "hull-vmm: kernel '/tmp/cut': truncated bzImage:"),
    ("too-much-memory", "hull-vmm: memory 4000000 MiB: more than the host has"),
    ("cmdline-too-long", "hull-vmm: kernel '/guest/bzImage': command line is 3000 bytes, the kernel takes at most"),
    ("no-dev-kvm", "hull-vmm: /dev/kvm: No such file or directory"),
])
def test_bad_input_one_line(batch, name, message):
    c = _case(batch, name)
    assert _vmm_rc(c.output) == 1, c.output
    lines = [l for l in c.output.splitlines() if l.startswith("hull-vmm:")]
    assert len(lines) == 1, c.output
    assert lines[0].startswith(message), lines[0]
