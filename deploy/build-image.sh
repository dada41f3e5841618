#!/usr/bin/env bash
# Build kemu's container image without any registry:
#   1. a Debian bookworm base from debootstrap (Debian's mirror), imported as localhost/kemu-base:bookworm;
#   2. a wheelhouse of kemu and its pinned dependencies, built on this host;
#   3. `podman build` (or `docker build` with ENGINE=docker) of deploy/Containerfile as localhost/kemu:latest.
# Idempotent: reuses the base image and the debootstrap tree when present.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${ENGINE:-podman}
ROOTFS=${KEMU_ROOTFS:-/var/lib/kemu/rootfs-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Podman on this kind of machine (no CAP_SYS_RESOURCE) must not try to raise rlimits: nofile and nproc defaults it
# may set (nproc above 32768 is refused here, measured), and runc (see ../shared/DESIGN.md).
if [ "$ENGINE" = podman ] && [ "$(id -u)" = 0 ] && ! grep -qs 'nproc=32768' /etc/containers/containers.conf; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n' \
    >> /etc/containers/containers.conf
fi
if ! $ENGINE image exists localhost/kemu-base:bookworm 2>/dev/null; then
  if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
    debootstrap --variant=minbase --include=python3,python3-venv,iproute2,nftables,procps,ca-certificates \
      bookworm "$ROOTFS" "$MIRROR"
  fi
  tar -C "$ROOTFS" -c . | $ENGINE import - localhost/kemu-base:bookworm
fi
rm -rf build/wheels && mkdir -p build/wheels
.venv/bin/pip wheel -q -w build/wheels .
$ENGINE build -f deploy/Containerfile -t localhost/kemu:latest .
