#!/usr/bin/env bash
# The compose cluster as a user drives it: up, write and read through etcdctl from the host, kill one member
# container, still write, down. Exits non-zero on the first failure. (Store topology; grows with the components.)
set -euo pipefail
cd "$(dirname "$0")"
export ETCDCTL_API=3
EP=--endpoints=10.251.0.11:2379,10.251.0.12:2379,10.251.0.13:2379
cleanup() { ./compose.sh down -v >/dev/null 2>&1 || true; }
trap cleanup EXIT
./compose.sh up -d
for _ in $(seq 60); do etcdctl $EP endpoint health >/dev/null 2>&1 && break; sleep 0.5; done
etcdctl $EP put compose smoke
[ "$(etcdctl $EP get compose --print-value-only)" = smoke ]
[ "$(etcdctl $EP endpoint status -w json | grep -o '"leader":[0-9]*' | sort -u | wc -l)" = 1 ]
./compose.sh kill etcd-2
sleep 3
etcdctl $EP put after-kill ok
echo "compose smoke: PASS"
