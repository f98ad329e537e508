"""The hull-runtime command line: global flags, help, spec, features, logging.

Behaviour mirrors runc's CLI (validated with HULL_RUNTIME=runc); hull-only
details are asserted when hull.is_hull.
"""

import json
import os
import re

import pytest

import helpers

VERBS = [
    "create",
    "start",
    "state",
    "kill",
    "delete",
    "run",
    "exec",
    "ps",
    "list",
    "pause",
    "resume",
    "update",
    "spec",
    "features",
    "events",
]


def project_version():
    text = (helpers.REPO / "meson.build").read_text()
    return re.search(r"version\s*:\s*'([^']+)'", text).group(1)


def error_lines(p):
    return [ln for ln in p.stderr.splitlines() if ln.strip()]


# -- version and help ------------------------------------------------------------


def test_version(hull):
    p = hull("--version")
    first = p.stdout.splitlines()[0]
    if hull.is_hull:
        assert first == f"hull-runtime version {project_version()}"
        assert any(ln.startswith("spec: 1.") for ln in p.stdout.splitlines())
    else:
        assert first.startswith("runc version ")


def test_help(hull):
    p = hull("--help")
    assert p.returncode == 0
    for verb in VERBS:
        assert re.search(rf"^\s+{verb}\b", p.stdout, re.M), f"'{verb}' missing from --help"
    for flag in ("--root", "--log", "--log-format", "--debug", "--systemd-cgroup"):
        assert flag in p.stdout


@pytest.mark.parametrize("verb", VERBS)
def test_verb_help(hull, verb):
    p = hull(verb, "--help")
    assert p.returncode == 0
    assert verb in p.stdout


def test_unknown_verb(hull):
    p = hull("frobnicate", check=False)
    assert p.returncode != 0
    assert len(error_lines(p)) == 1, p.stderr
    if hull.is_hull:
        assert "'frobnicate'" in p.stderr


def test_unknown_flag(hull):
    p = hull("list", "--no-such-flag", check=False)
    assert p.returncode != 0
    assert len(error_lines(p)) == 1, p.stderr
    assert "no-such-flag" in p.stderr


def test_unknown_global_flag(hull):
    p = hull("--no-such-flag", "list", check=False)
    assert p.returncode != 0
    assert len(error_lines(p)) == 1, p.stderr
    assert "no-such-flag" in p.stderr


def test_missing_container_id(hull):
    p = hull("state", check=False)
    assert p.returncode != 0
    assert p.stderr.strip()


def test_debug_flag_accepted(hull):
    p = hull("list", global_args=["--debug"])
    assert p.stdout.splitlines()[0].split()[0] == "ID"


# -- spec ------------------------------------------------------------------------


def test_spec_writes_config(hull, tmp_path):
    hull("spec", "--bundle", tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["process"]["terminal"] is True
    assert cfg["root"]["path"] == "rootfs"
    ns = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= ns
    assert "user" not in ns
    assert {m["destination"] for m in cfg["mounts"]} >= {"/proc", "/dev", "/dev/pts", "/sys"}


def test_spec_in_cwd(hull, tmp_path):
    p = helpers.run_captured(hull.argv("spec"), cwd=tmp_path)
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert json.loads((tmp_path / "config.json").read_text())["root"]["path"] == "rootfs"


def test_spec_refuses_to_overwrite(hull, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text("keep me\n")
    p = hull("spec", "--bundle", tmp_path, check=False)
    assert p.returncode != 0
    assert cfg.read_text() == "keep me\n"
    assert "config.json" in p.stderr


def test_spec_rootless(hull, tmp_path):
    hull("spec", "--rootless", "--bundle", tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    ns = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in ns
    assert "network" not in ns  # a rootless container cannot set up a network namespace usefully
    for key, own in (("uidMappings", os.geteuid()), ("gidMappings", os.getegid())):
        maps = cfg["linux"][key]
        assert maps[0]["containerID"] == 0
        assert maps[0]["hostID"] == own
        assert maps[0]["size"] >= 1


def test_spec_output_runs(hull, bundle, tmp_path):
    # what `spec` writes is a config the runtime itself accepts
    b = bundle()
    (b.path / "config.json").unlink()
    hull("spec", "--bundle", b.path)
    cfg = json.loads((b.path / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "echo from-spec"]
    b.config = cfg
    p = hull.run(b)
    assert p.returncode == 0, helpers.describe(p, "failed")
    assert p.stdout == "from-spec\n"


# -- features --------------------------------------------------------------------


def test_features(hull):
    f = json.loads(hull("features").stdout)
    assert re.match(r"^1\.0\.\d", f["ociVersionMin"])
    assert re.match(r"^1\.\d+\.\d", f["ociVersionMax"])
    assert {
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    } <= set(f["hooks"])
    assert {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec"} <= set(f["mountOptions"])
    linux = f["linux"]
    assert {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} <= set(linux["namespaces"])
    assert {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_CHOWN", "CAP_KILL"} <= set(linux["capabilities"])
    assert linux["cgroup"]["v1"] is True
    assert linux["cgroup"]["v2"] is True
    sc = linux["seccomp"]
    assert sc["enabled"] is True
    assert {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"} <= set(sc["actions"])
    assert {"SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ"} <= set(sc["operators"])
    assert "SCMP_ARCH_X86_64" in sc["archs"]
    if hull.is_hull:
        assert f["ociVersionMax"].startswith("1.1.")
        assert linux["cgroup"].get("systemd") is False


# -- logging -------------------------------------------------------------------------


def test_log_json_on_error(hull, tmp_path):
    log = tmp_path / "log.json"
    p = hull(
        "state",
        "no-such-container",
        check=False,
        global_args=["--log", log, "--log-format", "json"],
    )
    assert p.returncode != 0
    lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
    assert lines, "nothing logged"
    entries = [json.loads(ln) for ln in lines]
    for e in entries:
        assert {"level", "msg", "time"} <= set(e)
    errors = [e for e in entries if e["level"] == "error"]
    assert errors
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", errors[-1]["time"])
    if hull.is_hull:
        assert "'no-such-container'" in errors[-1]["msg"]


def test_log_json_on_failed_create(hull, bundle, tmp_path):
    # what containerd/podman do: --log FILE --log-format json, then read the error from FILE
    b = bundle(["/no/such/binary"])
    log = tmp_path / "log.json"
    p = hull(
        "create",
        "--bundle",
        b.path,
        b.cid,
        check=False,
        global_args=["--log", log, "--log-format", "json"],
    )
    assert p.returncode != 0
    entries = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]
    assert any(e["level"] == "error" and "/no/such/binary" in e["msg"] for e in entries)
    assert hull("state", b.cid, check=False).returncode != 0


def test_log_text(hull, tmp_path):
    log = tmp_path / "log.txt"
    p = hull("state", "no-such-container", check=False, global_args=["--log", log])
    assert p.returncode != 0
    text = log.read_text()
    assert "level=error" in text


# -- cgroup managers -----------------------------------------------------------------


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="systemd is running on this host")
def test_systemd_cgroup_without_systemd(hull, bundle):
    b = bundle(["true"])
    b.config["linux"]["cgroupsPath"] = f"system.slice:hull:{b.cid}"
    b.save()
    p = hull("create", "--bundle", b.path, b.cid, check=False, global_args=["--systemd-cgroup"])
    assert p.returncode != 0
    assert "systemd" in p.stderr
    assert len(error_lines(p)) == 1, p.stderr
    assert hull("state", b.cid, check=False).returncode != 0
    assert not (hull.root / b.cid).exists()
    assert not list(helpers.CGROUP_ROOT.glob(f"*/system.slice/*{b.cid}*"))
    assert not list(helpers.CGROUP_ROOT.glob(f"*/hull/{b.cid}"))
