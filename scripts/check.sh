#!/usr/bin/env bash
# Runs every test suite and prints, as its very last line,
#   N passed, N failed, N skipped
# summed over: meson tests in build/ (unit + fuzz corpus), the unit tests in an
# ASan+UBSan build (build-asan/), the clang-format check (one test), the guest
# kernel build (counts only when it fails), and the pytest integration suite
# (junit xml in build/pytest.xml), VM tests in the nested KVM lab included.
# Exits non-zero when anything failed. Expects `make build` to have run.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
PYTHON=/usr/bin/python3 # Debian's python3 has pytest; a pyenv one on PATH may not
# the integration tests run the hull-runtime of this build unless told otherwise
export HULL_RUNTIME=${HULL_RUNTIME:-$repo/$BUILD/src/cli/hull-runtime}

passed=0
failed=0
skipped=0

heading() { printf '\n==> %s\n' "$*"; }

add_counts() { # "P F S"
	local p f s
	read -r p f s <<<"$1"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# Counts one meson testlog.json: OK/EXPECTEDFAIL passed, SKIP skipped, the rest failed.
meson_counts() {
	"$PYTHON" - "$1" <<'PY'
import json, sys
p = f = s = 0
with open(sys.argv[1]) as fh:
    for line in fh:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
print(p, f, s)
PY
}

# Counts a pytest junit xml: a testcase with <failure> or <error> failed,
# with <skipped> skipped, otherwise passed.
junit_counts() {
	"$PYTHON" - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
p = f = s = 0
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    tags = {c.tag for c in tc}
    if tags & {"failure", "error"}:
        f += 1
    elif "skipped" in tags:
        s += 1
    else:
        p += 1
print(p, f, s)
PY
}

run_meson_tests() { # build-dir label [meson test args...]
	local dir=$1 label=$2
	shift 2
	local log="$dir/meson-logs/testlog.json"
	rm -f "$log"
	meson test -C "$dir" --print-errorlogs "$@"
	if [ -s "$log" ]; then
		add_counts "$(meson_counts "$log")"
	else
		echo "check: $label: no test log in '$log'" >&2
		failed=$((failed + 1))
	fi
}

# (a) unit tests and fuzz corpora, in the regular build
heading "meson test ($BUILD)"
run_meson_tests "$BUILD" "meson test"

# (b) unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
heading "unit tests under ASan+UBSan ($ASAN_BUILD)"
if { [ -f "$ASAN_BUILD/build.ninja" ] ||
	meson setup "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false; } &&
	ninja -C "$ASAN_BUILD"; then
	ASAN_OPTIONS=halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_meson_tests "$ASAN_BUILD" "sanitizer tests" --suite unit
else
	echo "check: the sanitizer build failed" >&2
	failed=$((failed + 1))
fi

# (c) formatting (one test)
heading "clang-format check"
if make --no-print-directory -s format-check; then
	passed=$((passed + 1))
else
	echo "check: files are not clang-formatted (run 'make format')" >&2
	failed=$((failed + 1))
fi

# (d) the guest kernel the VM tests boot (tests/integration/vm, docs/vm.md):
# built once here, deliberately (about 15 min on 2 quiet cores), then cached
# under /var/cache/hull/guest-kernel; the tests themselves never build it
heading "guest kernel (make guest-kernel)"
gk_start=$(date +%s)
scripts/guest-kernel.sh >/dev/null
gk_rc=$?
if [ "$gk_rc" -eq 0 ]; then
	echo "check: guest kernel ready after $(($(date +%s) - gk_start)) s"
elif [ "$gk_rc" -eq 3 ]; then
	echo "check: no guest kernel source: the VM tests will skip" >&2
else
	echo "check: the guest kernel build failed (vm/guest-kernel.config?)" >&2
	failed=$((failed + 1))
fi
export HULL_LAB_NO_BUILD=1

# (e) integration tests (real containers and the nested KVM lab; root)
heading "integration tests (pytest)"
junit="$BUILD/pytest.xml"
rm -f "$junit"
"$PYTHON" -m pytest tests/integration -q -rs --junitxml="$junit"
rc=$?
if [ "$rc" -eq 5 ]; then
	echo "check: no integration tests collected"
elif [ -s "$junit" ]; then
	add_counts "$(junit_counts "$junit")"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		# interrupted, internal error or usage error: not reflected in the xml
		echo "check: pytest exited with $rc" >&2
		failed=$((failed + 1))
	fi
else
	echo "check: pytest exited with $rc and wrote no '$junit'" >&2
	failed=$((failed + 1))
fi

echo
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
