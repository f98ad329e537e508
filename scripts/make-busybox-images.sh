#!/usr/bin/env bash
# Builds the busybox container images the engine tests feed to podman,
# containerd and dockerd, from the cached busybox rootfs
# (scripts/make-busybox-rootfs.sh). No network is needed.
#
#   scripts/make-busybox-images.sh [--print-dir]
#
# Output, cached in <repo>/.cache/images/ and rebuilt when a file is missing
# or the rootfs's busybox changed:
#   busybox-oci/         OCI image layout (umoci), tag 'latest', cmd 'sh'
#   busybox-oci.tar      that layout as a tar, for `ctr images import --base-name NAME`
#   busybox-docker.tar   docker-archive (skopeo) named localhost/busybox:latest, for `docker load`
#   busybox-rootfs.tar   the plain rootfs, for `podman import`
# With --print-dir the cache dir is printed on stdout.
# Safe to run concurrently (a lock file serialises builders; files are renamed into place).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="$repo/.cache/images"
rootfs="$repo/.cache/busybox-rootfs"
name=localhost/busybox:latest
files=(busybox-oci/index.json busybox-oci.tar busybox-docker.tar busybox-rootfs.tar)

print_dir=0
case "${1:-}" in
"") ;;
--print-dir) print_dir=1 ;;
*)
	echo "usage: $0 [--print-dir]" >&2
	exit 2
	;;
esac

for tool in umoci skopeo tar flock sha256sum; do
	command -v "$tool" >/dev/null || {
		echo "make-busybox-images: '$tool' not found (run scripts/install-deps.sh)" >&2
		exit 1
	}
done

"$repo/scripts/make-busybox-rootfs.sh"

up_to_date() {
	local f
	for f in "${files[@]}"; do
		[ -e "$cache/$f" ] || return 1
	done
	[ -f "$cache/busybox.stamp" ] && [ "$(cat "$cache/busybox.stamp")" = "$stamp" ]
}

build() {
	local tmp
	tmp=$(mktemp -d "$cache/.build.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT

	# OCI layout: a blank image, unpacked, filled with the rootfs, repacked as one layer.
	umoci init --layout "$tmp/busybox-oci"
	umoci new --image "$tmp/busybox-oci:latest"
	umoci unpack --image "$tmp/busybox-oci:latest" "$tmp/bundle" >/dev/null
	cp -a "$rootfs/." "$tmp/bundle/rootfs/"
	umoci repack --image "$tmp/busybox-oci:latest" "$tmp/bundle"
	umoci config --image "$tmp/busybox-oci:latest" \
		--config.cmd sh \
		--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--config.workingdir /
	umoci gc --layout "$tmp/busybox-oci"
	rm -rf "$tmp/bundle"

	tar -C "$tmp/busybox-oci" -cf "$tmp/busybox-oci.tar" oci-layout index.json blobs
	# skopeo (containers/image) keeps a blob-info cache in /var/lib/containers/cache for
	# root, with no option to move it: remove it afterwards when it was not there before.
	local had_cache=0
	[ -e /var/lib/containers ] && had_cache=1
	skopeo copy --quiet --tmpdir "$tmp" \
		"oci:$tmp/busybox-oci:latest" "docker-archive:$tmp/busybox-docker.tar:$name"
	if [ "$had_cache" = 0 ]; then
		rm -rf /var/lib/containers/cache
		rmdir /var/lib/containers 2>/dev/null || true
	fi
	tar -C "$rootfs" --numeric-owner -cf "$tmp/busybox-rootfs.tar" .

	rm -rf "$cache/busybox-oci"
	mv -T "$tmp/busybox-oci" "$cache/busybox-oci"
	mv -f "$tmp/busybox-oci.tar" "$tmp/busybox-docker.tar" "$tmp/busybox-rootfs.tar" "$cache/"
	echo "$stamp" >"$tmp/busybox.stamp"
	mv -f "$tmp/busybox.stamp" "$cache/busybox.stamp"
	rm -rf "$tmp"
	trap - EXIT
}

mkdir -p "$cache"
stamp=$(sha256sum <"$rootfs/bin/busybox" | cut -d' ' -f1)
if ! up_to_date; then
	exec 9>"$cache/.lock"
	flock 9
	up_to_date || build
	exec 9>&-
fi
[ "$print_dir" = 0 ] || echo "$cache"
