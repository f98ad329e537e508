#!/usr/bin/env bash
# A short tour of what hull-runtime does to a process: runs one busybox
# container and shows, from inside, its pid namespace, hostname, mounts,
# memory limit (and the OOM killer enforcing it), capabilities and a seccomp
# rule. Everything it creates (bundle, state dir, container) is removed on
# exit, also when interrupted.
#
#   scripts/demo.sh                  uses build/src/cli/hull-runtime
#   HULL_RUNTIME=runc scripts/demo.sh   same demo with another runtime
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runtime=${HULL_RUNTIME:-$repo/build/src/cli/hull-runtime}
if [[ $runtime != */* ]]; then
	runtime=$(command -v "$runtime") || { echo "demo: runtime '$HULL_RUNTIME' not found" >&2; exit 1; }
fi
if [ ! -x "$runtime" ]; then
	echo "demo: '$runtime' not found: run 'make build' first" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root" >&2
	exit 1
fi

id="hull-demo-$$"
work=$(mktemp -d /tmp/hull-demo.XXXXXX)
root=$(mktemp -d /run/hull-demo.XXXXXX)
bundle="$work/bundle"

cleanup() {
	trap - EXIT INT TERM
	"$runtime" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work" "$root"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

heading() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

heading "runtime: $("$runtime" --version | head -n 1)"

mkdir -p "$bundle"
"$repo/scripts/make-busybox-rootfs.sh" "$bundle/rootfs"
echo "bundle: $bundle (busybox rootfs; config.json from '$(basename "$runtime") spec', patched)"
"$runtime" spec --bundle "$bundle"

# The script the container runs. Its output is the demo.
cat >"$bundle/rootfs/demo.sh" <<'INNER'
h() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

h "processes: the container has its own pid namespace (we are pid $$)"
ps

h "hostname (own UTS namespace)"
hostname

h "mounts: own mount namespace, busybox rootfs as / (first 12 of $(wc -l < /proc/self/mountinfo); mount point, type, source)"
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { printf "  %-24s %-8s %s\n", $5, $(i + 1), $(i + 2); break } }' \
	/proc/self/mountinfo | head -n 12

h "memory limit (64 MiB in config.json), read from the container's own cgroup"
if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	f=/sys/fs/cgroup/memory/memory.limit_in_bytes
else
	f=/sys/fs/cgroup/memory.max
fi
echo "$f = $(cat $f) bytes ($(( $(cat $f) / 1048576 )) MiB)"

h "the limit bites: a child allocating ~200 MiB gets OOM-killed"
sh -c 'x=$(head -c 200000000 /dev/zero | tr "\000" x); echo "allocated ${#x} bytes (limit did NOT bite)"'
st=$?
if [ "$st" -eq 137 ]; then
	echo "child exited with status $st = 128+9: killed by SIGKILL (the OOM killer)"
else
	echo "child exited with status $st"
fi
if [ -f /sys/fs/cgroup/memory/memory.oom_control ]; then
	grep oom_kill /sys/fs/cgroup/memory/memory.oom_control | sed 's/^/  memory.oom_control: /'
elif [ -f /sys/fs/cgroup/memory.events ]; then
	grep oom_kill /sys/fs/cgroup/memory.events | sed 's/^/  memory.events: /'
fi

h "user and capabilities (only CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE = 0x20000420)"
id
grep Cap /proc/self/status
grep NoNewPrivs /proc/self/status

h "seccomp: a rule makes mkdir/mkdirat fail with EPERM"
grep Seccomp: /proc/self/status
touch /tmp/file && echo "touch /tmp/file: ok (writes work)"
mkdir /tmp/x && echo "mkdir /tmp/x: ok (seccomp did NOT bite)"
echo "mkdir exit status: $?"
INNER

/usr/bin/python3 - "$bundle/config.json" "$id" <<'PY'
import json, sys
path, cid = sys.argv[1], sys.argv[2]
c = json.load(open(path))
p = c["process"]
p["terminal"] = False
p["args"] = ["sh", "/demo.sh"]
c["hostname"] = "hull-demo"
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "mode=1777", "size=16m"]})
lx = c["linux"]
# an explicit path: hull's default, and keeps other runtimes out of the caller's cgroup
lx["cgroupsPath"] = f"/hull/{cid}"
mem = 64 * 1024 * 1024
lx.setdefault("resources", {})["memory"] = {"limit": mem, "swap": mem}
lx["resources"]["pids"] = {"limit": 64}
lx["seccomp"] = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
}
json.dump(c, open(path, "w"), indent=2)
PY

heading "running: $(basename "$runtime") run --bundle $bundle $id"
set +e
"$runtime" --root "$root" run --bundle "$bundle" "$id" </dev/null
rc=$?
set -e

heading "container exited with status $rc; cleaning up (state dir, bundle)"
[ "$rc" -eq 0 ]
