"""hull image build: distros and releases, mirrors, the progress display, error paths.

No test sends traffic off the machine: every mirror here is on 127.0.0.1 (a port
nothing listens on, or a small HTTP server of the test's own).  Real builds use
the machine's configured Debian mirror and are cached in $HULL_TEST_CACHE.
"""

import functools
import http.server
import json
import os
import pty
import subprocess
import threading
import time

import pytest

from sysharness import CACHE, HULL_BIN, Hull, leftovers
from test_images import store_entries

UBUNTU_KEYRING = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"


def one_error(p, *parts):
    """The run failed; stderr's last line is its one error, naming every part; the lines
    before it (when any) are progress lines."""
    assert p.returncode != 0, p.stdout
    lines = p.stderr.strip().splitlines()
    assert lines, p.stderr
    for line in lines[:-1]:
        assert line.startswith("hull: build ") and "] " in line, p.stderr
    for part in parts:
        assert part in lines[-1], (part, lines[-1])
    return lines[-1]


@pytest.fixture
def mirror(tmp_path):
    """A tiny HTTP server on 127.0.0.1 serving tmp_path/www (a fake mirror)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


def fake_release(www, codename):
    d = www / "dists" / codename
    d.mkdir(parents=True)
    (d / "Release").write_text(f"Origin: test\nSuite: {codename}\nCodename: {codename}\n")


def test_unreachable_mirror_fails_fast(hullsys):
    """Nothing listens on 127.0.0.1:9: one line naming the mirror, in bounded time."""
    for name in ("ubuntu/jammy", "ubuntu/22.04", "debian/12", "debian/trixie"):
        t0 = time.monotonic()
        p = hullsys("image", "build", name, "--mirror", "http://127.0.0.1:9/", check=False,
                    timeout=60)
        assert time.monotonic() - t0 < 60
        line = one_error(p, f"build '{name}'", "mirror 'http://127.0.0.1:9/'",
                         "cannot be reached")
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert line.startswith("hull: ")
    assert store_entries(hullsys) in ([], ["aliases.json"])
    assert not list((hullsys.state_dir / "images").glob(".tmp-*"))


def test_mirror_without_the_release(hullsys, mirror):
    www, url = mirror
    p = hullsys("image", "build", "ubuntu/jammy", "--mirror", url, check=False)
    one_error(p, f"mirror '{url}' has no 'jammy'", "HTTP error")
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not list((hullsys.state_dir / "images").glob(".tmp-*"))


@pytest.mark.skipif(os.path.exists(UBUNTU_KEYRING), reason="the Ubuntu keyring is installed")
def test_ubuntu_needs_its_keyring(hullsys, mirror):
    """The mirror answers, but packages could not be checked: refused, nothing made."""
    www, url = mirror
    fake_release(www, "jammy")
    p = hullsys("image", "build", "ubuntu/jammy", "--mirror", url, check=False)
    one_error(p, "build 'ubuntu/jammy'", f"archive keyring '{UBUNTU_KEYRING}'",
              "No such file or directory")
    assert not list((hullsys.state_dir / "images").glob(".tmp-*"))


def test_debootstrap_failure_leaves_nothing(hullsys, mirror):
    """A mirror with an unsigned Release: debootstrap fails (signatures are required);
    the error names the mirror, the temp build dir is gone, no alias is made."""
    www, url = mirror
    fake_release(www, "bookworm")
    cache = hullsys.state_dir / "debs"
    p = hullsys("image", "build", "debian/12", "--mirror", url, "--cache-dir", cache,
                check=False, timeout=300)
    one_error(p, "build 'debian/12'", f"debootstrap from '{url}' failed")
    progress = p.stderr.strip().splitlines()[:-1]
    assert progress[:2] == ["hull: build debian/12: [1/8] checking the mirror",
                            "hull: build debian/12: [2/8] resolving packages"], p.stderr
    assert not list((hullsys.state_dir / "images").glob(".tmp-*"))
    assert "debian/12" not in hullsys("image", "list").stdout


def test_progress_on_a_terminal(hullsys, mirror):
    """On a terminal: one line rewritten in place ([phase/8] name: step), cleared
    before the error line."""
    www, url = mirror
    fake_release(www, "bookworm")
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(hullsys.argv("image", "build", "debian/12", "--mirror", url,
                                             "--cache-dir", hullsys.state_dir / "debs"),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                                env=hullsys.env)
        os.close(slave)
        slave = -1
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the slave side is closed
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(timeout=300) != 0
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = out.decode(errors="replace")
    assert "\r\x1b[K[1/8] checking the mirror: " in text, text
    assert "\r\x1b[K[2/8] resolving packages: " in text, text
    assert "\n" not in text.rstrip("\r\n").split("\r\x1b[K")[-2], text  # in place
    last = text.split("\r\x1b[K")[-1]
    assert last.startswith("hull: build 'debian/12': debootstrap from"), text


def test_unknown_distros_and_releases(hullsys):
    cases = [
        ("ubuntu/noble", "this machine's debootstrap does not know Ubuntu 'noble'"),
        ("ubuntu/warty-warthog", "unknown distribution"),
        ("debian/10", "unknown distribution"),
        ("fedora/40", "unknown distribution"),
    ]
    if os.path.exists("/usr/share/debootstrap/scripts/noble"):
        cases.pop(0)
    for name, msg in cases:
        p = hullsys("image", "build", name, check=False)
        one_error(p, f"build '{name}'", msg)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    p = hullsys("image", "build", "ubuntu/jammy", "--mirror", "ftp://127.0.0.1/", check=False)
    one_error(p, "mirror 'ftp://127.0.0.1/': expected an http:// or https:// URL")
    assert not list((hullsys.state_dir / "images").glob(".tmp-*"))


@pytest.fixture(scope="session")
def debian13_cache():
    state = CACHE / "state"
    p = subprocess.run(
        [str(HULL_BIN), "--state-dir", str(state), "image", "build", "debian/13",
         "--cache-dir", str(CACHE / "debs")],
        capture_output=True, text=True, timeout=1800,
    )
    if p.returncode != 0:
        pytest.fail(f"building the Debian 13 image failed:\n{p.stderr[-3000:]}")
    return state, p.stdout.strip()


def test_build_debian_13(debian13_cache):
    """debian/13 (trixie) from the machine's mirror: cached like debian/12."""
    state, fp = debian13_cache
    h = Hull(state)
    assert h("image", "build", "debian/13", timeout=60).stdout.strip() == fp
    root = state / "images" / fp / "rootfs"
    osr = (root / "etc" / "os-release").read_text()
    assert 'VERSION_ID="13"' in osr, osr
    assert os.readlink(root / "sbin" / "init").endswith("systemd")
    assert "LANG=en_US.UTF-8" in (root / "etc/default/locale").read_text()
    assert list((root / "dev").iterdir()) == []
    assert leftovers(state) == []
    # a built image says what it is, as an imported image's metadata does
    img = json.loads(h("image", "show", "debian/13").stdout)
    assert img["architecture"] == os.uname().machine
    assert img["properties"] == {"os": "debian", "release": "13",
                                 "description": "Debian 13 (trixie), minbase with systemd"}
    assert img["creation_date"] == img["created"]


def test_debian_13_boots(hullsys, debian13_cache):
    """trixie's systemd (257) reaches running in an unprivileged hull instance on this
    hybrid cgroup host, as bookworm's does."""
    from sysharness import new_name, wait_running
    state, fp = debian13_cache
    dst = hullsys.state_dir / "images"
    dst.mkdir(exist_ok=True)
    subprocess.run(["cp", "-al", str(state / "images" / fp), str(dst / fp)], check=True)
    hullsys("image", "alias", "debian/13", fp)
    name = new_name("d13")
    hullsys("launch", "debian/13", name, timeout=120)
    st, failed = wait_running(hullsys, name)
    assert st == "running", f"is-system-running: {st}\n{failed}"
    assert 'VERSION_ID="13"' in hullsys("exec", name, "--", "cat", "/etc/os-release").stdout
