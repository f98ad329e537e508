"""hull run against podman run (with runc): the same oci-archive loaded into both, the same
commands, the same output and exit status; and the image tree as each one unpacks it."""

import shutil
import sys

import pytest

import helpers
from store_fixtures import D, F, H, L, bb, hs, make_image  # noqa: F401

sys.path.insert(0, str(helpers.REPO / "tests" / "integration" / "engines"))
from engine_harness import (  # noqa: E402
    Podman,
    cgroup_parent,
    existing_host_dirs,
    finish_teardown,
    make_root,
)



class PodmanRunc(Podman):
    """podman as engine_harness sets it up, running containers with runc (the reference)."""

    def base_argv(self, runtime="runc"):
        return super().base_argv(runtime=runtime)


CONFIG = {
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["echo default; id; pwd"],
    "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello world", "EMPTY="],
    "WorkingDir": "/srv/app",
    "User": "nobody",
}
LAYERS = [
    ([D("srv"), F("srv/data", "payload\n"), D("opt"), F("opt/old", "o\n"), L("opt/ln", "old"),
      H("opt/hard", "opt/old")], "gzip"),
    ([F("opt/.wh.old"), F("opt/new", "n\n", mode=0o4750, uid=12, gid=34)], "zstd"),
]
COMMANDS = [
    [],
    ["echo $GREETING; echo [$EMPTY]; cat /srv/data"],
    ["exit 42"],
    ["ls -ln /opt | sed 1d | sed 's/ [A-Z][a-z][a-z] .* / /'"],
    ["cat /proc/self/status | grep -E '^(CapBnd|CapEff|NoNewPrivs)'"],
]


@pytest.fixture(scope="module")
def podman_ref(bb, tmp_path_factory):
    if not shutil.which("podman") or not shutil.which("runc"):
        pytest.skip("podman or runc not installed")
    out = tmp_path_factory.mktemp("img") / "diff.tar"
    make_image(out, LAYERS, config=CONFIG, ref="localhost/diff:1", base=bb["rootfs"])
    host_before = existing_host_dirs()
    root = make_root("pd")
    eng, problems = None, []
    try:
        eng = PodmanRunc(root, shutil.which("runc"))
        eng.cgroup_parent = cgroup_parent("pd")
        eng("load", "-i", out)
        yield eng, out
    finally:
        if eng is not None:
            problems += eng.teardown()
        problems = finish_teardown(root, cgroup_parent("pd"), host_before, problems)
    if problems:
        pytest.fail("podman teardown:\n" + "\n".join(problems))


@pytest.mark.parametrize("cmd", COMMANDS, ids=range(len(COMMANDS)))
def test_same_output_as_podman(podman_ref, hs, cmd):
    eng, archive = podman_ref
    hs("image", "import", archive)
    ref = eng.run("run", "--rm", *eng.run_opts(), "localhost/diff:1", *cmd, check=False,
                  prefix=())
    ours = hs("run", "--rm", "--network", "none", "diff:1", *cmd, check=False)
    assert (ours.returncode, ours.stdout) == (ref.returncode, ref.stdout), ours.stderr + ref.stderr
