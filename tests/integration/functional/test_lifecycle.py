"""Container lifecycle through the CLI, as runc behaves (runtime-spec 1.1).

Every test here passes against runc (HULL_RUNTIME=runc); hull mirrors it.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import cgroup_dir, console_socket, inside, pid_alive, wait_for

# pid 1 of a pid namespace ignores signals it has no handler for: LONG exits on
# TERM, SLEEP only dies from KILL.
LONG = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
SLEEP = ["sleep", "1000"]


def running(hull, bundle, args=LONG, **kw):
    b = bundle(args, **kw)
    cid = hull.create(b)
    hull.start(cid)
    st = hull.wait_status(cid, "running")
    return b, cid, st["pid"]


def cgroup_file(pid, controller, v1, v2):
    """Path of a cgroup file of pid, whichever cgroup version holds the controller."""
    d = cgroup_dir(pid, controller)
    return d / (v1 if (d / v1).exists() else v2)


# -- create / start / kill / delete -------------------------------------------


def test_create_start_kill_delete(hull, bundle):
    b = bundle(LONG)
    cid = hull.create(b)
    st = hull.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    pid = st["pid"]
    assert pid > 0 and pid_alive(pid)

    hull.start(cid)
    assert hull.wait_status(cid, "running")["pid"] == pid

    hull.kill(cid, "TERM")
    hull.wait_status(cid, "stopped")
    wait_for(lambda: not pid_alive(pid), what=f"pid {pid} to exit")

    hull.delete(cid)
    assert hull("state", cid, check=False).returncode != 0
    assert cid not in [c["id"] for c in hull.list()]


def test_created_container_has_not_run_its_process(hull, bundle):
    b = bundle(["sh", "-c", "echo ran > /ran"], readonly=False)
    cid = hull.create(b)
    time.sleep(0.3)
    assert not (b.rootfs / "ran").exists()
    hull.start(cid)
    wait_for(lambda: (b.rootfs / "ran").exists(), what="the process to run after start")
    hull.wait_status(cid, "stopped")


def test_start_twice_fails(hull, bundle):
    b, cid, _ = running(hull, bundle)
    assert hull("start", cid, check=False).returncode != 0
    assert hull.state(cid)["status"] == "running"


def test_default_cgroup_is_under_hull(hull, bundle):
    # hull: a container without cgroupsPath goes to /hull/<id>; the suite gives
    # runc the same path explicitly (see Bundle.save)
    b, cid, pid = running(hull, bundle)
    d = cgroup_dir(pid, "memory" if not helpers.is_cgroup_v2_only() else "")
    assert d.parts[-2:] == ("hull", cid)
    assert d.is_dir()
    hull.delete(cid, force=True)
    assert not d.exists()


def test_run_detached(hull, bundle):
    b = bundle(SLEEP)
    cid = b.cid
    p = hull.run(b, cid, extra=["-d"], check=True)
    assert p.returncode == 0
    st = hull.state(cid)
    assert st["status"] == "running"
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)


def test_run_foreground_output_and_exit_code(hull, bundle):
    p = hull.run(bundle(["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert p.returncode == 3
    assert p.stdout == "out\n"
    assert "err\n" in p.stderr


def test_run_foreground_success_removes_container(hull, bundle):
    b = bundle(["true"])
    p = hull.run(b)
    assert p.returncode == 0, p
    assert hull("state", b.cid, check=False).returncode != 0
    assert hull.list() == []


def test_run_foreground_killed_by_signal(hull, bundle):
    b = bundle(SLEEP)
    cid = hull.prepare(b)
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(
            hull.argv("run", "--bundle", b.path, cid),
            stdin=subprocess.DEVNULL,
            stdout=devnull,
            stderr=devnull,
        )
    try:
        hull.wait_status(cid, "running")
        hull.kill(cid, "KILL")
        assert proc.wait(30) == 128 + signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pid_file(hull, bundle, tmp_path):
    pidfile = tmp_path / "init.pid"
    cid = hull.create(bundle(LONG), extra=["--pid-file", pidfile])
    pid = int(pidfile.read_text().strip())
    assert pid == hull.state(cid)["pid"]
    assert pid_alive(pid)


def test_pid_file_relative_to_cwd(hull, bundle, tmp_path):
    # runc resolves a relative --pid-file against its working directory
    b = bundle(LONG)
    cid = hull.prepare(b)
    p = helpers.run_captured(
        hull.argv("create", "--bundle", b.path, "--pid-file", "rel.pid", cid), cwd=tmp_path
    )
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert int((tmp_path / "rel.pid").read_text()) == hull.state(cid)["pid"]


# -- state and list -------------------------------------------------------------


def test_state_json_fields(hull, bundle):
    b = bundle(LONG, annotations={"org.example.key": "value"})
    cid = hull.create(b)
    st = hull.state(cid)
    assert isinstance(st["ociVersion"], str) and st["ociVersion"]
    assert st["id"] == cid
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["status"] == "created"
    assert st["bundle"] == os.path.realpath(b.path)
    assert st["annotations"] == {"org.example.key": "value"}


def test_state_of_stopped_container(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.start(cid)
    st = hull.wait_status(cid, "stopped")
    assert st["id"] == cid
    assert st["bundle"] == os.path.realpath(b.path)


def test_list_table(hull, bundle):
    b = bundle(LONG)
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    lines = hull("list").stdout.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = [ln.split() for ln in lines[1:]]
    assert len(rows) == 1
    assert rows[0][:4] == [cid, str(pid), "created", os.path.realpath(b.path)]


def test_list_empty_table_has_header_only(hull):
    lines = hull("list").stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]


def test_list_json(hull, bundle):
    b1, c1, p1 = running(hull, bundle)
    c2 = hull.create(bundle(LONG))
    out = json.loads(hull("list", "--format", "json").stdout)
    by_id = {c["id"]: c for c in out}
    assert set(by_id) == {c1, c2}
    assert by_id[c1]["status"] == "running" and by_id[c1]["pid"] == p1
    assert by_id[c2]["status"] == "created"
    assert by_id[c1]["bundle"] == os.path.realpath(b1.path)


def test_list_quiet(hull, bundle):
    c1 = hull.create(bundle(LONG))
    c2 = hull.create(bundle(LONG))
    assert sorted(hull("list", "-q").stdout.split()) == sorted([c1, c2])


# -- ps ---------------------------------------------------------------------------


def test_ps_table(hull, bundle):
    b, cid, pid = running(hull, bundle)
    lines = hull("ps", cid).stdout.splitlines()
    hdr = lines[0].split()
    assert "PID" in hdr and "CMD" in hdr
    col = hdr.index("PID")
    pids = [int(ln.split()[col]) for ln in lines[1:]]
    assert pid in pids
    assert len(pids) == 2  # sh and its sleep


def test_ps_json(hull, bundle):
    b, cid, pid = running(hull, bundle)
    pids = json.loads(hull("ps", "--format", "json", cid).stdout)
    assert pid in pids
    assert len(pids) == 2
    for p in pids:
        assert pid_alive(p)


# -- pause / resume ----------------------------------------------------------------


def frozen(pid):
    d = cgroup_dir(pid, "freezer")
    if (d / "freezer.state").exists():
        return (d / "freezer.state").read_text().strip() == "FROZEN"
    return (d / "cgroup.freeze").read_text().strip() == "1"


def test_pause_resume(hull, bundle):
    b, cid, pid = running(hull, bundle)
    hull("pause", cid)
    assert hull.state(cid)["status"] == "paused"
    assert frozen(pid)
    hull("resume", cid)
    assert hull.state(cid)["status"] == "running"
    assert not frozen(pid)
    hull.kill(cid, "TERM")
    hull.wait_status(cid, "stopped")


def test_delete_force_of_paused_container(hull, bundle):
    b, cid, pid = running(hull, bundle)
    hull("pause", cid)
    hull.delete(cid, force=True)
    wait_for(lambda: not pid_alive(pid), what="the paused container to die")
    assert hull.list() == []


# -- kill ---------------------------------------------------------------------------


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_term_forms(hull, bundle, sig):
    b, cid, pid = running(hull, bundle, LONG)
    hull.kill(cid, sig)
    hull.wait_status(cid, "stopped")


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_kill_forms(hull, bundle, sig):
    b, cid, pid = running(hull, bundle, SLEEP)
    hull.kill(cid, sig)
    hull.wait_status(cid, "stopped")


def test_kill_default_signal_is_term(hull, bundle):
    b, cid, pid = running(hull, bundle, LONG)
    hull("kill", cid)
    hull.wait_status(cid, "stopped")


def test_kill_delivers_the_signal_asked_for(hull, bundle):
    # USR1 (10) is caught and recorded; the container keeps running
    script = "trap 'echo usr1 > /got' USR1; trap 'exit 0' TERM; while :; do sleep 0.1; done"
    b, cid, pid = running(hull, bundle, ["sh", "-c", script], readonly=False)
    hull.kill(cid, str(int(signal.SIGUSR1)))
    wait_for(lambda: (b.rootfs / "got").exists(), what="USR1 to reach the container")
    assert hull.state(cid)["status"] == "running"
    hull.kill(cid, "USR1")
    hull.kill(cid, "TERM")
    hull.wait_status(cid, "stopped")


def test_kill_all(hull, bundle):
    b, cid, pid = running(hull, bundle, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    pids = wait_for(
        lambda: (lambda ps: ps if len(ps) == 3 else None)(
            json.loads(hull("ps", "--format", "json", cid).stdout)
        ),
        what="3 processes in the container",
    )
    hull("kill", "--all", cid, "KILL")
    hull.wait_status(cid, "stopped")
    for p in pids:
        wait_for(lambda: not pid_alive(p), what=f"pid {p} to die")


def test_kill_stopped_container_fails(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.start(cid)
    hull.wait_status(cid, "stopped")
    assert hull("kill", cid, "KILL", check=False).returncode != 0


# -- delete ---------------------------------------------------------------------------


def test_delete_running_needs_force(hull, bundle):
    b, cid, pid = running(hull, bundle, SLEEP)
    cg = cgroup_dir(pid, "memory" if not helpers.is_cgroup_v2_only() else "")
    p = hull("delete", cid, check=False)
    assert p.returncode != 0
    assert p.stderr.strip()
    assert hull.state(cid)["status"] == "running"
    assert pid_alive(pid)

    hull.delete(cid, force=True)
    assert hull("state", cid, check=False).returncode != 0
    wait_for(lambda: not pid_alive(pid), what=f"pid {pid} to die")
    assert not cg.exists()
    assert not (hull.root / cid).exists()


def test_delete_created_container(hull, bundle):
    b = bundle(LONG)
    cid = hull.create(b)
    pid = hull.state(cid)["pid"]
    hull.delete(cid)  # a created container is not running: no --force needed (runc)
    wait_for(lambda: not pid_alive(pid), what=f"pid {pid} to die")
    assert hull.list() == []


def test_delete_missing_fails_but_force_is_silent(hull):
    p = hull("delete", "no-such-container", check=False)
    assert p.returncode != 0
    assert p.stderr.strip()
    p = hull("delete", "--force", "no-such-container", check=False)
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert p.stdout == ""


def test_delete_twice(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.start(cid)
    hull.wait_status(cid, "stopped")
    hull.delete(cid)
    assert hull("delete", cid, check=False).returncode != 0
    assert hull("delete", "--force", cid, check=False).returncode == 0


# -- exec -------------------------------------------------------------------------------


def test_exec_args(hull, bundle):
    b, cid, pid = running(hull, bundle)
    p = hull("exec", cid, "echo", "hello", "world")
    assert p.stdout == "hello world\n"


def test_exec_sees_the_container(hull, bundle):
    b, cid, pid = running(hull, bundle, hostname="exec-test")
    assert hull("exec", cid, "hostname").stdout == "exec-test\n"
    # same pid namespace: the container's init is pid 1
    assert hull("exec", cid, "cat", "/proc/1/cmdline").stdout.startswith("sh\0-c\0")


def test_exec_env_and_cwd(hull, bundle):
    b, cid, pid = running(hull, bundle)
    p = hull("exec", "--env", "FOO=bar", "--env", "BAZ=q u x", "--cwd", "/tmp", cid, "sh", "-c", 'echo "$FOO|$BAZ|$(pwd)"')
    assert p.stdout == "bar|q u x|/tmp\n"


def test_exec_inherits_process_env(hull, bundle):
    b, cid, pid = running(hull, bundle, env=["FROM_CONFIG=yes"])
    assert hull("exec", cid, "sh", "-c", "echo $FROM_CONFIG").stdout == "yes\n"


def test_exec_user(hull, bundle):
    b, cid, pid = running(hull, bundle)
    p = hull("exec", "--user", "1000:1000", cid, "sh", "-c", "id -u; id -g")
    assert p.stdout.split() == ["1000", "1000"]


def test_exec_process_file(hull, bundle, tmp_path):
    b, cid, pid = running(hull, bundle)
    proc = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000},
        "args": ["sh", "-c", 'echo "$GREETING from $(pwd) as $(id -u)"'],
        "env": ["PATH=/bin:/usr/bin", "GREETING=hi"],
        "cwd": "/tmp",
    }
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    p = hull("exec", "--process", f, cid)
    assert p.stdout == "hi from /tmp as 1000\n"


def test_exec_exit_code(hull, bundle):
    b, cid, pid = running(hull, bundle)
    assert hull("exec", cid, "sh", "-c", "exit 7", check=False).returncode == 7
    assert hull("exec", cid, "true", check=False).returncode == 0


def test_exec_detach_pid_file(hull, bundle, tmp_path):
    b, cid, pid = running(hull, bundle)
    pidfile = tmp_path / "exec.pid"
    hull("exec", "--detach", "--pid-file", pidfile, cid, "sleep", "1000")
    epid = int(pidfile.read_text().strip())
    assert pid_alive(epid)
    assert epid in json.loads(hull("ps", "--format", "json", cid).stdout)
    assert Path(f"/proc/{epid}/cmdline").read_bytes() == b"sleep\x001000\x00"


def test_exec_missing_executable(hull, bundle):
    b, cid, pid = running(hull, bundle)
    p = hull("exec", cid, "/no/such/binary", check=False)
    assert p.returncode != 0
    assert p.stderr.strip()
    assert hull.state(cid)["status"] == "running"


def test_exec_into_stopped_container_fails(hull, bundle):
    b = bundle(["true"])
    cid = hull.create(b)
    hull.start(cid)
    hull.wait_status(cid, "stopped")
    p = hull("exec", cid, "true", check=False)
    assert p.returncode != 0
    assert p.stderr.strip()


# -- update ---------------------------------------------------------------------------------


def memory_limit_file(pid):
    return cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")


def pids_max_file(pid):
    return cgroup_file(pid, "pids", "pids.max", "pids.max")


def test_update_memory_and_pids(hull, bundle):
    b, cid, pid = running(hull, bundle)
    hull("update", "--memory", "64M", "--pids-limit", "42", cid)
    assert int(memory_limit_file(pid).read_text()) == 64 * 1024 * 1024
    assert pids_max_file(pid).read_text().strip() == "42"


def test_update_resources_file(hull, bundle, tmp_path):
    b, cid, pid = running(hull, bundle)
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 100 * 1024 * 1024}, "pids": {"limit": 77}}))
    hull("update", "--resources", f, cid)
    assert int(memory_limit_file(pid).read_text()) == 100 * 1024 * 1024
    assert pids_max_file(pid).read_text().strip() == "77"


def test_update_resources_stdin(hull, bundle):
    b, cid, pid = running(hull, bundle)
    res = json.dumps({"memory": {"limit": 48 * 1024 * 1024}, "pids": {"limit": 33}})
    hull("update", "-r", "-", cid, input=res)
    assert int(memory_limit_file(pid).read_text()) == 48 * 1024 * 1024
    assert pids_max_file(pid).read_text().strip() == "33"


def test_limits_from_config(hull, bundle):
    b, cid, pid = running(
        hull,
        bundle,
        linux={"resources": {"memory": {"limit": 32 * 1024 * 1024}, "pids": {"limit": 20}}},
    )
    assert int(memory_limit_file(pid).read_text()) == 32 * 1024 * 1024
    assert pids_max_file(pid).read_text().strip() == "20"


# -- events -------------------------------------------------------------------------------------


def test_events_stats(hull, bundle):
    b, cid, pid = running(hull, bundle)
    p = hull("events", "--stats", cid, timeout=30)
    ev = json.loads(p.stdout)
    assert ev["type"] == "stats"
    assert ev["id"] == cid
    data = ev["data"]
    assert data["pids"]["current"] == 2
    assert data["memory"]["usage"]["usage"] > 0
    assert data["cpu"]["usage"]["total"] > 0


# -- terminal -----------------------------------------------------------------------------------


def test_create_with_console_socket(hull, bundle):
    b = bundle(["sh"], terminal=True)
    with console_socket() as cs:
        cid = hull.create(b, extra=["--console-socket", cs.path])
        fd = cs.master_fd()
        assert os.isatty(fd)
        hull.start(cid)
        cs.write("echo $((6*7)); tty\n")
        out = cs.read_until("/dev/pts/")
        assert "42" in out
        cs.write("exit 5\n")
        hull.wait_status(cid, "stopped")


def test_run_detached_with_console_socket(hull, bundle):
    b = bundle(["sh"], terminal=True)
    with console_socket() as cs:
        cid = b.cid
        hull.run(b, cid, extra=["-d", "--console-socket", cs.path], check=True)
        assert hull.state(cid)["status"] == "running"
        cs.write("echo tty-ok-$((1+1))\n")
        cs.read_until("tty-ok-2")
        cs.write("exit\n")
        hull.wait_status(cid, "stopped")


def test_exec_tty_with_console_socket(hull, bundle):
    b, cid, pid = running(hull, bundle)
    with console_socket() as cs:
        hull("exec", "--tty", "--detach", "--console-socket", cs.path, cid, "sh")
        cs.write("echo exec-tty-$((2+3))\n")
        cs.read_until("exec-tty-5")
        cs.write("exit\n")


# -- misc ----------------------------------------------------------------------------------------


def test_no_pivot(hull, bundle):
    p = hull.run(bundle(["sh", "-c", "echo no-pivot; cat /proc/1/cmdline"]), extra=["--no-pivot"])
    assert p.returncode == 0, p
    assert p.stdout.startswith("no-pivot\n")


def test_inside_helper(hull, bundle):
    b = bundle(hostname="inside-host")
    assert inside(hull, b, "hostname; echo $((40+2))") == "inside-host\n42\n"


def test_container_is_pid_1_with_own_hostname(hull, bundle):
    b = bundle(hostname="box")
    out = inside(hull, b, "echo $$; hostname; ls /proc | grep -c '^[0-9]'")
    pid, host, nprocs = out.split()
    assert pid == "1"
    assert host == "box"
    assert int(nprocs) <= 3
