"""Namespaces as seen from inside the container: pid, mount, network, ipc, uts,
user, cgroup, time, and joining existing namespaces by path."""

import ctypes
import os
import subprocess
import uuid

import pytest

import helpers
from helpers import inside


def namespaces(b):
    return {n["type"]: n for n in b.config["linux"]["namespaces"]}


def set_namespace(b, ns_type, path=None):
    nss = [n for n in b.config["linux"]["namespaces"] if n["type"] != ns_type]
    entry = {"type": ns_type}
    if path is not None:
        entry["path"] = path
    nss.append(entry)
    b.config["linux"]["namespaces"] = nss


def drop_namespace(b, ns_type):
    b.config["linux"]["namespaces"] = [
        n for n in b.config["linux"]["namespaces"] if n["type"] != ns_type
    ]


NS_FILES = {"pid": "pid", "mount": "mnt", "network": "net", "ipc": "ipc", "uts": "uts"}


def test_pid_namespace_makes_the_process_pid_1(hull, bundle):
    # The trailing "true" keeps sh from exec()ing ps as its last command.
    b = bundle(["sh", "-c", "echo $$; ps -o pid,comm; true"])
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "1"
    # Only the shell and ps exist in the new pid namespace: no host process.
    procs = sorted((int(pid), comm) for pid, comm in (line.split() for line in lines[2:]))
    assert procs[0] == (1, "sh"), p.stdout
    assert len(procs) == 2 and procs[1][1] == "ps", p.stdout


@pytest.mark.parametrize("ns_type", sorted(NS_FILES))
def test_new_namespaces_differ_from_the_host(hull, bundle, ns_type):
    f = NS_FILES[ns_type]
    b = bundle(["readlink", f"/proc/self/ns/{f}"])
    assert ns_type in namespaces(b)
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    inside_ns = p.stdout.strip()
    assert inside_ns.startswith(f"{f}:[")
    assert inside_ns != os.readlink(f"/proc/self/ns/{f}")


def test_without_network_namespace_the_host_netns_is_shared(hull, bundle):
    b = bundle(["readlink", "/proc/self/ns/net"])
    drop_namespace(b, "network")
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == os.readlink("/proc/self/ns/net")


def test_mount_namespace_hides_host_mounts(hull, bundle):
    b = bundle(["cat", "/proc/self/mountinfo"])
    out = hull.run(b)
    assert out.returncode == 0, out.stderr
    points = [line.split()[4] for line in out.stdout.splitlines()]
    assert points[0] == "/"
    # Nothing of the host's tree (e.g. the bundle's own location) is visible.
    assert not any(pt.startswith(("/tmp/hull-test", "/work", "/run")) for pt in points)
    assert "/proc" in points and "/dev" in points


def test_network_namespace_has_only_loopback(hull, bundle):
    script = "ip -o link show; echo ---; ip -o -4 addr show"
    out = inside(hull, bundle(["sh"]), script)
    links, addrs = out.split("---\n")
    names = [line.split(":")[1].strip() for line in links.splitlines() if line.strip()]
    assert names == ["lo"]
    # lo is brought up by the runtime (as runc does), with 127.0.0.1.
    assert "UP" in links.split("<")[1].split(">")[0].split(",")
    assert "127.0.0.1/8" in addrs


def test_loopback_carries_traffic_inside(hull, bundle):
    script = (
        "nc -l -p 5555 > /tmp/got & l=$!; sleep 0.3; "
        "echo hello-lo | nc -w 2 127.0.0.1 5555; sleep 0.2; kill $l 2>/dev/null; cat /tmp/got"
    )
    b = bundle(["sh"])
    b.config["root"]["readonly"] = False
    assert inside(hull, b, script).strip() == "hello-lo"


def test_ipc_namespace_hides_host_sysv_objects(hull, bundle):
    libc = ctypes.CDLL(None, use_errno=True)
    IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
    qid = libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
    assert qid >= 0, os.strerror(ctypes.get_errno())
    try:
        with open("/proc/sysvipc/msg") as f:
            assert any(line.split()[1] == str(qid) for line in f.readlines()[1:])
        out = inside(hull, bundle(["sh"]), "tail -n +2 /proc/sysvipc/msg | wc -l")
        assert out.strip() == "0"
    finally:
        libc.msgctl(qid, IPC_RMID, None)


def test_uts_namespace_hostname(hull, bundle):
    host_before = os.uname().nodename
    b = bundle(["sh"])
    b.config["hostname"] = "hull-uts-box"
    out = inside(hull, b, "hostname; cat /proc/sys/kernel/hostname")
    assert out.split() == ["hull-uts-box", "hull-uts-box"]
    assert os.uname().nodename == host_before


def test_cgroup_namespace_shows_root(hull, bundle):
    b = bundle(["cat", "/proc/self/cgroup"])
    set_namespace(b, "cgroup")
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines
    for line in lines:
        assert line.split(":", 2)[2] == "/", p.stdout


def test_without_cgroup_namespace_the_cgroup_path_shows(hull, bundle):
    b = bundle(["cat", "/proc/self/cgroup"])
    drop_namespace(b, "cgroup")
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    mem = [line for line in p.stdout.split() if ":memory:" in line]
    # No cgroupsPath: hull puts the container at /hull/<id> (and the fixture
    # gives runc the same absolute path).
    assert mem and mem[0].endswith(f"/hull/{b.cid}"), p.stdout


# ---- user namespace ---------------------------------------------------------

HOST_ID = 100000
MAP_SIZE = 65536


def userns_bundle(bundle, args):
    b = bundle(args)
    set_namespace(b, "user")
    b.config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}
    ]
    b.config["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": HOST_ID, "size": MAP_SIZE}
    ]
    b.config["root"]["readonly"] = False
    # The mapped root must be able to reach the rootfs.
    os.chmod(b.path, 0o755)
    # The rootfs copy belongs to the mapped root.
    subprocess.run(
        ["chown", "-R", "-h", f"{HOST_ID}:{HOST_ID}", b.rootfs], check=True
    )
    return b


def test_user_namespace_maps_ids(hull, bundle):
    b = userns_bundle(bundle, ["sh"])
    out = inside(
        hull,
        b,
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
        "touch /tmp/made-inside; mkdir /tmp/dir-inside; stat -c '%u %g' /tmp/made-inside",
    )
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["0", str(HOST_ID), str(MAP_SIZE)]
    assert lines[1] == ["0", str(HOST_ID), str(MAP_SIZE)]
    assert lines[2] == ["0"] and lines[3] == ["0"]
    # Inside the file is root's; on the host it belongs to the mapped uid.
    assert lines[4] == ["0", "0"]
    for name in ("made-inside", "dir-inside"):
        st = os.lstat(os.path.join(b.rootfs, "tmp", name))
        assert (st.st_uid, st.st_gid) == (HOST_ID, HOST_ID)


def test_user_namespace_unmapped_ids_are_nobody(hull, bundle):
    b = userns_bundle(bundle, ["sh"])
    # A file owned by a host id outside the mapping shows up as the overflow id.
    outside = os.path.join(b.rootfs, "tmp", "host-owned")
    with open(outside, "w") as f:
        f.write("x")
    os.chown(outside, 0, 0)
    out = inside(hull, b, "stat -c '%u %g' /tmp/host-owned")
    assert out.split() == ["65534", "65534"]


def test_user_namespace_capabilities_do_not_reach_the_host(hull, bundle):
    b = userns_bundle(bundle, ["sh"])
    # Root inside cannot write a host-root-owned file that is bind mounted in.
    d = os.path.join(b.path, "hostdir")
    os.mkdir(d)
    with open(os.path.join(d, "f"), "w") as f:
        f.write("orig")
    os.chmod(os.path.join(d, "f"), 0o644)
    b.config["mounts"].append(
        {"destination": "/hostdir", "type": "bind", "source": d, "options": ["rbind"]}
    )
    b.config["process"]["args"] = ["sh", "-c", "echo changed > /hostdir/f; echo rc=$?"]
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert "rc=1" in p.stdout or "Permission denied" in p.stderr
    with open(os.path.join(d, "f")) as f:
        assert f.read() == "orig"


# ---- time namespace ---------------------------------------------------------

def test_time_namespace_offsets(hull, bundle):
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 has no time namespace support")
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces")
    offset = 10 * 86400
    b = bundle(["cat", "/proc/uptime"])
    set_namespace(b, "time")
    b.config["linux"]["timeOffsets"] = {
        "boottime": {"secs": offset, "nanosecs": 0},
        "monotonic": {"secs": offset, "nanosecs": 0},
    }
    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    uptime = float(p.stdout.split()[0])
    assert uptime >= host_uptime + offset
    assert uptime < host_uptime + offset + 60


def test_time_namespace_differs_from_host(hull, bundle):
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 has no time namespace support")
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces")
    b = bundle(["readlink", "/proc/self/ns/time"])
    set_namespace(b, "time")
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() != os.readlink("/proc/self/ns/time")


# ---- joining existing namespaces --------------------------------------------

@pytest.fixture
def netns():
    name = f"hull-test-{helpers.SESSION}-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(
            ["ip", "-n", name, "link", "add", "hulldummy0", "type", "bridge"], check=True
        )
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_join_network_namespace_by_path(hull, bundle, netns):
    b = bundle(["sh"])
    path = f"/run/netns/{netns}"
    set_namespace(b, "network", path)
    out = inside(hull, b, "readlink /proc/self/ns/net; ip -o link show")
    first, links = out.split("\n", 1)
    assert first == f"net:[{os.stat(path).st_ino}]"
    names = [line.split(":")[1].strip() for line in links.splitlines() if line.strip()]
    assert "hulldummy0" in names
    # The namespace outlives the container and is not modified by it.
    p = subprocess.run(
        ["ip", "-n", netns, "-o", "link", "show", "hulldummy0"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0


def test_join_network_namespace_with_a_new_user_namespace(hull, bundle, netns):
    # A pod's network namespace (host-owned) joined by a container with its
    # own user namespace: the join must come before the user namespace.
    b = userns_bundle(bundle, ["sh"])
    path = f"/run/netns/{netns}"
    set_namespace(b, "network", path)
    b.config["mounts"] = [m for m in b.config["mounts"]
                          if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    out = inside(hull, b, "echo $$; readlink /proc/self/ns/net; cat /proc/self/uid_map; "
                          "stat -c %U /dev/mqueue; ip -o link show hulldummy0 >/dev/null && echo dummy")
    lines = out.split("\n")
    assert lines[0] == "1"
    assert lines[1] == f"net:[{os.stat(path).st_ino}]"
    assert lines[2].split() == ["0", str(HOST_ID), str(MAP_SIZE)]
    assert lines[3] == "root"
    assert lines[4] == "dummy"


def test_join_namespace_of_wrong_type_fails(hull, bundle, netns):
    b = bundle(["true"])
    # A network namespace file given as the uts namespace.
    set_namespace(b, "uts", f"/run/netns/{netns}")
    b.config.pop("hostname", None)
    p = hull.run(b)
    assert p.returncode != 0
    assert hull("list", "-q").stdout.split() == []


def test_join_uts_namespace_of_another_container(hull, bundle):
    first = bundle(["sleep", "10"])
    first.config["hostname"] = "hull-first"
    cid = hull.create(first)
    try:
        pid = hull.state(cid)["pid"]
        second = bundle(["sh", "-c", "hostname; readlink /proc/self/ns/uts"])
        set_namespace(second, "uts", f"/proc/{pid}/ns/uts")
        # Joining a uts namespace: setting a hostname is not allowed.
        second.config.pop("hostname", None)
        p = hull.run(second)
        assert p.returncode == 0, p.stderr
        name, ns = p.stdout.split()
        assert name == "hull-first"
        assert ns == os.readlink(f"/proc/{pid}/ns/uts")
    finally:
        hull.delete(cid, force=True)


def test_state_reports_running_container_namespaces_are_distinct(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    try:
        st = hull.state(cid)
        assert st["status"] == "created"
        pid = st["pid"]
        for f in NS_FILES.values():
            assert os.readlink(f"/proc/{pid}/ns/{f}") != os.readlink(f"/proc/self/ns/{f}")
        with open(f"/proc/{pid}/status") as fh:
            nspid = [line for line in fh if line.startswith("NSpid:")][0].split()
        assert nspid[-1] == "1"
    finally:
        hull.delete(cid, force=True)
    assert process_gone(pid)


def process_gone(pid):
    """True when pid no longer exists or is a zombie waiting for the host's init."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"
