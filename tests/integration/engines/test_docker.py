"""dockerd 20.10 driving the runtime under test.

The runtime is registered in daemon.json as `"runtimes": {"hull": {"path": ...}}`
and every container runs with `--runtime hull --network none`. dockerd starts
its own managed containerd, which runs the runtime through the runc v2 shim.
Docker's config.json always carries a prestart hook (libnetwork-setkey) that
reads the container state from stdin: the tests check that it ran.
"""

import contextlib
import json
import os
import time
from pathlib import Path

import helpers
from engine_harness import skip_unless_installed

pytestmark = skip_unless_installed("dockerd", "/usr/bin/docker", "containerd", "containerd-shim-runc-v2")

LOOP = "while :; do sleep 0.1; done"


@contextlib.contextmanager
def running(docker, *cmd, opts=()):
    """A detached container running cmd (default: a loop that exits 3 on SIGTERM)."""
    name = docker.new_name("d")
    cmd = list(cmd) or ["sh", "-c", f"trap 'exit 3' TERM; {LOOP}"]
    try:
        docker.run("run", "--detach", "--name", name, *docker.run_opts(), *opts, docker.image, *cmd)
        yield name
    finally:
        docker.run("rm", "--force", name, check=False)


def inspect(docker, name, fmt):
    return docker.run("inspect", "--format", fmt, name).stdout.strip()


def test_run_output(dockerd):
    p = dockerd.run(
        "run", "--rm", *dockerd.run_opts(), dockerd.image,
        "sh", "-c", "echo hello; id -u; echo $$; hostname",
    )  # fmt: skip
    out = p.stdout.split()
    assert out[:3] == ["hello", "0", "1"], dockerd.explain(p.stdout)
    assert len(out) == 4 and len(out[3]) == 12, f"hostname is not the short container id: {out}"


def test_run_exit_code(dockerd):
    p = dockerd.run("run", "--rm", *dockerd.run_opts(), dockerd.image, "sh", "-c", "exit 6", check=False)
    assert p.returncode == 6, dockerd.explain(helpers.describe(p, "returned"))


def test_prestart_hook_ran(dockerd):
    with running(dockerd, "sleep", "1000") as name:
        cid = inspect(dockerd, name, "{{.Id}}")
        cfg = json.loads((dockerd.bundle_dir(cid) / "config.json").read_text())
        hooks = cfg.get("hooks", {}).get("prestart", [])
        assert any("libnetwork-setkey" in h.get("args", []) for h in hooks), cfg.get("hooks")
        # libnetwork-setkey read the state JSON (pid) from stdin and bind-mounted
        # the container's network namespace onto the sandbox key
        key, pid = inspect(dockerd, name, "{{.NetworkSettings.SandboxKey}} {{.State.Pid}}").split()
        assert key in helpers.mounts_under(key), f"sandbox key '{key}' is not mounted: the hook did not run"
        assert os.stat(key).st_ino == os.stat(f"/proc/{pid}/ns/net").st_ino


def test_exec(dockerd):
    with running(dockerd) as name:
        p = dockerd.run("exec", name, "sh", "-c", "echo exec-out; cat /proc/1/cmdline | tr '\\0' ' '")
        out = p.stdout.splitlines()
        assert out[0] == "exec-out"
        assert out[1].startswith("sh -c trap"), "exec did not join the container's pid namespace"
        p = dockerd.run("exec", name, "sh", "-c", "exit 4", check=False)
        assert p.returncode == 4, dockerd.explain(helpers.describe(p, "returned"))
        p = dockerd.run(
            "exec", "--user", "1000", "--env", "HELLO=world", name, "sh", "-c", "id -u; echo $HELLO"
        )
        assert p.stdout.split() == ["1000", "world"]


def test_exec_tty(dockerd):
    with running(dockerd) as name:
        p = dockerd.run_tty("exec", "--tty", name, "sh", "-c", "tty; [ -t 1 ] && echo out-is-a-tty")
        assert "/dev/pts/" in p.stdout, dockerd.explain(p.stdout)
        assert "out-is-a-tty" in p.stdout, dockerd.explain(p.stdout)


def test_run_tty(dockerd):
    p = dockerd.run_tty(
        "run", "--rm", "--tty", *dockerd.run_opts(), dockerd.image,
        "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty",
    )  # fmt: skip
    assert "/dev/pts/" in p.stdout, dockerd.explain(p.stdout)
    assert "stdio-is-a-tty" in p.stdout, dockerd.explain(p.stdout)


def test_top(dockerd):
    with running(dockerd, "sleep", "1000") as name:
        dockerd.run("exec", "--detach", name, "sleep", "2000")

        def cmds():
            p = dockerd.run("top", name, "-o", "pid,args")
            got = sorted(line.split(None, 1)[1] for line in p.stdout.splitlines()[1:] if line.strip())
            return got if len(got) == 2 else None

        assert dockerd.wait_for(cmds, "docker top to list 2 processes") == ["sleep 1000", "sleep 2000"]


def test_pause_unpause(dockerd):
    with running(dockerd) as name:
        freezer = helpers.cgroup_dir(int(inspect(dockerd, name, "{{.State.Pid}}")), "freezer")
        dockerd.run("pause", name)
        assert inspect(dockerd, name, "{{.State.Status}}") == "paused"
        assert (freezer / "freezer.state").read_text().strip() == "FROZEN"
        dockerd.run("unpause", name)
        assert inspect(dockerd, name, "{{.State.Status}}") == "running"
        assert dockerd.run("exec", name, "echo", "alive").stdout.strip() == "alive"


def test_update_memory_and_pids(dockerd):
    with running(dockerd) as name:
        dockerd.run("update", "--memory", "64m", "--memory-swap", "64m", "--pids-limit", "50", name)
        p = dockerd.run(
            "exec", name, "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
        )  # fmt: skip
        assert p.stdout.split() == [str(64 << 20), "50"], dockerd.explain(p.stdout)
        # the limit holds: 60 more processes cannot be started (the shell dies at `can't fork`)
        p = dockerd.run(
            "exec", name, "sh", "-c",
            "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; echo started $i",
            check=False,
        )  # fmt: skip
        assert "started 60" not in p.stdout, dockerd.explain(
            helpers.describe(p, "60 background processes under pids.max=50")
        )
        assert "fork" in p.stderr, helpers.describe(p, "returned")


def test_stop(dockerd):
    with running(dockerd) as name:
        t0 = time.monotonic()
        dockerd.run("stop", "--time", "30", name)
        assert time.monotonic() - t0 < 25, "docker stop had to fall back to SIGKILL"
        assert inspect(dockerd, name, "{{.State.Status}}") == "exited"
        assert inspect(dockerd, name, "{{.State.ExitCode}}") == "3"


def test_kill(dockerd):
    with running(dockerd, "sleep", "1000") as name:
        dockerd.run("kill", name)
        dockerd.run("wait", name)
        assert inspect(dockerd, name, "{{.State.ExitCode}}") == "137"


def test_rm(dockerd):
    name = dockerd.new_name("d")
    try:
        dockerd.run("run", "--detach", "--name", name, *dockerd.run_opts(), dockerd.image, "sleep", "1000")
        cid = inspect(dockerd, name, "{{.Id}}")
        pid = int(inspect(dockerd, name, "{{.State.Pid}}"))
        cg = helpers.cgroup_dir(pid, "memory")
        assert cg.name == cid and str(cg.parent).endswith(dockerd.cgroup_parent), cg
        dockerd.run("rm", "--force", name)
        assert name not in dockerd.run("ps", "--all", "--format", "{{.Names}}").stdout.split()
        dockerd.wait_for(lambda: not Path(f"/proc/{pid}").exists(), f"pid {pid} to go away")
        dockerd.wait_for(lambda: not cg.exists(), f"the container's cgroup '{cg}' to be removed")
        assert not dockerd.bundle_dir(cid).exists(), "the shim's bundle dir is still there"
    finally:
        dockerd.run("rm", "--force", name, check=False)


def test_run_init_readonly_tmpfs(dockerd):
    # --init bind-mounts docker-init (tini) from the host and runs it as pid 1
    p = dockerd.run(
        "run", "--rm", *dockerd.run_opts(), "--init", "--read-only", "--tmpfs", "/scratch",
        dockerd.image, "sh", "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; touch /root/x 2>/dev/null || echo ro-ok;"
        " echo hi > /scratch/f && cat /scratch/f",
    )  # fmt: skip
    lines = p.stdout.splitlines()
    assert lines[0].startswith("/sbin/docker-init"), dockerd.explain(p.stdout)
    assert lines[1:] == ["ro-ok", "hi"], dockerd.explain(p.stdout)


def test_stats(dockerd):
    with running(dockerd) as name:
        out = dockerd.run("stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}", name).stdout
        pids, mem = out.split(None, 1)
        assert int(pids) >= 1 and not mem.startswith("0B"), out
