"""SCMP_ACT_NOTIFY and the listener hand-off (linux.seccomp.listenerPath).

The agent (tests/integration/seccomp_agent.py) is a unix socket server in a
thread of the test process: it receives the listener fd with SCM_RIGHTS and
the containerProcessState JSON, then answers every notification with
SECCOMP_USER_NOTIF_FLAG_CONTINUE through SECCOMP_IOCTL_NOTIF_RECV / _SEND.

Success path: the profile notifies the very syscalls the runtime's own init
makes after loading the filter (execve, openat, close, read, write,
sendmsg, recvmsg, ...); `run` and `exec` must complete with the command's
output and exit status, with noNewPrivileges true and false.

Failure paths: every failure of the hand-off (no socket, connection
refused, an agent that closes at once, one that never reads, one that never
answers) ends in an error naming listenerPath, in every stdio mode, and
leaves nothing behind (the fixtures' leak checks).
"""

import json
import re

import pytest

import helpers
from seccomp_agent import NOTIFIED, TIMEOUT_ANNOTATION, agent

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def notify_profile(path, names=NOTIFIED):
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": list(ARCHES),
        "listenerPath": path,
        "listenerMetadata": "hull-test",
        "syscalls": [{"names": list(names), "action": "SCMP_ACT_NOTIFY"}],
    }


def notify_bundle(bundle, a, args, nnp=True, timeout=None, names=NOTIFIED):
    b = bundle(args)
    b.config["process"]["noNewPrivileges"] = nnp
    b.config["linux"]["seccomp"] = notify_profile(a.path, names)
    if timeout:
        b.config.setdefault("annotations", {})[TIMEOUT_ANNOTATION] = timeout
    return b


# ---- success path ------------------------------------------------------------------


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_run_with_agent_notifying_init_syscalls(hull, bundle, nnp):
    with agent() as a:
        b = notify_bundle(bundle, a, ["sh", "-c", "echo out-$((6*7)); cat /etc/passwd >/dev/null; exit 7"], nnp)
        p = hull.run(b, timeout=60)
        assert (p.returncode, p.stdout) == (7, "out-42\n"), helpers.describe(p, "run")
        assert not a.errors, a.errors
        assert len(a.states) == 1
        st = a.states[0]
        assert st["fds"] == ["seccompFd"] and st["metadata"] == "hull-test"
        assert st["state"]["id"] == b.cid and st["pid"] == st["state"]["pid"]
        # the agent really saw the init's and the workload's syscalls
        nrs = {nr for _, nr in a.notified}
        assert {59, 257, 3} <= nrs  # execve, openat, close
    assert hull.list() == []


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_exec_with_agent_notifying_init_syscalls(hull, bundle, nnp):
    with agent() as a:
        b = notify_bundle(bundle, a, ["sleep", "60"], nnp)
        cid = hull.create(b)
        hull.start(cid)
        p = hull("exec", cid, "sh", "-c", "echo exec-$((6*7)); exit 5", check=False, timeout=60)
        assert (p.returncode, p.stdout) == (5, "exec-42\n"), helpers.describe(p, "exec")
        assert not a.errors, a.errors
        # one listener for the init, one for the exec'd process
        assert len(a.states) == 2
        assert a.states[1]["state"]["status"] == "running"
        hull.kill(cid, "KILL")
        hull.wait_status(cid, "stopped")
        hull.delete(cid)


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_run_with_agent_same_as_runc(hull, reference, bundle, nnp):
    # runc 1.1.5 refuses to notify write(2) (its hand-off writes after the load):
    # compare on the rest of the list.
    names = [n for n in NOTIFIED if n != "write"]
    results = []
    for rt in (hull, reference):
        with agent() as a:
            b = notify_bundle(bundle, a, ["sh", "-c", "echo out-$((6*7)); exit 7"], nnp, names=names)
            p = rt.run(b, timeout=60)
            results.append((p.returncode, p.stdout, len(a.states), not a.errors))
    assert results[0] == results[1] == (7, "out-42\n", 1, True), results


def test_notify_default_action_and_write(hull, bundle):
    # runc refuses both; nothing in hull's hand-off needs them to be left alone
    with agent() as a:
        b = bundle(["sh", "-c", "echo all-notified; exit 3"])
        b.config["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_NOTIFY",
            "architectures": list(ARCHES),
            "listenerPath": a.path,
        }
        p = hull.run(b, timeout=60)
        assert (p.returncode, p.stdout) == (3, "all-notified\n"), helpers.describe(p, "run")
        assert 1 in {nr for _, nr in a.notified}  # write


# ---- failure paths -----------------------------------------------------------------

MODES = ["run", "run-detached", "create", "console-socket"]


def expected_error(mode, a, pid_pattern=r"\d+"):
    if a.mode == "missing":
        return f"linux.seccomp.listenerPath '{a.path}': connect: No such file or directory"
    if a.mode == "refuse":
        return f"linux.seccomp.listenerPath '{a.path}': connect: Connection refused"
    if a.mode == "close":
        return (
            f"linux.seccomp.listenerPath '{a.path}': the agent closed the connection "
            "without receiving the listener"
        )
    if a.mode == "silent":
        return f"linux.seccomp.listenerPath '{a.path}': the agent did not receive the listener within 1s"
    raise AssertionError(a.mode)


def start_in_mode(hull, b, mode, cs=None):
    """Runs the bundle in `mode`; returns the CompletedProcess of the call that fails."""
    cid = hull.prepare(b)
    if mode == "run":
        return hull("run", "--bundle", b.path, cid, check=False, timeout=60)
    if mode == "run-detached":
        return hull("run", "-d", "--bundle", b.path, cid, check=False, timeout=60)
    if mode == "create":
        return hull("create", "--bundle", b.path, cid, check=False, timeout=60)
    b.config["process"]["terminal"] = True
    b.save(runtime=hull)
    return hull("create", "--console-socket", cs.path, "--bundle", b.path, cid, check=False, timeout=60)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("agent_mode", ["missing", "refuse", "close", "silent"])
def test_handoff_failure_is_an_error(hull, bundle, mode, agent_mode):
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 hangs on some of these; hull-specific messages")
    with agent(agent_mode) as a, helpers.console_socket() as cs:
        b = notify_bundle(bundle, a, ["sh", "-c", "echo never; sleep 60"], timeout="1s")
        p = start_in_mode(hull, b, mode, cs)
        assert p.returncode == 1, helpers.describe(p, "should fail")
        assert expected_error(mode, a) in p.stderr, helpers.describe(p, "wrong message")
        assert "never" not in p.stdout
        assert hull.list() == []
        assert not a.states  # nobody received a listener


@pytest.mark.parametrize("mode", MODES)
def test_agent_that_never_answers(hull, bundle, mode):
    # The agent receives the listener and never answers: the init blocks in
    # its first notified syscall after the load (recvmsg, before READY).
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 hangs here")
    with agent("mute") as a, helpers.console_socket() as cs:
        b = notify_bundle(bundle, a, ["sh", "-c", "echo never; sleep 60"], timeout="1s")
        p = start_in_mode(hull, b, mode, cs)
        assert p.returncode == 1, helpers.describe(p, "should fail")
        assert re.search(
            rf"linux.seccomp.listenerPath '{re.escape(a.path)}': the agent has not answered "
            r"a notification of process \d+ within 1s",
            p.stderr,
        ), helpers.describe(p, "wrong message")
        assert "never" not in p.stdout
        assert hull.list() == []
        assert len(a.states) == 1


@pytest.mark.parametrize("mode", MODES)
def test_agent_that_stops_answering_after_create(hull, bundle, mode):
    # Only openat notifies: setup completes, the init then blocks opening the
    # exec fifo (an openat): `start` must give up, and run must clean up.
    if not hull.is_hull:
        pytest.skip("runc 1.1.5 hangs here")
    with agent("mute") as a, helpers.console_socket() as cs:
        b = notify_bundle(bundle, a, ["sh", "-c", "echo never; sleep 60"], timeout="1s", names=["openat"])
        p = start_in_mode(hull, b, mode, cs)
        if mode in ("create", "console-socket"):
            assert p.returncode == 0, helpers.describe(p, "create")
            p = hull("start", b.cid, check=False, timeout=60)
        assert p.returncode == 1, helpers.describe(p, "should fail")
        assert re.search(
            rf"cannot start container '{b.cid}': its process \d+ has been waiting for its "
            r"seccomp agent to answer a notification for 1s",
            p.stderr,
        ), helpers.describe(p, "wrong message")
        assert "never" not in p.stdout
        if mode in ("create", "console-socket"):
            # still created, its init stuck: delete --force ends it
            assert hull.state(b.cid)["status"] == "created"
            hull.delete(b.cid, force=True)
        assert hull.list() == []


def test_bad_timeout_annotation(hull, bundle):
    if not hull.is_hull:
        pytest.skip("hull's annotation")
    with agent() as a:
        b = notify_bundle(bundle, a, ["true"], timeout="soon")
        p = hull.run(b)
        assert p.returncode == 1
        assert f'annotations["{TIMEOUT_ANNOTATION}"]: \'soon\' is not a timeout' in p.stderr
        assert hull.list() == [] and not a.states


def test_exec_when_the_agent_is_gone(hull, bundle):
    # exec hands over a listener of its own: with the agent gone that is an
    # error, the exec'd process is killed, the container runs on
    if not hull.is_hull:
        pytest.skip("hull's message")
    with agent() as a:
        b = notify_bundle(bundle, a, ["sleep", "60"], names=["mkdir", "mkdirat"], timeout="1s")
        cid = hull.create(b)
        hull.start(cid)
    p = hull("exec", cid, "sh", "-c", "echo never", check=False, timeout=60)
    assert p.returncode != 0 and "never" not in p.stdout, helpers.describe(p, "exec")
    assert f"linux.seccomp.listenerPath '{a.path}': connect: No such file or directory" in p.stderr
    assert hull.state(cid)["status"] == "running"
    ps = hull("ps", "--format", "json", cid).stdout
    assert len(json.loads(ps)) == 1, ps  # only the init
    hull.delete(cid, force=True)
