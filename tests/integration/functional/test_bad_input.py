"""Bad input: the runtime refuses it with a clear message and leaves nothing behind.

Always checked (runc does the same): a non-zero exit and no trace of the
container (state entry, cgroup dir, mounts, processes). hull's own error
texts (the field path, the subject in quotes) are checked when hull.is_hull.
"""

import json
import re

import pytest

from helpers import assert_no_trace

LONG = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]


def refused(hull, b, verb="create", cid=None, save=True):
    """Save the config (unless save=False), run `VERB --bundle B ID` expecting
    failure, check nothing is left; return the result."""
    cid = cid or b.cid
    if save:
        b.save()
    extra = ["-d"] if verb == "run" else []
    p = hull(verb, "--bundle", b.path, *extra, cid, check=False, timeout=30)
    assert p.returncode != 0, f"{verb} accepted bad input:\n{p.stdout}\n{p.stderr}"
    assert p.stderr.strip(), "no error message"
    assert_no_trace(hull, cid, b)
    return p


def last_error(p):
    return [ln for ln in p.stderr.splitlines() if ln.strip()][-1]


# -- config.json ------------------------------------------------------------------


def test_malformed_json(hull, bundle):
    b = bundle(["true"])
    b.save()
    lines = b.config_path.read_text().splitlines()
    n = next(i for i, ln in enumerate(lines) if '"hostname"' in ln)
    lines[n] = '  "hostname": runc,'  # an unquoted word: not JSON
    b.config_path.write_text("\n".join(lines) + "\n")
    p = refused(hull, b, save=False)
    if hull.is_hull:
        m = re.search(r"line (\d+) column (\d+)", p.stderr)
        assert m, p.stderr
        assert int(m.group(1)) == n + 1
        assert "config.json" in p.stderr


def test_truncated_json(hull, bundle):
    b = bundle(["true"])
    b.save()
    text = b.config_path.read_text()
    b.config_path.write_text(text[: len(text) // 2])
    p = refused(hull, b, save=False)
    if hull.is_hull:
        assert re.search(r"line \d+ column \d+", p.stderr), p.stderr


def test_not_an_object(hull, bundle):
    b = bundle(["true"])
    b.config_path.write_text("[1, 2, 3]\n")
    refused(hull, b, save=False)


@pytest.mark.parametrize(
    "path,value,message",
    [
        (("process", "user", "uid"), "zero", "process.user.uid: expected a number"),
        (("process", "args"), "sh", "process.args: expected an array"),
        (("process", "terminal"), "yes", "process.terminal: expected a boolean"),
        (
            ("linux", "resources", "memory"),
            {"limit": "lots"},
            "linux.resources.memory.limit: expected a number",
        ),
    ],
    ids=["uid", "args", "terminal", "memory.limit"],
)
def test_wrong_type(hull, bundle, path, value, message):
    b = bundle(["true"])
    node = b.config
    for k in path[:-1]:
        node = node.setdefault(k, {})
    node[path[-1]] = value
    b.save()
    p = refused(hull, b)
    if hull.is_hull:
        assert message in p.stderr


def test_missing_config(hull, bundle):
    b = bundle(["true"])
    b.config_path.unlink()
    p = hull("create", "--bundle", b.path, b.cid, check=False)
    assert p.returncode != 0
    assert_no_trace(hull, b.cid, b)
    if hull.is_hull:
        assert "config.json" in p.stderr


def test_missing_bundle_dir(hull, bundle, tmp_path):
    b = bundle(["true"])
    p = hull("create", "--bundle", tmp_path / "nope", b.cid, check=False)
    assert p.returncode != 0
    assert_no_trace(hull, b.cid, b)
    if hull.is_hull:
        assert str(tmp_path / "nope") in p.stderr


def test_missing_rootfs(hull, bundle):
    b = bundle(["true"])
    b.config["root"]["path"] = "nonexistent"
    p = refused(hull, b)
    if hull.is_hull:
        assert "nonexistent" in p.stderr


def test_unknown_namespace(hull, bundle):
    b = bundle(["true"])
    b.config["linux"]["namespaces"].append({"type": "bogus"})
    p = refused(hull, b)
    if hull.is_hull:
        assert "linux.namespaces" in p.stderr
        assert "bogus" in p.stderr


def test_unknown_capability(hull, bundle):
    b = bundle(["true"])
    b.config["process"]["capabilities"]["bounding"].append("CAP_BOGUS")
    if not hull.is_hull:
        # runc 1.1 only warns and drops the capability; hull refuses (bad input)
        b.save()
        p = hull("run", "--bundle", b.path, b.cid, check=False)
        assert "CAP_BOGUS" in p.stderr
        return
    p = refused(hull, b)
    assert "CAP_BOGUS" in p.stderr
    assert "process.capabilities.bounding" in p.stderr


def test_executable_not_found_create(hull, bundle):
    b = bundle(["no-such-binary"])
    b.save()
    p = refused(hull, b, "create")
    assert "executable file not found" in p.stderr
    assert "no-such-binary" in p.stderr


def test_executable_not_found_run(hull, bundle):
    b = bundle(["no-such-binary", "arg"])
    b.save()
    p = hull("run", "--bundle", b.path, b.cid, check=False)
    assert p.returncode != 0
    assert "executable file not found" in p.stderr
    assert_no_trace(hull, b.cid, b)


def test_executable_absolute_path_missing(hull, bundle):
    b = bundle(["/no/such/binary"])
    b.save()
    p = refused(hull, b)
    assert "/no/such/binary" in p.stderr


def test_bad_hook_path(hull, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": "/no/such/hook"}]}
    b.save()
    p = refused(hull, b)
    assert "/no/such/hook" in p.stderr


def test_bad_prestart_hook_path(hull, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "/no/such/hook", "args": ["hook"]}]}
    b.save()
    p = refused(hull, b)
    assert "/no/such/hook" in p.stderr


def test_failing_hook(hull, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    b.save()
    refused(hull, b)


# -- ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("cid", ["../x", "", "a/b", "..", ".", "-x"], ids=["dotdot-x", "empty", "slash", "dotdot", "dot", "dash"])
def test_invalid_container_id(hull, bundle, cid):
    b = bundle(["true"])
    b.save()
    p = hull("create", "--bundle", b.path, cid, check=False)
    assert p.returncode != 0
    assert p.stderr.strip()
    assert not (hull.root.parent / "x").exists()
    assert not (hull.root / "a").exists()
    assert [e.name for e in hull.root.iterdir()] == []
    assert_no_trace(hull, cid, b)
    if hull.is_hull and cid:
        assert f"'{cid}'" in p.stderr


def test_id_already_in_use(hull, bundle):
    b1 = bundle(LONG)
    cid = hull.create(b1)
    st1 = hull.state(cid)
    b2 = bundle(["true"])
    b2.cid = cid
    b2.save()
    p = hull("create", "--bundle", b2.path, cid, check=False)
    assert p.returncode != 0
    if hull.is_hull:
        assert f"'{cid}'" in p.stderr
    st2 = hull.state(cid)
    assert st2["pid"] == st1["pid"]
    assert st2["bundle"] == st1["bundle"]
    assert st2["status"] == "created"
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if str(b2.path) in ln]


@pytest.mark.parametrize(
    "argv",
    [
        ["start"],
        ["state"],
        ["kill"],
        ["kill", "KILL"],
        ["delete"],
        ["exec", "true"],
        ["pause"],
        ["resume"],
        ["ps"],
        ["update", "--pids-limit", "10"],
        ["events", "--stats"],
    ],
    ids=lambda a: "-".join(a),
)
def test_unknown_id(hull, argv):
    cid = "no-such-container"
    args = [argv[0], cid, *argv[1:]] if argv[0] != "update" else [*argv, cid]
    if argv[0] == "events":
        args = ["events", "--stats", cid]
    p = hull(*args, check=False, timeout=20)
    assert p.returncode != 0
    assert p.stderr.strip()
    assert not (hull.root / cid).exists()
    if hull.is_hull:
        assert f"'{cid}'" in p.stderr


# -- kill -------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", ["NOPE", "SIGNOPE", "-1", "1000"])
def test_bad_signal(hull, bundle, sig):
    b = bundle(LONG)
    cid = hull.create(b)
    hull.start(cid)
    pid = hull.wait_status(cid, "running")["pid"]
    p = hull("kill", cid, sig, check=False)
    assert p.returncode != 0
    assert p.stderr.strip()
    st = hull.state(cid)
    assert st["status"] == "running" and st["pid"] == pid
    if hull.is_hull:
        assert f"'{sig}'" in p.stderr


# -- state dir --------------------------------------------------------------------------


def test_unwritable_root(hull, bundle, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    bad_root = f / "sub"
    b = bundle(["true"])
    b.save()
    p = hull("create", "--bundle", b.path, b.cid, check=False, root=bad_root)
    assert p.returncode != 0
    assert p.stderr.strip()
    assert f.read_text() == ""
    assert_no_trace(hull, b.cid, b)
    if hull.is_hull:
        assert str(f) in p.stderr


def test_run_with_unwritable_root(hull, bundle, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    b = bundle(["true"])
    b.save()
    p = hull("run", "--bundle", b.path, b.cid, check=False, root=f / "sub")
    assert p.returncode != 0
    assert_no_trace(hull, b.cid, b)


# -- resources ----------------------------------------------------------------------------


def test_update_bad_resources_json(hull, bundle):
    b = bundle(LONG)
    cid = hull.create(b)
    p = hull("update", "-r", "-", cid, input="{not json", check=False)
    assert p.returncode != 0
    assert hull.state(cid)["status"] == "created"


def test_exec_bad_process_json(hull, bundle, tmp_path):
    b = bundle(LONG)
    cid = hull.create(b)
    hull.start(cid)
    f = tmp_path / "process.json"
    f.write_text(json.dumps({"args": "not-a-list", "cwd": "/"}))
    p = hull("exec", "--process", f, cid, check=False)
    assert p.returncode != 0
    assert p.stderr.strip()
    assert hull.state(cid)["status"] == "running"
