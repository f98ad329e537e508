"""proxy devices: the instance's monitor listens in the host's network namespace and
connects from inside the instance's (docs/networks.md, "Proxy devices").

hull runs in a network namespace the test made: the proxy's listening port and
every client live there; the server runs inside the instance on its own loopback."""

import hashlib
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from sysharness import inside, new_name, one_line_error, wait_running
from test_network_nic import nethull  # noqa: F401 (a fixture)


def fetch(h, url, timeout=30):
    """busybox wget in the test's namespace (the proxy's "host" side)."""
    return subprocess.run(["nsenter", f"--net=/run/netns/{h.netns}", "busybox", "wget", "-q",
                           "-O", "-", url], capture_output=True, timeout=timeout)


def test_proxy_reaches_a_server_inside(nethull, debian_image):
    h = nethull
    name = new_name("prx")
    h("init", "debian/12", name, timeout=120)
    h("config", "device", "add", name, "web", "proxy", "listen=tcp:127.0.0.1:8080",
      "connect=tcp:127.0.0.1:80")
    show = h("config", "device", "show", name).stdout
    assert "web.listen: tcp:127.0.0.1:8080" in show and "web.type: proxy" in show
    h("start", name, timeout=120)
    state, failed = wait_running(h, name)
    assert state == "running", failed

    # a server on the instance's own loopback, which nothing outside can reach directly
    h("file", "push", "/bin/busybox", f"{name}/usr/local/bin/busybox", "--mode", "0755")
    inside(h, name, "mkdir -p /srv && echo hello-from-inside > /srv/index.html && "
                    "head -c 3000000 /dev/urandom > /srv/big && "
                    "busybox httpd -p 127.0.0.1:80 -h /srv")
    want = inside(h, name, "sha256sum /srv/big").split()[0]

    deadline = time.monotonic() + 30
    while True:
        p = fetch(h, "http://127.0.0.1:8080/index.html")
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert p.stdout == b"hello-from-inside\n", p.stderr
    # a large body through the bounded buffers, and several clients at once
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: fetch(h, "http://127.0.0.1:8080/big", 60), range(4)))
    for p in got:
        assert p.returncode == 0, p.stderr
        assert hashlib.sha256(p.stdout).hexdigest() == want

    # a client that asks for a large body and never reads it stalls only itself
    stalled = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{h.netns}", "python3", "-c",
         "import socket, time\n"
         "s = socket.create_connection(('127.0.0.1', 8080))\n"
         "s.sendall(b'GET /big HTTP/1.0\\r\\n\\r\\n')\n"
         "print('sent', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert stalled.stdout.readline() == "sent\n"
        p = fetch(h, "http://127.0.0.1:8080/index.html")
        assert p.returncode == 0 and p.stdout == b"hello-from-inside\n"
    finally:
        stalled.kill()
        stalled.wait()

    # stopped: nothing listens any more
    h("stop", "--force", name, timeout=60)
    p = fetch(h, "http://127.0.0.1:8080/index.html", 20)
    assert p.returncode != 0

    # a listen address taken by someone else fails the start, in one line
    holder = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{h.netns}", "python3", "-c",
         "import socket, time\n"
         "s = socket.socket()\n"
         # the proxy's closed connections may still be in TIME_WAIT
         "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('127.0.0.1', 8080)); s.listen()\n"
         "print('bound', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "bound\n"
        one_line_error(h("start", name, check=False, timeout=120),
                       "proxy 'web': listen on '127.0.0.1:8080': Address already in use")
        assert h.info(name)["status"] == "stopped"
    finally:
        holder.kill()
        holder.wait()


def test_proxy_bad_settings(hullsys, busybox_tar):
    name = new_name("prx")
    hullsys("image", "import", str(busybox_tar), "--alias", "bb")
    hullsys("init", "bb", name)
    cases = [
        (["listen=udp:0.0.0.0:53", "connect=tcp:127.0.0.1:53"],
         "proxy: listen: only tcp:ADDR:PORT is supported, got 'udp:0.0.0.0:53'"),
        (["listen=tcp:0.0.0.0:8080"], "proxy: missing connect=tcp:ADDR:PORT"),
        (["listen=tcp:0.0.0.0:99999", "connect=tcp:127.0.0.1:80"],
         "proxy: listen: expected tcp:ADDR:PORT, got 'tcp:0.0.0.0:99999'"),
        (["listen=tcp:0.0.0.0:80", "connect=tcp:localhost:80"],
         "proxy: connect: expected tcp:ADDR:PORT, got 'tcp:localhost:80'"),
        (["listen=tcp:0.0.0.0:80", "connect=tcp:127.0.0.1:80", "bind=host"],
         "proxy: unknown setting 'bind=host' (known: listen, connect)"),
    ]
    for settings, msg in cases:
        one_line_error(hullsys("config", "device", "add", name, "web", "proxy", *settings,
                               check=False), msg)
    assert hullsys("config", "device", "list", name).stdout == ""
