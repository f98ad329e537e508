"""A small Distribution API server (plain HTTP on loopback) serving the busybox OCI layout,
with faults injected per request: docker-registry cannot be told to answer 503, to drop a
connection halfway, or to stop in the middle of a blob."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class FaultyRegistry:
    def __init__(self, layout):
        self.layout = Path(layout)
        top = json.loads((self.layout / "index.json").read_text())
        self.manifest_digest = top["manifests"][0]["digest"]
        self.manifest = json.loads(self.blob(self.manifest_digest))
        self.log = []  # (path, what was done)
        self.faults = {}  # digest -> list of "503" | "reset" | "ok", consumed in order
        self.basic = None  # "Basic <b64>" every /v2/ request must carry, when set
        self.redirect = None  # "http://host:port": blobs are redirected there
        self.manifest_type = "application/vnd.oci.image.manifest.v1+json"
        self.holding = threading.Event()  # a "hold" fault has sent half of its blob
        self.release = threading.Event()  # ... and may end its response
        srv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, code, body=b"", ctype="application/json", length=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                p = self.path
                if srv.basic and self.headers.get("Authorization") != srv.basic:
                    srv.log.append((p, "401"))
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="faulty"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if p == "/v2/":
                    srv.log.append((p, "ok"))
                    return self.send(200, b"{}")
                if p.startswith("/v2/busybox/manifests/"):
                    srv.log.append((p, "ok"))
                    return self.send(200, srv.blob(srv.manifest_digest), srv.manifest_type)
                if p.startswith("/v2/busybox/blobs/"):
                    d = p.rsplit("/", 1)[1]
                    fault = (srv.faults.get(d) or ["ok"]).pop(0)
                    srv.log.append((p, fault))
                    data = srv.blob(d)
                    if srv.redirect:
                        self.send_response(307)
                        self.send_header("Location", f"{srv.redirect}/storage/{d}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if fault == "503":
                        return self.send(503, b'{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}')
                    if fault in ("hold", "reset"):
                        # headers promise the whole blob; half of it, then the connection
                        # drops ("hold": only once released, at most 60 s later)
                        self.send_response(200)
                        self.send_header("Content-Type", "application/octet-stream")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        if fault == "hold":
                            srv.holding.set()
                            srv.release.wait(60)
                        self.close_connection = True
                        return
                    return self.send(200, data, "application/octet-stream")
                srv.log.append((p, "404"))
                self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}')

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.addr = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def blob(self, digest):
        return (self.layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


@pytest.fixture
def faulty(busybox_layout):
    r = FaultyRegistry(busybox_layout)
    yield r
    r.close()
