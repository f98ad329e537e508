"""Shared helpers for hull's benchmarks: runtimes side by side, bundles, stats.

Every benchmark runs hull-runtime and its peers (runc, crun) interleaved in one
run, so machine noise hits all of them alike, and prints medians and ratios.
"""
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RSS_EXEC = os.path.join(REPO, "build", "bench", "rss-exec")
HULL = os.environ.get("HULL_RUNTIME", os.path.join(REPO, "build", "src", "cli", "hull-runtime"))

# crun 1.8 refuses this host's hybrid cgroup layout; ENGINES.md: hide the unified
# mount in a private mount namespace and it works.
CRUN_WRAPPER = """#!/bin/sh
exec unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"
"""

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Container inits are reparented to us, so we can wait for them like a shim does."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


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
            status, _, out, err = spawn([RSS_EXEC, path, *argv], capture=capture)
            with open(path) as f:
                self.peak_rss_kb = max(self.peak_rss_kb, int(f.read().split()[1]))
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
        while True:
            wpid, status, ru = os.wait4(pid, 0)
            if wpid == pid:
                break
        out_f.seek(0)
        err_f.seek(0)
        out = out_f.read().decode(errors="replace") if capture else ""
        err = err_f.read().decode(errors="replace")
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss, out, err


def rss_baseline_kb():
    """The peak RSS rss-exec reports for /bin/true: the floor under every figure."""
    fd, path = tempfile.mkstemp(prefix="hull-rss-")
    os.close(fd)
    spawn([RSS_EXEC, path, "/bin/true"])
    with open(path) as f:
        kb = int(f.read().split()[1])
    os.unlink(path)
    return kb


def measure_rss(rts, one, n=5):
    """Runs `one(rt, tag)` n more times per runtime with every call under rss-exec."""
    for rt in rts:
        rt.measure_rss = True
        for i in range(n):
            one(rt, f"rss{i}")
        rt.measure_rss = False


def available_runtimes(root_base):
    """hull, runc and crun (through the wrapper) where installed."""
    rts = []
    if not os.access(RSS_EXEC, os.X_OK):
        sys.exit(f"{RSS_EXEC} not built: run 'make build' first")
    if os.access(HULL, os.X_OK):
        rts.append(Runtime("hull", [HULL], os.path.join(root_base, "hull")))
    else:
        sys.exit(f"hull-runtime not built at {HULL}: run 'make build' first")
    if shutil.which("runc"):
        rts.append(Runtime("runc", ["runc"], os.path.join(root_base, "runc")))
    if shutil.which("crun"):
        wrapper = os.path.join(root_base, "crun-wrapper")
        with open(wrapper, "w") as f:
            f.write(CRUN_WRAPPER)
        os.chmod(wrapper, 0o755)
        rts.append(Runtime("crun", [wrapper], os.path.join(root_base, "crun")))
    return rts


def make_bundle(base, args, rootfs_src):
    """A busybox bundle with runc's default config running args."""
    bundle = os.path.join(base, "bundle-" + uuid.uuid4().hex[:8])
    os.makedirs(bundle)
    shutil.copytree(rootfs_src, os.path.join(bundle, "rootfs"), symlinks=True)
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f)
    return bundle


def busybox_rootfs():
    path = os.path.join(REPO, ".cache", "busybox-rootfs")
    if not os.path.isdir(path):
        subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs.sh")], check=True)
    return path


def median_ms(samples):
    return statistics.median(samples) * 1000.0


def print_table(title, rows, columns):
    """rows: list of dicts; columns: list of (key, header, fmt)."""
    print(title)
    widths = [max(len(h), *(len(fmt.format(r[k])) for r in rows)) for k, h, fmt in columns]
    print("  ".join(h.ljust(w) for (_, h, _), w in zip(columns, widths)))
    for r in rows:
        print("  ".join(fmt.format(r[k]).ljust(w) for (k, _, fmt), w in zip(columns, widths)))


def cleanup_root(rt):
    """Force-deletes whatever a failed iteration left and removes the state root."""
    try:
        rc, out = rt.call("list", "-q", check=False, capture=True)
        for cid in out.split():
            rt.call("delete", "--force", cid, check=False)
    finally:
        shutil.rmtree(rt.root, ignore_errors=True)


def now():
    return time.perf_counter()


def tmpdir():
    return tempfile.mkdtemp(prefix="hull-bench-")
