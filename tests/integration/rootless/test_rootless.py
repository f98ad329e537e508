"""hull-runtime run by an unprivileged user: a user namespace mapped to the
user's own uid, or to its subordinate ids through newuidmap/newgidmap.

The suite creates a test user with subordinate ids and removes it again.
cgroups are not delegated to that user here, so runs go on without them after
one warning.
"""
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import helpers

USER = f"hullrl{helpers.SESSION[:6]}"
SUBID_START = 300000
SUBID_COUNT = 65536


@pytest.fixture(scope="module")
def user():
    if not helpers.runtime_identity(helpers.resolve_runtime_bin())[2]:
        pytest.skip("rootless tests exercise hull-runtime")
    for tool in ("useradd", "userdel", "newuidmap", "newgidmap", "runuser"):
        if not shutil.which(tool):
            pytest.skip(f"'{tool}' is not installed")
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", USER], check=True)
    try:
        subprocess.run(["usermod", "--add-subuids", f"{SUBID_START}-{SUBID_START + SUBID_COUNT - 1}",
                        "--add-subgids", f"{SUBID_START}-{SUBID_START + SUBID_COUNT - 1}", USER],
                       check=True)
        pw = pwd.getpwnam(USER)
        yield pw
    finally:
        subprocess.run(["userdel", USER], check=False)
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f) as fh:
                lines = [x for x in fh if not x.startswith(USER + ":")]
            with open(f, "w") as fh:
                fh.writelines(lines)


class Rootless:
    """A bundle made by `spec --rootless` as the user, and calls as the user."""

    def __init__(self, pw, top):
        self.pw = pw
        self.top = top
        self.bundle = os.path.join(top, "bundle")
        self.root = os.path.join(top, "state")
        self.bin = helpers.resolve_runtime_bin()

    def call(self, *args, check=True, timeout=60):
        p = helpers.run_captured(["runuser", "-u", self.pw.pw_name, "--", self.bin,
                                  "--root", self.root, *args],
                                 timeout=timeout, env={"PATH": os.environ["PATH"]})
        if check:
            assert p.returncode == 0, helpers.describe(p, "failed")
        return p

    def config(self):
        with open(os.path.join(self.bundle, "config.json")) as f:
            return json.load(f)

    def save(self, cfg):
        path = os.path.join(self.bundle, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        os.chown(path, self.pw.pw_uid, self.pw.pw_gid)


@pytest.fixture
def rl(user):
    top = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-rootless-", dir="/tmp")
    os.chmod(top, 0o755)
    bundle = os.path.join(top, "bundle")
    os.mkdir(bundle)
    shutil.copytree(helpers.busybox_rootfs(), os.path.join(bundle, "rootfs"), symlinks=True)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", top], check=True)
    r = Rootless(user, top)
    p = helpers.run_captured(["runuser", "-u", user.pw_name, "--", r.bin, "spec", "--rootless",
                              "--bundle", bundle])
    assert p.returncode == 0, helpers.describe(p, "failed")
    cfg = r.config()
    cfg["process"]["terminal"] = False
    cfg["root"]["readonly"] = False
    r.save(cfg)
    try:
        yield r
    finally:
        p = r.call("list", "-q", check=False)
        for cid in p.stdout.split():
            r.call("delete", "--force", cid, check=False)
        shutil.rmtree(top, ignore_errors=True)


def test_spec_rootless_bundle_runs(rl):
    cfg = rl.config()
    assert any(n["type"] == "user" for n in cfg["linux"]["namespaces"])
    cfg["process"]["args"] = ["sh", "-c", "id -u; cat /proc/self/uid_map; echo hi > /tmp/x; cat /tmp/x"]
    rl.save(cfg)
    p = rl.call("run", "--bundle", rl.bundle, "rl-run")
    lines = p.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(rl.pw.pw_uid), "1"]
    assert "hi" in lines
    # no delegated cgroups on this host: one clear warning, and the run goes on
    assert p.stderr.count("warning") <= 1
    if p.stderr:
        assert "cgroups not delegated" in p.stderr


def test_subordinate_ids_through_newuidmap(rl):
    cfg = rl.config()
    uid, gid = rl.pw.pw_uid, rl.pw.pw_gid
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1},
                                   {"containerID": 1, "hostID": SUBID_START, "size": SUBID_COUNT}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": gid, "size": 1},
                                   {"containerID": 1, "hostID": SUBID_START, "size": SUBID_COUNT}]
    for kind in ("bounding", "effective", "permitted"):
        cfg["process"]["capabilities"][kind].append("CAP_CHOWN")
    cfg["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map; touch /tmp/f; chown 1000:1000 /tmp/f && stat -c %u /tmp/f"]
    rl.save(cfg)
    p = rl.call("run", "--bundle", rl.bundle, "rl-subid")
    maps = [line.split() for line in p.stdout.strip().split("\n")[:2]]
    assert maps == [["0", str(uid), "1"], ["1", str(SUBID_START), str(SUBID_COUNT)]]
    assert p.stdout.strip().split("\n")[-1] == "1000"
    # seen from the host, the file belongs to the subordinate id
    st = os.stat(os.path.join(rl.bundle, "rootfs", "tmp", "f"))
    assert st.st_uid == SUBID_START + 999


def test_create_start_exec_kill_delete(rl):
    cfg = rl.config()
    cfg["process"]["args"] = ["sleep", "1000"]
    rl.save(cfg)
    rl.call("create", "--bundle", rl.bundle, "rl-life")
    assert json.loads(rl.call("state", "rl-life").stdout)["status"] == "created"
    rl.call("start", "rl-life")
    assert json.loads(rl.call("state", "rl-life").stdout)["status"] == "running"
    p = rl.call("exec", "rl-life", "sh", "-c", "id -u; ps -o args | grep -c '^sleep 1000$'; exit 7",
                check=False)
    assert p.returncode == 7, helpers.describe(p, "exit code")
    assert p.stdout.split() == ["0", "1"]
    rl.call("kill", "rl-life", "KILL")
    helpers.wait_for(lambda: json.loads(rl.call("state", "rl-life").stdout)["status"] == "stopped",
                     what="the container to stop")
    rl.call("delete", "rl-life")
    assert rl.call("state", "rl-life", check=False).returncode != 0
    assert os.listdir(rl.root) == []


def test_exec_detached_pid_file(rl):
    cfg = rl.config()
    cfg["process"]["args"] = ["sleep", "1000"]
    rl.save(cfg)
    rl.call("run", "--detach", "--bundle", rl.bundle, "rl-det")
    pidfile = os.path.join(rl.top, "exec.pid")
    rl.call("exec", "--detach", "--pid-file", pidfile, "rl-det", "sleep", "1000")
    with open(pidfile) as f:
        pid = int(f.read())
    with open(f"/proc/{pid}/status") as f:
        uid_line = next(x for x in f if x.startswith("Uid:"))
    assert uid_line.split()[1] == str(rl.pw.pw_uid)
    rl.call("delete", "--force", "rl-det")
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="the exec'd process to go")


def test_podman_rootless(user):
    """Rootless podman (its own user namespace from the user's subordinate ids)."""
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    subprocess.run([os.path.join(helpers.REPO, "scripts", "make-busybox-images.sh")],
                   check=True, stdout=subprocess.DEVNULL)
    tar = os.path.join(helpers.REPO, ".cache", "images", "busybox-rootfs.tar")
    top = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-podman-rl-", dir="/tmp")
    os.chmod(top, 0o755)
    run_dir = os.path.join(top, "run")
    os.mkdir(run_dir, 0o700)
    os.chown(top, user.pw_uid, user.pw_gid)
    os.chown(run_dir, user.pw_uid, user.pw_gid)
    env = {"PATH": os.environ["PATH"], "HOME": top, "XDG_RUNTIME_DIR": run_dir,
           "USER": user.pw_name}
    podman = ["runuser", "-u", user.pw_name, "--", "env", f"HOME={top}",
              f"XDG_RUNTIME_DIR={run_dir}", "podman", "--root", f"{top}/storage",
              "--runroot", f"{top}/runroot", "--storage-driver", "vfs",
              "--cgroup-manager", "cgroupfs", "--events-backend", "file",
              "--runtime", helpers.resolve_runtime_bin()]

    def pod(*args, check=True):
        p = helpers.run_captured([*podman, *args], env=env, timeout=120)
        if check:
            assert p.returncode == 0, helpers.describe(p, "failed")
        return p

    try:
        pod("import", tar, "localhost/bb")
        p = pod("run", "--rm", "--network", "none", "localhost/bb", "sh", "-c",
                "id -u; cat /proc/self/uid_map")
        lines = p.stdout.split("\n")
        assert lines[0] == "0"
        # podman's user namespace: the user's own uid, then its subordinate ids
        assert lines[1].split() == ["0", str(user.pw_uid), "1"]
        with open("/etc/subuid") as f:
            first = next(x for x in f if x.startswith(user.pw_name + ":")).strip().split(":")
        assert lines[2].split() == ["1", first[1], first[2]]
        pod("run", "-d", "--name", "rl1", "--network", "none", "localhost/bb", "sleep", "1000")
        assert pod("exec", "rl1", "sh", "-c", "echo exec ok; exit 4", check=False).stdout == "exec ok\n"
        pod("rm", "-f", "-t", "0", "rl1")
    finally:
        pidfile = os.path.join(run_dir, "libpod", "tmp", "pause.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.read().strip() or 0)
            if pid > 0:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(top, ignore_errors=True)


def test_seccomp_notify_rootless(rl):
    # Unprivileged, the runtime may not pidfd_getfd the (non-dumpable) init: the
    # init sends the listener itself right after the load, so every syscall but
    # sendmsg may be notified.
    from seccomp_agent import NOTIFIED, agent

    names = [n for n in NOTIFIED if n != "sendmsg"]

    with agent(public=True) as a:
        cfg = rl.config()
        cfg["process"]["args"] = ["sh", "-c", "echo notified-$((6*7)); exit 3"]
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": a.path,
            "syscalls": [{"names": names, "action": "SCMP_ACT_NOTIFY"}],
        }
        rl.save(cfg)
        p = rl.call("run", "--bundle", rl.bundle, "rl-notify", check=False)
        assert (p.returncode, p.stdout) == (3, "notified-42\n"), helpers.describe(p, "run")
        assert len(a.states) == 1 and not a.errors
        cfg["process"]["args"] = ["sleep", "60"]
        rl.save(cfg)
        rl.call("run", "-d", "--bundle", rl.bundle, "rl-notify-exec")
        p = rl.call("exec", "rl-notify-exec", "sh", "-c", "echo exec-$((6*7)); exit 5", check=False)
        assert (p.returncode, p.stdout) == (5, "exec-42\n"), helpers.describe(p, "exec")
        assert len(a.states) == 3 and not a.errors
        rl.call("delete", "--force", "rl-notify-exec")
