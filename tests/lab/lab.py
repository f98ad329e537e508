"""hull's nested KVM lab (docs/vm.md, shared LAB.md).

Machines without a usable /dev/kvm run VM tests one level down: QEMU TCG with
`-cpu max` (which emulates AMD SVM) boots Debian's kernel as "L1"; inside L1
the modules irqbypass, kvm, ccp and kvm-amd give a real /dev/kvm, on which the
VMM under test (hull-vmm, or QEMU for the baseline) boots an "L2" guest.

    import lab
    rc, out = lab.run_l1({"/bin/kvm-smoke": "build/tests/lab/kvm-smoke"},
                         "/bin/kvm-smoke")

One L1 boot costs seconds, so run many cases per boot:

    res = lab.run_cases({"smoke": "/bin/kvm-smoke", "cpus": "nproc"}, files=...)
    res.cases["smoke"].rc, res.cases["smoke"].output

Everything slow is cached and rebuilt on demand:
  /var/cache/hull/lab/<kernel version>/{vmlinuz,modules/*.ko,VERSION}
      Debian's L1 kernel, taken from the linux-image-6.1.*-amd64 package that
      linux-image-amd64 depends on (`apt-get download` + `dpkg-deb -x`; nothing
      is installed on the host).
  /var/cache/hull/guest-kernel/<key>/{bzImage,vmlinux}
      hull's small guest kernel (scripts/guest-kernel.sh, `make guest-kernel`).

Environment:
  HULL_LAB_CACHE   cache directory (default /var/cache/hull/lab)
  HULL_LAB_ACCEL   accelerator for L1 (default tcg; kvm on a host whose
                   /dev/kvm runs stock kernels makes L1 fast)
  HULL_LAB_QEMU    qemu-system-x86_64 to run L1 with (default: from PATH)
"""

import dataclasses
import fcntl
import gzip
import io
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("HULL_LAB_CACHE", "/var/cache/hull/lab"))
BUSYBOX = Path("/bin/busybox")
# L1's modules, inserted in this order
KVM_MODULES = ("irqbypass", "kvm", "ccp", "kvm-amd")
MODULE_PATHS = {
    "irqbypass": "kernel/virt/lib/irqbypass.ko",
    "kvm": "kernel/arch/x86/kvm/kvm.ko",
    "ccp": "kernel/drivers/crypto/ccp/ccp.ko",
    "kvm-amd": "kernel/arch/x86/kvm/kvm-amd.ko",
}


class LabError(Exception):
    """The lab itself failed (no artifacts, L1 did not boot, timeout)."""


class LabUnavailable(LabError):
    """The lab cannot be set up on this machine (no qemu, no package)."""


# ---------------------------------------------------------------- artifacts


def _lock(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def qemu_binary():
    q = os.environ.get("HULL_LAB_QEMU") or shutil.which("qemu-system-x86_64")
    if not q or not os.access(q, os.X_OK):
        raise LabUnavailable("qemu-system-x86_64 not found (scripts/install-deps.sh installs qemu-system-x86)")
    return q


def _l1_package():
    """The linux-image-6.1.*-amd64 package linux-image-amd64 depends on."""
    try:
        out = subprocess.run(
            ["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LabUnavailable(f"apt-cache depends linux-image-amd64: {e}") from e
    m = re.search(r"Depends:\s*(linux-image-\d[\w.+-]*-amd64)\b", out)
    if not m:
        raise LabUnavailable(f"cannot tell which kernel linux-image-amd64 depends on: {out.strip()!r}")
    return m.group(1)


@dataclasses.dataclass
class L1Kernel:
    version: str
    vmlinuz: Path
    modules: dict  # name -> Path of the .ko

    @classmethod
    def at(cls, d):
        version = (d / "VERSION").read_text().strip()
        return cls(version, d / "vmlinuz", {m: d / "modules" / f"{m}.ko" for m in KVM_MODULES})


def _set_current(ver):
    tmp = CACHE / f".current.{os.getpid()}"
    tmp.write_text(ver + "\n")
    os.rename(tmp, CACHE / "current")


def l1_kernel():
    """Debian's kernel and kvm modules for L1, downloaded once into CACHE.
    Raises LabUnavailable when the package cannot be had (offline machine)."""
    # the package chosen the first time is kept (asking apt-cache costs 20 s on
    # a loaded machine); HULL_LAB_REFRESH=1 asks again
    current = CACHE / "current"
    if current.exists() and not os.environ.get("HULL_LAB_REFRESH"):
        d = CACHE / current.read_text().strip()
        if (d / "VERSION").exists():
            return L1Kernel.at(d)
    pkg = _l1_package()
    ver = pkg[len("linux-image-") :]
    d = CACHE / ver
    if (d / "VERSION").exists():
        _set_current(ver)
        return L1Kernel.at(d)
    fd = _lock(CACHE / ".lock")
    try:
        if (d / "VERSION").exists():
            return L1Kernel.at(d)
        tmp = Path(tempfile.mkdtemp(prefix=f".{ver}.", dir=CACHE))
        try:
            r = subprocess.run(
                ["apt-get", "download", "-q", pkg], cwd=tmp, capture_output=True, text=True, timeout=900
            )
            debs = list(tmp.glob(f"{pkg}_*.deb"))
            if r.returncode != 0 or not debs:
                raise LabUnavailable(f"apt-get download {pkg} failed: {r.stderr.strip()[-500:]}")
            x = tmp / "x"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(x)], check=True, timeout=600)
            out = tmp / "out"
            (out / "modules").mkdir(parents=True)
            shutil.copy(x / "boot" / f"vmlinuz-{ver}", out / "vmlinuz")
            moddir = x / "lib" / "modules" / ver
            for m in KVM_MODULES:
                src = moddir / MODULE_PATHS[m]
                if not src.exists():
                    raise LabError(f"{pkg} has no {MODULE_PATHS[m]}")
                shutil.copy(src, out / "modules" / f"{m}.ko")
            (out / "VERSION").write_text(ver + "\n")
            (out / "PACKAGE").write_text(debs[0].name + "\n")
            os.rename(out, d)
            _set_current(ver)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return L1Kernel.at(d)
    finally:
        os.close(fd)


def guest_kernel(build=True):
    """Directory holding hull's guest kernel (bzImage, vmlinux). With
    build=False returns None when it is not cached yet instead of building
    (a build takes 15+ minutes on 2 cores)."""
    script = REPO / "scripts" / "guest-kernel.sh"
    if not build:
        key = subprocess.run([script, "--print-key"], capture_output=True, text=True)
        if key.returncode != 0:
            raise LabUnavailable(f"guest-kernel.sh: {key.stderr.strip()}")
        cache = Path(os.environ.get("HULL_GUEST_KERNEL_CACHE", "/var/cache/hull/guest-kernel"))
        d = cache / key.stdout.strip()
        return d if (d / "bzImage").exists() and (d / "vmlinux").exists() else None
    r = subprocess.run([script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise LabUnavailable(f"make guest-kernel failed: {r.stderr.strip()[-2000:]}")
    return Path(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- initramfs


class Cpio:
    """An uncompressed newc archive built in memory (files owned by root).
    Uncompressed, because under TCG the guest unpacks gzip slowly."""

    def __init__(self):
        self._buf = io.BytesIO()
        self._ino = 1
        self._names = set()

    def _entry(self, name, mode, data=b"", nlink=1):
        name = name.lstrip("/") or "."
        if name in self._names:
            return
        self._names.add(name)
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(
            f"{v:08x}"
            for v in (self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(nb), 0)
        )
        self._ino += 1
        w = self._buf.write
        w(hdr.encode())
        w(nb)
        w(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
        w(data)
        w(b"\0" * ((4 - len(data) % 4) % 4))

    def dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self._entry("/".join(parts[:i]), stat.S_IFDIR | 0o755, nlink=2)

    def mkdir(self, path, mode=0o755):
        self.dirs(path)
        self._entry(path, stat.S_IFDIR | mode, nlink=2)

    def file(self, path, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        self.dirs(path)
        self._entry(path, stat.S_IFREG | mode, data)

    def symlink(self, path, target):
        self.dirs(path)
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def host_file(self, path, host):
        """Copy a host file (symlinks followed), keeping its permission bits."""
        host = Path(host)
        st = host.stat()
        if stat.S_ISDIR(st.st_mode):
            self.mkdir(path)
            for child in sorted(host.iterdir()):
                self.host_file(f"{path.rstrip('/')}/{child.name}", child)
            return
        self.file(path, host.read_bytes(), stat.S_IMODE(st.st_mode))

    def data(self):
        self._entry("TRAILER!!!", 0, nlink=1)
        return self._buf.getvalue()


def _is_dynamic_elf(path):
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    if head != b"\x7fELF":
        return False
    r = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
    return r.returncode == 0 and "=>" in r.stdout or "ld-linux" in r.stdout


def shared_libraries(path):
    """Absolute paths of the libraries (and the interpreter) a dynamic ELF needs."""
    if not _is_dynamic_elf(path):
        return []
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"\S+ => (/\S+)", line) or re.match(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


_SONAME = re.compile(rb"lib[A-Za-z0-9_+-]+\.so\.[0-9]+")


def dlopen_libraries(path):
    """hull's own programs load some libraries on first use (dlopen: libcurl,
    libarchive, libcrypto, libnftables), which ldd does not list: their sonames are
    strings in the binary. Returns those libraries' paths and what they need."""
    try:
        names = set(_SONAME.findall(Path(path).read_bytes()))
    except OSError:
        return []
    known = {}
    for line in subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) \(libc6,x86-64[^)]*\) => (/\S+)", line)
        if m:
            known.setdefault(m.group(1), m.group(2))
    libs = []
    for n in sorted(names):
        lib = known.get(n.decode())
        if lib:
            libs.append(lib)
            libs.extend(shared_libraries(lib))
    return libs


def add_files(cpio, files):
    """files: {guest path: host path (str or Path) | content (bytes)}; dynamic ELFs among host
    paths bring their shared libraries (ldd) to the same paths in the guest."""
    libs = set()
    for guest, src in files.items():
        if isinstance(src, bytes):
            cpio.file(guest, src, 0o755)
            continue
        src = Path(src)
        if not src.exists():
            raise LabError(f"lab file for {guest}: {src} does not exist")
        cpio.host_file(guest, src)
        if src.is_file():
            libs.update(shared_libraries(src))
            if src.resolve().is_relative_to(REPO):
                libs.update(dlopen_libraries(src))
    for lib in sorted(libs):
        cpio.host_file(lib, lib)
        # glibc's loader is found as /lib64/ld-linux-x86-64.so.2 through the
        # /lib64 -> usr/lib64 style links of the host: copy the file there too
        real = os.path.realpath(lib)
        if real != lib:
            cpio.host_file(real, real)


def busybox_initramfs(init_script, files=None, extra_dirs=()):
    """A busybox-static initramfs whose /init is init_script (sh)."""
    if not BUSYBOX.exists():
        raise LabUnavailable("busybox-static is not installed (/bin/busybox)")
    c = Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "run", "etc", "root", *extra_dirs):
        c.mkdir(d)
    c.host_file("/bin/busybox", BUSYBOX)
    c.symlink("/bin/sh", "busybox")
    c.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    c.file("/etc/group", "root:x:0:\n")
    if files:
        add_files(c, files)
    c.file("/init", init_script, 0o755)
    return c.data()


# ---------------------------------------------------------------- L1


@dataclasses.dataclass
class L1Result:
    rc: int  # the script's exit code
    output: str  # what the script printed (between the markers)
    console: str  # the whole serial console of L1
    boot_s: float  # qemu start -> the script starts
    total_s: float  # qemu start -> qemu exit


_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for m in @MODULES@; do
    insmod /lib/lab-modules/$m.ko || echo "LAB-ERROR: insmod $m failed"
done
[ -c /dev/kvm ] || echo "LAB-ERROR: no /dev/kvm in L1 (cpu flags: $(grep -o -w -e svm -e vmx /proc/cpuinfo | sort -u | tr '\n' ' '))"
cd /root
# a heartbeat in the kernel log (on the console, dropped from the script's output):
# when L1 times out, the console tail tells a stuck L1 from a stuck case
(while sleep 60; do echo "<3>LAB-HB $(cut -d' ' -f1 /proc/uptime)" > /dev/kmsg; done) &
echo "@TOKEN@-BEGIN"
sh /lab/script.sh </dev/null 2>&1
rc=$?
echo "@TOKEN@-END rc=$rc"
sync
reboot -f
"""


# rtc=on: with rtc=off Debian's kernel spends 20+ s probing a CMOS clock that
# is not there. tsc_early_khz: under a loaded TCG host the PIT calibration of
# the TSC fails and the kernel then waits for timer ticks that come too slowly
# (seen stuck for minutes); a fixed TSC frequency and lpj skip both
# calibrations (the values only need to be plausible).
# The TSC under TCG counts at the host's rate: telling L1 the host's frequency
# keeps L1's clock (and so the timings measured inside it) close to real time.
def _host_tsc_khz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return int(float(line.split(":")[1]) * 1000)
    except (OSError, ValueError):
        pass
    return 2000000


def l1_cmdline():
    khz = _host_tsc_khz()
    return (
        f"console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz={khz} lpj={khz * 4} "
        "mitigations=off cryptomgr.notests"
    )


def _l1_cmd(kernel, initrd, mem_mib, cpus, append):
    accel = os.environ.get("HULL_LAB_ACCEL", "tcg")
    cpu = "max" if accel == "tcg" else "host"
    return [
        qemu_binary(),
        "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
        "-accel", accel,
        "-cpu", cpu,
        "-smp", str(cpus),
        "-m", str(mem_mib),
        "-nodefaults", "-no-user-config", "-nographic",
        "-serial", "stdio",
        "-kernel", str(kernel),
        "-initrd", str(initrd),
        "-append", f"{l1_cmdline()} {append}".strip(),
        "-no-reboot",
    ]  # fmt: skip


def run_l1_full(files, script, timeout=600, mem_mib=1024, cpus=1, append=""):
    """Boots L1 with `files` ({guest path: host path | bytes}) added to
    its initramfs, runs `script` (busybox sh, stdout+stderr captured) and
    returns an L1Result. Raises LabError when L1 fails to boot, the lab cannot
    give /dev/kvm, or `timeout` seconds pass (qemu is then killed)."""
    k = l1_kernel()
    token = "LAB-" + uuid.uuid4().hex[:12]
    mods = {f"/lib/lab-modules/{m}.ko": p for m, p in k.modules.items()}
    init = _INIT.replace("@MODULES@", " ".join(KVM_MODULES)).replace("@TOKEN@", token)
    allfiles = dict(mods)
    allfiles.update(files or {})
    allfiles["/lab/script.sh"] = (script.rstrip("\n") + "\n").encode()
    with tempfile.TemporaryDirectory(prefix="hull-lab-") as tmp:
        initrd = Path(tmp) / "l1.cpio"
        initrd.write_bytes(busybox_initramfs(init, allfiles))
        cmd = _l1_cmd(k.vmlinuz, initrd, mem_mib, cpus, append)
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        buf = bytearray()
        boot_s = None
        os.set_blocking(proc.stdout.fileno(), False)
        timed_out = False
        try:
            while True:
                chunk = None
                try:
                    chunk = proc.stdout.read(65536)
                except BlockingIOError:
                    pass
                if chunk:
                    buf += chunk
                    if boot_s is None and f"{token}-BEGIN".encode() in buf:
                        boot_s = time.monotonic() - start
                    continue
                if chunk == b"" and proc.poll() is not None:
                    break
                if time.monotonic() - start > timeout:
                    timed_out = True
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            rest = proc.stdout.read()
            if rest:
                buf += rest
            proc.stdout.close()
        total = time.monotonic() - start
    console = buf.decode(errors="replace").replace("\r\n", "\n")
    tail = "\n".join(console.splitlines()[-40:])
    if timed_out:
        raise LabError(f"L1 timed out after {timeout} s (qemu killed); console tail:\n{tail}")
    m = re.search(re.escape(token) + r"-BEGIN\n(.*?)" + re.escape(token) + r"-END rc=(\d+)", console, re.S)
    if not m:
        raise LabError(f"L1 ended (qemu exit {proc.returncode}) without running the script to its end; console tail:\n{tail}")
    lab_errors = [l for l in console[: console.find(token)].splitlines() if l.startswith("LAB-ERROR")]
    if lab_errors:
        raise LabError("the lab is broken: " + "; ".join(lab_errors))
    output = re.sub(r"^\[\s*[\d.]+\] LAB-HB [\d.]+\n", "", m.group(1), flags=re.M)
    return L1Result(int(m.group(2)), output, console, boot_s or 0.0, total)


def run_l1(files, script, timeout=600, mem_mib=1024, cpus=1, append=""):
    """run_l1_full, returning (exit code of the script, its output)."""
    r = run_l1_full(files, script, timeout=timeout, mem_mib=mem_mib, cpus=cpus, append=append)
    return r.rc, r.output


# ---------------------------------------------------------------- batches


@dataclasses.dataclass
class Case:
    rc: int
    output: str
    seconds: float


@dataclasses.dataclass
class Batch:
    cases: dict  # name -> Case (cases that never finished are absent)
    l1: L1Result


def run_cases(cases, files=None, case_timeout=300, timeout=None, **kw):
    """Runs several shell snippets in one L1 boot. cases: {name: sh script}.
    Each runs in its own `sh`, killed after case_timeout seconds (rc 137).
    Returns a Batch; a case absent from Batch.cases did not finish."""
    parts = []
    for name, body in cases.items():
        if not re.fullmatch(r"[\w.-]+", name):
            raise ValueError(f"case name {name!r}: use [A-Za-z0-9_.-]")
        parts.append(
            f"echo '@@case-begin {name}'\n"
            f"t0=$(cut -d' ' -f1 /proc/uptime)\n"
            f"cat > /tmp/case-{name}.sh <<'LAB_CASE_EOF'\n{body}\nLAB_CASE_EOF\n"
            f"timeout -s KILL {int(case_timeout)} sh /tmp/case-{name}.sh </dev/null 2>&1\n"
            f"rc=$?\n"
            f"echo \"@@case-end {name} rc=$rc t0=$t0 t1=$(cut -d' ' -f1 /proc/uptime)\"\n"
        )
    if timeout is None:
        timeout = 120 + case_timeout * len(cases)
    r = run_l1_full(files or {}, "".join(parts), timeout=timeout, **kw)
    got = {}
    for m in re.finditer(
        r"^@@case-begin ([\w.-]+)\n(.*?)^@@case-end \1 rc=(\d+) t0=([\d.]+) t1=([\d.]+)$",
        r.output,
        re.S | re.M,
    ):
        got[m.group(1)] = Case(int(m.group(3)), m.group(2), float(m.group(5)) - float(m.group(4)))
    return Batch(got, r)


# ---------------------------------------------------------------- L2 helpers


def l2_marker_init(marker, extra=""):
    """A busybox /init for an L2 guest: mounts proc/sys/dev, prints `marker`,
    runs `extra` (sh), then powers the guest off (reboot -f: the VMM sees
    the reset and exits; QEMU needs -no-reboot)."""
    return (
        "#!/bin/busybox sh\n"
        "/bin/busybox --install -s /bin\n"
        "export PATH=/bin\n"
        "mount -t proc proc /proc\n"
        "mount -t sysfs sysfs /sys\n"
        "mount -t devtmpfs devtmpfs /dev 2>/dev/null\n"
        f"echo {shlex.quote(marker)}\n"
        f"{extra}\n"
        "reboot -f\n"
    )


def l2_initramfs(marker, extra="", files=None, gz=False):
    data = busybox_initramfs(l2_marker_init(marker, extra), files)
    return gzip.compress(data, 1) if gz else data


def qemu_l1_files():
    """Files that let QEMU itself run inside L1 (as the L2 baseline VMM):
    the binary (its libraries follow through ldd) and microvm's firmware."""
    q = Path(qemu_binary())
    files = {"/usr/bin/qemu-system-x86_64": q}
    share = Path("/usr/share/qemu")
    for name in ("bios-microvm.bin", "qboot.rom", "pvh.bin", "linuxboot_dma.bin"):
        if (share / name).exists():
            files[str(share / name)] = share / name
    return files
