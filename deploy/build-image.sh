#!/usr/bin/env bash
# Build kemu's container image without any registry:
#   1. a Debian bookworm base from debootstrap (Debian's mirror), imported as localhost/kemu-base:bookworm;
#   2. a wheelhouse of kemu and its pinned dependencies, built on this host;
#   3. `podman build` (or `docker build` with ENGINE=docker) of deploy/Containerfile as localhost/kemu:latest.
# Idempotent: reuses the base image and the debootstrap tree when present.
# On a laptop without debootstrap: BASE=docker.io/library/debian:bookworm PIP_SOURCE=pypi ENGINE=docker (the base
# from Docker Hub, Python packages from PyPI inside the build; no host Python needed).
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${ENGINE:-podman}
ROOTFS=${KEMU_ROOTFS:-/var/lib/kemu/rootfs-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=${BASE:-localhost/kemu-base:bookworm}
PIP_SOURCE=${PIP_SOURCE:-wheelhouse}
# Podman on this kind of machine (no CAP_SYS_RESOURCE) must not try to raise rlimits: nofile and nproc defaults it
# may set (nproc above 32768 is refused here, measured), and runc (see ../shared/DESIGN.md).
if [ "$ENGINE" = podman ] && [ "$(id -u)" = 0 ] && ! grep -qs 'nproc=32768' /etc/containers/containers.conf; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n' \
    >> /etc/containers/containers.conf
fi
if [ "$BASE" = localhost/kemu-base:bookworm ] && ! $ENGINE image inspect "$BASE" >/dev/null 2>&1; then
  if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
    debootstrap --variant=minbase --include=python3,python3-venv,iproute2,nftables,procps,ca-certificates \
      bookworm "$ROOTFS" "$MIRROR"
  fi
  tar -C "$ROOTFS" -c . | $ENGINE import - "$BASE"
fi
rm -rf build/wheels && mkdir -p build/wheels
if [ "$PIP_SOURCE" = wheelhouse ]; then
  .venv/bin/pip wheel -q -w build/wheels .
fi
old=$($ENGINE image inspect --format '{{.Id}}' localhost/kemu:latest 2>/dev/null || true)
$ENGINE build -f deploy/Containerfile --build-arg BASE="$BASE" --build-arg PIP_SOURCE="$PIP_SOURCE" \
  -t localhost/kemu:latest .
# Each build of a changed tree leaves the previous image untagged: remove it (kept while a container uses it).
new=$($ENGINE image inspect --format '{{.Id}}' localhost/kemu:latest)
if [ -n "$old" ] && [ "$old" != "$new" ]; then $ENGINE rmi "$old" >/dev/null 2>&1 || true; fi
