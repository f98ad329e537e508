"""hull start --all [--autostart], stop --all, boot.autostart.* keys (LXD's), and the
systemd unit in contrib/ that starts the autostart instances at boot."""

import shlex
import shutil
import subprocess

import pytest

import helpers
from sysharness import new_name
from sysharness import one_line_error

UNIT = helpers.REPO / "contrib" / "hull-autostart.service"


def statuses(h):
    return {i["name"]: i["status"] for i in h.list()}


def unit_commands(h):
    """ExecStart and ExecStop of the unit, pointed at this build and this state dir."""
    cmds = {}
    for line in UNIT.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("ExecStart", "ExecStop"):
            argv = shlex.split(value)
            assert argv[0] == "/usr/local/bin/hull", argv
            cmds[key] = h.argv(*argv[1:])
    return cmds


def test_start_all_autostart_priority_order(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    a, b, c, d, e = (new_name(t) for t in ("asa", "asb", "asc", "asd", "ase"))
    hullsys("init", "bb", a, "-c", "boot.autostart=true", "-c", "boot.autostart.priority=10")
    hullsys("init", "bb", b)
    hullsys("config", "set", b, "boot.autostart", "true")
    hullsys("config", "set", b, "boot.autostart.priority", "50")
    hullsys("config", "set", b, "boot.autostart.delay", "1")
    hullsys("init", "bb", c, "-c", "boot.autostart=false", "-c", "boot.autostart.priority=99")
    hullsys("init", "bb", d)
    # autostart from a profile counts (the effective config)
    hullsys("profile", "create", "auto")
    hullsys("profile", "set", "auto", "boot.autostart", "true")
    hullsys("init", "bb", e, "--profile", "auto")

    for key, value, msg in [
        ("boot.autostart", "yes", "boot.autostart: expected 'true' or 'false'"),
        ("boot.autostart.delay", "-1", "boot.autostart.delay: expected a number of seconds"),
        ("boot.autostart.delay", "99999", "boot.autostart.delay: expected a number of seconds"),
        ("boot.autostart.priority", "high", "boot.autostart.priority: expected an integer"),
    ]:
        one_line_error(hullsys("config", "set", d, f"{key}={value}", check=False), msg)
    assert hullsys.info(d)["config"] == {}
    one_line_error(hullsys("start", "--autostart", check=False), "--autostart goes with --all")
    one_line_error(hullsys("start", "--all", a, check=False), f"unexpected argument '{a}'")

    # highest priority first, then by name; the others stay stopped
    out = hullsys("start", "--all", "--autostart", timeout=180).stdout
    assert out.splitlines() == [f"started {b}", f"started {a}", f"started {e}"]
    st = statuses(hullsys)
    assert [st[n] for n in (a, b, c, d, e)] == \
        ["running", "running", "stopped", "stopped", "running"]
    # again: nothing left to start
    assert hullsys("start", "--all", "--autostart", timeout=60).stdout == ""

    # --all: every instance not running, by name
    out = hullsys("start", "--all", timeout=180).stdout
    assert out.splitlines() == [f"started {n}" for n in sorted((c, d))]
    assert set(statuses(hullsys).values()) == {"running"}

    hullsys("stop", "--all", "--timeout", "1", timeout=180)
    assert set(statuses(hullsys).values()) == {"stopped"}
    one_line_error(hullsys("restart", "--all", check=False), "unknown option '--all'")


def test_start_all_goes_on_after_a_failure(hullsys, busybox_tar, tmp_path):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    # an image without /sbin/init: its instances fail to start
    root = tmp_path / "noinit"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("x\n")
    subprocess.run(["tar", "-C", str(root), "-cf", str(tmp_path / "noinit.tar"), "."],
                   check=True)
    hullsys("image", "import", tmp_path / "noinit.tar", "--alias", "noinit")
    bad, good = new_name("asbad"), new_name("asgood")
    hullsys("init", "noinit", bad, "-c", "boot.autostart=true", "-c",
            "boot.autostart.priority=5")
    hullsys("init", "bb", good, "-c", "boot.autostart=true")
    p = hullsys("start", "--all", "--autostart", check=False, timeout=180)
    assert p.returncode == 1
    assert p.stdout.splitlines() == [f"started {good}"]
    err = p.stderr.strip().splitlines()
    assert len(err) == 2 and bad in err[0] and "1 of 2 instances failed" in err[1], p.stderr
    assert statuses(hullsys) == {bad: "stopped", good: "running"}


def test_systemd_unit_starts_and_stops_autostart_instances(hullsys, busybox_tar, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    # the unit as shipped is valid for systemd (paths pointed at this build)
    unit = tmp_path / "hull-autostart.service"
    unit.write_text(UNIT.read_text().replace(
        "/usr/local/bin/hull", f"{hullsys.argv()[0]} --state-dir {hullsys.state_dir}"))
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # and its commands do what it says
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    on, off = new_name("uon"), new_name("uoff")
    hullsys("init", "bb", on, "-c", "boot.autostart=true")
    hullsys("init", "bb", off)
    cmds = unit_commands(hullsys)
    subprocess.run(cmds["ExecStart"], check=True, timeout=180, env=hullsys.env,
                   capture_output=True)
    assert statuses(hullsys) == {on: "running", off: "stopped"}
    subprocess.run(cmds["ExecStop"], check=True, timeout=180, env=hullsys.env,
                   capture_output=True)
    assert statuses(hullsys) == {on: "stopped", off: "stopped"}
