"""hull profile ...: LXD's profiles (effective config = profiles in order, then the
instance's own keys), `default` from the start, live limits on running instances."""

import json

from test_config import cg
from sysharness import new_name, one_line_error, wait_running
from test_instances import instance_dirs


def profiles_dir(h):
    return h.state_dir / "profiles"


def test_profiles_create_show_expand_rename_delete(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    # `default` exists from the start and new instances get it
    assert [p["name"] for p in json.loads(hullsys("profile", "list", "--format", "json").stdout)] \
        == ["default"]
    plain = new_name("prof")
    hullsys("init", "bb", plain)
    assert hullsys.info(plain)["profiles"] == ["default"]
    hullsys("profile", "set", "default", "user.from", "default")

    hullsys("profile", "create", "small", "--description", "a small one")
    hullsys("profile", "set", "small", "limits.memory", "64MiB")
    hullsys("profile", "set", "small", "user.from=small")
    hullsys("profile", "create", "big")
    hullsys("profile", "set", "big", "limits.memory", "128MiB")
    assert hullsys("profile", "get", "small", "limits.memory").stdout == "64MiB\n"

    name = new_name("prof")
    hullsys("init", "bb", name, "--profile", "small", "--profile", "big", "-c", "user.own=1")
    assert hullsys.info(name)["profiles"] == ["small", "big"]
    # later profiles win, the instance's own keys win over all; `show` alone: own keys
    assert hullsys("config", "show", name).stdout == "user.own: 1\n"
    assert hullsys("config", "show", name, "--expanded").stdout == \
        "limits.memory: 128MiB\nuser.from: small\nuser.own: 1\n"
    hullsys("config", "set", name, "limits.memory", "96MiB")
    assert hullsys("config", "get", name, "--expanded", "limits.memory").stdout == "96MiB\n"
    hullsys("config", "unset", name, "limits.memory")
    assert hullsys("config", "get", name, "--expanded", "limits.memory").stdout == "128MiB\n"
    # the plain instance sees the default profile's key
    assert hullsys("config", "get", plain, "--expanded", "user.from").stdout == "default\n"

    show = hullsys("profile", "show", "small").stdout
    assert "description: \"a small one\"" in show and "limits.memory: \"64MiB\"" in show
    assert f"used_by:\n- {name}\n" in show
    table = hullsys("profile", "list").stdout.splitlines()
    assert table[0].split()[:2] == ["NAME", "USED_BY"]
    assert [ln.split()[:2] for ln in table[1:]] == [["big", "1"], ["default", "1"],
                                                    ["small", "1"]]

    # copy and rename; the instance follows the rename
    hullsys("profile", "copy", "small", "small2")
    assert hullsys("profile", "get", "small2", "limits.memory").stdout == "64MiB\n"
    hullsys("profile", "rename", "small", "tiny")
    assert hullsys.info(name)["profiles"] == ["tiny", "big"]
    assert not (profiles_dir(hullsys) / "small.json").exists()
    assert hullsys("config", "get", name, "--expanded", "user.from").stdout == "small\n"

    # assign: replaces the list ("" for none)
    hullsys("profile", "assign", name, "big,tiny")
    assert hullsys.info(name)["profiles"] == ["big", "tiny"]
    assert hullsys("config", "get", name, "--expanded", "limits.memory").stdout == "64MiB\n"
    hullsys("profile", "assign", name, "")
    assert hullsys.info(name)["profiles"] == []
    assert hullsys("config", "show", name, "--expanded").stdout == "user.own: 1\n"
    # add appends, remove takes out
    hullsys("profile", "add", name, "big")
    hullsys("profile", "add", name, "tiny")
    assert hullsys.info(name)["profiles"] == ["big", "tiny"]
    hullsys("profile", "remove", name, "big")
    assert hullsys.info(name)["profiles"] == ["tiny"]
    one_line_error(hullsys("profile", "add", name, "tiny", check=False),
                   f"instance '{name}' already has profile 'tiny'")
    one_line_error(hullsys("profile", "remove", name, "big", check=False),
                   f"instance '{name}' does not have profile 'big'")
    one_line_error(hullsys("profile", "add", name, "ghost", check=False),
                   "unknown profile 'ghost'")
    assert hullsys.info(name)["profiles"] == ["tiny"]
    hullsys("profile", "remove", name, "tiny")

    # delete: refused while in use, then done
    hullsys("profile", "assign", name, "tiny")
    one_line_error(hullsys("profile", "delete", "tiny", check=False),
                   f"profile 'tiny' is in use by instance '{name}'")
    assert (profiles_dir(hullsys) / "tiny.json").exists()
    hullsys("profile", "assign", name, "default")
    hullsys("profile", "delete", "tiny")
    assert not (profiles_dir(hullsys) / "tiny.json").exists()
    assert "tiny" not in hullsys("profile", "list").stdout


def test_profile_errors_change_nothing(hullsys, busybox_tar):
    hullsys("image", "import", busybox_tar, "--alias", "bb")
    hullsys("profile", "create", "p1")
    hullsys("profile", "set", "p1", "limits.processes", "50")
    before = (profiles_dir(hullsys) / "p1.json").read_text()
    name = new_name("perr")
    for args, msg in [
        (("profile", "set", "p1", "limits.processes", "0"), "limits.processes: expected"),
        (("profile", "set", "p1", "bogus.key", "1"), "unknown config key 'bogus.key'"),
        (("profile", "set", "p1", "limits.memory"), "expected KEY VALUE or KEY=VALUE"),
        (("profile", "unset", "p1", "bogus"), "unknown config key 'bogus'"),
        (("profile", "set", "ghost", "user.a", "1"), "unknown profile 'ghost'"),
        (("profile", "create", "p1"), "profile 'p1' already exists"),
        (("profile", "create", "bad/name"), "profile name 'bad/name'"),
        (("profile", "copy", "p1", "default"), "profile 'default' already exists"),
        (("profile", "rename", "p1", "default"), "profile 'default' already exists"),
        (("profile", "delete", "default"), "the 'default' profile cannot be deleted"),
        (("profile", "rename", "default", "x"), "the 'default' profile cannot be renamed"),
        (("profile", "delete", "ghost"), "unknown profile 'ghost'"),
        (("profile", "assign", "ghost", "p1"), "unknown instance 'ghost'"),
        (("profile", "frob"), "unknown subcommand 'frob'"),
        (("profile", "show"), "usage: hull profile show NAME"),
        (("init", "bb", name, "--profile", "ghost"), "unknown profile 'ghost'"),
        (("init", "bb", name, "-p", "p1", "-p", "p1"), "profile 'p1' is listed twice"),
        (("init", "bb", name, "-p", "p1", "--no-profiles"), "exclude each other"),
    ]:
        one_line_error(hullsys(*args, check=False), msg)
    # no instance was made, the profile is as it was
    assert instance_dirs(hullsys) == []
    assert (profiles_dir(hullsys) / "p1.json").read_text() == before
    assert sorted(p.name for p in profiles_dir(hullsys).glob("*.json")) == \
        ["default.json", "p1.json"]
    hullsys("init", "bb", name, "--no-profiles")
    assert hullsys.info(name)["profiles"] == []
    one_line_error(hullsys("profile", "assign", name, "p1,ghost", check=False),
                   "unknown profile 'ghost'")
    one_line_error(hullsys("profile", "assign", name, "p1,p1", check=False),
                   "profile 'p1' is listed twice")
    assert hullsys.info(name)["profiles"] == []


def test_profile_changes_reach_running_instances(hullsys, debian_image):
    hullsys("profile", "create", "lim")
    hullsys("profile", "set", "lim", "limits.processes", "300")
    name = new_name("plive")
    hullsys("launch", "debian/12", name, "--profile", "default", "--profile", "lim",
            timeout=120)
    assert cg(hullsys, name, "pids/pids.max") == "300"
    # a profile change reaches the running instance at once
    hullsys("profile", "set", "lim", "limits.processes", "333")
    assert cg(hullsys, name, "pids/pids.max") == "333"
    hullsys("profile", "set", "lim", "limits.memory", "400MiB")
    assert int(cg(hullsys, name, "memory/memory.limit_in_bytes")) == 400 << 20
    # the instance's own key wins over the profile, live too
    hullsys("config", "set", name, "limits.processes", "222")
    hullsys("profile", "set", "lim", "limits.processes", "444")
    assert cg(hullsys, name, "pids/pids.max") == "222"
    # an own key removed: the profile's value applies again (not unlimited)
    hullsys("config", "unset", name, "limits.processes")
    assert cg(hullsys, name, "pids/pids.max") == "444"
    # a limit the kernel refuses (below what the instance uses) changes nothing; with
    # systemd up, its units use more than 4 MiB that cannot be reclaimed (no swap)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    before = (profiles_dir(hullsys) / "lim.json").read_text()
    p = hullsys("profile", "set", "lim", "limits.memory", "4MiB", check=False)
    one_line_error(p, "limits.memory")
    assert (profiles_dir(hullsys) / "lim.json").read_text() == before
    assert int(cg(hullsys, name, "memory/memory.limit_in_bytes")) == 400 << 20
    # assigning other profiles changes the live limits too; unset = unlimited
    hullsys("profile", "assign", name, "default")
    assert cg(hullsys, name, "pids/pids.max") == "max"
    assert int(cg(hullsys, name, "memory/memory.limit_in_bytes")) > 1 << 40
    # kept across a restart: the effective config builds the OCI config
    hullsys("profile", "assign", name, "default,lim")
    hullsys("restart", "--force", name, timeout=120)
    assert cg(hullsys, name, "pids/pids.max") == "444"
