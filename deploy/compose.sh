#!/usr/bin/env bash
# docker-compose against podman's Docker-compatible API (or Docker's own daemon when one runs).
# Usage: deploy/compose.sh up -d | ps | logs etcd-1 | down -v
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  sock=/run/podman/podman.sock
  if [ ! -S "$sock" ] || ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
    mkdir -p /run/podman
    # The API service runs until the machine stops; `deploy/compose.sh stop-api` ends it.
    setsid podman system service --time=0 "unix://$sock" >/run/podman/service.log 2>&1 < /dev/null &
    echo $! > /run/podman/service.pid
    for _ in $(seq 50); do curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export DOCKER_HOST="unix://$sock"
fi
if [ "${1:-}" = stop-api ]; then
  [ -f /run/podman/service.pid ] && kill "$(cat /run/podman/service.pid)" && rm -f /run/podman/service.pid
  exit 0
fi
exec docker-compose -p kemu -f docker-compose.yml "$@"
