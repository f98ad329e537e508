"""process.* and the per-container kernel settings, from inside: args, env,
cwd, user, rlimits, capabilities, noNewPrivileges, oomScoreAdj, LSM labels,
hostname/domainname, sysctl and personality."""

import os

import pytest

from helpers import inside

CAPS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_ADMIN": 21,
    "CAP_MKNOD": 27,
    "CAP_AUDIT_WRITE": 29,
}


def mask(names):
    m = 0
    for n in names:
        m |= 1 << CAPS[n]
    return m


def status_fields(text):
    res = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            res[k] = v.strip()
    return res


def run_ok(hull, b):
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    return p.stdout


def assert_nothing_left(hull, b):
    assert hull.list() == []
    assert not os.path.exists(f"/sys/fs/cgroup/memory/hull/{b.cid}")


# ---- args, env, cwd ------------------------------------------------------------


def test_args_passed_verbatim(hull, bundle):
    b = bundle(["sh", "-c", 'printf "%s|" "$0" "$@"', "zero", "a b", "", "c*", "$HOME"])
    assert run_ok(hull, b) == "zero|a b||c*|$HOME|"


def test_exit_code_propagates(hull, bundle):
    assert hull.run(bundle(["sh", "-c", "exit 42"])).returncode == 42


def test_args0_is_found_through_path(hull, bundle):
    b = bundle(["busybox", "echo", "found"])
    b.config["process"]["env"] = ["PATH=/bin"]
    assert run_ok(hull, b) == "found\n"


def test_missing_executable_fails(hull, bundle):
    b = bundle(["/no/such/binary"])
    p = hull.run(b)
    assert p.returncode != 0
    assert "/no/such/binary" in p.stderr
    assert_nothing_left(hull, b)


def test_env(hull, bundle):
    b = bundle(["env"], env=["FOO=bar baz", "EMPTY=", "HOME=/custom"])
    env = dict(line.split("=", 1) for line in run_ok(hull, b).splitlines())
    assert env["FOO"] == "bar baz"
    assert env["EMPTY"] == ""
    assert env["HOME"] == "/custom"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env["TERM"] == "xterm"
    # Nothing of the runtime's own environment leaks in.
    assert "PYTEST_CURRENT_TEST" not in env
    assert set(env) <= {"FOO", "EMPTY", "HOME", "PATH", "TERM", "PWD", "SHLVL"}


@pytest.mark.parametrize("uid,home", [(0, "/root"), (1000, "/home/user")])
def test_home_from_passwd_when_unset(hull, bundle, uid, home):
    b = bundle(["sh", "-c", "echo $HOME"])
    b.config["process"]["user"] = {"uid": uid, "gid": uid}
    assert run_ok(hull, b) == f"{home}\n"


def test_cwd(hull, bundle):
    b = bundle(["pwd"], cwd="/tmp")
    assert run_ok(hull, b) == "/tmp\n"


def test_missing_cwd_is_created(hull, bundle):
    b = bundle(["pwd"], cwd="/does/not/exist")
    assert run_ok(hull, b) == "/does/not/exist\n"
    assert os.path.isdir(os.path.join(b.rootfs, "does/not/exist"))


# ---- user ----------------------------------------------------------------------


def test_user_uid_gid_groups_umask(hull, bundle):
    b = bundle(readonly=False)
    b.config["process"]["user"] = {
        "uid": 1000,
        "gid": 1000,
        "additionalGids": [10, 20],
        "umask": 0o027,
    }
    out = inside(hull, b, "id -u; id -g; id -G; umask; touch /tmp/f; stat -c '%a %u %g' /tmp/f")
    assert out.splitlines() == ["1000", "1000", "1000 10 20", "0027", "640 1000 1000"]


def test_user_default_groups(hull, bundle):
    b = bundle(["id", "-G"])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    # No supplementary groups (the host's root groups must not leak in).
    assert run_ok(hull, b) == "1000\n"


def test_user_unknown_to_passwd(hull, bundle):
    b = bundle(["sh", "-c", "id -u; id -g; echo $HOME"])
    b.config["process"]["user"] = {"uid": 4321, "gid": 8765}
    assert run_ok(hull, b).splitlines() == ["4321", "8765", "/"]


# ---- rlimits -------------------------------------------------------------------


def test_rlimit_nofile(hull, bundle):
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn"])
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}]
    assert run_ok(hull, b).split() == ["1024", "2048"]


def test_rlimit_several(hull, bundle):
    b = bundle(["sh", "-c", "ulimit -Sc; ulimit -Hc; ulimit -Su; ulimit -Hu"])
    b.config["process"]["rlimits"] = [
        {"type": "RLIMIT_CORE", "soft": 1024 * 1024, "hard": 2 * 1024 * 1024},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600},
    ]
    # busybox's ulimit -c counts 512-byte blocks.
    assert run_ok(hull, b).split() == ["2048", "4096", "500", "600"]


def test_rlimit_above_hard_limit_fails(hull, bundle):
    # The caller lacks CAP_SYS_RESOURCE and its hard RLIMIT_NOFILE is 20000.
    with open("/proc/self/limits") as f:
        hard = [line for line in f if line.startswith("Max open files")][0].split()[4]
    if hard == "unlimited" or int(hard) >= 30000:
        pytest.skip("the caller's hard RLIMIT_NOFILE is not below 30000")
    b = bundle(["true"])
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 30000, "hard": 30000}]
    p = hull.run(b)
    assert p.returncode != 0
    if hull.is_hull:
        assert "RLIMIT_NOFILE" in p.stderr
        assert "Operation not permitted" in p.stderr
    assert_nothing_left(hull, b)


# ---- capabilities ---------------------------------------------------------------


def caps_of(hull, b):
    b.config["process"]["args"] = ["cat", "/proc/self/status"]
    st = status_fields(run_ok(hull, b))
    return {k: int(st[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_default_capabilities(hull, bundle):
    b = bundle()
    c = caps_of(hull, b)
    default = mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert c["CapBnd"] == default
    assert c["CapPrm"] == default
    assert c["CapEff"] == default
    # The default spec asks for ambient caps without inheritable ones: the
    # kernel refuses those, so the ambient set stays empty.
    assert c["CapInh"] == 0
    assert c["CapAmb"] == 0


CAPSETS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETUID"],
    "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"],
    "effective": ["CAP_CHOWN", "CAP_KILL"],
    "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_KILL"],
}


def test_all_capability_sets_non_root(hull, bundle):
    b = bundle()
    b.config["process"]["capabilities"] = {k: list(v) for k, v in CAPSETS.items()}
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    c = caps_of(hull, b)
    # execve of a file without file caps by a non-root user: P' = E' = ambient.
    assert c["CapBnd"] == mask(CAPSETS["bounding"])
    assert c["CapInh"] == mask(CAPSETS["inheritable"])
    assert c["CapAmb"] == mask(CAPSETS["ambient"])
    assert c["CapPrm"] == mask(CAPSETS["ambient"])
    assert c["CapEff"] == mask(CAPSETS["ambient"])


@pytest.mark.parametrize("nnp", [True, False])
def test_all_capability_sets_root(hull, bundle, nnp):
    b = bundle()
    b.config["process"]["capabilities"] = {k: list(v) for k, v in CAPSETS.items()}
    b.config["process"]["noNewPrivileges"] = nnp
    c = caps_of(hull, b)
    # execve as root: P' = bounding | inheritable | ambient, E' = P'; with
    # no_new_privs the kernel caps P' at the permitted set held before execve.
    expect = mask(CAPSETS["bounding"]) | mask(CAPSETS["inheritable"]) | mask(CAPSETS["ambient"])
    if nnp:
        expect &= mask(CAPSETS["permitted"])
    assert c["CapBnd"] == mask(CAPSETS["bounding"])
    assert c["CapInh"] == mask(CAPSETS["inheritable"])
    assert c["CapAmb"] == mask(CAPSETS["ambient"])
    assert c["CapPrm"] == expect
    assert c["CapEff"] == expect


def test_capabilities_take_effect(hull, bundle):
    b = bundle(readonly=False)
    out = inside(hull, b, "touch /tmp/f; (chown 1000 /tmp/f) 2>&1; echo rc=$?")
    assert "Operation not permitted" in out and "rc=1" in out
    b.config["process"]["capabilities"]["bounding"].append("CAP_CHOWN")
    b.config["process"]["capabilities"]["effective"].append("CAP_CHOWN")
    b.config["process"]["capabilities"]["permitted"].append("CAP_CHOWN")
    out = inside(hull, b, "touch /tmp/g; chown 1000 /tmp/g; echo rc=$?")
    assert "rc=0" in out
    assert os.stat(os.path.join(b.rootfs, "tmp/g")).st_uid == 1000


def test_unknown_capability(hull, bundle):
    b = bundle(["cat", "/proc/self/status"])
    for s in ("bounding", "permitted", "effective"):
        b.config["process"]["capabilities"][s].append("CAP_NO_SUCH_THING")
    p = hull.run(b)
    if hull.is_hull:
        # hull rejects it as bad input naming the field.
        assert p.returncode != 0
        assert "process.capabilities.bounding[3]" in p.stderr
        assert "CAP_NO_SUCH_THING" in p.stderr
        assert_nothing_left(hull, b)
    else:
        # runc warns and ignores it (a config written for a newer kernel runs).
        assert p.returncode == 0, p.stderr
        assert "CAP_NO_SUCH_THING" in p.stderr
        default = mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        assert int(status_fields(p.stdout)["CapEff"], 16) == default


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(hull, bundle, nnp):
    b = bundle(["cat", "/proc/self/status"])
    b.config["process"]["noNewPrivileges"] = nnp
    assert status_fields(run_ok(hull, b))["NoNewPrivs"] == ("1" if nnp else "0")


def test_oom_score_adj(hull, bundle):
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.config["process"]["oomScoreAdj"] = 500
    assert run_ok(hull, b) == "500\n"


# ---- LSMs this host does not have ---------------------------------------------


@pytest.mark.parametrize(
    "key,value,lsm",
    [
        ("apparmorProfile", "hull-test-profile", "apparmor"),
        ("selinuxLabel", "system_u:system_r:container_t:s0", "selinux"),
    ],
)
def test_lsm_label_without_lsm_fails_cleanly(hull, bundle, key, value, lsm):
    if lsm == "apparmor" and os.path.exists("/sys/kernel/security/apparmor"):
        pytest.skip("apparmor is enabled here")
    if lsm == "selinux" and os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("selinux is enabled here")
    b = bundle(["true"])
    b.config["process"][key] = value
    p = hull.run(b)
    assert p.returncode != 0
    if hull.is_hull:
        # A clear message naming the field, before anything was created.
        assert f"process.{key}" in p.stderr, p.stderr
        assert lsm in p.stderr.lower()
    # create behaves the same and leaves nothing either.
    p = hull("create", "--bundle", b.path, b.cid + "-c", check=False)
    assert p.returncode != 0
    assert_nothing_left(hull, b)
    assert not os.path.exists(f"/sys/fs/cgroup/memory/hull/{b.cid}-c")


# ---- uts, sysctl, personality ---------------------------------------------------


def host_uts():
    with open("/proc/sys/kernel/domainname") as f:
        return os.uname().nodename, f.read()


def test_hostname(hull, bundle):
    b = bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/hostname"], hostname="box")
    host = host_uts()
    assert run_ok(hull, b).splitlines() == ["box", "box"]
    assert host_uts() == host


def test_domainname(hull, bundle):
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 ignores domainname (runtime-spec 1.1)")
    b = bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"], hostname="box")
    b.config["domainname"] = "example.org"
    host = host_uts()
    assert run_ok(hull, b).splitlines() == ["box", "example.org"]
    assert host_uts() == host


def test_hostname_without_uts_namespace_fails(hull, bundle):
    b = bundle(["true"], hostname="not-the-host")
    b.config["linux"]["namespaces"] = [
        n for n in b.config["linux"]["namespaces"] if n["type"] != "uts"
    ]
    host = host_uts()
    p = hull.run(b)
    assert p.returncode != 0
    assert "hostname" in p.stderr
    assert host_uts() == host
    assert_nothing_left(hull, b)


def test_sysctl_net_in_netns(hull, bundle):
    b = bundle(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/ip_default_ttl"])
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "net.ipv4.ip_default_ttl": "33"}
    with open("/proc/sys/net/ipv4/ip_default_ttl") as f:
        host_ttl = f.read()
    assert run_ok(hull, b).split() == ["1", "33"]
    with open("/proc/sys/net/ipv4/ip_default_ttl") as f:
        assert f.read() == host_ttl


def test_sysctl_ipc(hull, bundle):
    b = bundle(["cat", "/proc/sys/kernel/shmmax", "/proc/sys/kernel/shmmni", "/proc/sys/kernel/msgmax"])
    b.config["linux"]["sysctl"] = {
        "kernel.shmmax": "123456789",
        "kernel.shmmni": "1234",
        "kernel.msgmax": "4321",
    }
    with open("/proc/sys/kernel/shmmax") as f:
        host_shmmax = f.read()
    assert run_ok(hull, b).split() == ["123456789", "1234", "4321"]
    with open("/proc/sys/kernel/shmmax") as f:
        assert f.read() == host_shmmax


@pytest.mark.parametrize(
    "sysctl,drop_ns",
    [({"kernel.panic": "5"}, None), ({"net.ipv4.ip_forward": "1"}, "network")],
)
def test_sysctl_outside_a_private_namespace_fails(hull, bundle, sysctl, drop_ns):
    b = bundle(["true"])
    b.config["linux"]["sysctl"] = sysctl
    if drop_ns:
        b.config["linux"]["namespaces"] = [
            n for n in b.config["linux"]["namespaces"] if n["type"] != drop_ns
        ]
    with open("/proc/sys/kernel/panic") as f:
        panic = f.read()
    p = hull.run(b)
    assert p.returncode != 0
    assert list(sysctl)[0] in p.stderr
    assert_nothing_left(hull, b)
    with open("/proc/sys/kernel/panic") as f:
        assert f.read() == panic


@pytest.mark.parametrize("domain,machine", [("LINUX32", "i686"), ("LINUX", "x86_64")])
def test_personality(hull, bundle, domain, machine):
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 ignores linux.personality")
    if os.uname().machine != "x86_64":
        pytest.skip("x86_64 only")
    b = bundle(["uname", "-m"])
    b.config["linux"]["personality"] = {"domain": domain}
    assert run_ok(hull, b) == f"{machine}\n"
