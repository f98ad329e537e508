#!/usr/bin/env bash
# Installs every Debian package hull needs to build, test and benchmark.
# Idempotent and quiet when everything is already there.
set -euo pipefail

pkgs=(
	# build
	gcc make meson ninja-build pkg-config clang-format
	libjson-c-dev libseccomp-dev libcap-dev
	# hull's system images: tar/compression, sha256, distro builds
	libarchive-dev libssl-dev libyaml-dev debootstrap
	# the registry client (hull image pull, hull login)
	libcurl4-openssl-dev
	# the VM initramfs (zlib) and its tests (cpio); root images (mke2fs)
	zlib1g-dev cpio e2fsprogs
	# managed networks: netlink, NAT, DHCP/DNS on bridges
	libmnl-dev libnftables-dev nftables dnsmasq-base
	# tests
	libcmocka-dev python3 python3-pytest busybox-static uidmap iproute2 strace procps util-linux
	# a real registry on loopback for the pull tests (tests/integration/images), htpasswd
	docker-registry apache2-utils openssl
	# zstd-compressed test layers (tests/integration/images/store_fixtures.py)
	zstd
	# reference runtimes for differential tests and benchmarks (lxc: bench/launch)
	runc crun lxc
	# real engines driving hull-runtime (tests/integration/engines) and the image tools
	# that build their busybox images (scripts/make-busybox-images.sh)
	podman conmon containerd docker.io umoci skopeo
	# micro-VMs (docs/vm.md): the guest kernel's source and build tools, and QEMU
	# for the nested KVM lab (tests/lab) and the boot baseline
	linux-source-6.1 bc bison flex libelf-dev cpio xz-utils qemu-system-x86
)

# hull's system containers take their id ranges (65536 ids each) from root's
# subordinate ids: add a range for root when there is none
# (docs/system-containers.md)
for f in /etc/subuid /etc/subgid; do
	grep -q '^root:' "$f" 2>/dev/null || echo 'root:1000000:1000000000' >>"$f"
done

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
