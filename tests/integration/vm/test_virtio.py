"""hull-vmm's virtio devices seen from a real guest, in the nested KVM lab
(tests/lab/lab.py, docs/vm.md): hull's guest kernel boots in hull-vmm with a
read-only disk, a read-write disk and an rng, and its busybox /init reports
what Linux found; a second guest makes vsock round trips both ways through
the VM's unix sockets (tests/integration/vm/vsock-probe.c at both ends).
One L1 boot for all the tests here.
"""

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from helpers import build_path

MARKER = "HULL-L2-VIRTIO-INIT"
SECTORS = 2048  # the read-only image: 1 MiB
RW_SECTORS = 128
WRITTEN = "HULL-WROTE-SECT3"
CMDLINE = "console=ttyS0 reboot=k panic=-1 quiet"

# what the L2 guest reports (one "l2-key=value" line each), then it resets
L2_EXTRA = f"""
echo "l2-vda-sha=$(sha256sum /dev/vda | cut -d' ' -f1)"
echo "l2-vda-size=$(cat /sys/block/vda/size)"
echo "l2-vda-ro=$(cat /sys/block/vda/ro)"
echo "l2-vda-serial=$(cat /sys/block/vda/serial 2>/dev/null)"
if [ ! -b /dev/vda ]; then echo l2-vda-write=no-device
elif dd if=/dev/zero of=/dev/vda bs=512 count=1 2>/dev/null; then echo l2-vda-write=done
else echo l2-vda-write=refused; fi
echo "l2-vdb-size=$(cat /sys/block/vdb/size)"
echo "l2-vdb-ro=$(cat /sys/block/vdb/ro)"
printf '{WRITTEN}' | dd of=/dev/vdb bs=512 seek=3 conv=notrunc 2>/dev/null
echo "l2-vdb-write=$?"
sync
echo "l2-rng-current=$(cat /sys/class/misc/hw_random/rng_current)"
echo "l2-rng1=$(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n')"
echo "l2-rng2=$(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n')"
ls /sys/bus/virtio/devices | sed 's/^/l2-virtio=/'
"""


def ro_image():
    """1 MiB whose every sector differs (a sector read from the wrong place shows)."""
    return b"".join(hashlib.sha256(b"hull-virtio-%d" % i).digest() * 16 for i in range(SECTORS))


# bounded: a guest without a working vsock must still end (and the test fail)
VSOCK_EXTRA = """
timeout 150 vsock-probe guest-echo 5000 > /tmp/echo.out 2>&1 &
e=$!
echo "l2-guest-connect=$(timeout 60 vsock-probe guest-connect 6000 hello-from-guest 2>&1)"
wait $e
echo "l2-echo-rc=$?"
"""


def _exe(p):
    return p.is_file() and os.access(p, os.X_OK)


def build_probe(tmp):
    """tests/integration/vm/vsock-probe.c, static (the L2 guest has no libc)."""
    out = tmp / "vsock-probe"
    src = Path(__file__).with_name("vsock-probe.c")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run(
        [cc, "-static", "-O2", "-Wall", "-Werror", "-o", str(out), str(src)],
        capture_output=True, text=True,
    )  # fmt: skip
    return out if r.returncode == 0 else r.stderr.strip() or f"{cc} failed"


def parse(out):
    values = {}
    for m in re.finditer(r"^([\w-]+)=(.*)$", out, re.M):
        values.setdefault(m.group(1), []).append(m.group(2).strip())
    return {k: v[0] if len(v) == 1 else v for k, v in values.items()}


@pytest.fixture(scope="module")
def run(lab, guest_kernel, tmp_path_factory):
    """Both cases in one L1 boot: {case: (values, output)}, plus the image digest."""
    vmm = build_path("src", "cli", "hull-vmm")
    if not _exe(vmm):
        pytest.skip(f"{vmm} not built")
    image = ro_image()
    files = {
        "/bin/hull-vmm": vmm,
        "/guest/bzImage": guest_kernel / "bzImage",
        "/guest/l2.cpio": lab.l2_initramfs(MARKER, L2_EXTRA),
        "/guest/ro.img": image,
        "/guest/rw.img": bytes(RW_SECTORS * 512),
    }
    cases = {
        "blk-rng": (
            "cp /guest/rw.img /tmp/rw.img\n"
            f"hull-vmm --kernel /guest/bzImage --initrd /guest/l2.cpio --memory 128 "
            f"--cmdline '{CMDLINE}' --disk /guest/ro.img,ro --disk /tmp/rw.img --rng 2>&1\n"
            'echo "vmm-rc=$?"\n'
            'echo "rw-after=$(dd if=/tmp/rw.img bs=512 skip=3 count=1 2>/dev/null | head -c 16)"\n'
            "echo \"ro-after=$(sha256sum /guest/ro.img | cut -d' ' -f1)\"\n"
        )
    }
    probe = build_probe(tmp_path_factory.mktemp("vsock-probe"))
    vsock_skip = None
    if isinstance(probe, Path):
        files["/bin/vsock-probe"] = probe
        files["/guest/l2-vsock.cpio"] = lab.l2_initramfs(
            MARKER, VSOCK_EXTRA, files={"/bin/vsock-probe": probe}
        )
        cases["vsock"] = (
            "vsock-probe host-serve /tmp/v.sock_6000 > /tmp/serve.out 2>&1 &\n"
            f"hull-vmm --kernel /guest/bzImage --initrd /guest/l2-vsock.cpio --memory 128 "
            f"--cmdline '{CMDLINE}' --vsock-cid 3 --vsock-uds /tmp/v.sock > /tmp/vmm.out 2>&1 &\n"
            "v=$!\n"
            # the guest's listener comes up some time after boot: a refusal is retried
            "i=0; r=\n"
            "while [ $i -lt 240 ] && kill -0 $v 2>/dev/null; do\n"
            "    r=$(vsock-probe host-connect /tmp/v.sock 5000 ping-from-host 2>/dev/null) && break\n"
            "    i=$((i+1)); sleep 1\n"
            "done\n"
            'echo "host-connect=$r"\n'
            "wait $v\n"
            'echo "vmm-rc=$?"\n'
            "cat /tmp/vmm.out\n"
            '[ -e /tmp/v.sock ] && echo "uds-left=yes" || echo "uds-left=no"\n'
        )
    else:
        vsock_skip = f"cannot build a static vsock-probe: {probe}"
    try:
        res = lab.run_cases(cases, files=files, case_timeout=420, mem_mib=1536)
    except lab.LabError as e:
        pytest.fail(f"the lab run failed: {e}")
    got = {}
    for name in cases:
        c = res.cases.get(name)
        if c is None:
            tail = "\n".join(res.l1.output.splitlines()[-30:])
            pytest.fail(f"case {name} did not finish in L1; output tail:\n{tail}")
        out = c.output.replace("\r", "")
        assert MARKER in out, f"case {name}: the L2 guest never reached /init:\n{out[-3000:]}"
        got[name] = (parse(out), out)
    return got, hashlib.sha256(image).hexdigest(), vsock_skip


def blk(run):
    got, sha, _ = run
    v, out = got["blk-rng"]
    return v, sha, out


def test_devices_found(run):
    v, _, out = blk(run)
    assert v.get("vmm-rc") == "0", out[-3000:]
    found = v.get("l2-virtio", [])
    assert len(found if isinstance(found, list) else [found]) == 3, out[-3000:]


def test_readonly_disk_reads_back_the_image(run):
    v, sha, out = blk(run)
    assert v.get("l2-vda-size") == str(SECTORS), out[-3000:]
    assert v.get("l2-vda-sha") == sha, out[-3000:]
    assert v.get("l2-vda-ro") == "1", out[-3000:]
    assert v.get("l2-vda-serial", "").startswith("hull"), out[-3000:]


def test_readonly_disk_is_not_written(run):
    v, sha, out = blk(run)
    assert v.get("l2-vda-write") == "refused", out[-3000:]
    assert v.get("ro-after") == sha, out[-3000:]


def test_readwrite_disk_write_reaches_the_image(run):
    v, _, out = blk(run)
    assert v.get("l2-vdb-size") == str(RW_SECTORS), out[-3000:]
    assert v.get("l2-vdb-ro") == "0", out[-3000:]
    assert v.get("l2-vdb-write") == "0", out[-3000:]
    assert v.get("rw-after") == WRITTEN, out[-3000:]


def test_rng_gives_data(run):
    v, _, out = blk(run)
    assert v.get("l2-rng-current", "").startswith("virtio_rng"), out[-3000:]
    a, b = v.get("l2-rng1", ""), v.get("l2-rng2", "")
    assert re.fullmatch(r"[0-9a-f]{64}", a) and re.fullmatch(r"[0-9a-f]{64}", b), out[-3000:]
    assert a != b and a != "0" * 64, out[-3000:]


def test_vsock_round_trips(run):
    got, _, skip = run
    if skip:
        pytest.skip(skip)
    v, out = got["vsock"]
    assert v.get("vmm-rc") == "0", out[-3000:]
    # host -> guest: CONNECT 5000 through the VM's socket, answered by the guest
    assert v.get("host-connect") == "echo:ping-from-host", out[-3000:]
    assert v.get("l2-echo-rc") == "0", out[-3000:]
    # guest -> host: cid 2 port 6000 lands on <uds>_6000
    assert v.get("l2-guest-connect") == "pong:hello-from-guest", out[-3000:]
    # the VMM removed its socket when it ended
    assert v.get("uds-left") == "no", out[-3000:]
