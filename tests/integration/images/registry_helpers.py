"""A real registry on loopback for the pull tests: Debian's docker-registry
(the CNCF distribution server), started by the test on 127.0.0.1:<free port>
with a config the test writes (storage in a temp dir), plain HTTP or TLS with
a CA the test makes with openssl, optionally htpasswd or token auth.

Every Registry is stopped by its own pid; its temp dir goes with it.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HULL = REPO / "build" / "src" / "cli" / "hull"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, input=None, env=None, timeout=120, check=False):
    p = subprocess.run(
        [str(a) for a in argv],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and p.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        )
    return p


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class CA:
    """A test CA and a server certificate for 127.0.0.1 / localhost."""

    def __init__(self, d):
        self.dir = Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.crt"
        self.key = self.dir / "ca.key"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=hull test CA", "-keyout", self.key, "-out", self.cert], check=True)
        self.server_cert, self.server_key = self.issue("server", ["IP:127.0.0.1", "DNS:localhost"])

    def issue(self, name, sans):
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        crt = self.dir / f"{name}.crt"
        ext = self.dir / f"{name}.ext"
        ext.write_text("subjectAltName=" + ",".join(sans) + "\n")
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", key, "-out", csr], check=True)
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt], check=True)
        return crt, key


class Registry:
    def __init__(self, tls_ca=None, htpasswd=None, token=None, client_certs=False):
        """tls_ca: a CA (serve HTTPS with its server cert); htpasswd: (user, password);
        token: dict(realm=, service=, issuer=, rootcertbundle=) for bearer tokens;
        client_certs: TLS clients must present a certificate the CA issued."""
        self.tmp = Path(tempfile.mkdtemp(prefix="hull-registry-"))
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.data = self.tmp / "data"
        self.tls = tls_ca is not None
        self.ca = tls_ca
        self.client_certs = client_certs
        self.proc = None
        cfg = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.data}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.addr}",
        ]
        if tls_ca:
            cfg += ["  tls:", f"    certificate: {tls_ca.server_cert}", f"    key: {tls_ca.server_key}"]
            if client_certs:
                cfg += ["    clientcas:", f"      - {tls_ca.cert}"]
        if htpasswd:
            user, password = htpasswd
            hp = self.tmp / "htpasswd"
            p = run(["htpasswd", "-Bbn", user, password], check=True)
            hp.write_text(p.stdout)
            cfg += ["auth:", "  htpasswd:", "    realm: hull-test", f"    path: {hp}"]
        if token:
            cfg += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in token.items()]
        (self.tmp / "config.yml").write_text("\n".join(cfg) + "\n")
        self.log = self.tmp / "registry.log"

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["docker-registry", "serve", str(self.tmp / "config.yml")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(cafile=str(self.ca.cert))
        url = f"{'https' if self.tls else 'http'}://{self.addr}/v2/"
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"docker-registry exited:\n{self.log.read_text()}")
            try:
                if self.client_certs:
                    # the handshake needs a client certificate: a listening port will do
                    socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                    return self
                urllib.request.urlopen(url, timeout=2, context=ctx)
                return self
            except urllib.error.HTTPError:
                return self  # 401: up, wants auth
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"docker-registry did not come up:\n{self.log.read_text()}")
                time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.data / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def log_text(self):
        return self.log.read_text(errors="replace")


def skopeo_push(src, dest, tls_verify=False, cert_dir=None, creds=None, all_images=False):
    """skopeo copy SRC docker://DEST (skopeo's blob-info cache in /var/lib/containers is
    removed by the session fixture when it was not there before)."""
    argv = ["skopeo", "copy", "--quiet"]
    if all_images:
        argv.append("--all")
    argv += [f"--dest-tls-verify={'true' if tls_verify else 'false'}"]
    if cert_dir:
        argv += ["--dest-cert-dir", str(cert_dir)]
    if creds:
        argv += ["--dest-creds", creds]
    argv += [src, f"docker://{dest}"]
    env = dict(os.environ, REGISTRY_AUTH_FILE="/nonexistent/hull-test-auth.json")
    run(argv, env=env, check=True)


def make_multiarch_layout(src_layout, dest):
    """An OCI layout at dest whose tag 'multi' names an index of two manifests,
    linux/amd64 and linux/arm64 (same layer, configs differing in architecture),
    built by hand from the busybox layout. Returns {platform: manifest digest}."""
    src = Path(src_layout)
    dest = Path(dest)
    shutil.copytree(src, dest)
    blobs = dest / "blobs" / "sha256"

    def put(obj):
        data = json.dumps(obj, separators=(",", ":")).encode()
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return "sha256:" + d, len(data)

    top = json.loads((dest / "index.json").read_text())
    mdesc = top["manifests"][0]
    manifest = json.loads((blobs / mdesc["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    out = {}
    entries = []
    for arch in ("amd64", "arm64"):
        c = dict(config, architecture=arch, os="linux")
        if arch == "arm64":
            c["variant"] = "v8"
        cd, cs = put(c)
        m = dict(manifest)
        m["config"] = dict(manifest["config"], digest=cd, size=cs)
        md, ms = put(m)
        plat = {"architecture": arch, "os": "linux"}
        if arch == "arm64":
            plat["variant"] = "v8"
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": md, "size": ms, "platform": plat})
        out[f"linux/{arch}"] = md
    idx_d, idx_s = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries})
    top["manifests"] = [{"mediaType": "application/vnd.oci.image.index.v1+json",
                         "digest": idx_d, "size": idx_s,
                         "annotations": {"org.opencontainers.image.ref.name": "multi"}}]
    (dest / "index.json").write_text(json.dumps(top))
    out["index"] = idx_d
    return out


class HullEnv:
    """hull with its own state dir, auth file, registries.conf and certs.d dirs."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.state = self.tmp / "state"
        self.auth_file = self.tmp / "auth" / "auth.json"
        self.registries_conf = self.tmp / "registries.conf"
        self.registries_conf.write_text("")
        self.certs_d = self.tmp / "certs.d"
        self.certs_d.mkdir()
        self.env = dict(
            os.environ,
            HULL_DIR=str(self.state),
            REGISTRY_AUTH_FILE=str(self.auth_file),
            CONTAINERS_REGISTRIES_CONF=str(self.registries_conf),
            HULL_REGISTRIES_CONF=str(self.tmp / "hull-registries.conf"),
            HULL_CERTS_DIRS=str(self.certs_d),
        )

    def hull(self, *args, input=None, timeout=120, env=None):
        e = dict(self.env, **(env or {}))
        return run([HULL, *args], input=input, env=e, timeout=timeout)

    def trust(self, registry):
        d = self.certs_d / registry.addr
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(registry.ca.cert, d / "ca.crt")
        return d

    @property
    def blobs(self):
        return self.state / "images" / "blobs" / "sha256"

    def blob_names(self):
        if not self.blobs.is_dir():
            return set()
        return {p.name for p in self.blobs.iterdir()}

    def pulled_digest(self, p, env=None):
        """The manifest digest of the image a successful `hull image pull` printed the ID
        of, as the image store lists it (so the image is registered, not just fetched)."""
        assert p.returncode == 0, p.stderr
        image_id = p.stdout.strip()
        lst = self.hull("image", "list", "--format", "json", env=env)
        assert lst.returncode == 0, lst.stderr
        for img in json.loads(lst.stdout):
            if img.get("type") == "oci" and img.get("id") == image_id:
                return img["digest"]
        raise AssertionError(f"image '{image_id}' not in 'hull image list':\n{lst.stdout}")

    def has_blob(self, digest):
        return (self.blobs / digest.split(":", 1)[1]).is_file()
