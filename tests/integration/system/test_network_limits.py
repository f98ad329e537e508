"""A nic's limits.ingress and limits.egress: tc on the host's end of the veth
(docs/networks.md), where the instance's root cannot remove them.  Traffic into
the instance goes through a TBF qdisc at the root of the host veth; traffic
from it is redirected from the host veth's ingress qdisc to an ifb link and
shaped there by another TBF.  The kernel's own counters show the shaping
(overlimits: packets held back by the bucket), never timings.

Everything lives in a network namespace the test made (nethull)."""

import json
import subprocess
import sys
import time

from sysharness import inside, new_name, one_line_error, wait_running
from test_network_nic import ipv4_of, nethull  # noqa: F401 (a fixture)

SIZE = 2_000_000

# the test's end of a TCP stream in the test's netns: sends SIZE bytes to ADDR:PORT, or
# accepts on PORT and reads until SIZE bytes came (or the peer closed)
PEER = """
import socket, sys, time
role, addr, port, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if role == "send":
    # the listener may not listen yet: bounded retries
    for _ in range(50):
        try:
            s = socket.create_connection((addr, port), timeout=30)
            break
        except ConnectionRefusedError:
            time.sleep(0.2)
    else:
        sys.exit("connection refused")
    s.settimeout(60)
    s.sendall(b"x" * size)
    s.close()
else:
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, port))
    l.listen(1)
    print("listening", flush=True)
    l.settimeout(30)
    c, _ = l.accept()
    c.settimeout(60)
    got = 0
    while got < size:
        b = c.recv(65536)
        if not b:
            break
        got += len(b)
    print(got)
"""


def in_ns(h, *argv, **kw):
    return subprocess.run(["nsenter", f"--net=/run/netns/{h.netns}", *argv],
                          capture_output=True, text=True, check=True, timeout=120, **kw)


def peer(h, *args, **kw):
    return ["nsenter", f"--net=/run/netns/{h.netns}", sys.executable, "-c", PEER,
            *[str(a) for a in args]]


def qdiscs(h, dev):
    return json.loads(in_ns(h, "tc", "-s", "-j", "qdisc", "show", "dev", dev).stdout)


def links(h):
    return {link["ifname"] for link in json.loads(in_ns(h, "ip", "-j", "link").stdout)}


def drained(h, dev, size, timeout=60):
    """The TBF of dev once it sent size bytes (the sender's close leaves data queued)."""
    deadline = time.monotonic() + timeout
    while True:
        q = tbf(h, dev)
        if q["bytes"] >= size or time.monotonic() > deadline:
            return q
        time.sleep(0.2)


def tbf(h, dev):
    found = [q for q in qdiscs(h, dev) if q["kind"] == "tbf"]
    assert len(found) == 1, qdiscs(h, dev)
    return found[0]


def test_nic_limits(nethull):
    h = nethull
    h("network", "create", "lan0", "--ipv4", "10.78.8.1/24")
    name = new_name("lim")
    h("init", "debian/12", name, timeout=120)
    # bad values: one line naming the key, nothing recorded
    for key, value in (("limits.ingress", "fast"), ("limits.egress", "10MB"),
                       ("limits.ingress", "0Mbit"), ("limits.egress", "1.5Mbit")):
        one_line_error(h("config", "device", "add", name, "eth0", "nic", "network=lan0",
                         f"{key}={value}", check=False),
                       f"nic: {key}: expected a bit rate like 10Mbit")
    assert h("config", "device", "list", name).stdout == ""

    h("config", "device", "add", name, "eth0", "nic", "network=lan0",
      "limits.ingress=10Mbit", "limits.egress=8Mbit")
    assert "devices.eth0.limits.ingress: 10Mbit" in h("config", "show", name).stdout
    h("start", name, timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", failed
    addr = str(ipv4_of(h, name).ip)
    hosts = [n for n in links(h) if n.startswith("hv")]
    assert len(hosts) == 1, links(h)
    host = hosts[0]
    ifb = "hb" + host[2:]

    # the qdiscs, read back with tc: 10Mbit = 1250000 bytes/s, 8Mbit = 1000000
    assert tbf(h, host)["options"]["rate"] == 1_250_000
    assert any(q["kind"] == "ingress" for q in qdiscs(h, host))
    filters = json.loads(in_ns(h, "tc", "-j", "filter", "show", "dev", host, "ingress").stdout)
    assert "mirred" in json.dumps(filters) and ifb in json.dumps(filters)
    assert tbf(h, ifb)["options"]["rate"] == 1_000_000

    # into the instance: a busybox nc there reads what the test's end sends
    h("file", "push", "/bin/busybox", f"{name}/usr/local/bin/busybox", "--mode", "0755")
    inside(h, name, "nohup sh -c 'sleep 90 | timeout 90 /usr/local/bin/busybox nc -l -p 5001 "
           ">/dev/null' >/dev/null 2>&1 </dev/null &")
    sent = subprocess.run(peer(h, "send", addr, 5001, SIZE), capture_output=True, text=True,
                          timeout=120)
    assert sent.returncode == 0, sent.stderr
    q = drained(h, host, SIZE)
    assert q["bytes"] >= SIZE and q["overlimits"] > 0, q

    # from the instance: through the ifb's bucket
    listener = subprocess.Popen(peer(h, "recv", "10.78.8.1", 5002, SIZE), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert listener.stdout.readline().strip() == "listening", listener.stderr.read()
        inside(h, name, f"head -c {SIZE} /dev/zero | timeout 90 /usr/local/bin/busybox nc "
               "10.78.8.1 5002 >/dev/null", check=False, timeout=120)
        out, err = listener.communicate(timeout=120)
    finally:
        listener.kill()
        listener.wait()
    assert int(out.strip() or 0) == SIZE, err
    q = drained(h, ifb, SIZE)
    assert q["bytes"] >= SIZE and q["overlimits"] > 0, q

    # stopped: the ifb is gone (the veth and its qdiscs went with the namespace)
    h("stop", "--force", name, timeout=60)
    assert host not in links(h) and ifb not in links(h), links(h)
    h("delete", name)
    assert not [n for n in links(h) if n.startswith(("hv", "hb"))], links(h)
