"""The engine harness: run the runtime under test beneath real engines.

The runtime is the one the root conftest resolves ($HULL_RUNTIME, e.g.
`HULL_RUNTIME=/usr/sbin/runc` to validate the suite, or build/'s hull-runtime).
Each engine daemon is started by hand, once per module, on a private temp root
(/tmp/hull-test-<session>-<engine>-XXXX) and stopped by its own pid (SIGTERM,
then SIGKILL). Teardown leaves nothing behind: containers are removed through
the engine, then leftover processes (shims, conmon, container processes) are
killed by pid, mounts under the temp root unmounted, the engine's cgroups
(all under /hull-test-<session>-<engine>) removed, host directories the engine
created outside its root (e.g. /opt/containerd, /run/containerd/s) removed when
they did not exist before and are empty, and the temp root deleted.

Classes (the fixtures in conftest.py make one per module):
  Podman      podman with a temp containers.conf registering the runtime as `hull`
  Containerd  a containerd daemon + ctr client (namespace hull-test-<session>-ctr)
  Docker      a dockerd daemon (its own managed containerd) + the docker.io CLI

Set HULL_ENGINES_TRACE=1 to put a wrapper in front of the runtime that logs
every invocation (argv and exit code) to <engine root>/trace/calls.log;
failures then quote that log.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import helpers

SESSION = helpers.SESSION
IMAGE_SCRIPT = helpers.REPO / "scripts" / "make-busybox-images.sh"
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]

# Directories outside their temp roots that the engines create on first use.
HOST_DIRS = [
    "/opt/containerd",  # containerd's "opt" plugin (docker's managed containerd)
    "/run/containerd",  # shim sockets (/run/containerd/s), ctr fifos
    "/run/docker",  # dockerd's plugin socket dir /run/docker/plugins
    # the runtimes' default --root: `podman build` (buildah) calls the runtime without --root
    "/run/runc",
    "/run/hull",
    "/var/lib/containers",  # parent of the blob-info cache below
]
# Caches outside the temp roots, removed with their content when an engine made them:
# containers/image's blob-info cache (podman build's commit step writes it for root).
HOST_CACHES = ["/var/lib/containers/cache"]


def cgroup_parent(engine):
    """The absolute cgroup under which an engine puts its containers."""
    return f"/hull-test-{SESSION}-{engine}"


def missing_binaries(names):
    return [n for n in names if not shutil.which(n) and not os.path.exists(n)]


def skip_unless_installed(*names):
    """A module-level skip mark for engines that are not installed."""
    missing = missing_binaries(names)
    return pytest.mark.skipif(
        bool(missing),
        reason=f"not installed: {', '.join(missing)} (scripts/install-deps.sh installs them)",
    )


# ----------------------------------------------------------------------------
# host cleanup


def _tail(path, n=60):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def processes_matching(marker, cgroup_name):
    """pids (not ours) whose cmdline mentions marker or whose cgroup is below cgroup_name."""
    me = os.getpid()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            stat = (d / "stat").read_text()
            if stat[stat.rindex(")") + 2] in "ZX":
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cg = (d / "cgroup").read_text()
        except (OSError, ValueError, IndexError):
            continue
        if (marker and marker in cmd) or f":{cgroup_name}/" in cg or cg.rstrip().endswith(f":{cgroup_name}"):
            found.append((int(d.name), cmd.strip()))
    return found


def _thaw(path):
    for dirpath, _, files in os.walk(path):
        if "freezer.state" in files:
            with contextlib.suppress(OSError):
                Path(dirpath, "freezer.state").write_text("THAWED")
        if "cgroup.freeze" in files:
            with contextlib.suppress(OSError):
                Path(dirpath, "cgroup.freeze").write_text("0")


def cgroup_dirs(name):
    """Existing dirs /sys/fs/cgroup/<hierarchy>/<name> (name absolute, e.g. /hull-test-x-podman)."""
    root = helpers.CGROUP_ROOT
    if not root.is_dir():
        return []
    return [h / name.lstrip("/") for h in root.iterdir() if (h / name.lstrip("/")).is_dir()]


def remove_cgroup_tree(name):
    """Thaw, kill what is inside (our own containers), rmdir depth-first. Plain directories
    on the cgroup tmpfs (what podman/conmon make for controllers that are not mounted) are
    removed with their files. Returns the paths that could not be removed."""
    tmpfs_dev = helpers.CGROUP_ROOT.stat().st_dev
    left = []
    for top in cgroup_dirs(name):
        if top.stat().st_dev == tmpfs_dev:
            shutil.rmtree(top, ignore_errors=True)
            if top.exists():
                left.append(str(top))
            continue
        _thaw(top)
        for dirpath, _, files in os.walk(top):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError):
                    for pid in Path(dirpath, "cgroup.procs").read_text().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
        for _ in range(50):
            for dirpath, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
            if not top.exists():
                break
            time.sleep(0.1)
        if top.exists():
            left.append(str(top))
    return left


def unmount_under(path):
    for mp in sorted(helpers.mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
    return helpers.mounts_under(path)


def _cgroup_root_entries():
    root = helpers.CGROUP_ROOT
    return {str(e) for e in root.iterdir()} if root.is_dir() else set()


def existing_host_dirs():
    """What remove_new_host_dirs() compares with: HOST_DIRS, HOST_CACHES and the
    entries of /sys/fs/cgroup that exist now."""
    return {p for p in HOST_DIRS + HOST_CACHES if os.path.lexists(p)} | _cgroup_root_entries()


def _remove_empty_tree(path):
    """Remove path if it holds nothing but (nested) empty directories."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return
    for child in path.iterdir():
        _remove_empty_tree(child)
    with contextlib.suppress(OSError):
        path.rmdir()


def remove_new_host_dirs(before):
    """Remove the HOST_DIRS an engine created (absent in `before`) when they are empty,
    the HOST_CACHES it created, and the plain dirs it made in /sys/fs/cgroup."""
    left = []
    # plain dirs podman/conmon made on the cgroup tmpfs for controllers that are not
    # mounted (e.g. /sys/fs/cgroup/hugetlb): no cgroup can live in them
    tmpfs_dev = helpers.CGROUP_ROOT.stat().st_dev if helpers.CGROUP_ROOT.is_dir() else None
    for p in _cgroup_root_entries() - set(before):
        path = Path(p)
        if path.is_dir() and not path.is_symlink() and path.stat().st_dev == tmpfs_dev:
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():
                left.append(p)
    for p in HOST_CACHES:
        if p not in before and os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
    for p in HOST_DIRS + HOST_CACHES:
        if p not in before and os.path.lexists(p):
            _remove_empty_tree(p)
            if os.path.lexists(p):
                left.append(p)
    return left


# ----------------------------------------------------------------------------
# engines


class Daemon:
    """A daemon started in the background in its own session; stop() by its pid."""

    def __init__(self, argv, log_path, env=None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                close_fds=True,
            )

    @property
    def pid(self):
        return self.proc.pid

    def wait_ready(self, ready, timeout=60):
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.argv[0]} exited ({self.proc.returncode}) before it was ready; "
                    f"log:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.argv[0]} not ready after {timeout}s; log:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout=30):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)

    def log_tail(self, n=60):
        return _tail(self.log_path, n)


def runtime_wrapper(root, runtime_bin):
    """The path to give an engine: runtime_bin itself, or with HULL_ENGINES_TRACE a
    tracing wrapper of the same base name that logs each call to root/trace/calls.log."""
    if not os.environ.get("HULL_ENGINES_TRACE"):
        return runtime_bin
    d = Path(root) / "trace"
    d.mkdir(exist_ok=True)
    log = d / "calls.log"
    w = d / os.path.basename(runtime_bin)
    # stdio is left alone: the container's init inherits it from the runtime.
    w.write_text(
        "#!/bin/sh\n"
        f'log="{log}"\n'
        'echo "$(date +%T.%N) $$ call: $0 $*" >>"$log"\n'
        f'"{runtime_bin}" "$@"\n'
        "rc=$?\n"
        'echo "$(date +%T.%N) $$ exit: $rc" >>"$log"\n'
        "exit $rc\n"
    )
    w.chmod(0o755)
    return str(w)


class Engine:
    """Common part of the engine clients: run a command, explain failures with logs."""

    name = "engine"

    def __init__(self, root, runtime_bin):
        self.root = Path(root)
        self.runtime_bin = runtime_bin
        self.runtime = runtime_wrapper(root, runtime_bin)
        self.daemon = None
        self.env = dict(os.environ)
        self.env["TMPDIR"] = str(self.root / "tmp")
        (self.root / "tmp").mkdir(exist_ok=True)
        self._n = 0

    def new_name(self, tag="c"):
        self._n += 1
        return f"ht-{SESSION}-{tag}{self._n}"

    def base_argv(self):
        raise NotImplementedError

    def start(self, images):
        """Start the daemon (if any) and load the busybox image; self.daemon is set
        as soon as the daemon runs, so a failed start is still stopped."""
        raise NotImplementedError

    def logs(self):
        out = []
        if self.daemon is not None:
            out.append(f"--- {self.name} daemon log (tail) ---\n{self.daemon.log_tail()}")
        trace = self.root / "trace" / "calls.log"
        if trace.exists():
            out.append(f"--- runtime calls (tail) ---\n{_tail(trace, 80)}")
        return "\n".join(out)

    def run(self, *args, check=True, timeout=120, input=None, prefix=()):
        argv = list(prefix) + self.base_argv() + [str(a) for a in args]
        p = helpers.run_captured(argv, input=input, timeout=timeout, env=self.env)
        if check and p.returncode != 0:
            raise AssertionError(helpers.describe(p, "failed") + "\n" + self.logs())
        return p

    __call__ = run

    def run_tty(self, *args, check=True, timeout=120):
        """Run the client under `script -qec` so it gets a real pty; returns the
        CompletedProcess with the pty output in stdout (\\r removed)."""
        import shlex

        cmd = " ".join(shlex.quote(a) for a in self.base_argv() + [str(a) for a in args])
        argv = ["script", "-qec", cmd, "/dev/null"]
        p = helpers.run_captured(argv, timeout=timeout, env=self.env)
        p = subprocess.CompletedProcess(p.args, p.returncode, p.stdout.replace("\r", ""), p.stderr)
        if check and p.returncode != 0:
            raise AssertionError(helpers.describe(p, "failed") + "\n" + self.logs())
        return p

    def explain(self, what):
        return f"{what}\n{self.logs()}"

    def wait_for(self, cond, what, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(self.explain(f"timed out after {timeout}s waiting for {what}"))
            time.sleep(0.1)


def finish_teardown(root, cgroup_name, host_before, problems):
    """The shared end of every engine teardown (after the daemon is stopped)."""
    marker = str(root)
    for _ in range(3):
        procs = processes_matching(marker, cgroup_name)
        if not procs:
            break
        for pid, _ in procs:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
    else:
        problems.append(f"processes left: {processes_matching(marker, cgroup_name)}")
    left = unmount_under(root)
    if left:
        problems.append(f"mounts left under '{root}': {left}")
    problems += [f"cgroup left: {c}" for c in remove_cgroup_tree(cgroup_name)]
    shutil.rmtree(root, ignore_errors=True)
    if Path(root).exists():
        problems.append(f"temp root '{root}' could not be removed")
    problems += [f"host dir left: {d}" for d in remove_new_host_dirs(host_before)]
    return problems


def make_root(engine):
    root = Path(tempfile.mkdtemp(prefix=f"hull-test-{SESSION}-{engine}-", dir="/tmp"))
    os.chmod(root, 0o755)
    return root


# -- podman -------------------------------------------------------------------


class Podman(Engine):
    name = "podman"

    def __init__(self, root, runtime_bin):
        super().__init__(root, runtime_bin)
        for d in ("storage", "runroot", "libpod-tmp"):
            (self.root / d).mkdir()
        self.cgroup_parent = cgroup_parent("podman")
        self.containers_conf = self.root / "containers.conf"
        self.containers_conf.write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
            'netns = "none"\n'
            "[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'events_logfile_path = "{self.root}/events.log"\n'
            'runtime = "hull"\n'
            'runtime_supports_json = ["crun", "runc", "hull"]\n'
            f'tmp_dir = "{self.root}/libpod-tmp"\n'
            "[engine.runtimes]\n"
            f'hull = ["{self.runtime}"]\n'
        )
        (self.root / "storage.conf").write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.root}/storage"\n'
            f'runroot = "{self.root}/runroot"\n'
        )
        (self.root / "registries.conf").write_text("unqualified-search-registries = []\n")
        self.env.update(
            CONTAINERS_CONF=str(self.containers_conf),
            CONTAINERS_STORAGE_CONF=str(self.root / "storage.conf"),
            CONTAINERS_REGISTRIES_CONF=str(self.root / "registries.conf"),
        )
        self.image = "localhost/busybox:latest"

    def start(self, images):
        self.run("import", "--change", "CMD=/bin/sh", images["rootfs_tar"], self.image)

    def base_argv(self, runtime="hull"):
        return [
            "podman",
            "--root", str(self.root / "storage"),
            "--runroot", str(self.root / "runroot"),
            "--tmpdir", str(self.root / "libpod-tmp"),
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "file",
            "--runtime", runtime,
        ]  # fmt: skip

    def run_opts(self):
        """Options every `podman run/create` of the tests gets."""
        return ["--network", "none", "--cgroup-parent", self.cgroup_parent, "--pull", "never"] + ULIMITS

    def teardown(self):
        problems = []
        p = self.run("rm", "--all", "--force", "--time", "0", check=False, timeout=120)
        if p.returncode != 0:
            problems.append(helpers.describe(p, "failed at teardown"))
        return problems


# -- containerd ---------------------------------------------------------------


class Containerd(Engine):
    name = "containerd"

    def __init__(self, root, runtime_bin):
        super().__init__(root, runtime_bin)
        self.address = self.root / "containerd.sock"
        self.namespace = f"hull-test-{SESSION}-ctr"
        self.runc_root = self.root / "runc-root"
        self.fifo_dir = self.root / "fifo"
        self.fifo_dir.mkdir()
        self.config = self.root / "config.toml"
        self.config.write_text(
            "version = 2\n"
            f'root = "{self.root}/root"\n'
            f'state = "{self.root}/state"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            "[grpc]\n"
            f'  address = "{self.address}"\n'
            "[ttrpc]\n"
            f'  address = "{self.address}.ttrpc"\n'
            "[debug]\n"
            f'  address = "{self.root}/debug.sock"\n'
            '  level = "info"\n'
            "[plugins]\n"
            '  [plugins."io.containerd.internal.v1.opt"]\n'
            f'    path = "{self.root}/opt"\n'
        )
        self.image = "localhost/bb:latest"

    def start(self, images):
        self.daemon = Daemon(["containerd", "--config", self.config], self.root / "containerd.log")
        self.daemon.wait_ready(
            lambda: self.address.exists() and self.run("version", check=False).returncode == 0
        )
        self.run("images", "import", "--base-name", "localhost/bb", images["oci_tar"])

    def base_argv(self):
        return ["ctr", "--address", str(self.address), "--namespace", self.namespace]

    def run_flags(self):
        """Flags of `ctr run` that select the runtime under test."""
        return [
            "--runc-binary", self.runtime,
            "--runc-root", str(self.runc_root),
            "--fifo-dir", str(self.fifo_dir),
        ]  # fmt: skip

    def cgroup_of(self, cid):
        return f"{cgroup_parent('ctr')}/{cid}"

    def run_argv(self, cid, *cmd, detach=False, rm=False, tty=False):
        argv = ["run"]
        if detach:
            argv.append("-d")
        if rm:
            argv.append("--rm")
        if tty:
            argv.append("-t")
        argv += self.run_flags() + ["--cgroup", self.cgroup_of(cid), self.image, cid] + list(cmd)
        return argv

    def task_status(self, cid):
        p = self.run("task", "ls", check=False)
        for line in p.stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return f[2] if len(f) > 2 else ""
        return None

    def remove(self, cid):
        """Kill and delete a container (test-level cleanup; errors ignored)."""
        if self.task_status(cid) not in (None, "STOPPED"):
            self.run("task", "kill", "-s", "SIGKILL", cid, check=False)
            with contextlib.suppress(AssertionError):
                self.wait_for(lambda: self.task_status(cid) in (None, "STOPPED"), f"{cid} to stop", 10)
        self.run("task", "delete", "--force", cid, check=False)
        self.run("container", "delete", cid, check=False)

    def teardown(self):
        problems = []
        p = self.run("container", "ls", "--quiet", check=False)
        for cid in p.stdout.split():
            self.remove(cid)
            problems.append(f"container '{cid}' was still there at teardown")
        return problems


# -- docker -------------------------------------------------------------------


def docker_cli():
    """The docker.io CLI (/usr/bin/docker), not a newer one that may sit earlier on PATH."""
    return "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")


class Docker(Engine):
    name = "dockerd"

    def __init__(self, root, runtime_bin):
        super().__init__(root, runtime_bin)
        self.sock = self.root / "docker.sock"
        self.cgroup_parent = cgroup_parent("docker")
        cfg = {
            "data-root": str(self.root / "data"),
            "exec-root": str(self.root / "exec"),
            "pidfile": str(self.root / "docker.pid"),
            "hosts": [f"unix://{self.sock}"],
            "bridge": "none",
            "iptables": False,
            "ip6tables": False,
            "ip-forward": False,
            "ip-masq": False,
            "userland-proxy": False,
            "storage-driver": "overlay2",
            "exec-opts": ["native.cgroupdriver=cgroupfs"],
            "cgroup-parent": self.cgroup_parent,
            "deprecated-key-path": str(self.root / "key.json"),
            "runtimes": {"hull": {"path": self.runtime}},
        }
        self.config = self.root / "daemon.json"
        self.config.write_text(json.dumps(cfg, indent=2) + "\n")
        (self.root / "cli").mkdir()
        self.env["DOCKER_CONFIG"] = str(self.root / "cli")
        self.image = "localhost/busybox:latest"

    def start(self, images):
        self.daemon = Daemon(["dockerd", "--config-file", self.config], self.root / "dockerd.log")
        self.daemon.wait_ready(
            lambda: self.sock.exists() and self.run("version", check=False).returncode == 0
        )
        self.run("load", "--input", images["docker_tar"])

    def base_argv(self):
        return [docker_cli(), "--host", f"unix://{self.sock}"]

    def run_opts(self):
        return ["--runtime", "hull", "--network", "none"]

    def bundle_dir(self, cid):
        """The bundle containerd's shim made for a container (under exec-root)."""
        return self.root / "exec" / "containerd" / "daemon" / "io.containerd.runtime.v2.task" / "moby" / cid

    def teardown(self):
        problems = []
        p = self.run("ps", "--all", "--quiet", check=False)
        ids = p.stdout.split()
        if ids:
            problems.append(f"containers still there at teardown: {ids}")
            self.run("rm", "--force", *ids, check=False)
        return problems
