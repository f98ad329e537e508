"""Differential tests: the same bundle run under runc (the `reference`
fixture) and under the runtime under test prints the same probe: mounts,
capabilities, ids, hostname, /dev, id maps, rlimits, fds, env, cgroups,
namespaces. Only what legitimately differs between two runs (container ids,
bundle paths, mount ids, peer group numbers, timestamps) is normalised."""

import os
import re
import subprocess

import pytest

PROBE = r"""
echo '== mountinfo'; cat /proc/self/mountinfo
echo '== status'; grep -E '^(Cap|NoNewPrivs|Seccomp:|Groups|Uid|Gid)' /proc/self/status
echo '== id'; id
echo '== hostname'; hostname; cat /proc/sys/kernel/domainname
echo '== dev'; ls -la /dev /dev/pts /dev/shm /dev/mqueue
echo '== idmap'; cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups
echo '== ulimit'; ulimit -a
echo '== fds'; ls /proc/self/fd
echo '== env'; env | sort
echo '== cwd'; pwd; umask
echo '== cgroup'; cat /proc/self/cgroup
echo '== sys-fs-cgroup'; ls /sys/fs/cgroup
echo '== oom'; cat /proc/self/oom_score_adj
echo '== ns'; for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done
echo '== net'; ip -o link show | cut -d' ' -f2-3
echo '== proc-masked'; for p in /proc/kcore /proc/keys /proc/timer_list /proc/acpi /sys/firmware /proc/scsi; do [ -e $p ] && stat -c '%n %F' $p; done; true
echo '== writable'; for d in / /tmp /proc/sys /sys /dev /dev/shm; do if touch $d/.hull-probe 2>/dev/null; then echo "$d rw"; rm -f $d/.hull-probe; else echo "$d ro"; fi; done
"""


def host_ns():
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in os.listdir("/proc/self/ns")}


def normalise_mountinfo(lines, subst):
    res = []
    for line in lines:
        left, right = line.split(" - ", 1)
        f = left.split()
        fstype, source, sup = (right.split() + [""])[:3]
        if f[4] == "/sys/fs/cgroup/unified":
            # runc 1.1.5 does not mount the (non-empty) cgroup2 hierarchy of a
            # hybrid host; mounting it read-only as well is a legitimate choice.
            continue
        if f[4] == "/sys/fs/cgroup" and fstype == "tmpfs":
            # The tmpfs that holds the per-hierarchy mounts: its source label and
            # whether it is itself read-only (runc leaves it rw) are cosmetic;
            # the hierarchy mounts below it are compared in full.
            res.append("/sys/fs/cgroup <tmpfs>")
            continue
        if f[3] == "/null" and f[4] != "/dev/null":
            # A masked file: runc binds the container's /dev/null, others may
            # bind the host's; either way a 1:3 character device is mounted.
            res.append(f"{f[4]} <masked by /dev/null>")
            continue
        optional = sorted(o.split(":")[0] for o in f[6:])  # peer group numbers differ
        res.append(
            " ".join(
                [
                    f[4],  # mount point
                    subst(f[3]),  # root within the source fs (bind and cgroup paths)
                    ",".join(sorted(f[5].split(","))),
                    ",".join(optional) or "-",
                    fstype,
                    subst(source),
                    ",".join(sorted(sup.split(","))),
                ]
            )
        )
    # Mount order may differ where it does not matter (e.g. masks vs
    # read-only paths on different targets): compare as a sorted list.
    return sorted(res)


LS_DATE = re.compile(r"^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*?)\s*\w{3}\s+\d+\s+[\d:]+\s+(.*)$")


def normalise_ls(lines):
    res = []
    for line in lines:
        m = LS_DATE.match(line)
        if not m:
            res.append(line)  # "total N", blank lines, directory headers
            continue
        perms, nlink, owner, group, size, name = m.groups()
        if perms.startswith("d"):
            size = "<dirsize>"  # tmpfs directory sizes count entries, not content
        if owner == "root" and group == "nogroup":
            # In a user namespace runc builds /dev while its gid is still the
            # unmapped host gid, so what it mounts there is group "nogroup";
            # hull becomes root (uid and gid) of the namespace first.
            group = "root"
        if line.startswith("total"):
            continue
        res.append(" ".join([perms, nlink, owner, group, size, name]))
    return [line for line in res if not line.startswith("total ")]


def normalise(out, cid, b):
    """Splits the probe output into sections and normalises each."""

    def subst(s):
        return s.replace(str(b.path), "<bundle>").replace(cid, "<id>")

    hns = host_ns()
    sections = {}
    name = None
    for line in out.splitlines():
        if line.startswith("== "):
            name = line[3:]
            sections[name] = []
        elif name is not None:
            sections[name].append(line)
    sections["mountinfo"] = normalise_mountinfo(sections.get("mountinfo", []), subst)
    sections["dev"] = normalise_ls(sections.get("dev", []))
    sections["ns"] = [
        (lambda n, link: f"{n} {'host' if hns.get(n) == link else ('none' if not link else 'new')}")(
            *(line.split(" ", 1) + [""])[:2]
        )
        for line in sections.get("ns", [])
    ]
    sections["cgroup"] = [subst(line) for line in sections.get("cgroup", [])]
    # See normalise_mountinfo(): the unified hierarchy's mount is optional.
    sections["sys-fs-cgroup"] = [x for x in sections.get("sys-fs-cgroup", []) if x != "unified"]
    sections["env"] = [subst(line) for line in sections.get("env", [])]
    return sections


def run_probe(rt, bundle, configure):
    b = bundle(["sh", "-c", PROBE])
    configure(b)
    p = rt.run(b, timeout=30)
    assert p.returncode == 0, f"{rt.bin}: exit {p.returncode}\n{p.stderr}"
    return normalise(p.stdout, b.cid, b)


def compare(hull, reference, bundle, configure):
    if not hull.is_hull and os.environ.get("HULL_DIFF_SELFCHECK") != "1":
        # Comparing runc to itself proves nothing (set HULL_DIFF_SELFCHECK=1
        # to check that the normalisation makes two runc runs equal).
        pytest.skip("the runtime under test is not hull")
    ref = run_probe(reference, bundle, configure)
    got = run_probe(hull, bundle, configure)
    assert set(got) == set(ref)
    diffs = [k for k in ref if ref[k] != got[k]]
    msg = []
    for k in diffs:
        only_ref = [x for x in ref[k] if x not in got[k]]
        only_got = [x for x in got[k] if x not in ref[k]]
        msg.append(f"[{k}]\n  runc only: {only_ref}\n  hull only: {only_got}")
        if not only_ref and not only_got:
            msg.append(f"  (order differs)\n  runc: {ref[k]}\n  hull: {got[k]}")
    assert not diffs, "probe differs from runc:\n" + "\n".join(msg)


# ---- the bundles -----------------------------------------------------------------


def cfg_default(b):
    pass


def cfg_process(b):
    c = b.config
    c["root"]["readonly"] = False
    c["hostname"] = "diffbox"
    c["process"]["cwd"] = "/tmp"
    c["process"]["env"] += ["FOO=bar", "EMPTY="]
    c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 20], "umask": 0o027}
    c["process"]["noNewPrivileges"] = False
    c["process"]["oomScoreAdj"] = 100
    c["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 2048},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 1 << 20},
        {"type": "RLIMIT_STACK", "soft": 4 << 20, "hard": 8 << 20},
    ]
    c["process"]["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_KILL"],
    }


def cfg_root_all_caps(b):
    caps = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]  # fmt: skip
    b.config["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "permitted", "effective")}
    b.config["process"]["noNewPrivileges"] = True


def cfg_mounts(b):
    c = b.config
    src = os.path.join(b.path, "shared-src")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("x\n")
    c["mounts"] += [
        {"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "noatime", "size=1m", "mode=0750"]},
        {"destination": "/mnt/ro", "type": "bind", "source": src, "options": ["rbind", "ro", "nosuid"]},
        {"destination": "/mnt/rw", "type": "bind", "source": src, "options": ["bind"]},
        {"destination": "/etc/hostfile", "type": "bind", "source": os.path.join(src, "f"),
         "options": ["bind", "ro"]},
    ]  # fmt: skip
    os.makedirs(os.path.join(b.rootfs, "secret"), exist_ok=True)
    c["linux"]["maskedPaths"] += ["/secret", "/etc/passwd-"]
    c["linux"]["readonlyPaths"] += ["/mnt/rw"]
    c["linux"]["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 1, "gid": 1}
    ]


def cfg_namespaces(b):
    c = b.config
    c["linux"]["namespaces"] = [
        {"type": "pid"},
        {"type": "mount"},
        {"type": "cgroup"},
        {"type": "uts"},
    ]  # no network and ipc namespace: shared with the host
    c["hostname"] = "nsbox"


def cfg_netns_sysctl(b):
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
    b.config["linux"]["namespaces"].append({"type": "cgroup"})


def cfg_userns(b):
    c = b.config
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["root"]["readonly"] = False
    subprocess.run(["chown", "-R", "-h", "100000:100000", str(b.rootfs)], check=True)


def cfg_seccomp(b):
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }


def cfg_resources(b):
    b.config["linux"]["resources"].update(
        {
            "memory": {"limit": 128 << 20, "reservation": 64 << 20},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 64},
        }
    )


CONFIGS = {
    "default": cfg_default,
    "process": cfg_process,
    "root-caps": cfg_root_all_caps,
    "mounts": cfg_mounts,
    "namespaces": cfg_namespaces,
    "netns-sysctl": cfg_netns_sysctl,
    "userns": cfg_userns,
    "seccomp": cfg_seccomp,
    "resources": cfg_resources,
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_probe_matches_runc(hull, reference, bundle, name):
    compare(hull, reference, bundle, CONFIGS[name])


def test_cgroup_files_match_runc(hull, reference, bundle):
    """The resource files the container sees under /sys/fs/cgroup."""
    script = (
        "cd /sys/fs/cgroup; for f in memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes "
        "cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpuset/cpuset.cpus "
        "pids/pids.max devices/devices.list; do echo \"== $f\"; cat $f 2>&1; done"
    )

    def configure(b):
        cfg_resources(b)
        b.config["process"]["args"] = ["sh", "-c", script]

    if not hull.is_hull and os.environ.get("HULL_DIFF_SELFCHECK") != "1":
        pytest.skip("the runtime under test is not hull")
    outs = []
    for rt in (reference, hull):
        b = bundle()
        configure(b)
        p = rt.run(b, timeout=30)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert outs[1] == outs[0]
