"""TLS with a test CA (certs.d), htpasswd basic auth, hull login/logout and podman's auth.json."""

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from registry_fixtures import (  # noqa: F401
    PASSWORD,
    USER,
    busybox_layout,
    henv,
    test_ca,
    tls_auth_registry,
)
from registry_helpers import HULL, run


def error_line(p):
    assert p.returncode != 0, p.stdout
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert len(errs) == 1, p.stderr
    return errs[0]


def login(henv, reg, user=USER, password=PASSWORD, *extra):
    return henv.hull("login", "--username", user, "--password-stdin", *extra, reg.addr,
                     input=password + "\n")


@pytest.fixture
def podman(henv):
    """podman with throw-away storage dirs (short paths: podman limits the runroot's
    length) and the test's auth file."""
    if not shutil.which("podman"):
        pytest.skip("podman not installed")
    root = Path(tempfile.mkdtemp(prefix="hull-pm-", dir="/tmp"))

    def call(*args, input=None):
        # vfs: no overlay mount left behind; --tmpdir: nothing in /run/libpod
        return run(["podman", "--root", root / "root", "--runroot", root / "run",
                    "--tmpdir", root / "tmp", "--storage-driver", "vfs", *args],
                   env=henv.env, input=input)

    yield call
    for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
        mnt = line.split()[1]
        if mnt.startswith(str(root) + "/"):
            run(["umount", "-l", mnt])
    shutil.rmtree(root, ignore_errors=True)


def test_tls_needs_the_ca_in_certs_d(henv, tls_auth_registry):
    reg = tls_auth_registry
    err = error_line(henv.hull("image", "pull", f"{reg.addr}/busybox"))
    assert f"registry '{reg.addr}'" in err
    assert "certs.d" in err
    # with the CA in certs.d/<host:port>/ca.crt the TLS handshake succeeds (auth is next)
    henv.trust(reg)
    err = error_line(henv.hull("image", "pull", f"{reg.addr}/busybox"))
    assert f"registry '{reg.addr}': authentication required (hull login {reg.addr})" in err
    assert henv.blob_names() == set()


def test_login_with_a_wrong_password_is_refused_and_stores_nothing(henv, tls_auth_registry):
    henv.trust(tls_auth_registry)
    p = login(henv, tls_auth_registry, USER, "wrong")
    err = error_line(p)
    assert f"login '{tls_auth_registry.addr}'" in err
    assert "invalid username or password" in err
    assert not henv.auth_file.exists()
    p = login(henv, tls_auth_registry, "nobody", PASSWORD)
    assert "invalid username or password" in error_line(p)


def test_login_pull_logout_round_trip_with_podman(henv, tls_auth_registry, podman):
    reg = tls_auth_registry
    henv.trust(reg)
    p = login(henv, reg)
    assert p.returncode == 0, p.stderr
    assert "Login Succeeded" in p.stdout
    st = henv.auth_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    auths = json.loads(henv.auth_file.read_text())["auths"]
    assert list(auths) == [reg.addr]

    # podman reads what hull wrote
    p = podman("login", "--get-login", reg.addr)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == USER
    p = henv.hull("login", "--get-login", reg.addr)
    assert p.stdout.strip() == USER

    p = henv.hull("image", "pull", f"{reg.addr}/busybox:latest")
    assert p.returncode == 0, p.stderr
    assert henv.has_blob(henv.pulled_digest(p))

    p = henv.hull("logout", reg.addr)
    assert p.returncode == 0, p.stderr
    assert json.loads(henv.auth_file.read_text())["auths"] == {}
    p = podman("login", "--get-login", reg.addr)
    assert p.returncode != 0
    assert "not logged in to" in error_line(henv.hull("logout", reg.addr))
    err = error_line(henv.hull("image", "pull", f"{reg.addr}/busybox:latest",
                               env={"HULL_DIR": str(henv.tmp / "state2")}))
    assert "authentication required" in err


def test_podman_login_works_for_hull(henv, tls_auth_registry, podman):
    reg = tls_auth_registry
    certs = henv.trust(reg)
    p = podman("login", "--cert-dir", certs, "--username", USER, "--password-stdin", reg.addr,
               input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    assert reg.addr in json.loads(henv.auth_file.read_text())["auths"]
    p = henv.hull("image", "pull", "-q", f"{reg.addr}/busybox:latest")
    assert p.returncode == 0, p.stderr
    assert henv.has_blob(henv.pulled_digest(p))
    p = henv.hull("logout", "--all")
    assert p.returncode == 0, p.stderr
    assert json.loads(henv.auth_file.read_text())["auths"] == {}


def test_docker_config_json_is_read(henv, tls_auth_registry):
    """Without REGISTRY_AUTH_FILE, ~/.docker/config.json (DOCKER_CONFIG) is read too."""
    import base64

    reg = tls_auth_registry
    henv.trust(reg)
    dc = henv.tmp / "docker"
    dc.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (dc / "config.json").write_text(json.dumps({"auths": {f"https://{reg.addr}": {"auth": auth}}}))
    env = dict(henv.env, DOCKER_CONFIG=str(dc), XDG_RUNTIME_DIR=str(henv.tmp / "xdg"),
               HOME=str(henv.tmp / "home"))
    del env["REGISTRY_AUTH_FILE"]
    p = run([HULL, "image", "pull", "-q", f"{reg.addr}/busybox"], env=env)
    assert p.returncode == 0, p.stderr


def test_login_needs_a_password_source(henv, tls_auth_registry):
    err = error_line(henv.hull("login", tls_auth_registry.addr))
    assert "--username" in err
    err = error_line(henv.hull("login", "--username", "u", tls_auth_registry.addr))
    assert "--password-stdin" in err
    err = error_line(henv.hull("login", "Bad Host"))
    assert "registry 'Bad Host'" in err


def test_client_certificate_from_certs_d(henv, busybox_layout, test_ca):
    """A registry that wants a client certificate (http.tls.clientcas): hull presents
    certs.d/<host:port>/client.cert + client.key, as podman does."""
    from registry_helpers import Registry, skopeo_push

    cert, key = test_ca.issue("hull-client", ["DNS:hull-client"])
    reg = Registry(tls_ca=test_ca, client_certs=True)
    try:
        reg.tmp.joinpath("push-certs").mkdir()
        for src, name in [(test_ca.cert, "ca.crt"), (cert, "client.cert"), (key, "client.key")]:
            shutil.copy(src, reg.tmp / "push-certs" / name)
        reg.start()
        skopeo_push(f"oci:{busybox_layout}:latest", f"{reg.addr}/busybox:latest",
                    tls_verify=True, cert_dir=reg.tmp / "push-certs")
        d = henv.trust(reg)
        err = error_line(henv.hull("image", "pull", f"{reg.addr}/busybox"))
        assert f"registry '{reg.addr}'" in err
        shutil.copy(cert, d / "client.cert")
        err = error_line(henv.hull("image", "pull", f"{reg.addr}/busybox"))
        assert "without its key" in err
        shutil.copy(key, d / "client.key")
        p = henv.hull("image", "pull", "-q", f"{reg.addr}/busybox")
        assert p.returncode == 0, p.stderr
        assert henv.has_blob(henv.pulled_digest(p))
    finally:
        reg.cleanup()


def helper_env(henv, reg, config):
    """hull without an auth file of its own, a DOCKER_CONFIG with `config`, and on PATH a
    docker-credential-hulltest that knows the registry (and logs what it is asked)."""
    bindir, dc = henv.tmp / "bin", henv.tmp / "docker"
    bindir.mkdir(exist_ok=True)
    dc.mkdir(exist_ok=True)
    log = henv.tmp / "helper.log"
    helper = bindir / "docker-credential-hulltest"
    helper.write_text(f"""#!/bin/sh
read server
echo "$1 $server" >> {log}
if [ "$1" = get ] && [ "$server" = "{reg.addr}" ]; then
    printf '{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}' "$server"
else
    echo "credentials not found in native keychain"; exit 1
fi
""")
    helper.chmod(0o755)
    (dc / "config.json").write_text(json.dumps(config))
    env = dict(henv.env, DOCKER_CONFIG=str(dc), XDG_RUNTIME_DIR=str(henv.tmp / "xdg"),
               HOME=str(henv.tmp / "home"), PATH=f"{bindir}:{os.environ['PATH']}")
    del env["REGISTRY_AUTH_FILE"]
    return env, log


@pytest.mark.parametrize("key", ["credHelpers", "credsStore"])
def test_docker_credential_helper(henv, tls_auth_registry, key):
    """credHelpers (per registry) and credsStore of config.json: the helper is asked with the
    registry's address on stdin, as docker and podman ask it."""
    reg = tls_auth_registry
    henv.trust(reg)
    cfg = {"credHelpers": {reg.addr: "hulltest"}} if key == "credHelpers" else \
        {"credsStore": "hulltest"}
    env, log = helper_env(henv, reg, cfg)
    p = run([HULL, "image", "pull", "-q", f"{reg.addr}/busybox"], env=env)
    assert p.returncode == 0, p.stderr
    assert f"get {reg.addr}" in log.read_text().splitlines()


def test_docker_credential_helper_errors(henv, tls_auth_registry):
    reg = tls_auth_registry
    henv.trust(reg)
    # a helper that has nothing for the registry: as without credentials
    env, _ = helper_env(henv, reg, {"credHelpers": {reg.addr: "hulltest"}})
    (henv.tmp / "bin" / "docker-credential-hulltest").write_text(
        "#!/bin/sh\necho 'credentials not found in native keychain'; exit 1\n")
    err = error_line(run([HULL, "image", "pull", f"{reg.addr}/busybox"], env=env))
    assert "authentication required" in err
    # a helper that is not installed: one line naming it, nothing pulled
    env, _ = helper_env(henv, reg, {"credsStore": "hull-no-such-helper"})
    err = error_line(run([HULL, "image", "pull", f"{reg.addr}/busybox"], env=env))
    assert "credential helper 'hull-no-such-helper'" in err
    assert "docker-credential-hull-no-such-helper" in err
    assert henv.blob_names() == set()


def test_run_refused_pulls_leave_nothing(henv, tls_auth_registry):
    """hull run of an image it must pull: an auth failure, a bad reference or an unknown
    tag is one line, and no container, blob or image is left."""
    reg = tls_auth_registry
    henv.trust(reg)
    for ref, why in [(f"{reg.addr}/busybox", f"registry '{reg.addr}': authentication required"),
                     (f"{reg.addr}/BusyBox", "repository name must be lowercase"),
                     ("busybox@sha256:12", "digest must be 'sha256:' followed by 64 hex")]:
        err = error_line(henv.hull("run", "--rm", ref, "true"))
        assert why in err, err
    login(henv, reg)
    err = error_line(henv.hull("run", "--rm", f"{reg.addr}/busybox:no-such-tag", "true"))
    assert "not found" in err, err
    assert henv.blob_names() == set()
    assert not (henv.state / "apps").exists() or list((henv.state / "apps").iterdir()) == []
    p = henv.hull("image", "list", "--format", "json")
    assert [i for i in json.loads(p.stdout) if i.get("type") == "oci"] == []
