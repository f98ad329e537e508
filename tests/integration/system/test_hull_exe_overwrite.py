"""CVE-2019-5736 against `hull`: an instance overwrites the host's `hull` binary
through /proc/PID/exe of a `hull exec` process that runs `#!/proc/self/exe`.

The same attack as tests/integration/security/test_exe_overwrite.py (the
static attacker of data/exe-overwrite.c), against a private copy of `hull`:
the instance holds /evil = `#!/proc/self/exe` and the attacker; `hull exec
NAME -- /evil` makes the kernel run /proc/self/exe of hull's process inside
the instance. The test asserts that the attacker found that process and held
its executable (the attack was attempted) and that the copy is unchanged.

The instance is launched by the build's `hull` and the exec comes from the
copy, as after an upgrade of hull while instances run: the monitor then does
not keep the copy busy (ETXTBSY), so only hull's own defence stands between
the attacker and the file.
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

import helpers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
import test_exe_overwrite as base  # noqa: E402

from sysharness import HULL_BIN, Hull, new_name  # noqa: E402


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class HullCopy(Hull):
    """Hull run from a private copy of the binary."""

    def __init__(self, binary, state_dir, env):
        super().__init__(state_dir, env)
        self.binary = binary

    def argv(self, *args):
        return [str(self.binary), "--state-dir", str(self.state_dir), *map(str, args)]


def attack_tarball(dest, hull_bin):
    root = Path(tempfile.mkdtemp(prefix=f"hull-test-{helpers.SESSION}-evilfs-"))
    try:
        shutil.copytree(helpers.busybox_rootfs(), root, symlinks=True, dirs_exist_ok=True)
        base.build_attacker(root / "attacker")
        b = type("B", (), {"rootfs": root})()
        base.add_runtime_libs(b, hull_bin)
        (root / "evil").write_text("#!/proc/self/exe\n")
        (root / "evil").chmod(0o755)
        with tarfile.open(dest, "w") as t:
            t.add(root, arcname=".")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report(h, name):
    p = h("exec", name, "--", "cat", "/report", check=False, timeout=30)
    return p.stdout.splitlines()


def test_hull_exec_of_proc_self_exe_cannot_overwrite_hull(hullsys, tmp_path):
    copy = tmp_path / "hull"
    pristine = tmp_path / "pristine"
    shutil.copy2(os.path.realpath(HULL_BIN), copy)
    shutil.copy2(copy, pristine)
    copy_sha = sha256(copy)
    h = HullCopy(copy, hullsys.state_dir, hullsys.env)
    tar = tmp_path / "evil.tar"
    attack_tarball(tar, copy)
    name = new_name("evil")
    try:
        hullsys("image", "import", tar, "--alias", "evil")
        hullsys("launch", "evil", name, timeout=60)
        h("exec", name, "--", "sh", "-c",
          "/attacker /report </dev/null >/dev/null 2>&1 &", timeout=30)
        helpers.wait_for(lambda: any(ln == "ready" for ln in report(h, name)),
                         timeout=20, what="the attacker")
        for _ in range(base.ATTEMPTS):
            # hull's process execs /evil in the instance and runs itself again there
            h("exec", name, "--", "/evil", check=False, timeout=30)
            if any(ln.startswith(("found ", "result ")) for ln in report(h, name)):
                break
        lines = helpers.wait_for(
            lambda: (lambda r: r if any(ln.startswith("result ") for ln in r) else None)(
                report(h, name)),
            timeout=30, what="the attacker's result")
        found = [ln for ln in lines if ln.startswith("found ")]
        assert found, lines
        # no process in the instance ever runs the host's file: the user
        # namespace alone already denies the write (the file is host root's),
        # the sealed copy is what also holds for a privileged instance
        assert all(str(copy) not in ln for ln in found), lines
        assert sha256(copy) == copy_sha, f"hull's binary was overwritten: {lines}"
        result = [ln for ln in lines if ln.startswith("result ")][-1]
        assert result.startswith(("result open-failed", "result write-failed")), lines
    finally:
        if sha256(copy) != sha256(pristine):
            os.unlink(copy)
            shutil.copy2(pristine, copy)
        with contextlib.suppress(Exception):
            h("delete", "--force", name, check=False, timeout=60)
