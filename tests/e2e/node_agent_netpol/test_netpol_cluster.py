"""NetworkPolicy enforced on a real cluster (issue 6, "must show" 2): `kemu up --nodes 2` on its own machines, pods
with nc servers on three ports, clients on both nodes, driven with the real kubectl.

With default-deny a client is refused; after an allow rule for its labels and (named) port it connects, from the
server's node and from the other node; other ports and other labels stay closed; a namespaceSelector admits a pod
of another namespace on its port; the kubelet's readiness probes (from the pod's node) keep passing; with
default-deny egress DNS fails until an egress rule allows port 53; deleting the policies opens everything again.
Refusals are drops, so each costs one `nc -w 2` timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest

from tests.conftest import require_root
from tests.support.kemu_cli import run_kemu
from tests.support.net import free_subnet
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e

SERVER = ("for p in 8080 9090 7070; do (while true; do echo \"$(hostname):$p\" | nc -l -p $p; done) & done; "
          "sleep 3600")


def _pod(name: str, ns: str, node: str, labels: dict[str, str], server: bool = False) -> dict[str, object]:
    container: dict[str, object] = {"name": "c", "image": "busybox", "command": ["sh", "-c", SERVER if server
                                                                                  else "sleep 3600"]}
    if server:
        container["ports"] = [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}]
        # the kubelet probes from the pod's own node, which policy never blocks (7070 is open to no peer)
        container["readinessProbe"] = {"tcpSocket": {"port": 7070}, "periodSeconds": 1, "failureThreshold": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [container]}}


def _policy(name: str, ns: str, spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


DENY_INGRESS = _policy("default-deny-ingress", "np", {"podSelector": {}, "policyTypes": ["Ingress"]})
ALLOW_CLIENTS = _policy("allow-clients", "np", {
    "podSelector": {"matchLabels": {"app": "srv"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}], "ports": [{"port": "http"}]}]})
ALLOW_OPS_METRICS = _policy("allow-ops-metrics", "np", {
    "podSelector": {"matchLabels": {"app": "srv"}},
    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}], "ports": [{"port": 9090}]}]})
DENY_EGRESS = _policy("default-deny-egress", "np", {
    "podSelector": {"matchLabels": {"role": "client"}}, "policyTypes": ["Egress"],
    "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "srv"}}}], "ports": [{"port": 8080}]}]})
ALLOW_DNS = _policy("allow-dns", "np", {
    "podSelector": {}, "policyTypes": ["Egress"],
    "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})


def scenario(kubectl: Kubectl) -> None:
    """The checks, on a cluster with nodes node-1 and node-2 (any kubectl wrapper will do)."""

    def apply(*objs: dict[str, object]) -> None:
        kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))

    def ready_nodes() -> int:
        return sum(line.split()[1] == "Ready" for line in kubectl("get", "nodes", "--no-headers").splitlines())
    wait_for(lambda: ready_nodes() == 2, timeout_s=60, interval_s=1, what="2 Ready nodes")
    apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "np"}},
          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops", "labels": {"team": "ops"}}})
    wait_for(lambda: "default" in kubectl("get", "sa", "-n", "np", "-o", "name", check=False)
             and "default" in kubectl("get", "sa", "-n", "ops", "-o", "name", check=False),
             timeout_s=30, interval_s=0.5, what="default service accounts")
    apply(_pod("srv", "np", "node-1", {"app": "srv"}, server=True),
          _pod("cli-1", "np", "node-1", {"role": "client"}), _pod("cli-2", "np", "node-2", {"role": "client"}),
          _pod("stranger", "np", "node-2", {"role": "other"}), _pod("prom", "ops", "node-2", {"app": "prom"}),
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "np"},
           "spec": {"selector": {"app": "srv"}, "ports": [{"port": 80, "targetPort": "http"}]}})
    kubectl("wait", "--for=condition=Ready", "-n", "np", "pod/srv", "pod/cli-1", "pod/cli-2", "pod/stranger",
            "--timeout=120s")
    kubectl("wait", "--for=condition=Ready", "-n", "ops", "pod/prom", "--timeout=120s")
    srv_ip = json.loads(kubectl("get", "pod", "-n", "np", "srv", "-o", "json"))["status"]["podIP"]

    def probe(pod: str, port: int, ns: str = "np", host: str = "") -> bool:
        out = kubectl("exec", "-n", ns, pod, "--", "sh", "-c",
                      f"echo | timeout 6 nc -w 2 {host or srv_ip} {port} || true", check=False)
        return f"srv:{'8080' if port in (80, 8080) else port}" in out

    def holds(what: str, check: Callable[[], bool]) -> None:
        wait_for(check, timeout_s=30, interval_s=0.5, what=what)

    # open before any policy
    holds("open cluster: cli-1 reaches srv:8080", lambda: probe("cli-1", 8080))
    # (1) default-deny: a client is refused
    apply(DENY_INGRESS)
    holds("default-deny refuses cli-1", lambda: not probe("cli-1", 8080))
    # (2) allow for the client's labels and (named) port: it connects, same node and cross-node
    apply(ALLOW_CLIENTS)
    holds("allowed client on the server's node connects", lambda: probe("cli-1", 8080))
    holds("allowed client on the other node connects", lambda: probe("cli-2", 8080))
    assert probe("cli-1", 80, host="web.np.svc.cluster.local"), "through the Service (DNS + DNAT, judged after DNAT)"
    # (3) other ports and other labels stay closed
    assert not probe("cli-1", 9090), "a port no rule allows stays closed"
    assert not probe("stranger", 8080), "a pod without the allowed labels stays refused"
    # (4) namespaceSelector: the ops namespace gets 9090 and only 9090
    apply(ALLOW_OPS_METRICS)
    holds("namespaceSelector admits ops/prom on 9090", lambda: probe("prom", 9090, ns="ops"))
    assert not probe("prom", 8080, ns="ops"), "ops/prom only on the port its rule names"
    assert probe("cli-1", 8080), "policies are additive: the clients' allow still holds"
    ready = kubectl("get", "pod", "-n", "np", "srv", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")
    assert ready == "True", "the kubelet's probes (from the pod's own node) pass under default-deny"
    # (5) egress: default-deny egress blocks DNS; an allow rule for port 53 lets it through
    apply(DENY_EGRESS)
    holds("egress deny blocks DNS", lambda: not probe("cli-2", 80, host="web.np.svc.cluster.local"))
    assert probe("cli-2", 8080), "egress to srv:8080 is allowed by the same policy"
    apply(ALLOW_DNS)
    holds("DNS allowed by an egress rule", lambda: probe("cli-2", 80, host="web.np.svc.cluster.local"))
    # (6) delete the policies: open again
    kubectl("delete", "networkpolicy", "-n", "np", "--all")
    holds("open again: stranger reaches srv:9090", lambda: probe("stranger", 9090))


class Kubectl(Protocol):
    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> str: ...


def kubectl_for(kubeconfig: Path, cache: Path) -> Kubectl:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
        r = subprocess.run(["kubectl", "--cache-dir", str(cache), *args], capture_output=True, text=True,
                           timeout=60, env=env, input=stdin)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {r.stderr}")
        return r.stdout
    return kubectl


def test_default_deny_then_allow_rules(tmp_path: Path) -> None:
    require_root()
    cluster = "p" + uuid.uuid4().hex[:6]
    state = tmp_path / "state"
    up = run_kemu(state, cluster, "up", "--netns", "on", "--subnet", free_subnet(), "--fast", "--nodes", "2",
               "--etcd-members", "1")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        scenario(kubectl_for(state / "kubeconfig", tmp_path / "kc"))
    finally:
        down = run_kemu(state, cluster, "down")
    assert down.returncode == 0, down.stdout + down.stderr
