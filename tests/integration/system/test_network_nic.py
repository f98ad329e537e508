"""Instances on a hull network: an eth0 from the network's bridge, an address by
DHCP from the instance's own DHCP client, names resolved by the network's
dnsmasq, TCP between two instances.

hull runs inside a network namespace the test made (entered with nsenter, so
the host's /sys and its cgroups stay visible): the bridge, the veths' host
ends, the nft rules and dnsmasq all live there.
"""

import ipaddress
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import helpers
from sysharness import Hull, new_name
from sysharness import wait_running


class NetHull(Hull):
    """hull run inside the network namespace `netns`."""

    def __init__(self, base, netns):
        super().__init__(base.state_dir, env=None)
        self.env = dict(base.env)
        self.netns = netns

    def argv(self, *args):
        return ["nsenter", f"--net=/run/netns/{self.netns}", *super().argv(*args)]



@pytest.fixture
def nethull(hullsys, debian_image):
    ns = f"hull-test-{helpers.SESSION}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    h = NetHull(hullsys, ns)
    try:
        yield h
    finally:
        # instances first (hullsys would too, but the network must go before the netns)
        for d in (hullsys.state_dir / "instances").iterdir():
            if not d.name.startswith("."):
                h("delete", "--force", d.name, check=False)
        for n in ("lan0",):
            h("network", "delete", n, check=False)
        left = helpers.dnsmasq_pids(hullsys.state_dir)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], check=False)
        assert not left, f"dnsmasq left running: {left}"


def ipv4_of(h, name, timeout=60):
    """The instance's eth0 IPv4 address once DHCP gave it one."""
    deadline = time.monotonic() + timeout
    while True:
        out = h("exec", name, "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        for word in out.split():
            if "/" in word and word[0].isdigit():
                return ipaddress.ip_interface(word)
        assert time.monotonic() < deadline, f"no DHCP address on {name}: {out}"
        time.sleep(0.5)


def test_two_instances_on_a_network(nethull):
    h = nethull
    h("network", "create", "lan0", "--ipv4", "10.78.4.1/24")
    web, db = new_name("web"), new_name("db")
    h("launch", "debian/12", web, "--network", "lan0", timeout=120)
    h("init", "debian/12", db, timeout=120)
    h("network", "attach", "lan0", db)
    assert "devices.eth0.network: lan0" in h("config", "show", db).stdout
    h("start", db, timeout=120)
    for n in (web, db):
        state, failed = wait_running(h, n)
        assert state == "running", failed
    a_web, a_db = ipv4_of(h, web), ipv4_of(h, db)
    net = ipaddress.ip_network("10.78.4.0/24")
    assert a_web.ip in net and a_db.ip in net and a_web.ip != a_db.ip
    # hull list shows the leased addresses
    listed = {i["name"]: i["ipv4"] for i in h.list()}
    assert listed[web] == [f"{a_web.ip} (eth0)"] and listed[db] == [f"{a_db.ip} (eth0)"]
    assert str(a_web.ip) in h("list").stdout
    # the stable MAC hull gave eth0 is what the instance sees
    mac = h("config", "show", web).stdout.split("devices.eth0.hwaddr: ")[1].split()[0]
    assert h("exec", web, "--", "cat", "/sys/class/net/eth0/address").stdout.strip() == mac

    # names: each resolves the other through the network's dnsmasq
    assert str(a_web.ip) in h("exec", db, "--", "getent", "hosts", web).stdout
    assert str(a_db.ip) in h("exec", web, "--", "getent", "hosts", f"{db}.hull").stdout

    # TCP from one instance to the other, by name
    h("file", "push", "/bin/busybox", f"{web}/usr/local/bin/busybox", "--mode", "0755")
    server = subprocess.Popen(h.argv("exec", web, "--", "/usr/local/bin/busybox", "nc", "-l",
                                     "-p", "9000"), env=h.env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            p = h("exec", db, "--", "bash", "-c",
                  f"echo hello-from-db > /dev/tcp/{web}/9000", check=False)
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert p.returncode == 0, p.stderr
        out, _ = server.communicate(timeout=30)
        assert out.strip() == "hello-from-db"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    # a network in use is not deleted
    p = h("network", "delete", "lan0", check=False)
    assert p.returncode != 0 and f"in use by instance" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    # devices change only while stopped
    p = h("network", "detach", "lan0", db, check=False)
    assert p.returncode != 0 and "stop it" in p.stderr
    h("stop", db, "--force")
    h("network", "detach", "lan0", db)
    assert "devices." not in h("config", "show", db).stdout


def test_bad_nic_config(nethull):
    h = nethull
    name = new_name("nic")
    p = h("launch", "debian/12", name, "--network", "nosuchnet", check=False)
    assert p.returncode != 0 and "network 'nosuchnet' does not exist" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert name not in [i["name"] for i in h.list()]  # nothing half-made

    h("network", "create", "lan0", "--ipv4", "10.78.5.1/24")
    h("init", "debian/12", name)
    for args, words in [
        (("eth0", "floppy", "source=/"), "unknown device type 'floppy'"),
        (("eth0", "nic"), "missing network="),
        (("eth0", "nic", "network=lan0", "color=red"), "unknown key 'color'"),
        (("eth0", "nic", "network=lan0", "hwaddr=zz"), "hwaddr"),
        (("eth0", "nic", "network=lan0", "hwaddr=01:00:00:00:00:01"), "unicast"),
        (("eth0", "nic", "network=lan0", "ipv4.address=10.1"), "ipv4.address"),
        (("Bad/Name", "nic", "network=lan0"), "bad device name"),
    ]:
        p = h("config", "device", "add", name, *args, check=False)
        assert p.returncode != 0 and words in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1
    assert "devices." not in h("config", "show", name).stdout
    h("config", "device", "add", name, "eth0", "nic", "network=lan0", "ipv4.address=10.78.5.50")
    p = h("config", "device", "add", name, "eth0", "nic", "network=lan0", check=False)
    assert p.returncode != 0 and "already has a device 'eth0'" in p.stderr
    assert h("config", "device", "list", name).stdout.split() == ["eth0"]
    # the fixed address is what DHCP gives
    h("start", name, timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", failed
    assert str(ipv4_of(h, name).ip) == "10.78.5.50"


def test_hostile_rootfs_nic_config(nethull, tmp_path):
    """hull writes etc/network/interfaces.d/hull-nics into the instance's rootfs at each
    start, as root. The instance prepares that path while it runs: a FIFO at the
    temporary name (the open would block the start for ever), then the directory
    swapped for a symlink to a host directory. The start neither hangs nor writes
    on the host."""
    h = nethull
    h("network", "create", "lan0", "--ipv4", "10.78.6.1/24")
    name = new_name("hostile")
    h("launch", "debian/12", name, timeout=120)
    h("exec", name, "--", "mkfifo", "/etc/network/interfaces.d/.hull-nics.tmp")
    h("stop", name, "--force")
    h("network", "attach", "lan0", name)
    h("start", name, timeout=60)  # bounded: a blocked open fails the test, it does not hang it
    out = h("exec", name, "--", "sh", "-c",
            "ls -A /etc/network/interfaces.d; cat /etc/network/interfaces.d/hull-nics").stdout
    assert ".hull-nics.tmp" not in out and "iface eth0 inet dhcp" in out, out

    host_dir = tmp_path / "host-interfaces.d"
    host_dir.mkdir()
    h("exec", name, "--", "sh", "-c",
      f"rm -rf /etc/network/interfaces.d && ln -s {host_dir} /etc/network/interfaces.d")
    h("stop", name, "--force")
    h("start", name, timeout=60)
    assert list(host_dir.iterdir()) == []  # resolved inside the rootfs, never on the host
