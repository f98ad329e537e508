"""hull console: attached through a real pty (python's pty module), every read bounded."""

import fcntl
import os
import select
import struct
import subprocess
import termios
import time

from sysharness import new_name
from sysharness import one_line_error, wait_running


def read_until(fd, needle, timeout=20):
    """Reads from fd until needle shows up (bounded); returns what was read."""
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen in {timeout} s; got {buf[-2000:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side closed
                chunk = b""
            if not chunk:
                raise AssertionError(f"closed before {needle!r}; got {buf[-2000:]!r}")
            buf += chunk
    return buf


def attach(h, name):
    master, slave = os.openpty()
    p = subprocess.Popen(h.argv("console", name), stdin=slave, stdout=slave, stderr=slave,
                         env=h.env, start_new_session=True)
    os.close(slave)
    return p, master


def test_console_attach_type_detach(hullsys, debian_image):
    name = new_name("con")
    hullsys("launch", "debian/12", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    p, master = attach(hullsys, name)
    try:
        read_until(master, b"detach: ctrl-a q")
        # what the instance writes on /dev/console reaches the client
        hullsys("exec", name, "--", "sh", "-c", "echo CONSOLE-MARK-42 > /dev/console")
        read_until(master, b"CONSOLE-MARK-42")
        # what the client types reaches the instance: systemd's console getty answers
        os.write(master, b"\r")
        read_until(master, b"login:")
        # one client at a time
        # (its stdin stays open: it leaves because the monitor closes it)
        second = subprocess.Popen(hullsys.argv("console", name), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=hullsys.env)
        try:
            assert second.wait(timeout=30) == 0
            assert b"another console client is attached" in second.stdout.read()
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(timeout=10)
            second.stdin.close()
            second.stdout.close()
        os.write(master, b"\x01q")
        read_until(master, b"detached", timeout=10)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        os.close(master)
    # the instance runs on, and the console can be attached again
    assert hullsys.info(name)["status"] == "running"
    p, master = attach(hullsys, name)
    try:
        read_until(master, b"detach: ctrl-a q")
        hullsys("stop", "--force", name, timeout=60)
        read_until(master, b"closed", timeout=20)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        os.close(master)
    one_line_error(hullsys("console", name, check=False, timeout=30),
                   f"instance '{name}' is not running")


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def console_size(h, name):
    """The size of the instance's console pty, as a program inside sees it."""
    return h("exec", name, "--", "stty", "-F", "/dev/console", "size").stdout.strip()


def wait_size(h, name, want, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = console_size(h, name)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_console_passes_the_terminal_size(hullsys, debian_image):
    name = new_name("cons")
    hullsys("launch", "debian/12", name, timeout=120)
    state, failed = wait_running(hullsys, name)
    assert state == "running", failed
    master, slave = os.openpty()
    set_size(master, 41, 133)

    def take_tty():  # the client's terminal is its controlling tty, as in a shell
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(hullsys.argv("console", name), stdin=slave, stdout=slave,
                         stderr=slave, env=hullsys.env, start_new_session=True,
                         preexec_fn=take_tty)
    os.close(slave)
    try:
        read_until(master, b"detach: ctrl-a q")
        # at attach: the user's size
        assert wait_size(hullsys, name, "41 133") == "41 133"
        # the user resizes the window: the kernel sends SIGWINCH, the client passes it on
        set_size(master, 52, 101)
        assert wait_size(hullsys, name, "52 101") == "52 101"
        os.write(master, b"\x01q")
        read_until(master, b"detached", timeout=10)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        os.close(master)
    # a size outlives the client
    assert console_size(hullsys, name) == "52 101"
