"""hull network forward: DNAT of a host address's port to an instance on the network,
in hull's own nftables table (docs/networks.md, "Forwards").

Everything lives in a network namespace the test made (nethull, as in
test_network_nic.py): the bridge, the rules, the client."""

import subprocess
import time

from sysharness import inside, new_name, one_line_error, wait_running
from test_network_nic import ipv4_of, nethull  # noqa: F401 (a fixture)


def in_ns(h, *argv, timeout=30):
    return subprocess.run(["nsenter", f"--net=/run/netns/{h.netns}", *argv],
                          capture_output=True, text=True, timeout=timeout)


def fetch(h, url):
    return in_ns(h, "busybox", "wget", "-q", "-O", "-", url)


def test_forward_reaches_a_server_inside(nethull):
    h = nethull
    h("network", "create", "lan0", "--ipv4", "10.78.6.1/24")
    name = new_name("fwd")
    h("launch", "debian/12", name, "--network", "lan0", timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", failed
    addr = ipv4_of(h, name).ip
    h("file", "push", "/bin/busybox", f"{name}/usr/local/bin/busybox", "--mode", "0755")
    inside(h, name, "mkdir -p /srv && echo hello-through-dnat > /srv/index.html && "
                    "busybox httpd -p 80 -h /srv")

    # nothing listens on the network's address at 8080 before the forward
    assert fetch(h, "http://10.78.6.1:8080/").returncode != 0
    h("network", "forward", "add", "lan0", "10.78.6.1:8080", f"{addr}:80")
    assert h("network", "forward", "list", "lan0").stdout == \
        f"tcp 10.78.6.1:8080 -> {addr}:80\n"
    rules = in_ns(h, "nft", "list", "chain", "inet", "hull", "dnat.lan0").stdout
    assert f"dnat ip to {addr}:80" in rules, rules
    deadline = time.monotonic() + 20
    while True:
        p = fetch(h, "http://10.78.6.1:8080/index.html")
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert p.stdout == "hello-through-dnat\n", p.stderr

    # errors: one line, nothing changed
    one_line_error(h("network", "forward", "add", "lan0", "10.78.6.1:8080", f"{addr}:81",
                     check=False), "network 'lan0' already forwards tcp 10.78.6.1:8080")
    one_line_error(h("network", "forward", "add", "lan0", "10.78.6.1", f"{addr}:80",
                     check=False),
                   "network forward: listen: expected IPV4:PORT, got '10.78.6.1'")
    one_line_error(h("network", "forward", "add", "lan0", "10.78.6.1:9", f"{addr}:80",
                     "--protocol", "sctp", check=False),
                   "network forward: protocol: expected tcp or udp, got 'sctp'")
    one_line_error(h("network", "forward", "add", "nope0", "10.78.6.1:9", f"{addr}:80",
                     check=False), "network 'nope0' does not exist")
    assert len(h("network", "forward", "list", "lan0").stdout.splitlines()) == 1

    # removed: the rule goes with it
    h("network", "forward", "remove", "lan0", "10.78.6.1:8080")
    assert h("network", "forward", "list", "lan0").stdout == ""
    assert in_ns(h, "nft", "list", "chain", "inet", "hull", "dnat.lan0").returncode != 0
    assert fetch(h, "http://10.78.6.1:8080/index.html").returncode != 0
    one_line_error(h("network", "forward", "remove", "lan0", "10.78.6.1:8080", check=False),
                   "network 'lan0' has no forward of tcp 10.78.6.1:8080")

    # a forward kept with the network goes with it: no chain of hull's is left
    h("network", "forward", "add", "lan0", "10.78.6.1:8080", f"{addr}:80")
    h("delete", "--force", name, timeout=60)
    h("network", "delete", "lan0")
    assert "dnat.lan0" not in in_ns(h, "nft", "list", "ruleset").stdout
