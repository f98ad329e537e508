"""podman 4.3 (+ conmon) driving the runtime under test.

The runtime is registered in a temp containers.conf as `hull` (with
runtime_supports_json, so podman passes --log-format=json) and selected with
`--runtime hull`; one test selects it by absolute path instead. Each container
runs with --network none, --cgroup-manager cgroupfs and a cgroup parent of this
session, and is removed by the test that made it.
"""

import contextlib
import time
from pathlib import Path

import pytest

import helpers
from engine_harness import ULIMITS, skip_unless_installed

pytestmark = skip_unless_installed("podman", "conmon")

LOOP = "while :; do sleep 0.1; done"


@contextlib.contextmanager
def running(podman, *cmd, opts=(), runtime="hull"):
    """A detached container running cmd (default: a loop that stops on SIGTERM); removed after."""
    name = podman.new_name("p")
    argv = ["run", "--detach", "--name", name] + podman.run_opts() + list(opts) + [podman.image]
    argv += list(cmd) or ["sh", "-c", f"trap 'exit 3' TERM; {LOOP}"]
    podman.run(*argv)
    try:
        yield name
    finally:
        podman.run("rm", "--force", "--time", "0", name, check=False)


def inspect(podman, name, fmt):
    return podman.run("inspect", "--format", fmt, name).stdout.strip()


def test_run_output(podman):
    p = podman.run(
        "run", "--rm", *podman.run_opts(), podman.image,
        "sh", "-c", "echo hello from $(hostname); id -u; cat /proc/1/cmdline | tr '\\0' ' '",
    )  # fmt: skip
    lines = p.stdout.splitlines()
    assert lines[0].startswith("hello from "), podman.explain(p.stdout)
    assert lines[1] == "0"
    assert lines[2].startswith("sh -c echo hello"), "the command is not pid 1 of its pid namespace"


def test_run_exit_code(podman):
    p = podman.run("run", "--rm", *podman.run_opts(), podman.image, "sh", "-c", "exit 7", check=False)
    assert p.returncode == 7, podman.explain(helpers.describe(p, "returned"))


def test_run_missing_command_reports_error(podman):
    # The runtime's error travels back through its --log (JSON): podman must show it.
    p = podman.run("run", "--rm", *podman.run_opts(), podman.image, "/no-such-command", check=False)
    assert p.returncode in (126, 127), podman.explain(helpers.describe(p, "returned"))
    assert "no-such-command" in p.stderr, podman.explain(helpers.describe(p, "returned"))


def test_run_runtime_by_absolute_path(podman):
    # `--runtime /abs/path` instead of the registered name: podman names the runtime
    # after the file's base name (so it does not pass --log-format=json to hull-runtime).
    argv = podman.base_argv(runtime=podman.runtime) + ["run", "--rm"] + podman.run_opts()
    argv += [podman.image, "sh", "-c", "echo by-path"]
    p = helpers.run_captured(argv, env=podman.env, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "by-path", podman.explain(
        helpers.describe(p, "returned")
    )


def test_run_tty(podman):
    p = podman.run_tty(
        "run", "--rm", "--tty", *podman.run_opts(), podman.image,
        "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty",
    )  # fmt: skip
    assert "/dev/pts/" in p.stdout, podman.explain(p.stdout)
    assert "stdio-is-a-tty" in p.stdout, podman.explain(p.stdout)


def test_exec(podman):
    with running(podman) as name:
        p = podman.run("exec", name, "sh", "-c", "echo exec-out; cat /proc/1/cmdline | tr '\\0' ' '")
        out = p.stdout.splitlines()
        assert out[0] == "exec-out"
        assert out[1].startswith("sh -c trap"), "exec did not join the container's pid namespace"
        p = podman.run("exec", name, "sh", "-c", "exit 5", check=False)
        assert p.returncode == 5, podman.explain(helpers.describe(p, "returned"))
        p = podman.run(
            "exec", "--user", "1000", "--env", "HELLO=world", name, "sh", "-c", "id -u; echo $HELLO"
        )
        assert p.stdout.split() == ["1000", "world"]
        p = podman.run("exec", "--workdir", "/tmp", name, "pwd")
        assert p.stdout.strip() == "/tmp"


def test_exec_tty(podman):
    with running(podman) as name:
        p = podman.run_tty("exec", "--tty", name, "sh", "-c", "tty; [ -t 1 ] && echo out-is-a-tty")
        assert "/dev/pts/" in p.stdout, podman.explain(p.stdout)
        assert "out-is-a-tty" in p.stdout, podman.explain(p.stdout)


def test_exec_detached(podman):
    with running(podman) as name:
        podman.run("exec", "--detach", name, "sh", "-c", "echo detached > /tmp/mark")
        out = podman.wait_for(
            lambda: podman.run("exec", name, "cat", "/tmp/mark", check=False).stdout.strip(),
            "the detached exec to write /tmp/mark",
        )
        assert out == "detached"


def test_pause_unpause(podman):
    with running(podman) as name:
        pid = int(inspect(podman, name, "{{.State.Pid}}"))
        freezer = helpers.cgroup_dir(pid, "freezer") / "freezer.state"
        podman.run("pause", name)
        assert inspect(podman, name, "{{.State.Status}}") == "paused"
        assert freezer.read_text().strip() == "FROZEN", f"{freezer} after podman pause"
        podman.run("unpause", name)
        assert inspect(podman, name, "{{.State.Status}}") == "running"
        assert freezer.read_text().strip() == "THAWED", f"{freezer} after podman unpause"
        assert podman.run("exec", name, "echo", "alive").stdout.strip() == "alive"


def test_stop_delivers_sigterm(podman):
    with running(podman) as name:
        t0 = time.monotonic()
        podman.run("stop", "--time", "30", name)
        assert time.monotonic() - t0 < 25, "podman stop had to fall back to SIGKILL"
        assert inspect(podman, name, "{{.State.Status}}") == "exited"
        # exit 3 comes from the container's TERM trap: the signal reached it
        assert inspect(podman, name, "{{.State.ExitCode}}") == "3"


def test_kill(podman):
    script = f"trap 'echo got-usr1 > /tmp/sig' USR1; {LOOP}"
    with running(podman, "sh", "-c", script) as name:
        podman.run("kill", "--signal", "USR1", name)
        got = podman.wait_for(
            lambda: podman.run("exec", name, "cat", "/tmp/sig", check=False).stdout.strip(),
            "the container to handle SIGUSR1",
        )
        assert got == "got-usr1"
        podman.run("kill", name)  # SIGKILL
        podman.run("wait", name)
        assert inspect(podman, name, "{{.State.Status}}") == "exited"
        assert inspect(podman, name, "{{.State.ExitCode}}") == "137"


def test_rm_force_running(podman):
    with running(podman) as name:
        pid = int(inspect(podman, name, "{{.State.Pid}}"))
        cg = helpers.cgroup_dir(pid, "memory")
        podman.run("rm", "--force", "--time", "0", name)
        assert name not in podman.run("ps", "--all", "--format", "{{.Names}}").stdout.split()
        podman.wait_for(lambda: not Path(f"/proc/{pid}").exists(), f"pid {pid} to go away")
        podman.wait_for(lambda: not cg.exists(), f"the container's cgroup '{cg}' to be removed")


def test_update_resources(podman):
    if podman.run("update", "--help", check=False).returncode != 0:
        pytest.skip("this podman has no `podman update`")
    with running(podman) as name:
        podman.run(
            "update", "--memory", "64m", "--memory-swap", "64m", "--cpu-shares", "512",
            "--cpu-quota", "50000", "--cpu-period", "100000", name,
        )  # fmt: skip
        pid = int(inspect(podman, name, "{{.State.Pid}}"))
        mem = helpers.cgroup_dir(pid, "memory") / "memory.limit_in_bytes"
        assert mem.read_text().strip() == str(64 << 20), podman.explain(f"{mem} after update")
        cpu = helpers.cgroup_dir(pid, "cpu")
        assert (cpu / "cpu.shares").read_text().strip() == "512"
        assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "50000"
        # and as the container sees it
        p = podman.run("exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
        assert p.stdout.strip() == str(64 << 20)


def test_build_run_step(podman, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(f"FROM {podman.image}\nRUN echo hi > /x\n")
    tag = f"localhost/{podman.new_name('built')}:latest"
    podman.run(
        "build", "--pull=never", "--network", "none",
        # RUN containers go straight into --cgroup-parent: give them a leaf of their own
        "--cgroup-parent", f"{podman.cgroup_parent}/build",
        *ULIMITS, "--tag", tag, str(ctx),
        timeout=300,
    )  # fmt: skip
    try:
        p = podman.run("run", "--rm", *podman.run_opts(), tag, "cat", "/x")
        assert p.stdout.strip() == "hi"
    finally:
        podman.run("rmi", "--force", tag, check=False)



def test_run_impossible_memory_limit_reports_cause(podman):
    # 1 KiB cannot hold any process: the run fails, and the error says why
    p = podman.run("run", "--rm", *podman.run_opts(), "--memory", "1k", podman.image, "true", check=False)
    assert p.returncode != 0, podman.explain(helpers.describe(p, "returned"))
    words = ("memory", "oom", "killed", "sigkill")
    assert any(w in p.stderr.lower() for w in words), podman.explain(
        helpers.describe(p, f"failed without naming the cause (none of {words})")
    )


def test_run_user_namespace(podman):
    p = podman.run(
        "run", "--rm", *podman.run_opts(),
        "--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536", podman.image,
        "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox",
    )  # fmt: skip
    lines = [line.split() for line in p.stdout.splitlines()]
    assert lines[0] == ["0", "200000", "65536"], podman.explain(p.stdout)
    assert lines[1] == ["0", "200000", "65536"], podman.explain(p.stdout)
    assert lines[2:] == [["0"], ["0"]], podman.explain(p.stdout)
