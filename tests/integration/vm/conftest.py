"""Fixtures for the micro-VM tests: they run in the nested KVM lab of
tests/lab/lab.py (docs/vm.md), since this machine's /dev/kvm (if any) cannot
boot stock guests.

  lab          the tests/lab/lab.py module, once the L1 kernel is cached
               (skips with the reason when qemu or Debian's kernel package
               cannot be had)
  guest_kernel directory of hull's guest kernel (bzImage, vmlinux); built by
               scripts/guest-kernel.sh when missing (15+ minutes on 2 cores;
               scripts/check.sh builds it before pytest). HULL_LAB_NO_BUILD=1
               skips instead of building.
"""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "lab"))

import lab as _lab  # noqa: E402


@pytest.fixture(scope="session")
def lab():
    try:
        _lab.qemu_binary()
        _lab.l1_kernel()
    except _lab.LabUnavailable as e:
        pytest.skip(f"nested KVM lab unavailable: {e}")
    return _lab


@pytest.fixture(scope="session")
def guest_kernel(lab):
    build = not os.environ.get("HULL_LAB_NO_BUILD")
    try:
        d = lab.guest_kernel(build=build)
    except lab.LabUnavailable as e:
        pytest.skip(f"hull's guest kernel cannot be built: {e}")
    if d is None:
        pytest.skip("hull's guest kernel is not built (make guest-kernel) and HULL_LAB_NO_BUILD is set")
    return d


from helpers import build_path  # noqa: E402,F401  (shared; tests import it from helpers)
