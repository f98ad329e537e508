"""hull network: bridges, DHCP/DNS through dnsmasq, NAT in `table inet hull`.

Each test runs hull inside a network namespace of its own (see conftest.py).
"""

import ipaddress
import json
import os

import helpers


def nets(ns):
    return {n["name"]: n for n in json.loads(ns.hull("network", "list", "--format", "json").stdout)}


def test_create_default_picks_a_free_subnet(hullnet):
    # a route of the namespace covers half of 10/8: the picked /24 must avoid it
    hullnet.sh("ip", "link", "add", "taken0", "type", "veth", "peer", "name", "taken1")
    hullnet.sh("ip", "addr", "add", "10.0.0.1/9", "dev", "taken0")
    hullnet.sh("ip", "link", "set", "taken0", "up")
    hullnet.hull("network", "create", "net0")
    n = nets(hullnet)["net0"]
    assert n["state"] == "up"
    addr = ipaddress.ip_interface(n["config"]["ipv4.address"])
    assert addr.network.prefixlen == 24
    assert addr.ip in ipaddress.ip_network("10.128.0.0/9")
    assert "net0" in hullnet.links()
    assert str(addr) in hullnet.sh("ip", "-o", "addr", "show", "dev", "net0").stdout
    assert f"ip saddr {addr.network} ip daddr != {addr.network} masquerade" in hullnet.ruleset()
    assert len(helpers.dnsmasq_pids(hullnet.state_dir)) == 1
    assert hullnet.sh("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    # a second network never gets the same subnet
    hullnet.hull("network", "create", "net1")
    other = ipaddress.ip_interface(nets(hullnet)["net1"]["config"]["ipv4.address"])
    assert not other.network.overlaps(addr.network)

    hullnet.hull("network", "delete", "net0", "net1")
    assert "net0" not in hullnet.links() and "net1" not in hullnet.links()
    assert "hull" not in hullnet.ruleset()
    assert helpers.dnsmasq_pids(hullnet.state_dir) == []
    assert nets(hullnet) == {}


def test_dhcp_and_dns_from_the_network(hullnet):
    """A client on the bridge gets a lease in the range and resolves the gateway's name."""
    hullnet.hull("network", "create", "lan0", "--ipv4", "10.66.7.1/24", "--dns-domain", "example")
    hullnet.sh("ip", "link", "add", "cl0", "type", "veth", "peer", "name", "cl0-br")
    hullnet.sh("ip", "link", "set", "cl0-br", "master", "lan0", "up")
    # the client in a namespace of its own, inside the test's namespace
    client = hullnet.name + "-c"
    try:
        os.system(f"ip netns add {client}")
        hullnet.sh("ip", "link", "set", "cl0", "netns", client)
        os.system(f"ip -n {client} link set cl0 up; ip -n {client} link set lo up")
        script = ("#!/bin/sh\n[ \"$1\" = bound ] && ip addr add $ip/$mask dev $interface "
                  "&& echo LEASE $ip\nexit 0\n")
        path = hullnet.state_dir / "udhcpc.sh"
        path.write_text(script)
        path.chmod(0o755)
        p = os.popen(f"ip netns exec {client} busybox udhcpc -i cl0 -n -q -f -t 5 -T 1 "
                     f"-s {path} 2>&1")
        out = p.read()
        p.close()
        lease = [l.split()[1] for l in out.splitlines() if l.startswith("LEASE ")]
        assert lease, out
        assert ipaddress.ip_address(lease[0]) in ipaddress.ip_network("10.66.7.0/24")
        assert lease[0] not in ("10.66.7.1", "10.66.7.0", "10.66.7.255")
        leases = (hullnet.state_dir / "networks/lan0/dnsmasq.leases").read_text()
        assert lease[0] in leases
        # DNS: the gateway's name under the network's domain
        p = os.popen(f"ip netns exec {client} busybox nslookup _gateway.example 10.66.7.1 2>&1")
        out = p.read()
        p.close()
        assert "10.66.7.1" in out.split("_gateway.example", 1)[-1], out
    finally:
        os.system(f"ip netns del {client} 2>/dev/null")
    hullnet.hull("network", "delete", "lan0")


def test_nat_false_has_no_masquerade(hullnet):
    hullnet.hull("network", "create", "nonat", "--ipv4", "10.67.1.1/24", "--nat=false")
    assert "masquerade" not in hullnet.ruleset()
    assert hullnet.hull("network", "get", "nonat", "ipv4.nat").stdout.strip() == "false"
    # turned on live, and off again
    hullnet.hull("network", "set", "nonat", "ipv4.nat", "true")
    assert "ip saddr 10.67.1.0/24 ip daddr != 10.67.1.0/24 masquerade" in hullnet.ruleset()
    hullnet.hull("network", "unset", "nonat", "ipv4.nat")
    assert "masquerade" in hullnet.ruleset()  # the default is nat on
    hullnet.hull("network", "set", "nonat", "ipv4.nat=false")
    assert "masquerade" not in hullnet.ruleset()
    hullnet.hull("network", "delete", "nonat")


def test_set_address_and_rename(hullnet):
    hullnet.hull("network", "create", "n1", "--ipv4", "10.68.1.1/24")
    hullnet.hull("network", "set", "n1", "ipv4.address", "10.68.2.1/24")
    out = hullnet.sh("ip", "-o", "addr", "show", "dev", "n1").stdout
    assert "10.68.2.1/24" in out and "10.68.1.1" not in out
    assert "10.68.2.2,10.68.2.254" in " ".join(
        open(f"/proc/{helpers.dnsmasq_pids(hullnet.state_dir)[0]}/cmdline").read().split("\0"))
    hullnet.hull("network", "rename", "n1", "n2")
    assert "n1" not in hullnet.links() and "n2" in hullnet.links()
    assert set(nets(hullnet)) == {"n2"}
    assert "fwd.n1" not in hullnet.ruleset() and "fwd.n2" in hullnet.ruleset()
    hullnet.hull("network", "delete", "n2")
    assert helpers.dnsmasq_pids(hullnet.state_dir) == []


def test_ipv6_auto(hullnet):
    hullnet.hull("network", "create", "v6", "--ipv6", "auto", "--ipv4", "none")
    n = nets(hullnet)["v6"]
    assert n["config"]["ipv4.address"] == "none"
    a6 = ipaddress.ip_interface(n["config"]["ipv6.address"])
    assert a6.network.prefixlen == 64 and a6.ip in ipaddress.ip_network("fd00::/8")
    assert str(a6.ip) in hullnet.sh("ip", "-o", "-6", "addr", "show", "dev", "v6").stdout
    hullnet.hull("network", "delete", "v6")


def one_line_error(p, *words):
    assert p.returncode != 0
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_bad_input(hullnet):
    one_line_error(hullnet.hull("network", "create", "bad/name", check=False), "'bad/name'")
    one_line_error(hullnet.hull("network", "create", "much-too-long-name", check=False),
                   "1 to 15")
    one_line_error(hullnet.hull("network", "create", "x", "--ipv4", "10.1.1.0/24", check=False),
                   "ipv4.address", "network or broadcast")
    one_line_error(hullnet.hull("network", "create", "x", "--ipv4", "banana", check=False),
                   "ipv4.address", "'banana'")
    one_line_error(hullnet.hull("network", "create", "x", "--nat=maybe", check=False),
                   "ipv4.nat", "'maybe'")
    one_line_error(hullnet.hull("network", "create", "x", "color=red", check=False),
                   "unknown network key 'color'")
    one_line_error(hullnet.hull("network", "create", "x", "--dns-domain", "A B", check=False),
                   "dns.domain")
    # nothing of the failed creates is left
    assert nets(hullnet) == {}
    assert "x" not in hullnet.links()
    assert "hull" not in hullnet.ruleset()
    assert helpers.dnsmasq_pids(hullnet.state_dir) == []

    hullnet.hull("network", "create", "x", "--ipv4", "10.69.1.1/24")
    one_line_error(hullnet.hull("network", "create", "x", check=False), "already exists")
    one_line_error(hullnet.hull("network", "show", "nope", check=False),
                   "network 'nope' does not exist")
    one_line_error(hullnet.hull("network", "set", "x", "ipv4.nat", "perhaps", check=False),
                   "ipv4.nat")
    one_line_error(hullnet.hull("network", "get", "x", "color", check=False), "'color'")
    one_line_error(hullnet.hull("network", "frobnicate", check=False), "unknown subcommand")
    one_line_error(hullnet.hull("network", "list", "--format", "xml", check=False), "--format")
    # the failed set changed nothing
    assert hullnet.hull("network", "get", "x", "ipv4.nat").stdout.strip() == "true"
    hullnet.hull("network", "delete", "x")
    one_line_error(hullnet.hull("network", "delete", "x", check=False), "does not exist")
