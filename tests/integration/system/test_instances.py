"""hull init|launch|start|stop|delete|list|info|exec on real system containers."""

import csv
import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from sysharness import HULL_BIN, SUBID_START, inside, leftovers, new_name, one_line_error, wait_running


def instance_dirs(h):
    d = h.instances_dir()
    return sorted(e.name for e in d.iterdir() if e.name != ".lock") if d.exists() else []


# ---- errors leave nothing behind -------------------------------------------


def test_init_errors(hullsys, busybox_tar, tmp_path):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    name = new_name("e")
    one_line_error(hullsys("init", "nope", name, check=False), "unknown image 'nope'")
    one_line_error(hullsys("init", "bb", "9lives", check=False), "instance name '9lives'")
    one_line_error(hullsys("init", "bb", name, "-c", "limits.cpu.frobs=2", check=False),
                   "unknown config key 'limits.cpu.frobs'")
    one_line_error(hullsys("init", "bb", name, "-c", "limits.memory=lots", check=False),
                   "limits.memory: expected a size")
    one_line_error(hullsys("init", "bb", name, "-c", "novalue", check=False),
                   "'novalue': expected key=value")
    empty = tmp_path / "empty-subuid"
    empty.write_text("someone:100000:65536\n")
    one_line_error(hullsys("init", "bb", name, check=False, env={"HULL_SUBUID_FILE": str(empty)}),
                   f"no subordinate ids for 'root' in '{empty}'")
    assert instance_dirs(hullsys) == []
    hullsys("init", "bb", name, "-c", "user.note=hi", "-c", "limits.processes=500")
    one_line_error(hullsys("init", "bb", name, check=False),
                   f"instance '{name}' already exists")
    one_line_error(hullsys("start", "ghost", check=False), "unknown instance 'ghost'")
    one_line_error(hullsys("stop", name, check=False), f"instance '{name}' is not running")
    one_line_error(hullsys("exec", name, "--", "true", check=False),
                   f"instance '{name}' is not running")
    assert instance_dirs(hullsys) == [name]
    info = hullsys.info(name)
    assert info["status"] == "stopped"
    assert info["config"] == {"limits.processes": "500", "user.note": "hi"}
    assert info["idmap"] == {"uid": SUBID_START, "gid": SUBID_START, "count": 65536}
    hullsys("delete", name)
    assert instance_dirs(hullsys) == []


def test_ranges_never_overlap(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    names = [new_name("r") for _ in range(3)]
    for n in names:
        hullsys("init", "bb", n)
    bases = sorted(hullsys.info(n)["idmap"]["uid"] for n in names)
    assert bases == [SUBID_START + i * 65536 for i in range(3)]
    # a freed range is reused, never shared
    hullsys("delete", names[1])
    n4 = new_name("r")
    hullsys("init", "bb", n4)
    assert hullsys.info(n4)["idmap"]["uid"] == SUBID_START + 65536


def test_start_failure_leaves_nothing(hullsys, tmp_path):
    """An image without /sbin/init: start fails with one line, and nothing stays
    mounted or running; launch removes the instance it made."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=empty\n")
    t = tmp_path / "empty.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(t), "."], check=True)
    hullsys("image", "import", t, "--alias", "empty")
    name = new_name("f")
    hullsys("init", "empty", name)
    p = hullsys("start", name, check=False, timeout=60)
    one_line_error(p, f"start '{name}'")
    assert "/sbin/init" in p.stderr
    assert hullsys.info(name)["status"] == "stopped"
    assert leftovers(hullsys.state_dir, [name]) == []
    n2 = new_name("f")
    p = hullsys("launch", "empty", n2, check=False, timeout=60)
    one_line_error(p, f"launch '{n2}'")
    assert instance_dirs(hullsys) == [name]


# ---- systemd instances ------------------------------------------------------


def test_launch_systemd_stop_start_delete(hullsys, debian_image):
    name = new_name("deb")
    hullsys("launch", "debian/12", name, timeout=120)
    info = hullsys.info(name)
    assert info["status"] == "running" and info["pid"] > 0
    state, failed = wait_running(hullsys, name)
    assert state == "running", f"is-system-running: {state}\n{failed}"

    base = info["idmap"]["uid"]
    assert inside(hullsys, name, "cat /proc/self/uid_map").split() == ["0", str(base), "65536"]
    assert inside(hullsys, name, "cat /proc/self/gid_map").split() == ["0", str(base), "65536"]
    # from the host: init runs as the instance's root, in its own range
    status = Path(f"/proc/{info['pid']}/status").read_text()
    uid_line = [ln for ln in status.splitlines() if ln.startswith("Uid:")][0]
    assert uid_line.split()[1] == str(base)
    env = Path(f"/proc/{info['pid']}/environ").read_bytes().split(b"\0")
    assert b"container=hull" in env
    mounts = inside(hullsys, name, "cat /proc/self/mounts")
    fstypes = {ln.split()[1]: ln.split()[2] for ln in mounts.splitlines()}
    assert fstypes["/run"] == "tmpfs" and fstypes["/run/lock"] == "tmpfs"
    assert fstypes["/"] == "overlay"
    # /dev/console is a pty (devpts major 136)
    out = inside(hullsys, name, "stat -L -c '%t' /dev/console")
    assert int(out.strip(), 16) == 136
    assert inside(hullsys, name, "hostname").strip() == name
    # the image's files belong to the instance's root, seen from inside
    assert inside(hullsys, name, "stat -c '%u:%g' /usr/bin/passwd").strip() == "0:0"
    # the console log has systemd's boot messages
    log = (hullsys.instances_dir() / name / "console.log").read_text(errors="replace")
    assert "Debian GNU/Linux 12" in log

    # a write inside lands in the instance's upper dir, owned by its range; the image is untouched
    inside(hullsys, name, "echo hi > /root/note")
    upper = hullsys.instances_dir() / name / "upper" / "root" / "note"
    assert upper.read_text() == "hi\n" and upper.stat().st_uid == base
    img_root = hullsys.state_dir / "images" / debian_image / "rootfs"
    assert not (img_root / "root" / "note").exists()

    one_line_error(hullsys("start", name, check=False), f"instance '{name}' is already running")
    one_line_error(hullsys("delete", name, check=False), f"instance '{name}' is running")

    hullsys("stop", "--timeout", "30", name, timeout=90)
    info = hullsys.info(name)
    assert info["status"] == "stopped" and info["pid"] == 0
    assert leftovers(hullsys.state_dir, [name]) == []

    # started again, its files are still there
    hullsys("start", name, timeout=120)
    assert inside(hullsys, name, "cat /root/note") == "hi\n"
    hullsys("stop", "--force", name, timeout=60)
    hullsys("delete", name)
    assert instance_dirs(hullsys) == []
    assert leftovers(hullsys.state_dir, [name]) == []


def test_exec_pipes_status_env_cwd_user(hullsys, debian_image):
    name = new_name("ex")
    hullsys("launch", "debian/12", name, timeout=120)
    p = hullsys("exec", name, "--", "sh", "-c", "exit 7", check=False)
    assert p.returncode == 7
    p = hullsys("exec", name, "--", "sh", "-c", "kill -TERM $$", check=False)
    assert p.returncode == 128 + signal.SIGTERM
    p = hullsys("exec", name, "--env", "FOO=bar baz", "--cwd", "/tmp", "--",
                "sh", "-c", "cat; echo \"$FOO\"; pwd; echo err >&2", input="from stdin\n")
    assert p.stdout == "from stdin\nbar baz\n/tmp\n"
    assert p.stderr == "err\n"
    p = hullsys("exec", name, "--user", "1000:1001", "--", "id", "-u")
    assert p.stdout.strip() == "1000"
    p = hullsys("exec", name, "--user", "1000:1001", "--", "id", "-g")
    assert p.stdout.strip() == "1001"
    one_line_error(hullsys("exec", name, "--env", "NOEQUALS", "--", "true", check=False),
                   "--env 'NOEQUALS': expected KEY=VALUE")
    p = hullsys("exec", name, "--", "/no/such/binary", check=False)
    assert p.returncode != 0
    hullsys("delete", "--force", name, timeout=60)


def test_two_instances_disjoint(hullsys, debian_image):
    a, b = new_name("two"), new_name("two")
    hullsys("launch", "debian/12", a, timeout=120)
    hullsys("launch", "debian/12", b, timeout=120)
    ra = inside(hullsys, a, "cat /proc/self/uid_map").split()
    rb = inside(hullsys, b, "cat /proc/self/uid_map").split()
    sa, sb = int(ra[1]), int(rb[1])
    assert abs(sa - sb) >= 65536
    inside(hullsys, a, "echo only-a > /etc/marker")
    assert inside(hullsys, b, "cat /etc/marker 2>/dev/null || echo none").strip() == "none"
    lst = {i["name"]: i for i in hullsys.list()}
    assert lst[a]["status"] == lst[b]["status"] == "running"
    hullsys("delete", "--force", a, b, timeout=90)
    assert leftovers(hullsys.state_dir, [a, b]) == []


def test_monitor_death_is_reported(hullsys, debian_image):
    """Killing the monitor (which this test's launch started) is detected by list and
    info; stop then cleans up what it left."""
    name = new_name("mon")
    hullsys("launch", "debian/12", name, timeout=120)
    info = hullsys.info(name)
    mon = info["monitor_pid"]
    assert mon > 0 and helpers.pid_alive(mon)
    assert Path(f"/proc/{mon}/comm").read_text().strip() == "hull-monitor"
    os.kill(mon, signal.SIGKILL)
    helpers.wait_for(lambda: not helpers.pid_alive(mon), timeout=10, what="monitor exit")
    lst = {i["name"]: i for i in hullsys.list()}
    assert lst[name]["status"] == "error"
    assert "monitor" in lst[name]["error"]
    assert f"{name},error," in hullsys("list", "--format", "csv").stdout
    hullsys("stop", name, timeout=60)
    assert hullsys.info(name)["status"] == "stopped"
    assert leftovers(hullsys.state_dir, [name]) == []


def test_list_formats(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    names = sorted(new_name("ls") for _ in range(2))
    for n in names:
        hullsys("init", "bb", n)
    js = hullsys.list()
    assert [i["name"] for i in js] == names
    assert all(i["status"] == "stopped" and i["type"] == "container" for i in js)
    rows = list(csv.DictReader(io.StringIO(hullsys("list", "--format", "csv").stdout)))
    assert [r["name"] for r in rows] == names and rows[0]["image"] == "bb"
    yaml_out = hullsys("list", "--format", "yaml").stdout
    assert yaml_out.count("- name: ") == 2 and f'- name: "{names[0]}"' in yaml_out
    table = hullsys("list").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "STATE", "IPV4", "TYPE"]
    one_line_error(hullsys("list", "--format", "xml", check=False), "--format")


def test_exec_pty_when_stdin_is_a_terminal(hullsys, debian_image):
    name = new_name("pty")
    hullsys("launch", "debian/12", name, timeout=120)
    cmd = " ".join(hullsys.argv("exec", name, "--", "sh", "-c", "tty; exit 3"))
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       timeout=60, env=hullsys.env)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "/dev/pts/" in p.stdout
    # without a terminal: pipes, and `tty` says so
    p = hullsys("exec", name, "--", "sh", "-c", "tty || true")
    assert p.stdout.strip() == "not a tty"
    hullsys("delete", "--force", name, timeout=60)


def test_limits_visible_inside(hullsys, debian_image):
    name = new_name("lim")
    hullsys("launch", "debian/12", name, "-c", "limits.memory=256MiB",
            "-c", "limits.processes=300", timeout=120)
    mem = inside(hullsys, name, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert int(mem) == 256 << 20
    assert inside(hullsys, name, "cat /sys/fs/cgroup/pids/pids.max").strip() == "300"
    # delegated to the instance's root, but not its own limits
    p = hullsys("exec", name, "--", "sh", "-c",
                "echo 1073741824 > /sys/fs/cgroup/memory/memory.limit_in_bytes", check=False)
    assert p.returncode != 0
    hullsys("delete", "--force", name, timeout=60)


def test_state_dir_must_be_searchable(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    name = new_name("perm")
    hullsys("init", "bb", name)
    hullsys.state_dir.chmod(0o700)
    try:
        p = hullsys("start", name, check=False)
    finally:
        hullsys.state_dir.chmod(0o711)
    one_line_error(p, f"'{hullsys.state_dir}' (mode 0700) is not searchable by the instance's root")
    assert leftovers(hullsys.state_dir, [name]) == []


def test_restart_and_logs(hullsys, debian_image):
    name = new_name("rs")
    hullsys("launch", "debian/12", name, timeout=120)
    wait_running(hullsys, name)
    pid = hullsys.info(name)["pid"]
    inside(hullsys, name, "echo kept > /root/kept")
    hullsys("restart", "--timeout", "30", name, timeout=120)
    info = hullsys.info(name)
    assert info["status"] == "running" and info["pid"] != pid
    assert inside(hullsys, name, "cat /root/kept") == "kept\n"
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    assert "Debian GNU/Linux 12" in hullsys("logs", name).stdout
    one_line_error(hullsys("logs", "ghost", check=False), "unknown instance 'ghost'")
    hullsys("delete", "--force", name, timeout=60)


def test_state_from_before_a_reboot_is_stopped(hullsys, busybox_tar):
    """A state recorded in another boot (boot_id differs) is not 'error' but stopped."""
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    name = new_name("boot")
    hullsys("init", "bb", name)
    st = hullsys.instances_dir() / name / "state.json"
    stale = {"status": "running", "init_pid": 1, "monitor_pid": 1, "last_exit": -1}
    st.write_text(json.dumps({**stale, "boot_id": "00000000-0000-0000-0000-000000000000"}))
    assert hullsys.info(name)["status"] == "stopped"
    # the same record from this boot means the monitor died
    st.write_text(json.dumps({**stale,
                              "boot_id": Path("/proc/sys/kernel/random/boot_id").read_text().strip()}))
    assert hullsys.info(name)["status"] == "error"


def test_launch_builds_a_missing_distro_image(hullsys):
    """A distro alias not in the store is built first; an unknown release fails in the
    build, with one line, and leaves no instance."""
    name = new_name("auto")
    p = hullsys("launch", "debian/99", name, check=False)
    assert p.returncode != 0
    assert "building it" in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("hull: build 'debian/99': unknown distribution")
    assert instance_dirs(hullsys) == []


def test_ownership_shift_fallback(hullsys, debian_image):
    """HULL_STORAGE_SHIFT=1: the lower layer is a copy of the image with shifted owners
    (the fallback for kernels without id-mapped mounts); systemd runs the same."""
    name = new_name("shift")
    env = {"HULL_STORAGE_SHIFT": "1"}
    hullsys("launch", "debian/12", name, timeout=300, env=env)
    idir = hullsys.instances_dir() / name
    base = hullsys.info(name)["idmap"]["uid"]
    shifted = idir / "lower-shifted"
    assert (shifted / "usr/bin/passwd").stat().st_uid == base
    assert (shifted / "usr/bin/passwd").stat().st_mode & 0o4000
    assert not (idir / "lower-shifted.tmp").exists()
    img = hullsys.state_dir / "images" / debian_image / "rootfs"
    assert (img / "usr/bin/passwd").stat().st_uid == 0  # the image itself is untouched
    assert inside(hullsys, name, "stat -c '%u:%g %a' /usr/bin/passwd").strip() == "0:0 4755"
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    hullsys("stop", "--force", name, timeout=60)
    # once made, the shifted copy is what this instance keeps using
    hullsys("start", name, timeout=120)
    assert not helpers.mounts_under(idir / "lower")
    hullsys("delete", "--force", name, timeout=60)
    assert not idir.exists()


def test_other_host_users_cannot_reach_the_rootfs(hullsys, debian_image):
    """The rootfs mounted on the host holds set-id files owned by the instance's ids:
    only the instance's root (and host root) may traverse the instance's directory."""
    name = new_name("perm")
    hullsys("launch", "debian/12", name, timeout=120)
    idir = hullsys.instances_dir() / name
    st = idir.stat()
    assert st.st_mode & 0o777 == 0o100 and st.st_uid == hullsys.info(name)["idmap"]["uid"]
    target = idir / "rootfs" / "usr" / "bin" / "su"
    assert target.exists()
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "stat", str(target)], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "Permission denied" in p.stderr
    hullsys("delete", "--force", name, timeout=60)


def test_stop_kills_after_the_timeout(hullsys, busybox_tar):
    """An init that ignores SIGRTMIN+3 (busybox init has no handler for it) is killed
    once --timeout runs out; the instance is left stopped, with nothing behind."""
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    name = new_name("kill")
    hullsys("launch", "bb", name, timeout=60)
    pid = hullsys.info(name)["pid"]
    assert helpers.pid_alive(pid)
    hullsys("stop", "--timeout", "1", name, timeout=60)
    info = hullsys.info(name)
    assert info["status"] == "stopped"
    assert info["last_exit"] == 128 + signal.SIGKILL
    assert not helpers.pid_alive(pid)
    assert leftovers(hullsys.state_dir, [name]) == []


def test_exec_leaks_no_host_fds_and_cwd_stays_inside(hullsys, debian_image):
    """No fd of hull's (state dir, image store, locks) reaches an exec'd process, and
    --cwd /proc/self/fd/N (CVE-2024-21626's shape) never lands in the host's tree."""
    assert Path("/work").is_dir()  # a host top-level dir the image does not have
    name = new_name("fd")
    hullsys("launch", "debian/12", name, timeout=120)
    out = inside(hullsys, name, "ls -l /proc/$$/fd/")
    targets = [ln.split("-> ", 1)[1] for ln in out.splitlines() if "-> " in ln]
    assert targets and all(t.startswith(("pipe:", "/dev/")) for t in targets), out
    for n in range(3, 10):
        p = hullsys("exec", name, "--cwd", f"/proc/self/fd/{n}", "--",
                    "sh", "-c", "cd ../../../../../../..; ls", check=False)
        assert "work" not in p.stdout.split(), (n, p.stdout)
    # the same through a symlink the instance planted
    inside(hullsys, name, "for n in 3 4 5 6 7 8 9; do ln -s /proc/self/fd/$n /tmp/fd$n; done")
    for n in range(3, 10):
        p = hullsys("exec", name, "--cwd", f"/tmp/fd{n}", "--",
                    "sh", "-c", "cd ../../../../../../..; ls", check=False)
        assert "work" not in p.stdout.split(), (n, p.stdout)
    hullsys("delete", "--force", name, timeout=60)


def test_concurrent_init_and_start(hullsys, busybox_tar):
    """Parallel inits never share an id range; of two parallel starts of one instance,
    exactly one starts it and the other says it is already running."""
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    names = [new_name("par") for _ in range(4)]
    procs = [subprocess.Popen(hullsys.argv("init", "bb", n), env=hullsys.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in names]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    bases = [hullsys.info(n)["idmap"]["uid"] for n in names]
    assert len(set(bases)) == 4
    procs = [subprocess.Popen(hullsys.argv("start", names[0]), env=hullsys.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, err.strip()))
    assert sorted(rc for rc, _ in results) == [0, 1], results
    assert any(err == f"hull: instance '{names[0]}' is already running" for _, err in results)
    assert hullsys.info(names[0])["status"] == "running"
    hullsys("stop", "--force", names[0], timeout=60)
    assert leftovers(hullsys.state_dir, names) == []
