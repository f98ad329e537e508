"""hull run IMAGE: the image config honoured, podman's flags, exit status, clean-up, errors."""

import json
import os
from pathlib import Path

import pytest

from store_fixtures import D, F, bb, hs, make_image, name, wait_for  # noqa: F401

CONFIG = {
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["echo from-cmd; id -u; pwd; echo $GREETING"],
    "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello"],
    "WorkingDir": "/srv/app",
    "User": "nobody",
}


@pytest.fixture
def app(hs, bb, tmp_path):
    out = tmp_path / "app.tar"
    make_image(out, [([D("srv"), F("srv/data", "payload\n")], "gzip")], config=CONFIG,
               ref="localhost/app:1", base=bb["rootfs"])
    hs("image", "import", out)
    return hs


def test_image_config_honoured(app):
    p = app("run", "--rm", "app:1")
    assert p.stdout.split("\n")[:4] == ["from-cmd", "65534", "/srv/app", "hello"]


def test_cmd_entrypoint_env_workdir_user_overrides(app, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# a comment\nFROM_FILE=1\n\nGREETING=from-file\n")
    p = app("run", "--rm", "-e", "X=y", "--env-file", envf, "-w", "/tmp", "-u", "0:0",
            "app:1", "echo $X $FROM_FILE $GREETING; id -u; pwd")
    assert p.stdout.split("\n")[:3] == ["y 1 from-file", "0", "/tmp"]
    # --entrypoint drops the image's Cmd, as podman does
    p = app("run", "--rm", "--entrypoint", "/bin/echo", "app:1")
    assert p.stdout == "\n"
    p = app("run", "--rm", "--entrypoint", '["/bin/echo", "a b"]', "app:1", "c")
    assert p.stdout == "a b c\n"


def test_exit_status_and_stdin(app):
    assert app("run", "--rm", "app:1", "exit 42", check=False).returncode == 42
    # a process killed by a signal: 128 + n, as the shell reports it
    assert app("run", "--rm", "app:1", "sh -c 'kill -9 $$'; exit $?", check=False).returncode == 137
    p = app("run", "--rm", "-i", "app:1", "cat", input="through stdin\n")
    assert p.stdout == "through stdin\n"
    # without -i, stdin is empty
    p = app("run", "--rm", "app:1", "cat", input="not passed\n")
    assert p.stdout == ""


def test_defaults_caps_seccomp_network(hs, bb):
    hs("image", "import", bb["docker"])
    p = hs("run", "--rm", "busybox", "sh", "-c",
           "grep CapEff /proc/self/status; unshare -U true 2>/dev/null; echo unshare=$?; "
           "ls /sys/class/net; hostname")
    lines = p.stdout.split("\n")
    # podman's 11 default capabilities
    assert lines[0].split()[1] == "00000000a80425fb"
    assert lines[1] == "unshare=1"
    assert lines[2] == "lo"
    p = hs("run", "--rm", "--cap-drop", "ALL", "--cap-add", "net_admin", "busybox", "grep",
           "CapEff", "/proc/self/status")
    assert p.stdout.split()[1] == "%016x" % (1 << 12)
    host_ifs = sorted(os.listdir("/sys/class/net"))
    p = hs("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net")
    assert sorted(p.stdout.split()) == host_ifs


def test_limits_volumes_read_only(hs, bb, tmp_path):
    hs("image", "import", bb["docker"])
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("volume\n")
    p = hs("run", "--rm", "--read-only", "-v", f"{vol}:/data:ro", "-v", f"{vol}:/rw",
           "--memory", "64m", "--pids-limit", "77", "busybox", "sh", "-c",
           "cat /data/f; touch /x 2>/dev/null || echo root-ro; "
           "touch /data/y 2>/dev/null || echo vol-ro; touch /rw/z && echo vol-rw; "
           "touch /tmp/t && echo tmp-rw; "
           "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
           "2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
    assert p.stdout.split("\n")[:7] == ["volume", "root-ro", "vol-ro", "vol-rw", "tmp-rw",
                                        str(64 << 20), "77"]
    assert (vol / "z").exists()


def test_detached_named_listed_and_deleted(hs, bb):
    hs("image", "import", bb["docker"])
    n = name("web")
    assert hs("run", "-d", "--name", n, "busybox", "sleep", "300").stdout.strip() == n
    rows = [r for r in json.loads(hs("list", "--format", "json").stdout) if r["name"] == n]
    assert rows and rows[0]["type"] == "app" and rows[0]["status"] == "running"
    assert n in hs("list").stdout
    line = hs.error("run", "--name", n, "busybox", "true")
    assert line == f"hull: container name '{n}' is already in use"
    assert hs.error("delete", n) == f"hull: container '{n}' is running (stop it, or --force)"
    hs("delete", "--force", n)
    hs.assert_clean()


def test_rm_leaves_nothing_and_keep_without_rm(hs, bb):
    hs("image", "import", bb["docker"])
    hs("run", "--rm", "--name", name("rm"), "busybox", "true")
    hs.assert_clean()
    n = name("kept")
    assert hs("run", "--name", n, "busybox", "sh", "-c", "exit 3", check=False).returncode == 3
    rows = [r for r in json.loads(hs("list", "--format", "json").stdout) if r["name"] == n]
    assert rows[0]["status"] == "exited"
    assert helpers_mounts(hs) == []
    hs("delete", n)
    hs.assert_clean()
    # -d --rm: removed once it exits
    n = name("drm")
    hs("run", "-d", "--rm", "--name", n, "busybox", "true")
    wait_for(lambda: hs.apps() == [], what="the -d --rm container to go")
    hs.assert_clean()


def helpers_mounts(hs):
    import helpers

    return helpers.mounts_under(str(hs.path))


@pytest.mark.parametrize("args,needle", [
    (["nosuch:1", "true"], "unknown image 'nosuch:1'"),
    (["--memory", "lots", "busybox"], "--memory 'lots'"),
    (["--memory", "1k", "busybox"], "--memory '1k': the minimum is 6m"),
    (["--cpus", "0", "busybox"], "--cpus '0'"),
    (["--network", "bridge", "busybox"], "--network 'bridge': expected none or host"),
    (["--pull", "sometimes", "busybox"], "--pull 'sometimes'"),
    (["--cap-add", "CAP_NOPE", "busybox", "true"], "unknown capability 'CAP_NOPE'"),
    (["-u", "nosuchuser", "busybox", "true"], "user 'nosuchuser'"),
    (["-v", "/nonexistent-src:/x", "busybox", "true"], "-v '/nonexistent-src:/x'"),
    (["--name", "bad/name", "busybox"], "name 'bad/name'"),
    (["--bogus", "busybox"], "unknown option '--bogus'"),
    (["busybox", "/no/such/binary"], "/no/such/binary"),
])
def test_errors_one_line_nothing_left(hs, bb, args, needle):
    hs("image", "import", bb["docker"])
    line = hs.error("run", "--pull", "never", *args) if "--pull" not in args else \
        hs.error("run", *args)
    assert needle in line, line
    hs.assert_clean()


def test_detached_logs_and_stop(hs, bb):
    hs("image", "import", bb["docker"])
    n = name("lg")
    hs("run", "-d", "--name", n, "busybox", "sh", "-c",
       "echo started; trap 'echo got-term; exit 0' TERM; while true; do sleep 0.1; done")
    wait_for(lambda: "started" in hs("logs", n).stdout, what="the container's output")
    hs("stop", "--timeout", "10", n)
    assert hs("logs", n).stdout == "started\ngot-term\n"
    rows = [r for r in json.loads(hs("list", "--format", "json").stdout) if r["name"] == n]
    assert rows[0]["status"] == "exited"
    assert helpers_mounts(hs) == [] and hs.runtime_dirs() == []
    hs("delete", n)
    hs.assert_clean()


def test_tty(hs, bb):
    import shlex
    import subprocess

    hs("image", "import", bb["docker"])
    cmd = " ".join(shlex.quote(a) for a in [str(hs_bin()), "run", "--rm", "-t", "busybox", "sh",
                                            "-c", "test -t 0 && test -t 1 && echo $TERM; exit 5"])
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       env=hs.env, timeout=60)
    assert p.returncode == 5 and p.stdout.replace("\r", "").split("\n")[0] == "xterm", p
    hs.assert_clean()


def holders(path):
    """Pids of processes with a file under path open."""
    out = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(f).startswith(str(path) + "/") for f in fd_dir.iterdir()):
                out.append(int(fd_dir.parent.name))
        except OSError:
            pass
    return out


def test_tty_detached(hs, bb):
    """-d -t: the container gets a terminal that outlives hull run; what it writes reaches
    `hull logs` (with a terminal's line endings, as podman logs shows them), and the process
    keeping the terminal goes with the container."""
    hs("image", "import", bb["docker"])
    n = name("dt")
    assert hs("run", "-d", "-t", "--name", n, "busybox", "sh", "-c",
              "test -t 0 && test -t 1 && echo tty:$TERM; sleep 300").stdout.strip() == n
    wait_for(lambda: "tty:xterm\n" in hs("logs", n).stdout, what="the terminal's output")
    assert b"tty:xterm\r\n" in (hs.path / "apps" / n / "console.log").read_bytes()
    rows = [r for r in json.loads(hs("list", "--format", "json").stdout) if r["name"] == n]
    assert rows[0]["status"] == "running"
    assert holders(hs.path / "apps" / n), "no process keeps the terminal's log"
    hs("delete", "--force", n)
    wait_for(lambda: holders(hs.path) == [], what="the terminal's keeper to exit")
    hs.assert_clean()


def hs_bin():
    from store_fixtures import HULL

    return HULL
