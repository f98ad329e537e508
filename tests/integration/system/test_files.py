"""hull file push|pull, including the symlink attacks: the instance owns its
symlinks, and none of them may make hull read or write a host file."""

import os
import secrets
import shutil
from pathlib import Path

import pytest

from sysharness import new_name
from sysharness import inside, one_line_error


@pytest.fixture
def host_dir():
    """A host directory the instance must never reach (under /var/tmp, which
    is an ordinary directory of the instance's rootfs too)."""
    d = Path("/var/tmp") / f"hull-file-test-{secrets.token_hex(6)}"
    d.mkdir()
    (d / "secret").write_text("HOSTSECRET\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_push_pull_owner_mode(hullsys, debian_image, tmp_path):
    name = new_name("file")
    hullsys("launch", "debian/12", name, timeout=120)
    info = hullsys.info(name)
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    hullsys("file", "push", src, f"{name}/root/pushed", "--uid", "1000", "--gid", "1001",
            "--mode", "0600")
    assert inside(hullsys, name, "stat -c '%u %g %a' /root/pushed; cat /root/pushed").split() \
        == ["1000", "1001", "600", "hello"]
    # on the host the file belongs to the instance's range
    st = os.stat(hullsys.instances_dir() / name / "upper" / "root" / "pushed")
    assert (st.st_uid, st.st_gid) == (info["idmap"]["uid"] + 1000, info["idmap"]["gid"] + 1001)
    # defaults: root of the instance, 0644; a file replaced
    hullsys("file", "push", "-", f"{name}/root/pushed", input="again\n")
    assert inside(hullsys, name, "stat -c '%u %g %a' /root/pushed; cat /root/pushed").split() \
        == ["0", "0", "644", "again"]
    out = tmp_path / "out.txt"
    hullsys("file", "pull", f"{name}/etc/debian_version", out)
    assert out.read_text() == inside(hullsys, name, "cat /etc/debian_version")
    one_line_error(hullsys("file", "push", src, f"{name}/root/x", "--uid", "65536",
                           check=False), "must be below 65536")
    one_line_error(hullsys("file", "pull", f"{name}/nonexistent", out, check=False),
                   "No such file or directory")
    # a fifo would block a reader that opened it blocking
    inside(hullsys, name, "mkfifo /root/fifo")
    one_line_error(hullsys("file", "pull", f"{name}/root/fifo", out, check=False, timeout=30),
                   "not a regular file")
    one_line_error(hullsys("file", "pull", "noslash", out, check=False), "expected NAME/PATH")
    one_line_error(hullsys("file", "push", src, "ghost/x", check=False),
                   "unknown instance 'ghost'")
    # a stopped instance: its rootfs is mounted for the call, and unmounted after
    hullsys("stop", "--force", name)
    hullsys("file", "push", "-", f"{name}/root/offline", input="cold\n")
    hullsys("file", "pull", f"{name}/root/offline", out)
    assert out.read_text() == "cold\n"
    assert not os.path.ismount(hullsys.instances_dir() / name / "rootfs")


def test_symlinks_never_reach_the_host(hullsys, debian_image, tmp_path, host_dir):
    name = new_name("fsym")
    hullsys("launch", "debian/12", name, timeout=120)
    secret = host_dir / "secret"
    inside(hullsys, name,
           f"ln -s {secret} /root/abs && "
           f"ln -s ../../../../../../../..{secret} /root/rel && "
           "ln -s /etc/shadow /root/shadow && "
           f"ln -s {host_dir}/planted /root/plant && "
           f"ln -s {host_dir} /root/dirlink")
    out = tmp_path / "out"
    # pull through symlinks to the host's file: resolved inside the instance, not found
    for link in ("abs", "rel"):
        p = hullsys("file", "pull", f"{name}/root/{link}", out, check=False)
        one_line_error(p, "No such file or directory")
        assert not out.exists()
    p = hullsys("file", "pull", f"{name}/../../../../../..{secret}", out, check=False)
    one_line_error(p, "No such file or directory")
    # a link to /etc/shadow gives the instance's shadow, never the host's
    hullsys("file", "pull", f"{name}/root/shadow", out)
    assert out.read_text() == inside(hullsys, name, "cat /etc/shadow")
    assert out.read_text() != Path("/etc/shadow").read_text()

    # push through a symlink to a host path: the symlink is replaced, the host untouched
    hullsys("file", "push", "-", f"{name}/root/plant", input="evil\n")
    assert not (host_dir / "planted").exists()
    assert inside(hullsys, name, "test -L /root/plant || cat /root/plant") == "evil\n"
    # push into a symlinked directory: the directory is the instance's own
    p = hullsys("file", "push", "-", f"{name}/root/dirlink/x", input="evil\n", check=False)
    one_line_error(p, "No such file or directory")
    inside(hullsys, name, f"mkdir -p {host_dir}")
    hullsys("file", "push", "-", f"{name}/root/dirlink/x", input="inside\n")
    hullsys("file", "push", "-", f"{name}/root/dirlink/secret", input="inside\n")
    assert sorted(os.listdir(host_dir)) == ["secret"]
    assert secret.read_text() == "HOSTSECRET\n"
    assert inside(hullsys, name, f"cat {host_dir}/x {host_dir}/secret") == "inside\ninside\n"
