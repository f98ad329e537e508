"""Shared helpers for hull's benchmarks: runtimes side by side, fairly.

Fairness rules (docs/performance.md explains why each one matters):
- The whole benchmark runs in ONE private mount namespace where the cgroup2
  mount at /sys/fs/cgroup/unified is hidden, for every runtime alike (crun 1.8
  refuses this host's hybrid layout otherwise); every runtime is then called
  directly, with no wrapper shell that only one of them would pay for.
- The order of the runtimes is shuffled every round: a runtime that runs right
  after runc pays for runc's asynchronous teardown.
- Every container gets a fresh id and a fresh cgroup (linux.cgroupsPath
  /hullbench/<session>-<runtime>-<n>), removed afterwards: reusing one cgroup
  path flatters whoever runs second.
- Reported: median, p90, and the ratios hull/crun and hull/runc.
- State roots and bundles live on a tmpfs private to the benchmark (as under
  /run on most hosts); the rootfs is a copy on the host's disk.
- Everything a benchmark makes (containers, state dirs, cgroups, temp files)
  is removed on the way out, also on failure, Ctrl-C or SIGTERM.
"""
import ctypes
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RSS_EXEC = os.path.join(REPO, "build", "bench", "rss-exec")
HULL = os.environ.get("HULL_RUNTIME", os.path.join(REPO, "build", "src", "cli", "hull-runtime"))
UNIFIED = "/sys/fs/cgroup/unified"
CGROUP_PARENT = "/hullbench"
NS_MARK = "HULL_BENCH_MOUNTNS"

PR_SET_CHILD_SUBREAPER = 36


def enter_private_mountns():
    """Re-executes this benchmark in a private mount namespace without the cgroup2 mount.

    unshare(1) without --fork execs the command in the same process, so no
    extra process stays around; the namespace ends with the benchmark.
    """
    if os.environ.get(NS_MARK) != str(os.getpid()):
        if os.geteuid() != 0:
            sys.exit("the benchmarks run as root")
        env = dict(os.environ)
        env[NS_MARK] = str(os.getpid())
        os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                               os.path.abspath(sys.argv[0]), *sys.argv[1:]], env)
    if os.path.ismount(UNIFIED):
        subprocess.run(["umount", UNIFIED], check=True)


def become_subreaper():
    """Container inits are reparented to us, so we can wait for them like a shim does."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def sigterm_as_interrupt():
    """SIGINT (even when started ignoring it, as a background job does), SIGTERM and SIGHUP
    unwind like Ctrl-C, so every `finally` cleans up."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


class Runtime:
    def __init__(self, name, argv0, root):
        self.name = name
        self.argv0 = argv0
        self.root = root
        self.peak_rss_kb = 0
        self.measure_rss = False

    def call(self, *args, check=True, capture=False):
        """Runs one runtime command; with measure_rss, records its peak RSS too."""
        argv = [*self.argv0, "--root", self.root, *args]
        if self.measure_rss:
            fd, path = tempfile.mkstemp(prefix="hull-rss-")
            os.close(fd)
            try:
                status, _, out, err = spawn([RSS_EXEC, path, *argv], capture=capture)
                with open(path) as f:
                    self.peak_rss_kb = max(self.peak_rss_kb, int(f.read().split()[1]))
            finally:
                os.unlink(path)
        else:
            status, _, out, err = spawn(argv, capture=capture)
        if check and status != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)}: exit {status}: {err.strip()}")
        return status, out


def spawn(argv, capture=False):
    """Runs argv; returns (exit code, max RSS KiB of exactly that process, stdout, stderr).

    Output goes to temp files, not pipes: a created container inherits the
    runtime's stdio and would hold a pipe open until it exits.
    """
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        pid = os.fork()
        if pid == 0:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(out_f.fileno() if capture else null, 1)
                os.dup2(err_f.fileno(), 2)
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        try:
            while True:
                wpid, status, ru = os.wait4(pid, 0)
                if wpid == pid:
                    break
        except BaseException:
            # Ctrl-C while a runtime runs: let it finish (it is short), then unwind
            try:
                os.wait4(pid, 0)
            except ChildProcessError:
                pass  # the signal came right after wait4 had reaped it
            raise
        out_f.seek(0)
        err_f.seek(0)
        out = out_f.read().decode(errors="replace") if capture else ""
        err = err_f.read().decode(errors="replace")
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss, out, err


def rss_baseline_kb():
    """The peak RSS rss-exec reports for /bin/true: the floor under every figure."""
    fd, path = tempfile.mkstemp(prefix="hull-rss-")
    os.close(fd)
    try:
        spawn([RSS_EXEC, path, "/bin/true"])
        with open(path) as f:
            return int(f.read().split()[1])
    finally:
        os.unlink(path)


def available_runtimes(root_base):
    """hull, runc and crun where installed, each with its own state root."""
    if not os.access(RSS_EXEC, os.X_OK):
        sys.exit(f"{RSS_EXEC} not built: run 'make build' first")
    if not os.access(HULL, os.X_OK):
        sys.exit(f"hull-runtime not built at {HULL}: run 'make build' first")
    rts = [Runtime("hull", [HULL], os.path.join(root_base, "hull"))]
    for name in ("runc", "crun"):
        if shutil.which(name):
            rts.append(Runtime(name, [name], os.path.join(root_base, name)))
    # HULL_BENCH_EXTRA="old=/path/to/hull-runtime,..." adds binaries to compare (A/B)
    for item in filter(None, os.environ.get("HULL_BENCH_EXTRA", "").split(",")):
        name, _, path = item.partition("=")
        rts.append(Runtime(name, [os.path.abspath(path)], os.path.join(root_base, name)))
    for rt in rts:
        os.makedirs(rt.root, exist_ok=True)
    return rts


def cgroup_mounts():
    """Mount points of the cgroup hierarchies visible here (v1 and v2)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                points.append(fields[4])
    return points


class Session:
    """One benchmark run: a temp dir, a shared rootfs, per-container bundles and cgroups."""

    def __init__(self):
        # the session's mark on its cgroups and container ids (tests set it to find leftovers)
        self.token = os.environ.get("HULL_BENCH_TOKEN") or uuid.uuid4().hex[:6]
        self.base = self.run = None
        self.runtimes = []

    def setup(self, args):
        """Makes the rootfs copy, the tmpfs, the config; cleanup() undoes any part of it."""
        self.base = tempfile.mkdtemp(prefix="hull-bench-")
        self.rootfs = os.path.join(self.base, "rootfs")
        shutil.copytree(busybox_rootfs(), self.rootfs, symlinks=True)
        # State roots and bundles on a tmpfs, as /run is on most hosts (here it is on
        # ext4, where creating files is slow and noisy); only this namespace sees it.
        self.run = os.path.join(self.base, "run")
        os.mkdir(self.run)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "hull-bench", self.run],
                       check=True)
        self.config = base_config(args)
        self.runtimes = available_runtimes(os.path.join(self.run, "state"))
        self.seed = int(os.environ.get("HULL_BENCH_SEED", random.randrange(1 << 30)))
        self.rng = random.Random(self.seed)
        self.counter = 0

    def order(self):
        """This round's order of the runtimes."""
        rts = list(self.runtimes)
        self.rng.shuffle(rts)
        return rts

    def container(self, rt, tag=None):
        """A fresh id and a bundle whose config has a fresh linux.cgroupsPath."""
        self.counter += 1
        name = f"hb{self.token}-{rt.name}-{tag if tag is not None else self.counter}"
        bundle = os.path.join(self.run, "bundles", name)
        os.makedirs(bundle)
        cfg = json.loads(json.dumps(self.config))
        cfg["root"]["path"] = self.rootfs
        cfg["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/{name}"
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(cfg, f)
        return name, bundle

    def done(self, name, bundle):
        """Removes a finished container's bundle and whatever cgroup directory is left."""
        shutil.rmtree(bundle, ignore_errors=True)
        remove_cgroup(f"{CGROUP_PARENT}/{name}")

    def cleanup(self):
        """Deletes every container, cgroup, state dir and temp file of this session."""
        for rt in self.runtimes:
            try:
                rc, out = rt.call("list", "-q", check=False, capture=True)
                for cid in out.split():
                    rt.call("delete", "--force", cid, check=False)
            except Exception as e:  # go on cleaning the rest
                print(f"cleanup {rt.name}: {e}", file=sys.stderr)
        reap()
        prefix = f"hb{self.token}-"
        for mnt in cgroup_mounts():
            parent = mnt + CGROUP_PARENT
            try:
                names = [n for n in os.listdir(parent) if n.startswith(prefix)]
            except FileNotFoundError:
                continue
            for n in names:
                remove_cgroup(f"{CGROUP_PARENT}/{n}", kill=True)
        for mnt in cgroup_mounts():
            try:
                os.rmdir(mnt + CGROUP_PARENT)
            except OSError:
                pass  # another session still uses it, or it never existed
        if self.run and os.path.ismount(self.run):
            subprocess.run(["umount", "-l", self.run], check=False)
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)
        restore_dev_null()


def remove_cgroup(path, kill=False):
    """rmdir of path (and its children) in every hierarchy; with kill, SIGKILLs its processes
    first (they are this benchmark's own containers: the cgroup name carries its session)."""
    for mnt in cgroup_mounts():
        top = mnt + path
        if not os.path.isdir(top):
            continue
        dirs = [d for d, _, _ in os.walk(top)]
        for d in reversed(dirs):
            for attempt in range(50):
                if kill:
                    try:
                        with open(os.path.join(d, "cgroup.procs")) as f:
                            for pid in f.read().split():
                                try:
                                    os.kill(int(pid), signal.SIGKILL)
                                except ProcessLookupError:
                                    pass
                    except OSError:
                        pass
                    reap()
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                print(f"cannot remove cgroup {d}", file=sys.stderr)


def reap():
    """Waits for the container inits reparented to us (we are their subreaper)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def restore_dev_null():
    """crun 1.8.1 can chown the host's /dev/null (ENGINES.md): put it back."""
    st = os.stat("/dev/null")
    if st.st_uid != 0 or st.st_gid != 0:
        os.chown("/dev/null", 0, 0)
    if st.st_mode & 0o777 != 0o666:
        os.chmod("/dev/null", 0o666)


def base_config(args):
    """runc's default config (`hull-runtime spec`, or runc's) running args without a terminal."""
    d = tempfile.mkdtemp(prefix="hull-bench-spec-")
    try:
        subprocess.run([HULL, "spec", "--bundle", d], check=True)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    return cfg


def busybox_rootfs():
    path = os.path.join(REPO, ".cache", "busybox-rootfs")
    if not os.path.isdir(path):
        subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs.sh")], check=True)
    return path


def percentile(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))]


def summarize(samples, scale=1000.0):
    """{runtime: [seconds]} -> rows with median and p90 (in ms by default)."""
    return {name: {"name": name, "n": len(v), "median": statistics.median(v) * scale,
                   "p90": percentile(v, 0.9) * scale} for name, v in samples.items() if v}


def print_table(title, rows, columns):
    """rows: list of dicts; columns: list of (key, header, fmt)."""
    print(title)
    widths = [max(len(h), *(len(fmt.format(r[k])) for r in rows)) for k, h, fmt in columns]
    print("  ".join(h.ljust(w) for (_, h, _), w in zip(columns, widths)))
    for r in rows:
        print("  ".join(fmt.format(r[k]).ljust(w) for (k, _, fmt), w in zip(columns, widths)))


def print_load(label):
    """The machine's load average: absolute times mean little without it."""
    one, five, fifteen = os.getloadavg()
    print(f"load average {label}: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)")


def print_ratios(stats, key="median"):
    hull = stats.get("hull")
    for peer in ("crun", "runc"):
        if hull and peer in stats:
            print(f"hull/{peer} {key} ratio {hull[key] / stats[peer][key]:.2f}")


def print_rss(rts, baseline_kb):
    print("peak RSS MiB (static vfork+exec wrapper; /bin/true measures "
          f"{baseline_kb / 1024.0:.1f}): "
          + ", ".join(f"{rt.name} {rt.peak_rss_kb / 1024.0:.1f}" for rt in rts))


def now():
    return time.perf_counter()


def main_wrapper(args, run):
    """Enters the private mount namespace, then runs run(session) with cleanup guaranteed;
    args is the container's process.args."""
    enter_private_mountns()
    become_subreaper()
    sigterm_as_interrupt()
    session = Session()
    try:
        session.setup(args)
        print_load("at start")
        rc = run(session)
        print_load("at end")
        return rc
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # cleanup is not interrupted
        session.cleanup()
