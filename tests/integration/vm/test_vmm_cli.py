"""hull-vmm's refusals on this host, without a VM: every bad input is one line
on stderr and exit 1 (2 for usage), before /dev/kvm is needed; and on a host
without /dev/kvm, the missing device is named. The boots themselves are in
test_vmm_boot.py (nested lab)."""

import os
import struct
import subprocess

import pytest

import helpers

BUILD = helpers.REPO / os.environ.get("BUILD", "build")
VMM = BUILD / "src" / "cli" / "hull-vmm"


def run(*args, timeout=60):
    if not (VMM.is_file() and os.access(VMM, os.X_OK)):
        pytest.fail(f"'{VMM}' not built: run `ninja -C build`")
    return subprocess.run([str(VMM), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def one_line(r):
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("hull-vmm: "), lines[0]
    return lines[0][len("hull-vmm: "):]


def fake_bzimage(path, payload=8192, syssize=None, init_size=4 << 20):
    """A well-formed bzImage header over junk code: enough for the loader."""
    k = bytearray(5 * 512 + payload)
    k[0x1F1] = 4
    struct.pack_into("<I", k, 0x1F4, (payload // 16) if syssize is None else syssize)
    k[0x1FE:0x200] = b"\x55\xaa"
    k[0x200:0x202] = b"\xeb\x6a"
    k[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", k, 0x206, 0x020F)
    k[0x211] = 1
    struct.pack_into("<I", k, 0x22C, 0x7FFFFFFF)
    struct.pack_into("<H", k, 0x236, 1)
    struct.pack_into("<I", k, 0x238, 2047)
    struct.pack_into("<Q", k, 0x258, 16 << 20)
    struct.pack_into("<I", k, 0x260, init_size)
    path.write_bytes(bytes(k))
    return str(path)


def test_no_kernel_option():
    r = run()
    assert r.returncode == 2
    assert one_line(r) == "no kernel: --kernel PATH is required"


def test_missing_kernel(tmp_path):
    r = run("--kernel", str(tmp_path / "nope"))
    assert r.returncode == 1
    assert one_line(r) == f"kernel '{tmp_path}/nope': No such file or directory"


def test_corrupt_kernel(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(100000))
    r = run("--kernel", str(junk))
    assert r.returncode == 1
    assert one_line(r) == f"kernel '{junk}': not a bzImage (no 'HdrS' setup header) nor an ELF vmlinux"


def test_cut_kernel(tmp_path):
    k = fake_bzimage(tmp_path / "bz", syssize=100000)
    r = run("--kernel", k)
    assert r.returncode == 1
    assert "truncated bzImage: 1600000 bytes of kernel expected, 8192 present" in one_line(r)


def test_cmdline_too_long(tmp_path):
    k = fake_bzimage(tmp_path / "bz")
    r = run("--kernel", k, "--cmdline", "a" * 3000)
    assert r.returncode == 1
    assert one_line(r) == (f"kernel '{k}': command line is 3000 bytes, the kernel takes at most 2047")


def test_kernel_needs_more_memory(tmp_path):
    k = fake_bzimage(tmp_path / "bz", init_size=200 << 20)
    r = run("--kernel", k, "--memory", "64")
    assert r.returncode == 1
    assert "kernel needs 216 MiB of memory to decompress, the VM has 64" in one_line(r)


def test_more_memory_than_host(tmp_path):
    k = fake_bzimage(tmp_path / "bz")
    r = run("--kernel", k, "--memory", str(1 << 30))
    assert r.returncode == 1
    assert f"memory {1 << 30} MiB: more than the host has" in one_line(r)


def test_missing_disk(tmp_path):
    k = fake_bzimage(tmp_path / "bz")
    r = run("--kernel", k, "--disk", f"{tmp_path}/none.img,ro")
    assert r.returncode == 1
    assert one_line(r).startswith(f"disk '{tmp_path}/none.img'")


@pytest.mark.parametrize("args,message", [
    (["--cpus", "0"], "--cpus '0': expected a number from 1 to 64"),
    (["--cpus", "65"], "--cpus '65': expected a number from 1 to 64"),
    (["--memory", "lots"], "--memory 'lots': expected a size in MiB"),
    (["--console", "tty"], "--console 'tty': expected stdio or file:PATH"),
    (["--vsock-cid", "2", "--vsock-uds", "/tmp/x"], "--vsock-cid '2': expected a number >= 3"),
    (["--vsock-cid", "3"], "--vsock-cid and --vsock-uds go together"),
])
def test_usage_errors(tmp_path, args, message):
    k = fake_bzimage(tmp_path / "bz")
    r = run("--kernel", k, *args)
    assert r.returncode == 2
    assert one_line(r) == message


def test_no_dev_kvm(tmp_path):
    if os.path.exists("/dev/kvm"):
        pytest.skip("this host has /dev/kvm (the lab test covers its absence)")
    k = fake_bzimage(tmp_path / "bz")
    r = run("--kernel", k)
    assert r.returncode == 1
    assert one_line(r) == "/dev/kvm: No such file or directory"
