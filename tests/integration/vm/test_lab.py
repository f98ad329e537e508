"""The nested KVM lab (docs/vm.md) and the VMs booted in it.

Everything here runs in ONE boot of L1 (QEMU TCG, Debian's kernel, kvm-amd):
each test reads the result of its own case from the batch.
  smoke        tests/lab/kvm-smoke: a VM + vCPU on L1's /dev/kvm runs real-mode
               code that writes "ok\\n" to the serial port and halts
  qemu-*       QEMU microvm (-accel kvm) boots hull's guest kernel as L2 with a
               busybox /init that prints a marker: the baseline hull's VMM is
               compared with (bench/vm-boot)
  vmm-*        hull-vmm boots the same kernel and initramfs in the same L1
               run, so the two boot times compare (test_vmm_boot.py holds
               hull-vmm's own tests: vCPU counts, memory sizes, bad input)
"""

import os
import re

import pytest
from helpers import build_path

MARKER = "HULL-L2-INIT-REACHED"
# the L2 guest's /init prints what the tests check, then resets the VM
L2_EXTRA = (
    'echo "l2-cpus=$(grep -c ^processor /proc/cpuinfo)"\n'
    'echo "l2-$(grep MemTotal /proc/meminfo | tr -s " ")"\n'
    'echo "l2-cmdline=$(cat /proc/cmdline)"\n'
    'ls /sys/bus/virtio/devices 2>/dev/null | sed "s/^/l2-virtio=/"\n'
)
# hull-vmm resets through the i8042 (reboot=k); QEMU's microvm has no i8042,
# so QEMU guests triple-fault instead (reboot=t: with reboot=k Linux waits
# minutes in the lab before falling back)
L2_CMDLINE = "console=ttyS0 panic=-1 quiet"

# A case's /init output passes through this shell function, which notes the L1
# uptime at which the marker arrived (L1's clock follows the host's TSC).
STAMP = f"""set -o pipefail
stamp() {{
    while IFS= read -r l; do
        case "$l" in *{MARKER}*) echo "@@marker-at $(cut -d' ' -f1 /proc/uptime)";; esac
        printf '%s\\n' "$l"
    done
}}
echo "@@start-at $(cut -d' ' -f1 /proc/uptime)"
"""


def qemu_case(kernel, cpus, mem):
    return STAMP + (
        "qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=off "
        f"-accel kvm -cpu host,pmu=off -smp {cpus} -m {mem} "
        "-nodefaults -no-user-config -nographic -serial stdio "
        f"-kernel {kernel} -initrd /guest/l2.cpio -append '{L2_CMDLINE} reboot=t' -no-reboot 2>&1 | stamp\n"
    )


def vmm_case(kernel, cpus, mem, extra=""):
    return STAMP + (
        f"hull-vmm --kernel {kernel} --initrd /guest/l2.cpio --cpus {cpus} --memory {mem} "
        f"--cmdline '{L2_CMDLINE} reboot=k' {extra} 2>&1 | stamp\n"
    )


def _exe(p):
    return p.is_file() and os.access(p, os.X_OK)


@pytest.fixture(scope="module")
def batch(lab, request):
    """Runs every case in one L1 boot. Returns (Batch, {case: skip reason})."""
    files = {}
    cases = {}
    absent = {}

    smoke = build_path("tests", "lab", "kvm-smoke")
    if _exe(smoke):
        files["/bin/kvm-smoke"] = smoke
        cases["smoke"] = "kvm-smoke"
    else:
        absent["smoke"] = f"{smoke} not built (ninja -C build; not built under sanitizers)"

    try:
        gk = request.getfixturevalue("guest_kernel")
    except pytest.skip.Exception as e:
        gk = None
        for c in ("qemu-bzimage", "qemu-pvh", "vmm-bzimage", "vmm-pvh"):
            absent[c] = str(e)
    if gk is not None:
        files["/guest/bzImage"] = gk / "bzImage"
        files["/guest/vmlinux"] = gk / "vmlinux"
        files["/guest/l2.cpio"] = lab.l2_initramfs(MARKER, L2_EXTRA)
        files.update(lab.qemu_l1_files())
        cases["qemu-bzimage"] = qemu_case("/guest/bzImage", 2, 128)
        cases["qemu-pvh"] = qemu_case("/guest/vmlinux", 2, 128)
        vmm = build_path("src", "cli", "hull-vmm")
        if _exe(vmm):
            files["/bin/hull-vmm"] = vmm
            cases["vmm-bzimage"] = vmm_case("/guest/bzImage", 2, 128)
            cases["vmm-pvh"] = vmm_case("/guest/vmlinux", 2, 128)
        else:
            for c in ("vmm-bzimage", "vmm-pvh"):
                absent[c] = f"{vmm} not built"
    try:
        res = lab.run_cases(cases, files=files, case_timeout=240, mem_mib=1536, cpus=1)
    except lab.LabError as e:
        pytest.fail(f"the lab run failed: {e}")
    # the timings go to the test log (-s or the junit xml's system-out)
    print(f"\nlab: L1 boot {res.l1.boot_s:.1f} s, whole L1 run {res.l1.total_s:.1f} s")
    for name, c in res.cases.items():
        t = l2_times(c.output)
        extra = f", to /init {t:.2f} s" if t is not None else ""
        print(f"lab: case {name}: rc {c.rc}, {c.seconds:.2f} s{extra}")
    for kind in ("bzimage", "pvh"):
        q, h = res.cases.get(f"qemu-{kind}"), res.cases.get(f"vmm-{kind}")
        tq, th = (l2_times(q.output) if q else None), (l2_times(h.output) if h else None)
        if tq and th:
            print(f"lab: {kind} to /init: hull-vmm {th:.2f} s, qemu microvm {tq:.2f} s, ratio {th / tq:.2f}")
    return res, absent


def case(batch, name):
    res, absent = batch
    if name in absent:
        pytest.skip(absent[name])
    c = res.cases.get(name)
    if c is None:
        tail = "\n".join(res.l1.output.splitlines()[-30:])
        pytest.fail(f"case {name} did not finish in L1; output tail:\n{tail}")
    return c


def l2_times(out):
    """Seconds from the VMM's start to the marker, as seen in L1."""
    s = re.search(r"^@@start-at ([\d.]+)", out, re.M)
    m = re.search(r"^@@marker-at ([\d.]+)", out, re.M)
    return float(m.group(1)) - float(s.group(1)) if s and m else None


def check_l2(c, cpus, mem_mib):
    out = c.output.replace("\r", "")
    assert MARKER in out, f"the L2 guest never reached /init:\n{out[-3000:]}"
    assert c.rc == 0, f"the VMM exited {c.rc} after the guest reset:\n{out[-3000:]}"
    m = re.search(r"^l2-cpus=(\d+)$", out, re.M)
    assert m and int(m.group(1)) == cpus, f"want {cpus} vCPUs in the guest:\n{out[-2000:]}"
    m = re.search(r"^l2-MemTotal: (\d+) kB$", out, re.M)
    assert m, out[-2000:]
    kib = int(m.group(1))
    # the kernel keeps its own image and reserved pages out of MemTotal
    assert mem_mib * 1024 * 0.70 < kib <= mem_mib * 1024, f"MemTotal {kib} kB for {mem_mib} MiB"


def test_kvm_smoke_in_l1(batch):
    c = case(batch, "smoke")
    assert c.rc == 0, c.output
    assert 'guest wrote "ok\\n", halted' in c.output, c.output


def test_qemu_boots_guest_kernel_bzimage(batch):
    check_l2(case(batch, "qemu-bzimage"), 2, 128)


def test_qemu_boots_guest_kernel_pvh(batch):
    check_l2(case(batch, "qemu-pvh"), 2, 128)


def test_vmm_boots_guest_kernel_bzimage(batch):
    check_l2(case(batch, "vmm-bzimage"), 2, 128)


def test_vmm_boots_guest_kernel_pvh(batch):
    check_l2(case(batch, "vmm-pvh"), 2, 128)

