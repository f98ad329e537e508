"""A program the container user may not execute makes `create` fail (as runc
does: engines report errors from create), not `start`. The check is made as
the container's user, after its uid, gids and capabilities are in place."""

import os

import pytest

import helpers

USER = {"uid": 1000, "gid": 1000}


def prog_bundle(bundle, mode, owner=(0, 0), user=None):
    b = bundle(["/prog"])
    prog = b.rootfs / "prog"
    prog.write_text("#!/bin/sh\necho ran\n")
    os.chown(prog, *owner)
    prog.chmod(mode)
    if user:
        b.config["process"]["user"] = dict(user)
    return b


CASES = {
    # root without any execute bit: no capability lets it exec
    "root-0644": dict(mode=0o644),
    # another user's 0700 program for a non-root user (host root could run it)
    "user-0700-other-owner": dict(mode=0o700, owner=(1234, 1234), user=USER),
    # no execute bit for others, the user is not in the group
    "user-0754-other-group": dict(mode=0o754, owner=(1234, 1234), user=USER),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_create_fails_for_a_program_the_user_may_not_execute(hull, bundle, case):
    b = prog_bundle(bundle, **CASES[case])
    cid = hull.prepare(b)
    p = hull("create", "--bundle", b.path, cid, check=False)
    assert p.returncode != 0, f"create accepted a program uid {b.config['process']['user']['uid']} cannot run"
    if hull.is_hull:
        assert "exec: '/prog'" in p.stderr and "Permission denied" in p.stderr, p.stderr
    helpers.assert_no_trace(hull, cid, b)


@pytest.mark.parametrize("case", sorted(CASES))
def test_create_matches_runc(hull, reference, bundle, case):
    results = []
    for rt in (hull, reference):
        b = prog_bundle(bundle, **CASES[case])
        cid = rt.prepare(b)
        p = rt("create", "--bundle", b.path, cid, check=False)
        results.append(p.returncode == 0)
        if p.returncode == 0:
            rt.delete(cid, force=True)
    assert results[0] == results[1] == False, results


def test_create_accepts_a_program_the_user_may_execute(hull, bundle):
    # the control: another user's program with execute for others runs
    b = prog_bundle(bundle, mode=0o755, owner=(1234, 1234), user=USER)
    p = hull.run(b)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ran\n"


def test_exec_fails_for_a_program_the_user_may_not_execute(hull, bundle):
    b = prog_bundle(bundle, mode=0o700, owner=(1234, 1234))
    b.config["process"]["args"] = ["sleep", "30"]
    cid = hull.create(b)
    hull.start(cid)
    p = hull("exec", "--user", "1000:1000", cid, "/prog", check=False)
    assert p.returncode != 0, p.stdout
    assert "ran" not in p.stdout
    if hull.is_hull:
        assert "exec: '/prog'" in p.stderr and "Permission denied" in p.stderr, p.stderr
