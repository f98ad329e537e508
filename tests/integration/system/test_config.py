"""hull config set|get|show|unset, with limits applied live to a running instance."""

import json

from sysharness import new_name
from sysharness import inside, one_line_error


def cg(h, name, path):
    return inside(h, name, f"cat /sys/fs/cgroup/{path}").strip()


def test_config_keys_and_errors(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    name = new_name("cfg")
    hullsys("init", "bb", name, "-c", "user.a=1")
    hullsys("config", "set", name, "user.b", "two words")
    hullsys("config", "set", name, "limits.cpu=1.5")
    assert hullsys("config", "get", name, "user.b").stdout == "two words\n"
    assert hullsys("config", "get", name, "user.none").stdout == "\n"
    assert hullsys("config", "show", name).stdout == \
        "limits.cpu: 1.5\nuser.a: 1\nuser.b: two words\n"
    hullsys("config", "unset", name, "user.a")
    assert hullsys.info(name)["config"] == {"limits.cpu": "1.5", "user.b": "two words"}
    for key, value, msg in [
        ("limits.cpu", "0", "limits.cpu: expected a number of CPUs"),
        ("limits.cpu", "1.2345", "limits.cpu: expected a number of CPUs"),
        ("limits.cpu", "lots", "limits.cpu: expected a number of CPUs"),
        ("limits.memory", "1k", "limits.memory: expected a size of at least 4MiB"),
        ("limits.processes", "0", "limits.processes: expected a positive number"),
        ("security.privileged", "yes", "security.privileged: expected 'true' or 'false'"),
        ("limits.frobs", "2", "unknown config key 'limits.frobs'"),
    ]:
        one_line_error(hullsys("config", "set", name, key, value, check=False), msg)
    one_line_error(hullsys("config", "unset", name, "bogus", check=False),
                   "unknown config key 'bogus'")
    one_line_error(hullsys("config", "set", "ghost", "user.x", "1", check=False),
                   "unknown instance 'ghost'")
    one_line_error(hullsys("config", "frob", name, check=False), "expected set, get, show")
    # nothing of the refused values was recorded
    assert hullsys.info(name)["config"] == {"limits.cpu": "1.5", "user.b": "two words"}


def test_limits_applied_live(hullsys, debian_image):
    name = new_name("live")
    hullsys("launch", "debian/12", name, "-c", "limits.cpu=0.5", timeout=120)
    assert cg(hullsys, name, "cpu/cpu.cfs_quota_us") == "50000"
    assert cg(hullsys, name, "cpu/cpu.cfs_period_us") == "100000"
    hullsys("config", "set", name, "limits.memory", "300MiB")
    hullsys("config", "set", name, "limits.processes", "321")
    hullsys("config", "set", name, "limits.cpu", "2")
    assert int(cg(hullsys, name, "memory/memory.limit_in_bytes")) == 300 << 20
    assert cg(hullsys, name, "pids/pids.max") == "321"
    assert cg(hullsys, name, "cpu/cpu.cfs_quota_us") == "200000"
    # enforced: a fork bomb of 400 sleeps stops at the limit
    p = hullsys("exec", name, "--", "sh", "-c",
                "n=0; while [ $n -lt 400 ]; do sleep 30 >/dev/null 2>&1 & n=$((n+1)); done 2>/dev/null; "
                "echo $n", check=False, timeout=60)
    inside(hullsys, name, "pkill -x sleep; true")
    assert p.returncode != 0 or int(p.stdout.strip() or 0) < 400
    # persisted: the next start has them too
    hullsys("restart", "--force", name, timeout=120)
    assert int(cg(hullsys, name, "memory/memory.limit_in_bytes")) == 300 << 20
    assert cg(hullsys, name, "pids/pids.max") == "321"
    assert cg(hullsys, name, "cpu/cpu.cfs_quota_us") == "200000"
    # unset: unlimited again, live
    for k in ("limits.memory", "limits.processes", "limits.cpu"):
        hullsys("config", "unset", name, k)
    assert int(cg(hullsys, name, "memory/memory.limit_in_bytes")) > 1 << 40
    assert cg(hullsys, name, "pids/pids.max") == "max"
    assert cg(hullsys, name, "cpu/cpu.cfs_quota_us") == "-1"
    assert hullsys.info(name)["config"] == {}
    # a limit the kernel refuses is not recorded: below what the instance uses
    p = hullsys("config", "set", name, "limits.memory", "4MiB", check=False)
    if p.returncode != 0:
        one_line_error(p, "apply limits.memory")
        assert hullsys.info(name)["config"] == {}
