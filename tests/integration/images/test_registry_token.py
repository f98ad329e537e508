"""Bearer tokens: docker-registry with `auth: token:` trusting the test CA, and a small
token server (HTTPS on loopback, in this process) issuing RS256 JWTs whose x5c names a
signing certificate the CA issued, as Docker Hub's auth.docker.io does."""

import base64
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from registry_fixtures import PASSWORD, USER, busybox_layout, henv, test_ca  # noqa: F401
from registry_helpers import Registry, skopeo_push

jwt = pytest.importorskip("jwt")  # python3-jwt
from cryptography import x509  # noqa: E402  (python3-cryptography)
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402

SERVICE = "hull-test-registry"
ISSUER = "hull-test-token-issuer"


class TokenServer:
    def __init__(self, ca):
        self.signer_cert, self.signer_key = ca.issue("token-signer", ["DNS:token-signer"])
        der = x509.load_pem_x509_certificate(Path(self.signer_cert).read_bytes()).public_bytes(
            Encoding.DER)
        self.x5c = base64.b64encode(der).decode()
        self.key = Path(self.signer_key).read_bytes()
        self.requests = []  # (user or None, scope)
        self.stingy = 0  # the next N tokens grant nothing (to make the registry say 401)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = parse_qs(urlparse(self.path).query)
                scope = q.get("scope", [""])[0]
                user = None
                h = self.headers.get("Authorization", "")
                if h.startswith("Basic "):
                    u, _, p = base64.b64decode(h[6:]).decode().partition(":")
                    if (u, p) != (USER, PASSWORD):
                        self.send_response(401)
                        self.send_header("Content-Type", "application/json")
                        self.end_headers()
                        self.wfile.write(b'{"details":"invalid credentials"}')
                        server.requests.append(("<refused>", scope))
                        return
                    user = u
                server.requests.append((user, scope))
                access = []
                if scope and user and server.stingy == 0:
                    typ, name, actions = scope.split(":", 2)
                    access = [{"type": typ, "name": name, "actions": actions.split(",")}]
                if server.stingy:
                    server.stingy -= 1
                now = int(time.time())
                claims = {"iss": ISSUER, "sub": user or "", "aud": SERVICE, "exp": now + 300,
                          "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
                tok = jwt.encode(claims, server.key, algorithm="RS256",
                                 headers={"x5c": [server.x5c]})
                body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(ca.server_cert), str(ca.server_key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.realm = "https://127.0.0.1:%d/token" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


@pytest.fixture(scope="module")
def token_registry(busybox_layout, test_ca):
    ts = TokenServer(test_ca)
    reg = Registry(tls_ca=test_ca, token={"realm": ts.realm, "service": SERVICE,
                                          "issuer": ISSUER, "rootcertbundle": test_ca.cert})
    try:
        reg.start()
        certs = Path(reg.tmp) / "push-certs"
        certs.mkdir()
        (certs / "ca.crt").write_bytes(Path(test_ca.cert).read_bytes())
        skopeo_push(f"oci:{busybox_layout}:latest", f"{reg.addr}/busybox:latest",
                    tls_verify=True, cert_dir=certs, creds=f"{USER}:{PASSWORD}")
        yield reg, ts
    finally:
        reg.cleanup()
        ts.close()


def error_line(p):
    assert p.returncode != 0, p.stdout
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert len(errs) == 1, p.stderr
    return errs[0]


def test_bearer_token_pull_after_login(henv, token_registry):
    reg, ts = token_registry
    henv.trust(reg)
    # anonymous: the token grants nothing, the registry refuses
    err = error_line(henv.hull("image", "pull", f"{reg.addr}/busybox"))
    assert f"registry '{reg.addr}': authentication required" in err

    p = henv.hull("login", "-u", USER, "--password-stdin", reg.addr, input="wrong\n")
    assert "invalid username or password" in error_line(p)
    assert any(u == "<refused>" for u, _ in ts.requests), ts.requests

    p = henv.hull("login", "-u", USER, "--password-stdin", reg.addr, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    del ts.requests[:]
    p = henv.hull("image", "pull", f"{reg.addr}/busybox:latest")
    assert p.returncode == 0, p.stderr
    assert henv.has_blob(henv.pulled_digest(p))
    # the token was asked for the repository's pull scope, with the stored credentials
    assert (USER, "repository:busybox:pull") in ts.requests


def test_bearer_token_refreshed_on_401(henv, token_registry):
    reg, ts = token_registry
    henv.trust(reg)
    p = henv.hull("login", "-u", USER, "--password-stdin", reg.addr, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    del ts.requests[:]
    ts.stingy = 1  # the first token grants nothing: the manifest GET gets a 401
    p = henv.hull("image", "pull", "-q", f"{reg.addr}/busybox:latest")
    assert p.returncode == 0, p.stderr
    assert henv.has_blob(henv.pulled_digest(p))
    assert len([r for r in ts.requests if r[0] == USER]) >= 2, ts.requests
