"""security.nesting=true: a container runs inside a system container (docs/nesting.md).

The nested container is run by the host's runc, pushed into a Debian 12 instance
with `hull file push` together with a busybox bundle (no network). It has a user
namespace of its own, as a nested instance or rootless podman would: the kernel
then lets it mount proc and sysfs only when the instance shows an unmasked view of
each, which is what nesting adds. Without nesting the same run fails on the proc
mount with EPERM."""

import json
import shutil
import tarfile
from pathlib import Path

import helpers
from sysharness import inside, new_name, one_line_error, wait_running

RUNC = shutil.which("runc")
BUNDLE = "/root/nested"


def nested_config():
    """An OCI config for the nested container: its own user namespace (identity
    map of the instance's 65536 ids), proc and a read-only sysfs."""
    spec = helpers.default_spec(["sh", "-c",
                                 "echo nested-ok; cat /proc/self/uid_map; "
                                 "grep -c . /proc/mounts; ls /sys/class/net"])
    spec["root"] = {"path": "rootfs", "readonly": False}
    spec["process"]["noNewPrivileges"] = False
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] in
                      ("/proc", "/dev", "/dev/pts", "/dev/shm", "/sys")]
    ids = [{"containerID": 0, "hostID": 0, "size": 65536}]
    spec["linux"] = {
        "uidMappings": ids,
        "gidMappings": ids,
        "namespaces": [{"type": t} for t in
                       ("pid", "network", "ipc", "uts", "mount", "user")],
        "maskedPaths": [],
        "readonlyPaths": [],
    }
    return spec


def bundle_tar(tmp_path):
    out = tmp_path / "nested.tar"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(nested_config()))
    with tarfile.open(out, "w") as t:
        t.add(helpers.busybox_rootfs(), arcname="rootfs")
        t.add(cfg, arcname="config.json")
    return out


def push_runc_and_bundle(h, name, tmp_path):
    h("file", "push", RUNC, f"{name}/usr/local/bin/runc", "--mode", "0755")
    h("file", "push", str(bundle_tar(tmp_path)), f"{name}/root/nested.tar")
    inside(h, name, f"mkdir -p {BUNDLE} && tar -C {BUNDLE} -xf /root/nested.tar")


def run_nested(h, name, cid):
    return h("exec", name, "--", "runc", "--root", "/run/nested-runc", "run", "--bundle",
             BUNDLE, cid, check=False, timeout=60)


def test_nesting_runs_a_container_with_its_own_user_namespace(hullsys, debian_image, tmp_path):
    if not RUNC:
        raise AssertionError("runc is not installed on the host (ENGINES.md)")
    name = new_name("nest")
    hullsys("launch", "debian/12", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    push_runc_and_bundle(hullsys, name, tmp_path)

    # without nesting: the instance's /proc has masks over it, so the kernel
    # refuses a new proc mount in a user namespace made inside
    p = run_nested(hullsys, name, "n1")
    assert p.returncode != 0, p.stdout
    assert "nested-ok" not in p.stdout
    err = p.stderr.lower()
    assert "proc" in err and "operation not permitted" in err, p.stderr
    assert inside(hullsys, name, "test -e /dev/.hull && echo yes || echo no") == "no\n"

    # turned on: applies at the next start
    hullsys("config", "set", name, "security.nesting", "true")
    hullsys("restart", "--force", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    p = run_nested(hullsys, name, "n2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0] == "nested-ok", p.stdout
    # its own user namespace, mapped onto the instance's ids (not the host's)
    assert lines[1].split() == ["0", "0", "65536"], p.stdout
    # its own network namespace: only its own loopback in its sysfs
    assert lines[3:] == ["lo", ""], p.stdout

    # the instance's own /proc stays masked; the unmasked views are root's only
    assert inside(hullsys, name, "stat -c '%t:%T' /proc/keys") == "1:3\n"  # /dev/null
    assert inside(hullsys, name, "stat -c %a /dev/.hull") == "700\n"
    p = hullsys("exec", name, "--user", "1000", "--", "ls", "/dev/.hull/proc", check=False)
    assert p.returncode != 0 and "Permission denied" in p.stderr, p.stderr
    # nothing of the nested container is left inside
    assert inside(hullsys, name, "runc --root /run/nested-runc list -q") == ""


def test_nesting_bad_value(hullsys, busybox_tar):
    name = new_name("nest")
    hullsys("image", "import", str(busybox_tar), "--alias", "bb")
    one_line_error(hullsys("init", "bb", name, "-c", "security.nesting=yes", check=False),
                   "security.nesting: expected 'true' or 'false', got 'yes'")
    assert not (hullsys.instances_dir() / name).exists()
