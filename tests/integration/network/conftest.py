"""Fixtures for hull's managed network tests.

  hullnet   runs `hull` inside a network namespace the test made, with a temp
            state dir: bridges, veths, nft rules and dnsmasq's sockets all live
            in that namespace, so nothing reaches the host's network. At
            teardown any dnsmasq of the state dir is killed (by pid) and the
            namespace deleted; the test fails if a dnsmasq was still running.
"""

import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

import helpers

REPO = helpers.REPO
HULL_BIN = Path(os.environ.get("HULL_BIN", REPO / "build" / "src" / "cli" / "hull"))



class NetNS:
    """A network namespace of the test's own, and hull run inside it."""

    def __init__(self, name, state_dir):
        self.name = name
        self.state_dir = Path(state_dir)

    def sh(self, *argv, check=True, timeout=60, input=None):
        p = subprocess.run(["ip", "netns", "exec", self.name, *map(str, argv)],
                           capture_output=True, text=True, timeout=timeout, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, argv))} failed ({p.returncode}):\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def hull(self, *args, check=True, timeout=60):
        return self.sh(HULL_BIN, "--state-dir", self.state_dir, *args, check=check,
                       timeout=timeout)

    def links(self):
        out = self.sh("ip", "-o", "link", "show").stdout
        return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]

    def ruleset(self):
        return self.sh("nft", "list", "ruleset").stdout


@pytest.fixture
def hullnet():
    name = f"hull-test-{helpers.SESSION}-{uuid.uuid4().hex[:6]}"
    state = tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-net-")
    subprocess.run(["ip", "netns", "add", name], check=True)
    ns = NetNS(name, state)
    ns.sh("ip", "link", "set", "lo", "up")
    try:
        yield ns
    finally:
        left = helpers.dnsmasq_pids(state)
        for pid in left:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", name], check=False)
        subprocess.run(["rm", "-rf", state], check=False)
        assert not left, f"dnsmasq left running: {left}"
