"""A nic's security.mac_filtering and security.ipv4_filtering: frames from the
instance with another source MAC, or IPv4/ARP with another source address, are
dropped on the bridge by hull's `table bridge hull` (docs/networks.md).

Everything lives in a network namespace the test made (nethull)."""

import subprocess

from sysharness import inside, new_name, one_line_error, wait_running
from test_network_nic import ipv4_of, nethull  # noqa: F401 (a fixture)


def ruleset(h):
    return subprocess.run(["nsenter", f"--net=/run/netns/{h.netns}", "nft", "list", "ruleset"],
                          capture_output=True, text=True, check=True).stdout


def ping(h, name, *opts):
    """One ping to the bridge's address; True when it was answered."""
    p = h("exec", name, "--", "/usr/local/bin/busybox", "ping", "-c", "1", "-W", "2", *opts,
          "10.78.7.1", check=False, timeout=30)
    return p.returncode == 0


def test_mac_and_ipv4_filtering(nethull):
    h = nethull
    h("network", "create", "lan0", "--ipv4", "10.78.7.1/24")
    name = new_name("flt")
    h("init", "debian/12", name, timeout=120)
    # bad settings: one line, nothing recorded
    one_line_error(h("config", "device", "add", name, "eth0", "nic", "network=lan0",
                     "security.ipv4_filtering=true", check=False),
                   "nic: security.ipv4_filtering needs ipv4.address")
    one_line_error(h("config", "device", "add", name, "eth0", "nic", "network=lan0",
                     "security.mac_filtering=yes", check=False),
                   "nic: security.mac_filtering: expected 'true' or 'false', got 'yes'")
    assert h("config", "device", "list", name).stdout == ""

    h("config", "device", "add", name, "eth0", "nic", "network=lan0",
      "ipv4.address=10.78.7.10", "security.mac_filtering=true",
      "security.ipv4_filtering=true")
    h("start", name, timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", failed
    assert str(ipv4_of(h, name).ip) == "10.78.7.10"
    mac = h("config", "show", name).stdout.split("devices.eth0.hwaddr: ")[1].split()[0]
    rules = ruleset(h)
    assert "table bridge hull" in rules and f"ether saddr != {mac} drop" in rules
    assert "ip saddr != 10.78.7.10 drop" in rules
    h("file", "push", "/bin/busybox", f"{name}/usr/local/bin/busybox", "--mode", "0755")
    assert ping(h, name)

    # another source address: dropped; its own still answered
    inside(h, name, "ip addr add 10.78.7.99/24 dev eth0")
    assert not ping(h, name, "-I", "10.78.7.99")
    assert ping(h, name, "-I", "10.78.7.10")
    inside(h, name, "ip addr del 10.78.7.99/24 dev eth0")

    # another MAC: dropped; back to its own, answered again
    inside(h, name, "ip link set eth0 address 0a:11:22:33:44:55")
    assert not ping(h, name)
    inside(h, name, f"ip link set eth0 address {mac}")
    assert ping(h, name)

    # stopped: the nic's chain (and the table with it) is gone
    h("stop", "--force", name, timeout=60)
    assert "table bridge hull" not in ruleset(h)
