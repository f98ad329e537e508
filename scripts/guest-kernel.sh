#!/usr/bin/env bash
# Builds hull's small guest kernel (docs/vm.md) and prints the directory that
# holds it as the last line of its output:
#   /var/cache/hull/guest-kernel/<key>/{bzImage,vmlinux,config,build.log}
# <key> hashes vm/guest-kernel.config, the linux-source package version and the
# recipe number below, so the kernel is rebuilt only when one of them changes. The build runs
# in a temporary directory next to the cache and is renamed into place when it
# is complete; concurrent callers wait on a lock and reuse the result.
#
# Source: Debian's linux-source-6.1 (scripts/install-deps.sh), `make tinyconfig`,
# then the fragment, then `make olddefconfig`; every option of the fragment must
# survive into the final .config or the build fails naming it.
#
# Usage: scripts/guest-kernel.sh [--print-key]
# Exit:  0 built or cached, 1 the build failed, 3 no kernel source here
# Env:   HULL_GUEST_KERNEL_CACHE (default /var/cache/hull/guest-kernel)
#        HULL_GUEST_KERNEL_JOBS  (default: nproc)
set -euo pipefail

# The whole script is one function, read by bash before any of it runs: a
# build takes many minutes, and bash reads a plain script as it goes, so an
# edit to this file during a build (a checkout, a rebase) would make it run
# garbage at the end and throw the finished kernel away (it happened).
main() {

	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	fragment="$repo/vm/guest-kernel.config"
	cache=${HULL_GUEST_KERNEL_CACHE:-/var/cache/hull/guest-kernel}
	jobs=${HULL_GUEST_KERNEL_JOBS:-$(nproc)}
	srcpkg=linux-source-6.1
	tarball=/usr/src/linux-source-6.1.tar.xz

	die() {
		echo "guest-kernel: $*" >&2
		exit 1
	}
	# exit 3: the kernel cannot be built here at all (no source package)
	unavailable() {
		echo "guest-kernel: $*" >&2
		exit 3
	}

	srcver=$(dpkg-query -W -f='${Version}' "$srcpkg" 2>/dev/null) ||
		unavailable "$srcpkg is not installed (run scripts/install-deps.sh)"
	[ -r "$tarball" ] || unavailable "$tarball is missing (reinstall $srcpkg)"
	[ -r "$fragment" ] || die "no config fragment at $fragment"

	# bump when the way the kernel is built changes (not for comments)
	recipe=1
	key=$({
		echo "$srcpkg $srcver recipe $recipe"
		cat "$fragment"
	} | sha256sum | cut -c1-16)
	out="$cache/$key"
	if [ "${1:-}" = "--print-key" ]; then
		echo "$key"
		exit 0
	fi

	mkdir -p "$cache"
	exec 9>"$cache/.lock"
	flock 9

	if [ -f "$out/bzImage" ] && [ -f "$out/vmlinux" ]; then
		echo "guest-kernel: cached ($srcpkg $srcver, fragment key $key)" >&2
		echo "$out"
		exit 0
	fi

	tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	start=$(date +%s)
	echo "guest-kernel: building $srcpkg $srcver with $fragment (make -j$jobs) in $tmp" >&2
	mkdir "$tmp/src" "$tmp/out"
	tar -xJf "$tarball" -C "$tmp/src" --strip-components=1
	log="$tmp/out/build.log"
	(
		cd "$tmp/src"
		make tinyconfig
		scripts/kconfig/merge_config.sh -m .config "$fragment"
		make olddefconfig
	) >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		die "configuration failed"
	}

	# every option of the fragment must be in the final config as asked
	bad=0
	while IFS= read -r line; do
		case "$line" in
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -q "^$opt=" "$tmp/src/.config"; then
				echo "guest-kernel: $opt should be unset but is $(grep "^$opt=" "$tmp/src/.config")" >&2
				bad=1
			fi
			;;
		CONFIG_*=*)
			if ! grep -qxF "$line" "$tmp/src/.config"; then
				opt=${line%%=*}
				have=$(grep -E "^$opt=|^# $opt is not set" "$tmp/src/.config" || echo "$opt absent")
				echo "guest-kernel: asked $line, kconfig gave: $have" >&2
				bad=1
			fi
			;;
		esac
	done <"$fragment"
	[ "$bad" -eq 0 ] || die "the fragment does not apply (missing dependencies above)"

	(cd "$tmp/src" && make -j"$jobs" bzImage) >>"$log" 2>&1 || {
		tail -n 40 "$log" >&2
		die "build failed (log above)"
	}
	cp "$tmp/src/arch/x86/boot/bzImage" "$tmp/out/bzImage"
	cp "$tmp/src/vmlinux" "$tmp/out/vmlinux"
	cp "$tmp/src/.config" "$tmp/out/config"
	echo "$srcpkg $srcver key $key built in $(($(date +%s) - start)) s on $(nproc) cpus" >"$tmp/out/BUILT"
	rm -rf "$out"
	mv "$tmp/out" "$out"
	echo "guest-kernel: $(cat "$out/BUILT")" >&2
	echo "$out"
}

main "$@"
exit $?
