"""CVE-2019-5736: a container overwrites the runtime's binary through
/proc/PID/exe of a process that runs it inside the container.

The container holds `/evil` = `#!/proc/self/exe`. When the runtime's process
in the container execs it (`exec ID /evil`, or an entrypoint `/evil`), the
kernel runs whatever /proc/self/exe of that process is; the attacker (a small
static program, data/exe-overwrite.c) opens that process's /proc/PID/exe with
O_PATH, waits for it to exit and reopens the file for writing. The runtime
under test runs from a private copy of its binary, so a successful attack hits
only the copy, and the test restores it before cleaning up.

Each test asserts that the attack was really attempted (the attacker found the
process and opened its executable) and that it failed: the copy's sha256 is
unchanged and the attacker could not write.
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import helpers

ATTACKER_SRC = Path(__file__).parent / "data" / "exe-overwrite.c"
ATTEMPTS = 40


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_attacker(dest):
    """Compiles the attacker statically into dest; skips when that cannot be done."""
    gcc = shutil.which("gcc")
    if not gcc:
        pytest.skip("gcc is not installed: cannot build the static attacker")
    p = subprocess.run(
        [gcc, "-static", "-O2", "-o", str(dest), str(ATTACKER_SRC)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if p.returncode != 0:
        if "cannot find -lc" in p.stderr or "crt1.o" in p.stderr:
            pytest.skip(f"no static libc to build the attacker: {p.stderr.strip()}")
        raise AssertionError(f"building the attacker failed:\n{p.stderr}")


@contextlib.contextmanager
def runtime_copy(hull):
    """A Runtime for a private copy of the runtime under test (its sha256, its pristine bytes)."""
    d = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-exe-")
    copy = Path(d) / os.path.basename(hull.bin)
    pristine = Path(d) / "pristine"
    shutil.copy2(os.path.realpath(hull.bin), copy)
    shutil.copy2(copy, pristine)
    rt = helpers.Runtime(copy)
    try:
        yield rt, sha256(copy)
    finally:
        # a successful attack corrupts the copy: restore it so cleanup can run
        if sha256(copy) != sha256(pristine):
            os.unlink(copy)
            shutil.copy2(pristine, copy)
        problems = rt.cleanup()
        shutil.rmtree(d, ignore_errors=True)
        assert not problems, problems


def attacker_bundle(bundle):
    b = bundle(["/attacker", "/report"], readonly=False)
    build_attacker(b.rootfs / "attacker")
    return b


def add_runtime_libs(b, binary):
    """Copies the runtime's dynamic loader and libraries into the rootfs (as an
    image with glibc has them), so the kernel can run the runtime there."""
    p = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30)
    for line in p.stdout.splitlines():
        words = line.split()
        paths = [w for w in words if w.startswith("/")]
        if not paths:
            continue
        dest = b.rootfs / paths[0].lstrip("/")
        if dest.exists() or dest.is_symlink():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.realpath(paths[0]), dest)
        dest.chmod(0o755)


def add_evil(b, rt):
    add_runtime_libs(b, rt.bin)
    evil = b.rootfs / "evil"
    evil.write_text("#!/proc/self/exe\n")
    evil.chmod(0o755)


def report_lines(b):
    try:
        return (b.rootfs / "report").read_text().splitlines()
    except FileNotFoundError:
        return []


def has_line(b, prefix):
    return any(line.startswith(prefix) for line in report_lines(b))


def assert_attack_failed(b, copy_sha, rt):
    lines = helpers.wait_for(
        lambda: has_line(b, "result ") and report_lines(b), timeout=30, what="the attacker's result"
    )
    found = [line for line in lines if line.startswith("found ")]
    result = [line for line in lines if line.startswith("result ")][-1]
    # the attack was attempted: the attacker held the executable of a process
    # running `#!/proc/self/exe` inside the container
    assert found, lines
    assert sha256(rt.bin) == copy_sha, f"the runtime binary was overwritten: {lines}"
    assert result.startswith(("result open-failed", "result write-failed")), lines


def test_exec_of_proc_self_exe_script_cannot_overwrite_runtime(hull, bundle):
    with runtime_copy(hull) as (rt, copy_sha):
        b = attacker_bundle(bundle)
        add_evil(b, rt)
        cid = rt.create(b)
        rt.start(cid)
        helpers.wait_for(lambda: has_line(b, "ready"), timeout=20, what="the attacker")
        for _ in range(ATTEMPTS):
            # the process execs the runtime in the container and exits at once
            # (it is given no command it knows)
            rt("exec", cid, "/evil", check=False, timeout=30)
            if has_line(b, "found ") or has_line(b, "result "):
                break
        assert_attack_failed(b, copy_sha, rt)


def test_proc_self_exe_entrypoint_cannot_overwrite_runtime(hull, bundle):
    # run with process.args ["/evil"]: the container's init itself execs the
    # script. The attacker lives in another container whose pid namespace
    # the evil one joins (as in a pod), so it sees the init.
    with runtime_copy(hull) as (rt, copy_sha):
        a = attacker_bundle(bundle)
        acid = rt.create(a)
        rt.start(acid)
        helpers.wait_for(lambda: has_line(a, "ready"), timeout=20, what="the attacker")
        apid = rt.state(acid)["pid"]
        b = bundle(["/evil"])
        add_evil(b, rt)
        for ns in b.config["linux"]["namespaces"]:
            if ns["type"] == "pid":
                ns["path"] = f"/proc/{apid}/ns/pid"
        for _ in range(ATTEMPTS):
            rt.run(b, timeout=30)
            if has_line(a, "found ") or has_line(a, "result "):
                break
        assert_attack_failed(a, copy_sha, rt)
