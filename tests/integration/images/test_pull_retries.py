"""Retries: a registry that fails on purpose. docker-registry cannot be told to answer 503
or to drop a connection halfway, so this is a small Distribution API server in the test
(plain HTTP on loopback) serving the busybox OCI layout, with faults injected per request.
The same pulls against the real docker-registry are in test_pull_registry.py."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from faulty_registry import faulty  # noqa: F401
from registry_fixtures import busybox_layout, henv  # noqa: F401


def test_5xx_and_reset_are_retried(henv, faulty):
    layer = faulty.manifest["layers"][0]["digest"]
    config = faulty.manifest["config"]["digest"]
    faulty.faults[layer] = ["503", "reset", "ok"]
    faulty.faults[config] = ["503", "ok"]
    p = henv.hull("image", "pull", "--tls-verify=false", f"{faulty.addr}/busybox")
    assert p.returncode == 0, p.stderr
    assert henv.pulled_digest(p) == faulty.manifest_digest
    assert henv.has_blob(layer) and henv.has_blob(config)
    got = [f for path, f in faulty.log if path.endswith(layer)]
    assert got == ["503", "reset", "ok"], faulty.log
    assert "retrying" in p.stderr


def test_retries_are_bounded(henv, faulty):
    layer = faulty.manifest["layers"][0]["digest"]
    faulty.faults[layer] = ["reset"] * 10
    p = henv.hull("image", "pull", "--tls-verify=false", f"{faulty.addr}/busybox")
    assert p.returncode != 0
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert len(errs) == 1, p.stderr
    assert f"registry '{faulty.addr}'" in errs[0]
    assert len([1 for path, _ in faulty.log if path.endswith(layer)]) == 4, faulty.log
    assert not henv.has_blob(layer)
    assert not [n for n in henv.blob_names() if n.startswith(".")]

    faulty.faults[layer] = ["503"] * 10
    p = henv.hull("image", "pull", "--tls-verify=false", f"{faulty.addr}/busybox")
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert p.returncode != 0 and len(errs) == 1, p.stderr
    assert f"blob '{layer}': busy (UNAVAILABLE) (HTTP 503)" in errs[0]
    assert not henv.has_blob(layer)


class Storage:
    """Where blobs are redirected (another host name: localhost, not 127.0.0.1);
    records the headers of every request."""

    def __init__(self, layout):
        self.layout = Path(layout)
        self.seen = []
        srv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.seen.append((self.path, dict(self.headers)))
                d = self.path.rsplit("/", 1)[1]
                data = (srv.layout / "blobs" / "sha256" / d.split(":")[1]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://localhost:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def test_credentials_never_follow_a_redirect_to_another_host(henv, faulty, busybox_layout):
    import base64

    storage = Storage(busybox_layout)
    try:
        faulty.basic = "Basic " + base64.b64encode(b"u:pw").decode()
        faulty.redirect = storage.url
        henv.auth_file.parent.mkdir(parents=True, exist_ok=True)
        henv.auth_file.write_text(json.dumps({"auths": {faulty.addr: {"auth": "dTpwdw=="}}}))
        p = henv.hull("image", "pull", "-q", "--tls-verify=false", f"{faulty.addr}/busybox")
        assert p.returncode == 0, p.stderr
        layer = faulty.manifest["layers"][0]["digest"]
        assert henv.has_blob(layer)
        assert any(path.endswith(layer) for path, _ in storage.seen), storage.seen
        for path, headers in storage.seen:
            assert "Authorization" not in headers, (path, headers)
    finally:
        storage.close()


@pytest.mark.parametrize("ctype,why", [
    ("application/vnd.oci.image.config.v1+json", "is not an image manifest or index"),
    ("text/html", "is not an image manifest or index"),
    ("application/vnd.docker.distribution.manifest.v1+prettyjws", "(Docker schema 1) is not supported"),
    ("application/vnd.oci.image.index.v1+json", ""),  # says index, is a manifest
])
def test_manifest_of_the_wrong_media_type(henv, faulty, ctype, why):
    faulty.manifest_type = ctype
    p = henv.hull("image", "pull", "--tls-verify=false", f"{faulty.addr}/busybox")
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert p.returncode != 0 and len(errs) == 1, p.stderr
    assert f"pull '{faulty.addr}/busybox:latest'" in errs[0]
    if why:
        assert f"media type '{ctype}' {why}" in errs[0]
    assert henv.blob_names() == set()


def test_manifest_by_digest_must_match(henv, faulty):
    wrong = "sha256:" + "0" * 64
    p = henv.hull("image", "pull", "--tls-verify=false", f"{faulty.addr}/busybox@{wrong}")
    errs = [l for l in p.stderr.splitlines() if l.startswith("hull: ")]
    assert p.returncode != 0 and len(errs) == 1, p.stderr
    assert f"manifest '{wrong}': digest mismatch (got '{faulty.manifest_digest}')" in errs[0]
    assert henv.blob_names() == set()
