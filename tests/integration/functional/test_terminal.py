"""process.terminal with runc's --console-socket protocol: the pty master is
handed to the socket, consoleSize is applied, the process has a controlling
terminal and /dev/console is the pty."""

import fcntl
import json
import os
import struct
import termios

from helpers import console_socket


# A non-interactive command loop: an interactive ash would query the cursor
# position and wait for the reply. Markers are printed as `$((1+1))` so the
# tty's echo of the command line never matches them.
LOOP = ["sh", "-c", 'while read -r line; do eval "$line"; done']


def tty_bundle(bundle, args=LOOP, rows=None, cols=None):
    b = bundle(list(args), terminal=True)
    if rows is not None:
        b.config["process"]["consoleSize"] = {"height": rows, "width": cols}
    return b


def test_console_size_and_controlling_tty(hull, bundle):
    b = tty_bundle(bundle, rows=30, cols=100)
    with console_socket() as cs:
        cid = hull.create(b, extra=["--console-socket", cs.path])
        hull.start(cid)
        cs.write("stty size; echo size-$((1+1))\n")
        out = cs.read_until("size-2\r\n")
        assert "30 100\r\n" in out
        # stdin/out/err are the pty slave, which is the controlling terminal.
        cs.write("tty; readlink /proc/self/fd/1; test -t 2 && echo err-is-tty; echo A-$$-B\n")
        out = cs.read_until("A-1-B\r\n")
        assert "/dev/pts/0\r\n" in out
        assert out.count("/dev/pts/0\r\n") >= 2
        assert "err-is-tty\r\n" in out
        # The shell is the session leader of the pty (pid 1 in the container).
        # /proc/1/stat fields 6 and 7: session id and tty_nr (136:0 = 34816).
        cs.write("cut -d' ' -f6,7 /proc/1/stat; echo ps-$((1+1))\n")
        assert "\r\n1 34816\r\nps-2\r\n" in cs.read_until("ps-2\r\n")
        cs.write("exit 7\n")
        hull.wait_status(cid, "stopped")


def test_dev_console_is_the_pty(hull, bundle):
    b = tty_bundle(bundle)
    with console_socket() as cs:
        cid = hull.create(b, extra=["--console-socket", cs.path])
        hull.start(cid)
        cs.write("stat -c '%F %t:%T' /dev/console /dev/pts/0; echo console-$((1+1))\n")
        out = cs.read_until("console-2\r\n")
        # Both are the same pty slave: char 136 (0x88):0.
        assert out.count("character special file 88:0\r\n") == 2, out
        cs.write("exit\n")
        hull.wait_status(cid, "stopped")


def test_terminal_window_resize_reaches_the_process(hull, bundle):
    b = tty_bundle(bundle, rows=10, cols=20)
    with console_socket() as cs:
        cid = hull.create(b, extra=["--console-socket", cs.path])
        hull.start(cid)
        cs.write("stty size; echo first-$((1+1))\n")
        assert "10 20\r\n" in cs.read_until("first-2\r\n")
        fcntl.ioctl(cs.master_fd(), termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
        cs.write("stty size; echo second-$((1+1))\n")
        assert "50 132\r\n" in cs.read_until("second-2\r\n")
        cs.write("exit\n")
        hull.wait_status(cid, "stopped")


def test_run_detached_with_console_socket(hull, bundle):
    b = tty_bundle(bundle, ["sh", "-c", "stty size; sleep 0.2; exit 3"], rows=24, cols=80)
    with console_socket() as cs:
        p = hull.run(b, extra=["--detach", "--console-socket", cs.path])
        assert p.returncode == 0, p.stderr
        # Output goes to the pty, not to the runtime's stdout.
        assert "24 80\r\n" in cs.read_until("24 80\r\n")
        assert "24 80" not in p.stdout
        hull.wait_status(b.cid, "stopped")


def test_console_socket_without_terminal_fails(hull, bundle):
    b = bundle(["true"])
    with console_socket() as cs:
        p = hull("create", "--bundle", b.path, "--console-socket", cs.path, b.cid, check=False)
    assert p.returncode != 0
    assert "console" in p.stderr
    assert hull.list() == []


def test_terminal_without_console_socket_fails_detached(hull, bundle):
    b = tty_bundle(bundle, ["true"])
    p = hull("create", "--bundle", b.path, b.cid, check=False)
    assert p.returncode != 0
    assert "console" in p.stderr
    assert hull.list() == []


def test_exec_with_tty(hull, bundle):
    b = bundle(["sleep", "10"])
    cid = hull.create(b)
    hull.start(cid)
    proc = {
        "terminal": True,
        "consoleSize": {"height": 12, "width": 34},
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", "stty size; tty; echo exec-$((1+1))"],
        "env": ["PATH=/bin:/usr/bin"],
        "cwd": "/",
    }
    pfile = os.path.join(b.path, "exec-process.json")
    with open(pfile, "w") as f:
        json.dump(proc, f)
    with console_socket() as cs:
        p = hull("exec", "--detach", "--process", pfile, "--console-socket", cs.path, cid)
        assert p.returncode == 0, p.stderr
        out = cs.read_until("exec-2\r\n")
        assert "12 34\r\n" in out
        # The exec'd process gets its own pty, not the container's stdio.
        assert "/dev/pts/0\r\n" in out
    hull.kill(cid, "KILL")
    hull.wait_status(cid, "stopped")
    hull.delete(cid)
