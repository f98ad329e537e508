"""Reboot and poweroff from inside an instance (the kernel ends a pid namespace's init
with SIGHUP for reboot(2) RESTART, SIGINT for HALT/POWER_OFF; the monitor tells them apart)."""

import time

import os

from sysharness import new_name
from test_console import attach, read_until
from sysharness import inside, wait_running


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen in {timeout} s")


def test_reboot_restarts_poweroff_stops(hullsys, debian_image):
    name = new_name("rb")
    hullsys("launch", "debian/12", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    before = hullsys.info(name)
    # /run is a tmpfs of each boot; /root is on the instance's disk
    inside(hullsys, name, "echo boot1 > /run/boot-mark; echo kept > /root/disk-mark")

    # a switch to privileged waits for a start (the files must be shifted first)
    hullsys("config", "set", name, "security.privileged", "true")
    # a console client attached across the reboot sees the new boot
    client, master = attach(hullsys, name)
    try:
        read_until(master, b"detach: ctrl-a q")
        # the exec'd command dies with the instance's processes: its status is not checked
        hullsys("exec", name, "--", "systemctl", "reboot", check=False, timeout=60)
        read_until(master, b"Welcome to", timeout=90)
        assert client.poll() is None
        os.write(master, b"\x01q")
        read_until(master, b"detached", timeout=10)
        assert client.wait(timeout=10) == 0
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(timeout=10)
        os.close(master)

    def rebooted():
        i = hullsys.info(name)
        return i if i["status"] == "running" and i["pid"] not in (0, before["pid"]) else None

    after = wait_for(rebooted, 90, "a new init")
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    # the same instance (same monitor, same disk), a new boot
    assert after["monitor_pid"] == before["monitor_pid"]
    assert inside(hullsys, name, "cat /root/disk-mark") == "kept\n"
    assert inside(hullsys, name, "test -e /run/boot-mark && echo yes || echo no") == "no\n"
    assert inside(hullsys, name, "cat /proc/1/comm").strip() == "systemd"
    base = after["idmap"]["uid"]
    assert inside(hullsys, name, "cat /proc/self/uid_map").split() == ["0", str(base), "65536"]
    hullsys("config", "unset", name, "security.privileged")
    log = (hullsys.instances_dir() / name / "monitor.log").read_text()
    assert "rebooting" in log

    # poweroff inside: the instance stops and stays stopped
    hullsys("exec", name, "--", "systemctl", "poweroff", check=False, timeout=60)
    wait_for(lambda: hullsys.info(name)["status"] == "stopped", 90, "the instance stopped")
    time.sleep(2)
    i = hullsys.info(name)
    assert i["status"] == "stopped" and i["pid"] == 0
    # started again by hand, it boots normally
    hullsys("start", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed


def test_stop_during_reboot_stops(hullsys, debian_image):
    """`hull stop` right after a reboot from inside: the instance ends stopped, not rebooted."""
    name = new_name("rbs")
    hullsys("launch", "debian/12", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    hullsys("exec", name, "--", "sh", "-c", "systemctl reboot", check=False, timeout=60)
    hullsys("stop", "--timeout", "30", name, timeout=120)
    assert hullsys.info(name)["status"] == "stopped"
    time.sleep(2)
    assert hullsys.info(name)["status"] == "stopped"
