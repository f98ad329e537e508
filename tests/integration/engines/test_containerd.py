"""containerd 1.6 (ctr + the runc v2 shim) driving the runtime under test.

Every container is started with `ctr run --runc-binary <runtime>` (plus a
private --runc-root and --fifo-dir under the daemon's temp root, and a cgroup
of this session), the way a Kubernetes RuntimeClass with the runc shim's
BinaryName option would start it. ctr 1.6 has no `task update`: the shim's
`update --resources -` path is covered by the docker tests (`docker update`).
"""

import contextlib
import json
import time
from pathlib import Path

import helpers
from engine_harness import skip_unless_installed

pytestmark = skip_unless_installed("containerd", "ctr", "containerd-shim-runc-v2")

LOOP = "while :; do sleep 0.1; done"


@contextlib.contextmanager
def task(ctrd, *cmd):
    """A detached container running cmd (default: a loop that exits 3 on SIGTERM)."""
    cid = ctrd.new_name("t")
    cmd = list(cmd) or ["sh", "-c", f"trap 'exit 3' TERM; {LOOP}"]
    try:
        ctrd.run(*ctrd.run_argv(cid, *cmd, detach=True))
        ctrd.wait_for(lambda: ctrd.task_status(cid) == "RUNNING", f"task {cid} to run")
        yield cid
    finally:
        ctrd.remove(cid)


def task_pid(ctrd, cid):
    for line in ctrd.run("task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return int(f[1])
    raise AssertionError(ctrd.explain(f"task {cid} not listed"))


def wait_status(ctrd, cid, status, timeout=20):
    ctrd.wait_for(lambda: ctrd.task_status(cid) == status, f"task {cid} to be {status}", timeout)


def test_run_rm_output(containerd):
    cid = containerd.new_name("t")
    p = containerd.run(*containerd.run_argv(cid, "sh", "-c", "echo hello; id -u; echo $$", rm=True))
    assert p.stdout.split() == ["hello", "0", "1"], containerd.explain(p.stdout)
    # --rm removed the container
    assert cid not in containerd.run("container", "ls", "--quiet").stdout.split()


def test_run_exit_code(containerd):
    cid = containerd.new_name("t")
    p = containerd.run(*containerd.run_argv(cid, "sh", "-c", "exit 9", rm=True), check=False)
    assert p.returncode == 9, containerd.explain(helpers.describe(p, "returned"))


def test_run_detached_and_exec(containerd):
    with task(containerd) as cid:
        p = containerd.run(
            "task", "exec", "--exec-id", "e1", "--fifo-dir", containerd.fifo_dir, cid,
            "sh", "-c", "echo exec-out; cat /proc/1/cmdline | tr '\\0' ' '",
        )  # fmt: skip
        out = p.stdout.splitlines()
        assert out[0] == "exec-out"
        assert out[1].startswith("sh -c trap"), "exec did not join the container's pid namespace"
        p = containerd.run(
            "task", "exec", "--exec-id", "e2", "--fifo-dir", containerd.fifo_dir, cid,
            "sh", "-c", "exit 4", check=False,
        )  # fmt: skip
        assert p.returncode == 4, containerd.explain(helpers.describe(p, "returned"))


def test_pause_resume(containerd):
    with task(containerd) as cid:
        freezer = helpers.cgroup_dir(task_pid(containerd, cid), "freezer") / "freezer.state"
        containerd.run("task", "pause", cid)
        wait_status(containerd, cid, "PAUSED")
        assert freezer.read_text().strip() == "FROZEN"
        containerd.run("task", "resume", cid)
        wait_status(containerd, cid, "RUNNING")
        assert freezer.read_text().strip() == "THAWED"


def test_kill_sigterm(containerd):
    with task(containerd) as cid:
        containerd.run("task", "kill", "--signal", "SIGTERM", cid)
        wait_status(containerd, cid, "STOPPED")
        # the TERM trap's exit code: the signal reached the container's init
        p = containerd.run("task", "delete", cid)
        assert "exit code 3" in p.stderr, containerd.explain(helpers.describe(p, "returned"))
        assert cid not in containerd.run("task", "ls", "--quiet").stdout.split()


def test_kill_sigkill(containerd):
    # sleep as pid 1 ignores SIGTERM; only SIGKILL stops it
    with task(containerd, "sleep", "1000") as cid:
        containerd.run("task", "kill", "--signal", "SIGTERM", cid)
        time.sleep(1)
        assert containerd.task_status(cid) == "RUNNING"
        containerd.run("task", "kill", "--signal", "SIGKILL", cid)
        wait_status(containerd, cid, "STOPPED")


def test_task_ps(containerd):
    with task(containerd, "sleep", "1000") as cid:
        containerd.run(
            "task", "exec", "--detach", "--exec-id", "bg", "--fifo-dir", containerd.fifo_dir, cid,
            "sleep", "2000",
        )  # fmt: skip
        init = task_pid(containerd, cid)

        def pids():
            p = containerd.run("task", "ps", cid)
            got = {int(line.split()[0]) for line in p.stdout.splitlines()[1:] if line.strip()}
            return got if len(got) == 2 else None

        got = containerd.wait_for(pids, "task ps to list the init and the exec'd process")
        assert init in got
        cmds = sorted(Path(f"/proc/{pid}/cmdline").read_bytes() for pid in got)
        assert cmds == [b"sleep\x001000\x00", b"sleep\x002000\x00"]


def test_task_metrics(containerd):
    with task(containerd) as cid:
        p = containerd.run("task", "metrics", "--format", "json", cid)
        m = json.loads(p.stdout)
        assert m["pids"]["current"] >= 1, p.stdout
        assert m["memory"]["usage"]["usage"] > 0, p.stdout
        assert m["cpu"]["usage"]["total"] > 0, p.stdout


def test_delete(containerd):
    cid = containerd.new_name("t")
    containerd.run(*containerd.run_argv(cid, "sleep", "1000", detach=True))
    try:
        pid = task_pid(containerd, cid)
        cg = helpers.cgroup_dir(pid, "memory")
        containerd.run("task", "kill", "--signal", "SIGKILL", cid)
        wait_status(containerd, cid, "STOPPED")
        containerd.run("task", "delete", cid)
        containerd.run("container", "delete", cid)
        assert cid not in containerd.run("container", "ls", "--quiet").stdout.split()
        containerd.wait_for(lambda: not cg.exists(), f"the container's cgroup '{cg}' to be removed")
        assert not (containerd.runc_root / cid).exists(), "the runtime's state dir is still there"
    finally:
        containerd.remove(cid)


def test_delete_force_running(containerd):
    cid = containerd.new_name("t")
    containerd.run(*containerd.run_argv(cid, "sleep", "1000", detach=True))
    try:
        pid = task_pid(containerd, cid)
        containerd.run("task", "delete", "--force", cid)
        containerd.wait_for(lambda: not Path(f"/proc/{pid}").exists(), f"pid {pid} to die")
        containerd.run("container", "delete", cid)
    finally:
        containerd.remove(cid)


def test_run_tty(containerd):
    cid = containerd.new_name("t")
    try:
        p = containerd.run_tty(
            *containerd.run_argv(
                cid, "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty", rm=True, tty=True
            )
        )
        assert "/dev/pts/" in p.stdout, containerd.explain(p.stdout)
        assert "stdio-is-a-tty" in p.stdout, containerd.explain(p.stdout)
    finally:
        containerd.remove(cid)


def test_exec_tty(containerd):
    with task(containerd) as cid:
        p = containerd.run_tty(
            "task", "exec", "--tty", "--exec-id", "t1", "--fifo-dir", str(containerd.fifo_dir), cid,
            "sh", "-c", "tty; [ -t 1 ] && echo out-is-a-tty",
        )  # fmt: skip
        assert "/dev/pts/" in p.stdout, containerd.explain(p.stdout)
        assert "out-is-a-tty" in p.stdout, containerd.explain(p.stdout)


def test_kill_all(containerd):
    with task(containerd, "sleep", "1000") as cid:
        containerd.run(
            "task", "exec", "--detach", "--exec-id", "bg", "--fifo-dir", containerd.fifo_dir, cid,
            "sleep", "2000",
        )  # fmt: skip
        containerd.wait_for(
            lambda: len(containerd.run("task", "ps", cid).stdout.splitlines()) == 3, "the exec'd process"
        )
        pids = [int(line.split()[0]) for line in containerd.run("task", "ps", cid).stdout.splitlines()[1:]]
        containerd.run("task", "kill", "--all", "--signal", "SIGKILL", cid)
        wait_status(containerd, cid, "STOPPED")
        for pid in pids:
            containerd.wait_for(lambda: not Path(f"/proc/{pid}").exists(), f"pid {pid} to die")
