"""Shared helpers for hull's integration tests.

The fixtures in conftest.py are thin wrappers over what is defined here:

- Runtime: drives one OCI runtime binary (hull-runtime, or runc to validate the
  suite) with a private --root state dir.
- Bundle: a bundle dir (busybox rootfs + config.json built from a dict).
- console_socket(): receives the pty master a runtime sends for terminal: true.
- inside(): runs `sh -c SCRIPT` in a container and returns its stdout.
- busybox_rootfs(): the cached busybox rootfs (built by scripts/make-busybox-rootfs.sh).
- find_leaks() / clean_leaks(): what a test run left behind on the host.

Everything a test creates carries this session's id (SESSION) in its name, so
the leak checks only ever look at, and clean up, this run's own resources even
when other engineers run the suite on the same machine at the same time.
"""

import contextlib
import copy
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_HULL_BIN = REPO / "build" / "src" / "cli" / "hull-runtime"
STATE_BASE = Path("/run/hull-test")
CGROUP_ROOT = Path("/sys/fs/cgroup")
SESSION = uuid.uuid4().hex[:8]
ID_PREFIX = f"ht-{SESSION}-"
BUNDLE_PREFIX = f"hull-test-{SESSION}-"

# What this session created, for the leak checks.
_roots = []
_bundles = []
_counter = 0
_counter_lock = threading.Lock()


def new_id(tag=""):
    """A fresh container id unique to this session (`ht-<session>-<n>`)."""
    global _counter
    with _counter_lock:
        _counter += 1
        n = _counter
    return f"{ID_PREFIX}{tag}{n}"


def cgroups_path(name):
    """An absolute cgroupsPath private to this session, for tests that set one."""
    return f"/hull-test-{SESSION}/{name}"


# ----------------------------------------------------------------------------
# rootfs and the default spec


def busybox_rootfs():
    """Path of the cached busybox rootfs, built on first use."""
    path = REPO / ".cache" / "busybox-rootfs"
    if not (path / "bin" / "busybox").exists() or not _same_file_content(
        path / "bin" / "busybox", Path("/bin/busybox")
    ):
        subprocess.run([str(REPO / "scripts" / "make-busybox-rootfs.sh")], check=True)
    return path


def _same_file_content(a, b):
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def default_spec(args=None):
    """runc's default spec (as `runc spec` prints it) with terminal false."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args) if args is not None else ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": list(caps),
                "effective": list(caps),
                "permitted": list(caps),
                "ambient": list(caps),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": [
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
            ],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def deep_merge(dst, src):
    """Merge dict src into dict dst recursively (lists and scalars replace)."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


# ----------------------------------------------------------------------------
# bundles


class Bundle:
    """A bundle dir: `path`, `rootfs`, `config` (a dict, mutate freely), `cid`.

    `cid` is a fresh id reserved for this bundle; Runtime.create/run use it the
    first time they are called without an explicit id (later calls get new ids)
    and set it to the id they used. save() writes config.json.
    """

    def __init__(self, path, config, cid=None):
        self.path = Path(path)
        self.rootfs = self.path / "rootfs"
        self.config = config
        self.cid = cid or new_id()
        self._cid_used = False
        self._default_runtime_is_hull = None

    def take_cid(self, cid=None):
        if cid is None:
            cid = self.cid if not self._cid_used else new_id()
        self._cid_used = True
        self.cid = cid
        return cid

    @property
    def config_path(self):
        return self.path / "config.json"

    def save(self, runtime=None):
        """Write config.json.

        runc (and any runtime that is not hull) puts a container without
        linux.cgroupsPath relative to the CALLER's cgroup, which on these hosts
        is a machine-management cgroup that must not be touched. For those
        runtimes the written file gets `/hull/<cid>` (hull's own default),
        so both runtimes put containers in the same place; self.config is
        left as it is.
        """
        cfg = self.config
        is_hull = runtime.is_hull if runtime is not None else default_runtime_is_hull()
        linux = cfg.get("linux")
        if not is_hull and isinstance(linux, dict) and not linux.get("cgroupsPath"):
            cfg = copy.deepcopy(cfg)
            cfg["linux"]["cgroupsPath"] = f"/hull/{self.cid}"
        tmp = self.path / ".config.json.tmp"
        tmp.write_text(json.dumps(cfg, indent=2) + "\n")
        os.replace(tmp, self.config_path)
        return self.config_path

    def __repr__(self):
        return f"Bundle({str(self.path)!r}, cid={self.cid!r})"


_SPECIAL_KW = ("cid", "terminal", "env", "cwd", "hostname", "annotations", "readonly")


def make_bundle(args=None, **kw):
    """Make a fresh bundle under /tmp/hull-test-<session>-XXXX/bundle.

    Keyword arguments:
      cid=ID            the id reserved in Bundle.cid
      terminal=BOOL     process.terminal
      env=[...]         appended to process.env
      cwd=PATH          process.cwd
      hostname=NAME     hostname
      annotations={..}  annotations
      readonly=BOOL     root.readonly
      any other key     deep-merged into the config at the top level, e.g.
                        linux={"resources": {"pids": {"limit": 10}}}
    """
    src = busybox_rootfs()
    top = Path(tempfile.mkdtemp(prefix=BUNDLE_PREFIX, dir="/tmp"))
    os.chmod(top, 0o755)
    _bundles.append(top)
    path = top / "bundle"
    path.mkdir()
    shutil.copytree(src, path / "rootfs", symlinks=True)
    cfg = default_spec(args)
    if "terminal" in kw:
        cfg["process"]["terminal"] = bool(kw["terminal"])
    if "env" in kw:
        cfg["process"]["env"] += list(kw["env"])
    if "cwd" in kw:
        cfg["process"]["cwd"] = kw["cwd"]
    if "hostname" in kw:
        cfg["hostname"] = kw["hostname"]
    if "annotations" in kw:
        cfg["annotations"] = dict(kw["annotations"])
    if "readonly" in kw:
        cfg["root"]["readonly"] = bool(kw["readonly"])
    deep_merge(cfg, {k: v for k, v in kw.items() if k not in _SPECIAL_KW})
    b = Bundle(path, cfg, kw.get("cid"))
    b.save()
    return b


def remove_bundle_dir(top):
    """Remove a bundle's top dir, never descending into a mount below it."""
    top = Path(top)
    if not top.exists():
        return True
    for mp in sorted(mounts_under(top), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if mounts_under(top):
        return False
    shutil.rmtree(top, ignore_errors=True)
    return not top.exists()


# ----------------------------------------------------------------------------
# runtimes


class RuntimeError_(AssertionError):
    pass


def resolve_runtime_bin():
    """The runtime under test: $HULL_RUNTIME (path or name on PATH) or build/'s hull-runtime."""
    env = os.environ.get("HULL_RUNTIME")
    if env:
        if "/" in env:
            return str(Path(env).resolve())
        found = shutil.which(env)
        return found or env
    return str(DEFAULT_HULL_BIN)


_identity_cache = {}


def runtime_identity(binary):
    """(name, version line, is_hull) of a runtime binary, from `--version`."""
    if binary in _identity_cache:
        return _identity_cache[binary]
    first = ""
    try:
        p = subprocess.run(
            [binary, "--version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=30,
        )
        first = (p.stdout.splitlines() or [""])[0]
    except (OSError, subprocess.TimeoutExpired):
        pass
    base = os.path.basename(binary)
    if first.startswith("hull-runtime"):
        name, is_hull = "hull-runtime", True
    elif first:
        name, is_hull = first.split()[0], False
    else:
        is_hull = base.startswith("hull")
        name = "hull-runtime" if is_hull else base
    _identity_cache[binary] = (name, first, is_hull)
    return _identity_cache[binary]


def default_runtime_is_hull():
    return runtime_identity(resolve_runtime_bin())[2]


def make_state_root():
    """A fresh state dir /run/hull-test/<uuid> (mode 0700)."""
    for _ in range(5):
        root = STATE_BASE / f"{SESSION}-{uuid.uuid4().hex[:12]}"
        try:
            STATE_BASE.mkdir(mode=0o755, parents=True, exist_ok=True)
            root.mkdir(mode=0o700)
            _roots.append(root)
            return root
        except FileNotFoundError:
            continue  # another session removed an empty STATE_BASE meanwhile
    raise OSError(f"cannot create a state dir under {STATE_BASE}")


class Runtime:
    """One OCI runtime binary with a private --root.

    Calling the object runs `[bin, --root, root, *global_args, *args]`.
    Output goes to temp files, not pipes: a detached container inherits the
    runtime's stdio, and a pipe would then never reach EOF.
    """

    def __init__(self, binary, root=None):
        self.bin = str(binary)
        self.name, self.version_line, self.is_hull = runtime_identity(self.bin)
        self.root = Path(root) if root else make_state_root()
        self.used_ids = set()

    def __repr__(self):
        return f"Runtime({self.bin!r}, root={str(self.root)!r}, is_hull={self.is_hull})"

    def argv(self, *args, global_args=(), root=None):
        return [self.bin, "--root", str(root or self.root), *map(str, global_args), *map(str, args)]

    def __call__(
        self, *args, check=True, input=None, timeout=60, env=None, global_args=(), root=None
    ):
        """Run the runtime; returns subprocess.CompletedProcess (text output).

        env: extra variables merged over os.environ. root: override --root.
        With check=True a non-zero exit raises an AssertionError with argv,
        exit code, stdout and stderr.
        """
        argv = self.argv(*args, global_args=global_args, root=root)
        for a in args:
            if isinstance(a, str) and a.startswith(ID_PREFIX):
                self.used_ids.add(a)
        full_env = None
        if env is not None:
            full_env = dict(os.environ)
            full_env.update(env)
        p = run_captured(argv, input=input, timeout=timeout, env=full_env)
        if check and p.returncode != 0:
            raise RuntimeError_(describe(p, "failed"))
        return p

    # -- lifecycle shortcuts -------------------------------------------------

    def prepare(self, bundle, cid=None):
        """Pick the id (as create/run do) and write config.json; returns the id.
        For tests that build their own argv (e.g. a foreground run in Popen)."""
        return self._prepare(bundle, cid)

    def _prepare(self, bundle, cid):
        cid = bundle.take_cid(cid)
        self.used_ids.add(cid)
        bundle.save(runtime=self)
        return cid

    def run(self, bundle, cid=None, check=False, timeout=60, extra=(), input=None):
        """`run --bundle B [extra] ID` in the foreground; exit code = the container's."""
        cid = self._prepare(bundle, cid)
        return self("run", "--bundle", bundle.path, *extra, cid, check=check, timeout=timeout, input=input)

    def create(self, bundle, cid=None, extra=()):
        """`create --bundle B [extra] ID`; returns the id."""
        cid = self._prepare(bundle, cid)
        self("create", "--bundle", bundle.path, *extra, cid)
        return cid

    def start(self, cid):
        return self("start", cid)

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def delete(self, cid, force=False):
        return self("delete", *(["--force"] if force else []), cid)

    def kill(self, cid, sig="TERM"):
        return self("kill", cid, str(sig))

    def list(self):
        """`list --format json` as a list of dicts (runc prints null when empty)."""
        out = self("list", "--format", "json").stdout.strip()
        return json.loads(out) or [] if out else []

    def wait_status(self, cid, status, timeout=10):
        """Poll `state` until status matches; returns the state dict."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            p = self("state", cid, check=False)
            if p.returncode == 0:
                last = json.loads(p.stdout)
                if last.get("status") == status:
                    return last
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"container {cid!r} did not reach status {status!r} within {timeout}s; "
                    f"last state: {last}; last call: {describe(p, 'returned')}"
                )
            time.sleep(0.05)

    # -- teardown ------------------------------------------------------------

    def container_ids(self):
        ids = set()
        try:
            ids.update(c["id"] for c in self.list())
        except (AssertionError, ValueError, KeyError, TypeError):
            pass
        if self.root.is_dir():
            for e in self.root.iterdir():
                if e.is_dir() and not e.name.startswith("."):
                    ids.add(e.name)
        return ids

    def cleanup(self):
        """delete --force every container, then remove the state dir. Returns problems."""
        problems = []
        for cid in sorted(self.container_ids()):
            p = self("delete", "--force", cid, check=False, timeout=30)
            if p.returncode != 0:
                self("kill", cid, "KILL", check=False, timeout=10)
                time.sleep(0.2)
                p = self("delete", "--force", cid, check=False, timeout=30)
                if p.returncode != 0:
                    problems.append(describe(p, "failed at teardown"))
        if self.root.exists():
            if mounts_under(self.root):
                for mp in sorted(mounts_under(self.root), key=len, reverse=True):
                    subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
                problems.append(f"mounts left under state dir '{self.root}'")
            shutil.rmtree(self.root, ignore_errors=True)
        _rmdir_quiet(STATE_BASE)
        return problems


def run_captured(argv, input=None, timeout=60, env=None, cwd=None):
    """subprocess.run with stdout/stderr into temp files (see Runtime)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            p = subprocess.run(
                argv,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
                timeout=timeout,
                env=env,
                cwd=cwd,
            )
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = None
        out.seek(0)
        err.seek(0)
        cp = subprocess.CompletedProcess(argv, rc, out.read(), err.read())
        if rc is None:
            raise AssertionError(describe(cp, f"timed out after {timeout}s"))
        return cp


def describe(p, what):
    return (
        f"command {what}: {' '.join(map(str, p.args))}\n"
        f"exit code: {p.returncode}\n"
        f"--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"
    )


# ----------------------------------------------------------------------------
# running a script inside a container


def inside(hull, bundle, script, check=True, timeout=60, extra=()):
    """stdout of `sh -c SCRIPT` run (foreground, fresh id) with the bundle's config.

    With check=True a non-zero exit raises an AssertionError with the output.
    process.args is restored afterwards.
    """
    saved = bundle.config["process"].get("args")
    bundle.config["process"]["args"] = ["sh", "-c", script]
    try:
        p = hull.run(bundle, new_id(), check=False, timeout=timeout, extra=extra)
    finally:
        bundle.config["process"]["args"] = saved
        bundle.save(runtime=hull)
    if check and p.returncode != 0:
        raise AssertionError(describe(p, "(script inside the container) failed"))
    return p.stdout


# ----------------------------------------------------------------------------
# console socket


class ConsoleSocket:
    """A unix socket a runtime connects to (--console-socket) to hand over a
    pty master via SCM_RIGHTS. Accepts any number of connections (create and
    later exec --tty); fds are kept in arrival order."""

    def __init__(self):
        self._dir = tempfile.mkdtemp(prefix=f"hull-test-{SESSION}-console-")
        self.path = os.path.join(self._dir, "console.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._sock.bind(self.path)
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._fds = []
        self.messages = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                except OSError:
                    continue
            with self._cond:
                self.messages.append(msg)
                self._fds.extend(fds)
                self._cond.notify_all()

    def master_fd(self, index=0, timeout=10):
        """The index-th pty master received (waits up to timeout seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._fds) <= index:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no pty master #{index} received on '{self.path}'")
                self._cond.wait(left)
            return self._fds[index]

    def write(self, data, index=0):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.master_fd(index), data)

    def read_until(self, needle, timeout=10, index=0):
        """Read from the pty master until needle (str) shows up; returns all read."""
        fd = self.master_fd(index, timeout)
        buf = b""
        want = needle.encode() if isinstance(needle, str) else needle
        deadline = time.monotonic() + timeout
        while want not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen on the pty; got {buf!r}")
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the slave side is closed
                chunk = b""
            if not chunk:
                raise AssertionError(f"pty closed before {needle!r}; got {buf!r}")
            buf += chunk
        return buf.decode(errors="replace")

    def close(self):
        self._stop = True
        try:
            self._sock.close()
        except OSError:
            pass
        self._thread.join(5)
        with self._cond:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = []
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def console_socket():
    """Context manager yielding a ConsoleSocket (.path, .master_fd(), .read_until(), .write())."""
    cs = ConsoleSocket()
    try:
        yield cs
    finally:
        cs.close()


# ----------------------------------------------------------------------------
# cgroups as seen from a pid


def cgroup_dir(pid, controller):
    """Host path of the cgroup dir of `pid` for a v1 controller (e.g. 'memory'),
    or the v2 dir when the controller is not on v1 (or controller is '')."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    v2 = None
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            v2 = path
            continue
        if controller and controller in ctrls.split(","):
            mnt = CGROUP_ROOT / ctrls
            if not mnt.is_dir():  # e.g. cpu,cpuacct mounted under a joined name
                mnt = CGROUP_ROOT / controller
            return mnt / path.lstrip("/")
    if v2 is None:
        raise AssertionError(f"pid {pid} has no cgroup for '{controller}'")
    base = CGROUP_ROOT / "unified" if (CGROUP_ROOT / "unified").is_dir() else CGROUP_ROOT
    return base / v2.lstrip("/")


def is_cgroup_v2_only():
    return (CGROUP_ROOT / "cgroup.controllers").exists()


# ----------------------------------------------------------------------------
# leak checks


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def wait_for(pred, timeout=10, what="condition"):
    """Poll pred() until truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _rmdir_quiet(path):
    with contextlib.suppress(OSError):
        os.rmdir(path)


def mounts_under(path):
    """Mount points (host mount namespace) at or below path."""
    path = str(path).rstrip("/")
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                res.append(mp)
    return res


def _our_markers():
    return [str(b) for b in _bundles] + [str(r) for r in _roots]


def _cgroup_leaks():
    """Container cgroup dirs of this session still present: /sys/fs/cgroup/*/hull/ht-<session>-*
    and anything below /sys/fs/cgroup/*/hull-test-<session>*."""
    leaks = []
    if not CGROUP_ROOT.is_dir():
        return leaks
    for hier in CGROUP_ROOT.iterdir():
        if not hier.is_dir():
            continue
        try:
            entries = list(hier.iterdir())
        except OSError:
            continue
        for e in entries:
            if not e.is_dir():
                continue
            if e.name == "hull":
                try:
                    for c in e.iterdir():
                        if c.is_dir() and c.name.startswith(ID_PREFIX):
                            leaks.append(c)
                except OSError:
                    pass
            elif e.name.startswith(f"hull-test-{SESSION}"):
                for dirpath, dirnames, _ in os.walk(e):
                    for d in dirnames:
                        leaks.append(Path(dirpath) / d)
    return leaks


def _process_leaks():
    """(pid, cmdline) of processes whose cmdline mentions a bundle or state dir of ours,
    or that sit in a leaked cgroup of ours."""
    markers = _our_markers()
    me = os.getpid()
    leaks = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            stat = (d / "stat").read_text()
            if stat[stat.rindex(")") + 2] in "ZX":
                continue  # dead, waiting for the host's init to reap it
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cg = (d / "cgroup").read_text()
        except (OSError, ValueError, IndexError):
            continue
        if any(m in cmd for m in markers) or ID_PREFIX in cg or f"/hull-test-{SESSION}" in cg:
            leaks[int(d.name)] = cmd.strip()
    return sorted(leaks.items())


def find_leaks():
    """Human-readable list of what this session left behind (empty when clean)."""
    found = []
    markers = _our_markers()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if any(m in line for m in markers) or ID_PREFIX in line:
                found.append(f"mount: {line.strip()}")
    for c in _cgroup_leaks():
        found.append(f"cgroup: {c}")
    for r in _roots:
        if r.exists():
            found.append(f"state dir: {r}")
    for pid, cmd in _process_leaks():
        found.append(f"process: {pid} {cmd}")
    return found


def clean_leaks():
    """Best-effort removal of what find_leaks() reports (our own resources only)."""
    for pid, _ in _process_leaks():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    # frozen (paused) leftovers cannot die until thawed
    for c in _cgroup_leaks():
        st = c / "freezer.state"
        if st.exists():
            with contextlib.suppress(OSError):
                st.write_text("THAWED")
        cf = c / "cgroup.freeze"
        if cf.exists():
            with contextlib.suppress(OSError):
                cf.write_text("0")
    time.sleep(0.1)
    for c in sorted(_cgroup_leaks(), key=lambda p: len(p.parts), reverse=True):
        _rmdir_quiet(c)
    for m in _our_markers():
        for mp in sorted(mounts_under(m), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
    for r in _roots:
        if r.exists() and not mounts_under(r):
            shutil.rmtree(r, ignore_errors=True)


_preexisting_parents = set()


def record_cgroup_parents():
    """Remember which /sys/fs/cgroup/*/hull dirs existed before the session."""
    if CGROUP_ROOT.is_dir():
        for hier in CGROUP_ROOT.iterdir():
            if (hier / "hull").is_dir():
                _preexisting_parents.add(hier / "hull")


def remove_session_cgroup_parents():
    """rmdir the (empty) parent cgroups the runtimes created for this session:
    /sys/fs/cgroup/*/hull-test-<session>* and /sys/fs/cgroup/*/hull when it did
    not exist before the session. rmdir fails harmlessly when not empty."""
    if not CGROUP_ROOT.is_dir():
        return
    for hier in CGROUP_ROOT.iterdir():
        if not hier.is_dir():
            continue
        try:
            entries = list(hier.iterdir())
        except OSError:
            continue
        for e in entries:
            if e.is_dir() and e.name.startswith(f"hull-test-{SESSION}"):
                for dirpath, dirnames, _ in sorted(os.walk(e), key=lambda t: -len(t[0])):
                    for d in dirnames:
                        _rmdir_quiet(Path(dirpath) / d)
                _rmdir_quiet(e)
        h = hier / "hull"
        if h.is_dir() and h not in _preexisting_parents:
            _rmdir_quiet(h)


def remove_all_bundles():
    problems = []
    for top in list(_bundles):
        if not remove_bundle_dir(top):
            problems.append(f"bundle dir '{top}' could not be removed (mounted?)")
    return problems


def assert_no_trace(runtime, cid, bundle=None):
    """Nothing of container cid is left: no state entry under --root, no cgroup
    dir /sys/fs/cgroup/*/hull/<cid>, no mount mentioning the bundle, no
    process whose cmdline mentions the bundle."""
    p = runtime("state", cid, check=False) if cid else None
    if p is not None:
        assert p.returncode != 0, f"container {cid!r} still exists:\n{p.stdout}"
    if cid and "/" not in cid and cid not in (".", ".."):
        assert not (runtime.root / cid).exists(), f"state dir entry '{runtime.root / cid}' left"
        left = list(CGROUP_ROOT.glob(f"*/hull/{cid}"))
        assert not left, f"cgroup dirs left: {left}"
    try:
        ids = [c["id"] for c in runtime.list()]
    except (AssertionError, ValueError, TypeError, KeyError):
        ids = []
    assert cid not in ids, f"container {cid!r} still listed"
    if bundle is not None:
        with open("/proc/self/mountinfo") as f:
            bad = [ln.strip() for ln in f if str(bundle.path) in ln]
        assert not bad, "mounts left:\n" + "\n".join(bad)
        procs = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and pid_alive(int(d.name)):
                try:
                    cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if str(bundle.path) in cmd:
                    procs.append(f"{d.name} {cmd}")
        assert not procs, "processes left:\n" + "\n".join(procs)


def dnsmasq_pids(state_dir):
    """pids of dnsmasq processes hull started for networks of this state dir."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"dnsmasq") and any(
                a.startswith(f"--pid-file={state_dir}/".encode()) for a in cmd):
            pids.append(int(d.name))
    return pids


def build_path(*parts):
    """A path in this build's tree ($BUILD, default build/)."""
    return REPO / os.environ.get("BUILD", "build") / Path(*parts)
