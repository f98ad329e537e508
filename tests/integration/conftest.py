"""pytest fixtures for hull's integration tests (real containers, run as root).

Fixtures:
  hull       Runtime for the runtime under test: $HULL_RUNTIME (absolute path
             or a name on PATH, e.g. `runc` to validate the suite) or
             <repo>/build/src/cli/hull-runtime. Fresh --root per test; at
             teardown every container still listed is `delete --force`d and
             the root is removed.
  reference  the same API for runc (skips when runc is missing).
  bundle     factory: bundle(args=None, **kw) -> Bundle (see helpers.make_bundle).

After every test and at the end of the session, whatever the tests left
behind (mounts, cgroups, state dirs, processes; this session's only) is
reported as an error and then cleaned up.
"""

import os
import shutil

import pytest

import helpers


def pytest_report_header(config):
    b = helpers.resolve_runtime_bin()
    name, version, is_hull = helpers.runtime_identity(b)
    return f"runtime under test: {b} ({version or 'version unknown'}; is_hull={is_hull})"


@pytest.fixture(scope="session", autouse=True)
def _session_leak_check():
    helpers.record_cgroup_parents()
    yield
    leaks = helpers.find_leaks()
    helpers.clean_leaks()
    problems = helpers.remove_all_bundles()
    helpers.remove_session_cgroup_parents()
    if leaks or problems:
        pytest.fail("the test session left things behind:\n" + "\n".join(leaks + problems))


@pytest.fixture
def _bundle_registry():
    """Owns the bundles of one test. Torn down after hull/reference (which
    depend on it), so containers are gone before their bundles are removed;
    then checks that the test left nothing behind."""
    made = []

    def factory(args=None, **kw):
        b = helpers.make_bundle(args, **kw)
        made.append(b)
        return b

    yield factory
    leaks = helpers.find_leaks()
    if leaks:
        helpers.clean_leaks()
    problems = []
    for b in made:
        if not helpers.remove_bundle_dir(b.path.parent):
            problems.append(f"bundle dir '{b.path.parent}' could not be removed (mounted?)")
    if leaks or problems:
        pytest.fail("the test left things behind:\n" + "\n".join(leaks + problems))


def _runtime(binary):
    rt = helpers.Runtime(binary)
    return rt


@pytest.fixture
def hull(_bundle_registry):
    binary = helpers.resolve_runtime_bin()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.fail(
            f"runtime binary '{binary}' not found: build it (`make build`) "
            "or point HULL_RUNTIME at a runtime"
        )
    rt = _runtime(binary)
    yield rt
    problems = rt.cleanup()
    if problems:
        pytest.fail("teardown of the runtime under test:\n" + "\n".join(problems))


@pytest.fixture
def reference(_bundle_registry):
    binary = shutil.which("runc")
    if not binary:
        pytest.skip("runc is not installed")
    rt = _runtime(binary)
    yield rt
    problems = rt.cleanup()
    if problems:
        pytest.fail("teardown of the reference runtime:\n" + "\n".join(problems))


@pytest.fixture
def bundle(_bundle_registry):
    return _bundle_registry
