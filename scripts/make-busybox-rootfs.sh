#!/usr/bin/env bash
# Builds the busybox root filesystem the tests and the demo use.
#
#   scripts/make-busybox-rootfs.sh [DIR]
#
# The rootfs is cached in <repo>/.cache/busybox-rootfs and rebuilt when it is
# missing or when the host's /bin/busybox changed. With DIR, a copy of the
# cached rootfs is written to DIR (which must not exist or be empty).
# Safe to run concurrently: the cache is built in a temp dir and renamed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_parent="$repo/.cache"
cache="$cache_parent/busybox-rootfs"
busybox=/bin/busybox

if [ ! -x "$busybox" ]; then
	echo "make-busybox-rootfs: '$busybox' not found (install busybox-static)" >&2
	exit 1
fi

build() {
	local tmp
	tmp=$(mktemp -d "$cache_parent/.busybox-rootfs.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	local r="$tmp/rootfs"
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run}
	chmod 1777 "$r/tmp"
	chmod 0700 "$r/root"
	cp "$busybox" "$r/bin/busybox"
	chroot "$r" /bin/busybox --install -s
	cat >"$r/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
PASSWD
	cat >"$r/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
user:x:1000:
GROUP
	mkdir -p "$r/home/user"
	chown 1000:1000 "$r/home/user"
	if ! mv -T "$r" "$cache" 2>/dev/null; then
		# Someone else built it at the same time: theirs is as good as ours.
		[ -x "$cache/bin/busybox" ] || { echo "make-busybox-rootfs: cannot install '$cache'" >&2; exit 1; }
	fi
	rm -rf "$tmp"
	trap - EXIT
}

mkdir -p "$cache_parent"
if [ -d "$cache" ] && ! cmp -s "$busybox" "$cache/bin/busybox"; then
	# /bin/busybox was upgraded: rebuild (move aside first so readers never see half a tree).
	old=$(mktemp -d "$cache_parent/.busybox-rootfs-old.XXXXXX")
	mv -T "$cache" "$old/rootfs" 2>/dev/null || true
	rm -rf "$old"
fi
[ -x "$cache/bin/busybox" ] || build

if [ $# -ge 1 ]; then
	dest=$1
	mkdir -p "$dest"
	cp -a "$cache/." "$dest/"
fi
