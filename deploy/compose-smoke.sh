#!/usr/bin/env bash
# The compose cluster as a user drives it (make compose-test): up; etcdctl from the host writes and reads; kubectl
# from the host sees the nodes Ready; a busybox pod runs on a node and `kubectl logs` shows its output; a pod on the
# other node reaches it through a Service by DNS name; a node container killed -> that Node turns NotReady; an etcd member container killed -> the store and the API still
# write; down leaves no container, network, volume or cgroup behind. Exits non-zero on the first failure (after
# printing the containers' last log lines). Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")"
ENGINE=${ENGINE:-podman}
export ETCDCTL_API=3 KEMU_FAST=1
# A free loopback port for the apiserver (a `kemu up` on this machine may hold 6443).
export KEMU_API_PORT=${KEMU_API_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
EP=--endpoints=10.251.0.10:2379,10.251.0.11:2379,10.251.0.12:2379
KC=$(mktemp -d)/kubeconfig
k() { kubectl --kubeconfig "$KC" --request-timeout=10s "$@"; }
T0=$(date +%s)
step() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
ok=0
cleanup() {
  if [ "$ok" != 1 ]; then
    echo "--- FAILED; last log lines of each container:"
    ./compose.sh logs --tail 25 2>&1 | tail -n 300 || true
  fi
  ./compose.sh down -v >/dev/null 2>&1 || true
  rm -rf "$(dirname "$KC")"
}
trap cleanup EXIT
# wait_for SECONDS DESCRIPTION COMMAND...: poll every 2 s until COMMAND succeeds.
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -gt "$end" ]; then echo "timed out after ${limit}s waiting for: $what"; return 1; fi
    sleep 2
  done
  step "$what"
}

./compose.sh down -v >/dev/null 2>&1 || true
step "up (apiserver on 127.0.0.1:$KEMU_API_PORT)"
./compose.sh up -d
wait_for 120 "store healthy" etcdctl $EP endpoint health
etcdctl $EP put compose smoke >/dev/null
[ "$(etcdctl $EP get compose --print-value-only)" = smoke ]
[ "$(etcdctl $EP endpoint status -w json | grep -o '"leader":[0-9]*' | sort -u | wc -l)" = 1 ]
step "etcdctl from the host: write + read, one leader"

wait_for 180 "host kubeconfig written" ./compose.sh kubeconfig "$KC"
nodes_ready() { [ "$(k get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)" = 2 ]; }
wait_for 240 "kubectl get nodes: 2 nodes Ready" nodes_ready
k get nodes -o wide

# A server pod on node-2 behind a Service, a client pod on node-1. The controller-manager creates the namespace's
# default ServiceAccount; until then pod creation is refused (hence the retries).
on() { echo "{\"spec\":{\"nodeName\":\"$1\"}}"; }
wait_for 120 "pod smoke created (node-2)" k run smoke --image=busybox --restart=Never --overrides="$(on node-2)" -- \
  sh -c 'echo hello from compose; mkdir -p /www; echo ok-from-node-2 > /www/index.html; exec httpd -f -p 8080 -h /www'
wait_for 60 "pod client created (node-1)" k run client --image=busybox --restart=Never --overrides="$(on node-1)" -- \
  sleep 3600
k expose pod smoke --port 80 --target-port 8080 >/dev/null
running() { [ "$(k get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
wait_for 180 "pods Running" eval 'running smoke && running client'
logs_ok() { k logs smoke | grep -q 'hello from compose'; }
wait_for 60 "kubectl logs smoke shows its output" logs_ok
k get pods -o wide
svc_ok() { k exec client -- sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 5 smoke 80' | grep -q ok-from-node-2; }
wait_for 60 "client on node-1 -> Service smoke (DNS name) -> pod on node-2" svc_ok

./compose.sh kill node-2
step "killed the node-2 container"
notready() { k get node node-2 --no-headers | awk '{print $2}' | grep -q '^NotReady'; }
wait_for 120 "node-2 NotReady" notready
k get nodes

./compose.sh kill etcd-2
step "killed the etcd-2 container"
wait_for 60 "store still writes (etcdctl)" etcdctl $EP --command-timeout=5s put after-kill ok
wait_for 60 "API still writes (kubectl create configmap)" k create configmap after-kill --from-literal=ok=1

step "down"
./compose.sh down -v
left=$(./compose.sh ps -q; $ENGINE network ls --format '{{.Name}}' | grep '^kemu_' || true;
       $ENGINE volume ls --format '{{.Name}}' | grep '^kemu_' || true)
left+=$(cd .. && .venv/bin/python -c 'from pathlib import Path; from node_agent.runtime.sweep import scope_dirs
for n in ("node-1", "node-2"): print(*scope_dirs(Path(f"/var/lib/kemu-compose/nodes/{n}/runtime")))' | tr -d '\n')
if [ -n "$left" ]; then echo "left behind after down: $left"; exit 1; fi
step "down left no container, network, volume or cgroup"
ok=1
echo "compose smoke: PASS ($(( $(date +%s) - T0 ))s)"
