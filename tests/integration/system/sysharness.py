"""Fixtures for hull's system container tests (the `hull` program).

  hullsys        a Hull bound to a fresh temp state dir (--state-dir); at teardown
                 every instance is deleted with --force and the test fails if
                 anything of it is left: mounts, monitor processes, cgroups,
                 the state dir itself.
  busybox_tar    a tarball of the busybox rootfs (fast images for error paths)
  debian_image   the Debian 12 system image, built once with `hull image build`
                 into $HULL_TEST_CACHE (default /var/cache/hull-test) and shared
                 with each test's state dir by hard links (images are read-only)

Subordinate ids: tests point hull at their own subuid/subgid file
(HULL_SUBUID_FILE / HULL_SUBGID_FILE) holding a range for root that is random
per session, so parallel sessions and the machine's /etc/subuid stay apart.
"""

import json
import os
import random
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

import helpers

REPO = helpers.REPO
HULL_BIN = Path(os.environ.get("HULL_BIN", REPO / "build" / "src" / "cli" / "hull"))
CACHE = Path(os.environ.get("HULL_TEST_CACHE", "/var/cache/hull-test"))
TMP_BASE = Path("/tmp")
# a 16-block (1M ids) range of its own for this session
SUBID_START = 1000000 + random.randrange(0, 2000) * 65536 * 16
SUBID_COUNT = 65536 * 16


class Hull:
    """The hull program with one state dir."""

    def __init__(self, state_dir, env=None):
        self.state_dir = Path(state_dir)
        self.env = dict(os.environ)
        self.env.update(env or {})

    def argv(self, *args):
        return [str(HULL_BIN), "--state-dir", str(self.state_dir), *map(str, args)]

    def __call__(self, *args, check=True, timeout=120, input=None, env=None):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run(
            self.argv(*args), input=input, capture_output=True, text=True,
            timeout=timeout, env=e,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"hull {' '.join(map(str, args))} failed ({p.returncode}):\n"
                f"stdout: {p.stdout}\nstderr: {p.stderr}"
            )
        return p

    def list(self):
        return json.loads(self("list", "--format", "json").stdout)

    def info(self, name):
        return json.loads(self("info", name).stdout)

    def instances_dir(self):
        return self.state_dir / "instances"


def _monitor_pids(state_dir):
    """pids of processes whose command line names this state dir (monitors)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] in "ZX":
            continue
        if str(state_dir) in cmd:
            pids.append(int(d.name))
    return pids


def leftovers(state_dir, names=()):
    """What an instance test left on the host (empty when clean)."""
    found = [f"mount: {m}" for m in helpers.mounts_under(state_dir)]
    found += [f"process: {p}" for p in _monitor_pids(state_dir)]
    for n in names:
        found += [f"cgroup: {c}" for c in helpers.CGROUP_ROOT.glob(f"*/hull/{n}")]
    return found


@pytest.fixture
def subid_files(tmp_path):
    uid = tmp_path / "subuid"
    gid = tmp_path / "subgid"
    uid.write_text(f"root:{SUBID_START}:{SUBID_COUNT}\n")
    gid.write_text(f"root:{SUBID_START}:{SUBID_COUNT}\n")
    return uid, gid


@pytest.fixture
def hullsys(subid_files):
    if not HULL_BIN.exists():
        pytest.fail(f"'{HULL_BIN}' not found: build it (`make build`)")
    state = Path(
        subprocess.run(
            ["mktemp", "-d", str(TMP_BASE / f"hull-test-{helpers.SESSION}-sys-XXXXXX")],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )
    state.chmod(0o711)  # the instances' roots must reach their bundles
    # the session-wide leak checks (mounts, processes) cover this dir too
    helpers._roots.append(state)
    h = Hull(state, env={"HULL_SUBUID_FILE": str(subid_files[0]),
                         "HULL_SUBGID_FILE": str(subid_files[1])})
    yield h
    names = []
    problems = []
    if (state / "instances").is_dir():
        for d in (state / "instances").iterdir():
            if d.name.startswith("."):
                continue
            names.append(d.name)
            p = h("delete", "--force", d.name, check=False, timeout=60)
            if p.returncode != 0:
                problems.append(f"delete --force {d.name}: {p.stderr.strip()}")
    problems += leftovers(state, names)
    if problems:
        helpers.clean_leaks()
    for m in sorted(helpers.mounts_under(state), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
    shutil.rmtree(state, ignore_errors=True)
    if problems:
        pytest.fail("the test left things behind:\n" + "\n".join(problems))


def new_name(tag="sys"):
    """An instance name unique to this session (the session's leak checks know the prefix)."""
    return helpers.new_id(tag)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory):
    root = helpers.busybox_rootfs()
    out = tmp_path_factory.mktemp("bbtar") / "busybox.tar"
    with tarfile.open(out, "w") as t:
        t.add(root, arcname=".")
    return out


@pytest.fixture(scope="session")
def debian_cache():
    """(state dir, fingerprint) of the cached Debian 12 image; built on first use."""
    state = CACHE / "state"
    p = subprocess.run(
        [str(HULL_BIN), "--state-dir", str(state), "image", "build", "debian/12",
         "--cache-dir", str(CACHE / "debs")],
        capture_output=True, text=True, timeout=1800,
    )
    if p.returncode != 0:
        pytest.fail(f"building the Debian image failed:\n{p.stderr[-3000:]}")
    return state, p.stdout.strip()


@pytest.fixture
def debian_image(hullsys, debian_cache):
    """The Debian image in the test's own state dir, aliased debian/12."""
    state, fp = debian_cache
    dst = hullsys.state_dir / "images"
    dst.mkdir(exist_ok=True)
    subprocess.run(["cp", "-al", str(state / "images" / fp), str(dst / fp)], check=True)
    hullsys("image", "alias", "debian/12", fp)
    return fp


def one_line_error(p, msg):
    assert p.returncode != 0, p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert msg in lines[0], lines[0]


def wait_running(h, name, timeout=90):
    """systemctl is-system-running --wait; returns (state, failed units text).
    Right after start systemd may not have made /run/systemd/system yet (systemctl
    then says "offline") nor its bus (it then fails to connect): both are retried,
    bounded, until systemd answers."""
    deadline = time.monotonic() + timeout
    while True:
        p = h("exec", name, "--", "systemctl", "is-system-running", "--wait", check=False,
              timeout=timeout)
        state = p.stdout.strip()
        early = state == "offline" or (not state and "bus" in p.stderr)
        if not early or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    failed = ""
    if state != "running":
        failed = h("exec", name, "--", "systemctl", "--failed", "--no-pager", "--full",
                   check=False, timeout=30).stdout
        failed += p.stderr
    return state, failed


def inside(h, name, script, **kw):
    return h("exec", name, "--", "sh", "-c", script, **kw).stdout
