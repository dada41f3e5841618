#!/usr/bin/env bash
# docker-compose against podman's Docker-compatible API (or Docker's own daemon when one runs).
# Usage: deploy/compose.sh up -d | ps | logs node-1 | kill node-2 | down -v
#        deploy/compose.sh kubeconfig [FILE]   write the host's kubeconfig (default ~/.kemu/compose.kubeconfig)
#        deploy/compose.sh stop-api            end the podman API service this script started
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  sock=/run/podman/podman.sock
  if [ "${1:-}" = stop-api ]; then
    [ -f /run/podman/service.pid ] && kill "$(cat /run/podman/service.pid)" && rm -f /run/podman/service.pid
    exit 0
  fi
  if [ ! -S "$sock" ] || ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
    mkdir -p /run/podman
    # The API service runs until the machine stops; `deploy/compose.sh stop-api` ends it.
    setsid podman system service --time=0 "unix://$sock" >/run/podman/service.log 2>&1 < /dev/null &
    echo $! > /run/podman/service.pid
    for _ in $(seq 50); do curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export DOCKER_HOST="unix://$sock"
fi
compose() { docker-compose -p kemu -f docker-compose.yml "$@"; }

case "${1:-}" in
  kubeconfig)
    out=${2:-$HOME/.kemu/compose.kubeconfig}
    mkdir -p "$(dirname "$out")"
    # Written by the init container into the shared volume; read through the running apiserver container (the init
    # container may still be at work right after `up`: retry for up to a minute).
    for i in $(seq 30); do
      compose exec -T apiserver-1 cat /var/lib/kemu-compose/host.kubeconfig > "$out.tmp" 2>/dev/null && break
      [ "$i" = 30 ] && { rm -f "$out.tmp"; echo "no kubeconfig yet: is the cluster up? (deploy/compose.sh ps)" >&2; exit 1; }
      sleep 2
    done
    chmod 600 "$out.tmp" && mv "$out.tmp" "$out"
    echo "$out"
    ;;
  down)
    compose "$@"
    # A node container that was killed (not stopped) leaves its pods' cgroups behind where the container shares the
    # host's cgroup hierarchy (cgroup v1, as here): remove them with the runtime's own sweep. Idempotent.
    if [ -x ../.venv/bin/python ] && [ "$(id -u)" = 0 ]; then
      roots=()
      for n in $(compose config --services 2>/dev/null | grep '^node-'); do
        roots+=(--root "/var/lib/kemu-compose/nodes/$n/runtime")
      done
      [ ${#roots[@]} -gt 0 ] && (cd .. && .venv/bin/python -m node_agent.runtime.sweep "${roots[@]}") || true
    fi
    ;;
  *)
    exec docker-compose -p kemu -f docker-compose.yml "$@"
    ;;
esac
