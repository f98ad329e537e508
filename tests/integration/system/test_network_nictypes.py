"""nic nictype=macvlan (a macvlan in bridge mode on a host interface, made straight in
the instance's network namespace) and nictype=physical (the host interface itself,
moved in and given back at stop) (docs/networks.md).

The parent is one end of a veth pair in a network namespace the test made; two
instances on it reach each other (macvlan's bridge mode), and nothing of theirs
is left on the parent after they stop."""

import subprocess
import time

from sysharness import inside, new_name, one_line_error
from test_network_nic import nethull  # noqa: F401 (a fixture)


def links(h):
    return subprocess.run(["nsenter", f"--net=/run/netns/{h.netns}", "ip", "-o", "link"],
                          capture_output=True, text=True, check=True).stdout


def test_macvlan_nics_reach_each_other(nethull):
    h = nethull
    # no dummy module here: one end of a veth pair is the parent
    subprocess.run(["ip", "-n", h.netns, "link", "add", "hdum0", "type", "veth", "peer",
                    "name", "hdum1"], check=True)
    for i in ("hdum0", "hdum1"):
        subprocess.run(["ip", "-n", h.netns, "link", "set", i, "up"], check=True)
    a, b = new_name("mva"), new_name("mvb")
    for n in (a, b):
        h("init", "debian/12", n, timeout=120)
    one_line_error(h("config", "device", "add", a, "eth0", "nic", "nictype=macvlan",
                     check=False), "nic: missing parent=INTERFACE")
    one_line_error(h("config", "device", "add", a, "eth0", "nic", "nictype=macvlan",
                     "parent=hdum0", "network=lan0", check=False),
                   "nic: nictype=macvlan takes parent, name and hwaddr only")
    one_line_error(h("config", "device", "add", a, "eth0", "nic", "nictype=ipvlan",
                     "parent=hdum0", check=False),
                   "nic: nictype: expected bridged, macvlan or physical, got 'ipvlan'")
    for n in (a, b):
        h("config", "device", "add", n, "eth0", "nic", "nictype=macvlan", "parent=hdum0")
        h("start", n, timeout=120)
        h("file", "push", "/bin/busybox", f"{n}/usr/local/bin/busybox", "--mode", "0755")
    mac = h("config", "show", a).stdout.split("devices.eth0.hwaddr: ")[1].split()[0]
    out = inside(h, a, "ip -d link show eth0")
    assert "macvlan mode bridge" in out and mac in out, out
    inside(h, a, "ip addr add 192.168.77.10/24 dev eth0")
    inside(h, b, "ip addr add 192.168.77.11/24 dev eth0")
    deadline = time.monotonic() + 20
    while True:
        p = h("exec", a, "--", "/usr/local/bin/busybox", "ping", "-c", "1", "-W", "2",
              "192.168.77.11", check=False, timeout=30)
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert p.returncode == 0, p.stdout + p.stderr

    # the parent stays; the macvlans go with the instances' namespaces
    for n in (a, b):
        h("stop", "--force", n, timeout=60)
    left = links(h)
    assert "hdum0" in left and "macvlan" not in left, left


def test_physical_nic_moved_in_and_back(nethull):
    h = nethull
    ns = ["ip", "-n", h.netns]
    subprocess.run(ns + ["link", "add", "hphy0", "type", "veth", "peer", "name", "hphy1"],
                   check=True)
    subprocess.run(ns + ["addr", "add", "192.168.78.1/24", "dev", "hphy1"], check=True)
    for i in ("hphy0", "hphy1"):
        subprocess.run(ns + ["link", "set", i, "up"], check=True)
    out = subprocess.run(ns + ["-o", "link", "show", "hphy0"], capture_output=True, text=True,
                         check=True).stdout.split()
    mac = out[out.index("link/ether") + 1]
    name = new_name("phy")
    h("init", "debian/12", name, timeout=120)
    one_line_error(h("config", "device", "add", name, "eth0", "nic", "nictype=physical",
                     "parent=hphy0", "hwaddr=0a:00:00:00:00:01", check=False),
                   "nic: nictype=physical takes parent, name only")
    h("config", "device", "add", name, "eth0", "nic", "nictype=physical", "parent=hphy0")
    h("start", name, timeout=120)
    # the host's interface is inside now, as eth0, with its own MAC
    assert "hphy0" not in links(h)
    assert inside(h, name, "cat /sys/class/net/eth0/address").strip() == mac
    h("file", "push", "/bin/busybox", f"{name}/usr/local/bin/busybox", "--mode", "0755")
    inside(h, name, "ip addr add 192.168.78.2/24 dev eth0")
    deadline = time.monotonic() + 20
    while True:
        p = h("exec", name, "--", "/usr/local/bin/busybox", "ping", "-c", "1", "-W", "2",
              "192.168.78.1", check=False, timeout=30)
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert p.returncode == 0, p.stdout + p.stderr

    # stopped: back under its own name (a veth would have died with the namespace)
    h("stop", "--force", name, timeout=60)
    left = links(h)
    assert "hphy0@hphy1" in left and "hphy1@hphy0" in left, left
    # and again at the next start
    h("start", name, timeout=120)
    assert "hphy0" not in links(h)
    h("stop", "--force", name, timeout=60)
    assert "hphy0@hphy1" in links(h)
