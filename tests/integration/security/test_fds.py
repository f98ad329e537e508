"""No file descriptor of the runtime reaches the container (init and exec),
the container process is the workload binary, never the runtime, and the
runtime's fds and cwd cannot be used to reach the host (CVE-2024-21626)."""

import os
import subprocess
import sys
import tempfile
import time

import pytest

import helpers
from helpers import inside

# The shell's own fds: sh expands the glob itself, readlink runs in a child.
LIST_FDS = 'for f in /proc/self/fd/*; do echo "${f##*/} $(readlink $f)"; done'


def fds_of(pid):
    d = f"/proc/{pid}/fd"
    return {int(n): os.readlink(os.path.join(d, n)) for n in os.listdir(d)}


def is_busybox(b, pid):
    # readlink of /proc/PID/exe shows the path in the container's mount
    # namespace; compare the inodes instead.
    return os.path.samefile(f"/proc/{pid}/exe", os.path.join(b.rootfs, "bin/busybox"))


def test_container_init_sees_only_stdio(hull, bundle):
    # `ls` lists its own fds: 0-2 and the /proc/self/fd directory it opened.
    out = inside(hull, bundle(), "ls /proc/self/fd")
    assert out.split() == ["0", "1", "2", "3"]


def test_shell_fds_are_only_stdio(hull, bundle):
    # The shell's own fds (the glob is expanded by sh itself; readlink runs in
    # a child that inherits them all).
    out = inside(hull, bundle(), LIST_FDS)
    fds = dict(line.split(" ", 1) for line in out.splitlines())
    assert set(fds) <= {"0", "1", "2", "3"}, fds
    # fd 3, if present, is readlink's own open of the directory; never a
    # runtime file such as a state dir, a cgroup, the bundle or a socket.
    for n, target in fds.items():
        assert "hull" not in target and "runc" not in target, fds
        assert not target.startswith(("/sys/fs/cgroup", "/run", "socket:", "anon_inode:")), fds


def test_init_fds_from_host(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.state(cid)["pid"]
    fds = fds_of(pid)
    assert sorted(fds) == [0, 1, 2], fds
    assert is_busybox(b, pid)


def test_exec_sees_only_stdio(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    hull.start(cid)
    p = hull("exec", cid, "ls", "/proc/self/fd")
    assert p.stdout.split() == ["0", "1", "2", "3"]
    p = hull("exec", cid, "sh", "-c", LIST_FDS)
    fds = dict(line.split(" ", 1) for line in p.stdout.splitlines())
    assert set(fds) <= {"0", "1", "2", "3"}, fds
    p = hull("exec", cid, "readlink", "/proc/self/exe")
    assert p.stdout == "/bin/busybox\n"


def test_exec_detached_process_fds_from_host(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    hull.start(cid)
    pidfile = os.path.join(b.path, "exec.pid")
    hull("exec", "--detach", "--pid-file", pidfile, cid, "sleep", "10")
    with open(pidfile) as f:
        pid = int(f.read())
    assert sorted(fds_of(pid)) == [0, 1, 2]
    assert is_busybox(b, pid)


def test_inherited_fds_of_the_caller_are_not_passed(hull, bundle):
    # An fd the caller leaks to the runtime (no O_CLOEXEC) must not reach the
    # container (runc passes only --preserve-fds ones).
    b = bundle()
    fd = os.open(str(b.path), os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(fd, True)
    try:
        b.config["process"]["args"] = ["sh", "-c", LIST_FDS]
        b.save(runtime=hull)
        argv = hull.argv("run", "--bundle", b.path, b.take_cid())
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30, pass_fds=(fd,))
        assert p.returncode == 0, p.stderr
        fds = dict(line.split(" ", 1) for line in p.stdout.splitlines())
        assert str(fd) not in fds or fd == 3, fds
        assert not any(str(b.path) in t for t in fds.values()), fds
    finally:
        os.close(fd)


def test_preserve_fds(hull, bundle):
    # --preserve-fds 1 passes exactly the caller's fd 3.
    b = bundle()
    with tempfile.TemporaryFile("w+") as tf:
        tf.write("preserved\n")
        tf.flush()
        tf.seek(0)
        b.config["process"]["args"] = ["sh", "-c", "cat <&3; ls /proc/self/fd"]
        b.save(runtime=hull)
        argv = hull.argv("run", "--preserve-fds", "1", "--bundle", b.path, b.take_cid())
        # A small wrapper puts the temp file on fd 3 and execs the runtime.
        wrapper = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.execv(sys.argv[2], sys.argv[2:])"
        p = subprocess.run(
            [sys.executable, "-c", wrapper, str(tf.fileno()), *argv],
            capture_output=True,
            text=True,
            timeout=30,
            pass_fds=(tf.fileno(),),
        )
        assert p.returncode == 0, p.stderr
        lines = p.stdout.split()
        assert lines[0] == "preserved"
        # 3 is the preserved file, 4 is ls's own directory fd.
        assert lines[1:] == ["0", "1", "2", "3", "4"]


# Runs argv with exactly the fds given ({number: path}) besides stdio: a
# small Python wrapper opens each file at its number and execs the runtime.
FD_WRAPPER = """
import os, sys
for item in filter(None, sys.argv[1].split(",")):
    n, path = item.split("=", 1)
    fd = os.open(path, os.O_RDONLY)
    if fd != int(n):
        os.dup2(fd, int(n))
        os.close(fd)
    else:
        os.set_inheritable(fd, True)
os.execv(sys.argv[2], sys.argv[2:])
"""


def run_with_fds(argv, fds):
    spec = ",".join(f"{n}={p}" for n, p in sorted(fds.items()))
    return helpers.run_captured([sys.executable, "-c", FD_WRAPPER, spec, *map(str, argv)])


def fd_files(tmp, numbers):
    """One file per fd number, named after it: {n: path}."""
    res = {}
    for n in numbers:
        path = os.path.join(tmp, f"preserved-fd-{n}")
        with open(path, "w") as f:
            f.write(f"fd {n}\n")
        res[n] = path
    return res


def listed_fds(stdout):
    """{fd: target} from LIST_FDS, without the /proc/self/fd dir the glob itself opened
    (gone by the time readlink runs, so its target is empty)."""
    fds = dict(line.split(" ", 1) for line in stdout.splitlines() if " " in line)
    return {int(n): t for n, t in fds.items() if t and not t.endswith("/fd")}


def assert_exactly_preserved(fds, expected):
    assert sorted(fds) == [0, 1, 2, *sorted(expected)], list(fds.items())
    for n, path in expected.items():
        assert fds[n].endswith(os.path.basename(path)), (n, fds)


@pytest.mark.parametrize("verb", ["run", "exec"])
def test_preserve_fds_passes_exactly_the_callers_fds(hull, bundle, verb, tmp_path):
    # The caller holds 3, 4, 5 and 6; --preserve-fds 3 passes 3, 4 and 5 as
    # they are and nothing else (not 6, no fd of the runtime's).
    files = fd_files(tmp_path, [3, 4, 5, 6])
    b = bundle(["sleep", "30"] if verb == "exec" else ["sh", "-c", LIST_FDS])
    if verb == "run":
        cid = hull.prepare(b)
        argv = hull.argv("run", "--preserve-fds", "3", "--bundle", b.path, cid)
    else:
        cid = hull.create(b)
        hull.start(cid)
        argv = hull.argv("exec", "--preserve-fds", "3", cid, "sh", "-c", LIST_FDS)
    p = run_with_fds(argv, files)
    assert p.returncode == 0, p.stderr
    assert_exactly_preserved(listed_fds(p.stdout), {n: files[n] for n in (3, 4, 5)})


@pytest.mark.parametrize("verb", ["create", "run", "exec"])
def test_preserve_fds_not_open_is_an_error(hull, bundle, verb):
    # Nothing at 3..8 in the caller: runc fails too; nothing is left behind
    # (before the fix a runtime pipe showed up as fd 3 in the container).
    b = bundle(["sleep", "30"])
    if verb == "exec":
        cid = hull.create(b)
        hull.start(cid)
        before = set(os.listdir("/proc"))
        argv = hull.argv("exec", "--preserve-fds", "6", cid, "ls", "/proc/self/fd")
    else:
        cid = hull.prepare(b)
        argv = hull.argv(verb, "--preserve-fds", "6", "--bundle", b.path, cid)
    p = run_with_fds(argv, {})
    assert p.returncode != 0, p.stdout
    if hull.is_hull:
        assert "--preserve-fds 6: fd 3 is not open in the caller" in p.stderr, p.stderr
    if verb == "exec":
        assert p.stdout == ""
        # no process of the exec is left in the container
        assert len(hull("ps", cid).stdout.splitlines()) == 2
    else:
        helpers.assert_no_trace(hull, cid, b)


@pytest.mark.parametrize("verb", ["run", "exec"])
def test_preserve_fds_runtime_fd_in_a_gap(hull, bundle, verb, tmp_path):
    # The caller holds 3 and 5, 4 is closed: the runtime's own fds (here its
    # --log file) land at 4. --preserve-fds 3 is refused naming fd 4;
    # --preserve-fds 1 passes exactly fd 3, never the runtime's fd 4 nor 5.
    if not hull.is_hull:
        pytest.skip("runc 1.1 passes its own fd found in a gap of the range (hull refuses)")
    files = fd_files(tmp_path, [3, 5])
    log = tmp_path / "runtime.log"
    b = bundle(["sleep", "30"] if verb == "exec" else ["sh", "-c", LIST_FDS])
    if verb == "exec":
        cid = hull.create(b)
        hull.start(cid)

    def argv(n):
        g = hull.argv("--log", log)
        if verb == "run":
            return [*g, "run", "--preserve-fds", n, "--bundle", b.path, hull.prepare(b)]
        return [*g, "exec", "--preserve-fds", n, cid, "sh", "-c", LIST_FDS]

    p = run_with_fds(argv(3), files)
    assert p.returncode != 0, p.stdout
    assert "--preserve-fds 3: fd 4 is not open in the caller" in p.stderr, p.stderr
    if verb == "run":
        helpers.assert_no_trace(hull, b.cid, b)
    p = run_with_fds(argv(1), files)
    assert p.returncode == 0, p.stderr
    assert_exactly_preserved(listed_fds(p.stdout), {3: files[3]})


def test_container_process_is_never_the_runtime_binary(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    hull.start(cid)
    deadline = time.monotonic() + 5
    while not is_busybox(b, pid):
        assert time.monotonic() < deadline, os.readlink(f"/proc/{pid}/exe")
        time.sleep(0.02)
    assert not os.path.samefile(f"/proc/{pid}/exe", os.path.realpath(hull.bin))
    # The same for a process started by exec.
    pidfile = os.path.join(b.path, "exec.pid")
    hull("exec", "--detach", "--pid-file", pidfile, cid, "sleep", "10")
    with open(pidfile) as f:
        epid = int(f.read())
    # the pid file is written once the process is set up, maybe before its execve
    helpers.wait_for(lambda: is_busybox(b, epid), timeout=5, what="the exec'd process to run busybox")
    assert not os.path.samefile(f"/proc/{epid}/exe", os.path.realpath(hull.bin))


def test_cwd_through_leaked_fd_cannot_reach_host(hull, bundle):
    # CVE-2024-21626: process.cwd "/proc/self/fd/N/../../.." resolving through
    # an fd the runtime leaked into the container (e.g. of /sys/fs/cgroup).
    marker = f"hull-test-{helpers.SESSION}-cwd-marker"
    host_marker = os.path.join("/tmp", marker)
    with open(host_marker, "w") as f:
        f.write("host\n")
    try:
        for n in range(3, 12):
            b = bundle(["sh", "-c", f"pwd; ls -a; cat ../../../tmp/{marker} tmp/{marker} 2>/dev/null; true"])
            b.config["process"]["cwd"] = f"/proc/self/fd/{n}/../../.."
            p = hull.run(b)
            assert "host" not in p.stdout.splitlines(), (n, p.stdout)
            if p.returncode == 0:
                # If the runtime accepted the cwd it resolved inside the container.
                assert "work" not in p.stdout.split(), (n, p.stdout)
    finally:
        os.unlink(host_marker)


def test_runtime_cwd_not_leaked(hull, bundle):
    # The runtime is started from a host directory: the container must not
    # be able to reach it through /proc/1/cwd or any inherited handle.
    with tempfile.TemporaryDirectory(prefix=f"hull-test-{helpers.SESSION}-cwd-") as d:
        with open(os.path.join(d, "secret"), "w") as f:
            f.write("host-secret\n")
        b = bundle(
            ["sh", "-c", "readlink /proc/1/cwd; cat /proc/1/cwd/secret 2>&1; ls /proc/1/root/; true"]
        )
        b.save(runtime=hull)
        argv = hull.argv("run", "--bundle", b.path, b.take_cid())
        p = helpers.run_captured(argv, cwd=d, timeout=30)
        assert p.returncode == 0, p.stderr
        assert "host-secret" not in p.stdout
        assert p.stdout.splitlines()[0] == "/"


def test_state_json_pid_is_the_workload(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    hull.start(cid)
    st = hull.state(cid)
    with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"10"]


@pytest.mark.parametrize("verb", ["run", "exec"])
def test_cwd_through_a_preserved_host_dir_fd_is_refused(hull, bundle, verb):
    """CVE-2024-21626 with a door the caller opened: a host directory passed
    with --preserve-fds and a cwd of /proc/self/fd/3 would start the process
    in the host's tree. The runtime refuses a cwd outside the container's
    root (runc >= 1.1.12 does too; the installed 1.1.5 does not)."""
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 predates the cwd check")
    with tempfile.TemporaryDirectory(prefix=f"hull-test-{helpers.SESSION}-door-") as d:
        with open(os.path.join(d, "secret"), "w") as f:
            f.write("host-secret\n")
        probe = ["sh", "-c", "pwd; cat secret 2>&1; true"]
        if verb == "run":
            b = bundle(probe)
            b.config["process"]["cwd"] = "/proc/self/fd/3"
            b.save(runtime=hull)
            argv = hull.argv("run", "--preserve-fds", "1", "--bundle", b.path, b.take_cid())
        else:
            b = bundle(["sleep", "100"])
            cid = hull.create(b)
            hull.start(cid)
            argv = hull.argv("exec", "--preserve-fds", "1", "--cwd", "/proc/self/fd/3",
                             cid, *probe)
        # the caller opens the host directory at fd 3 and execs the runtime
        opener = ("import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY); "
                  "os.dup2(fd, 3); os.set_inheritable(3, True); os.execv(sys.argv[2], sys.argv[2:])")
        p = subprocess.run([sys.executable, "-c", opener, d, *map(str, argv)],
                           capture_output=True, text=True, timeout=30)
        assert "host-secret" not in p.stdout
        assert p.returncode != 0, p.stdout
        if verb == "run":
            # create resolves process.cwd in the rootfs first, refusing magic links
            assert "process.cwd" in p.stderr, p.stderr
        else:
            assert "outside the container's root" in p.stderr, p.stderr
