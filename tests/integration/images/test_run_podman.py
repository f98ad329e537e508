"""hull run against podman run (with runc): the same oci-archive loaded into both, the same
commands, the same output and exit status; and the image tree as each one unpacks it."""

import json
import os
import shutil
import sys

import pytest

import helpers
from store_fixtures import D, F, H, L, bb, hs, make_image  # noqa: F401
from tree_compare import stacked_tree, tree

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
    ([F("opt/.wh.old"), F("opt/new", "n\n", mode=0o4750, uid=12, gid=34),
      F("opt/attr", "a\n", mode=0o2755, uid=5, gid=6, xattrs={"user.hull": "yes"}),
      D("opt/sticky", mode=0o1777)], "zstd"),
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



def test_unpacked_tree_as_podman(podman_ref, hs, tmp_path):
    """The image's file tree as hull stacks its layers (overlayfs over layers/, read-only)
    and as podman mounts the same image: the same paths, modes with setuid bits, owners,
    sizes, links and xattrs."""
    eng, archive = podman_ref
    hs("image", "import", archive)
    img = [i for i in hs.images() if "localhost/diff:1" in i["names"]][0]
    ours = tmp_path / "ours"
    ours.mkdir()
    mine = stacked_tree(hs.path / "images" / "layers", img["layers"], ours)
    p = eng("image", "mount", "localhost/diff:1")
    try:
        theirs = tree(p.stdout.strip())
    finally:
        eng("image", "unmount", "localhost/diff:1", check=False)
    assert mine["opt/new"][1] == "0o4750" and mine["opt/attr"][7] == [("user.hull", b"yes")]
    diff = {k: (mine.get(k), theirs.get(k)) for k in set(mine) | set(theirs)
            if mine.get(k) != theirs.get(k)}
    assert diff == {}


VOLUME_COMMANDS = [
    ["cat /ro/f /rw/f; ls -ln /ro | sed 1d | awk '{print $1, $3, $4, $9}'"],
    ["touch /ro/x 2>&1 | sed 's/^.*: //'; echo ro=$?; touch /rw/y && echo rw-ok"],
    ["stat -c '%a %u %g %n' /new /new/deeper; ls /new/deeper"],
    ["awk '$5 == \"/ro\" || $5 == \"/rw\" {print $5, substr($6, 1, 2)}' /proc/self/mountinfo"],
]


@pytest.mark.parametrize("cmd", VOLUME_COMMANDS, ids=range(len(VOLUME_COMMANDS)))
def test_volumes_as_podman(podman_ref, hs, tmp_path, cmd):
    """-v SRC:DST[:ro] as podman binds it: contents, read-only or not, a target the image
    lacks made on the way, what a write leaves on the host."""
    eng, archive = podman_ref
    hs("image", "import", archive)
    outs = []
    for who in ("podman", "hull"):
        src = tmp_path / who
        (src / "ro").mkdir(parents=True)
        (src / "rw").mkdir()
        (src / "new").mkdir()
        (src / "ro" / "f").write_text("from the host\n")
        os.chown(src / "ro" / "f", 7, 8)
        (src / "rw" / "f").write_text("rw\n")
        vols = ["-v", f"{src / 'ro'}:/ro:ro", "-v", f"{src / 'rw'}:/rw",
                "-v", f"{src / 'new'}:/new/deeper", "-u", "0:0"]
        if who == "podman":
            p = eng.run("run", "--rm", *eng.run_opts(), *vols, "localhost/diff:1", *cmd,
                        check=False, prefix=())
        else:
            p = hs("run", "--rm", "--network", "none", *vols, "diff:1", *cmd, check=False)
        outs.append((p.returncode, p.stdout, sorted(os.listdir(src / "rw"))))
    assert outs[1] == outs[0]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_import_of_podman_save(podman_ref, hs, bb, tmp_path, fmt):
    """What `podman save` writes, hull imports: the same names, the same layers (diff_ids),
    and the same output for the same command.  (A docker-archive cannot hold the zstd
    layer of the test image: that one is the busybox image podman loaded from skopeo's.)"""
    eng, _ = podman_ref
    name = "localhost/diff:1"
    if fmt == "docker-archive":
        loaded = eng("load", "-i", bb["docker"]).stdout
        name = loaded.strip().splitlines()[-1].split("Loaded image: ")[-1].split(",")[0]
    out = tmp_path / f"saved-{fmt}.tar"
    eng("save", "--format", fmt, "-o", out, name)
    hs("image", "import", out)
    imgs = [i for i in hs.images() if name in i["names"]]
    assert len(imgs) == 1, (name, hs.images())
    inspect = json.loads(eng("image", "inspect", name).stdout)[0]
    assert imgs[0]["layers"] == inspect["RootFS"]["Layers"]
    script = "echo $PATH; ls -ln /bin | sed 1d | awk '{print $1, $3, $4, $9}' | head -3"
    # diff:1's entrypoint is sh -c; busybox has none
    cmd = [script] if fmt == "oci-archive" else ["sh", "-c", script]
    ref = eng.run("run", "--rm", *eng.run_opts(), name, *cmd, prefix=())
    ours = hs("run", "--rm", "--network", "none", name, *cmd)
    assert ours.stdout == ref.stdout and len(ours.stdout.splitlines()) == 4, ours.stdout
