"""Leader election and node loss on a real control plane: two controller-manager replicas and a scheduler with
--leader-elect (one leader; failover when it is killed), and a node whose heartbeats stop (Unknown, unreachable
taints, eviction after the pods' tolerationSeconds, replacements on the surviving nodes; a bare pod is not
recreated). Fast timings: lease 4 s / renew 3 s / retry 0.5 s, node-monitor-grace-period 6 s."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.controllers.conftest import Cluster, start_controller_manager, start_scheduler
from tests.integration.controllers.kubelets import Api, FakeKubelets
from tests.support.apiserver import start_apiserver
from tests.support.procs import ProcessGroup, wait_for
from tests.support.real_etcd import start_real_etcd

pytestmark = pytest.mark.integration
Obj = dict[str, Any]
LEADER = ["--leader-elect", "--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
          "--leader-elect-retry-period", "0.5s"]
FAST = ["--node-monitor-grace-period", "6s", "--node-monitor-period", "1s"]


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base: Path = tmp_path_factory.mktemp("ha")
    group = ProcessGroup(base / "logs")
    kubelets: FakeKubelets | None = None
    try:
        members = start_real_etcd(group, base / "etcd", size=1)
        api = start_apiserver(group, [m.client_url for m in members], base / "apiserver")
        rest = Api(api.url, api.token, str(api.ca_file))
        kubelets = FakeKubelets(rest)
        for i in range(3):
            kubelets.add_node(f"node-{i + 1}")
        kubelets.start()
        for ident in ("kcm-a", "kcm-b"):
            start_controller_manager(group, api, ident, *LEADER, "--identity", ident, *FAST)
        start_scheduler(group, api, "sched", *LEADER, "--identity", "sched-a")
        yield Cluster(api, rest, kubelets, group)
    finally:
        if kubelets is not None:
            kubelets.close()
        group.close()


def lease(c: Cluster, name: str) -> Obj:
    return c.rest.call("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}") or {}


def holder(c: Cluster, name: str) -> str:
    return str((lease(c, name).get("spec") or {}).get("holderIdentity") or "")


def deployment(ns: str, name: str, replicas: int, toleration_s: int | None = None) -> str:
    tol = ""
    if toleration_s is not None:
        tol = f"""      tolerations:
      - {{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: {toleration_s}}}
      - {{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: {toleration_s}}}
"""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: c, image: nginx}}]
{tol}"""


def ready_pods(c: Cluster, ns: str, sel: str) -> list[Obj]:
    items = c.rest.call("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector={sel}")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")
            and any(x["type"] == "Ready" and x["status"] == "True" for x in (p.get("status") or {}).get("conditions")
                    or [])]


def test_one_leader_and_failover(ha: Cluster) -> None:
    c = ha
    wait_for(lambda: holder(c, "kube-controller-manager") in ("kcm-a", "kcm-b"), 30, 0.2, "a kcm leader")
    wait_for(lambda: holder(c, "kube-scheduler") == "sched-a", 30, 0.2, "the scheduler leader")
    first = holder(c, "kube-controller-manager")
    other = "kcm-b" if first == "kcm-a" else "kcm-a"
    before = int(lease(c, "kube-controller-manager")["spec"].get("leaseTransitions") or 0)
    c.kubectl("create", "namespace", "ha")
    c.kubectl("apply", "-f", "-", input=deployment("ha", "web", 2))
    wait_for(lambda: len(ready_pods(c, "ha", "app=web")) == 2, 60, 0.2, "2 ready pods under the first leader")
    # the standby does nothing: only the leader wrote events
    log_other = c.procs.log(other)
    assert "caches synced" not in log_other
    c.procs.kill(first)
    wait_for(lambda: holder(c, "kube-controller-manager") == other, 30, 0.2, "failover to the standby")
    after = lease(c, "kube-controller-manager")["spec"]
    assert int(after.get("leaseTransitions") or 0) == before + 1
    c.kubectl("scale", "deployment/web", "-n", "ha", "--replicas=3")
    wait_for(lambda: len(ready_pods(c, "ha", "app=web")) == 3, 60, 0.2, "scaled by the new leader")
    # a clean stop (SIGTERM) gives the Lease up at once and exits 0
    c.procs.signal(other, signal.SIGTERM)
    assert c.procs.procs[other].wait(timeout=20) == 0
    assert holder(c, "kube-controller-manager") == ""
    c.procs.restart(other)  # the node-loss test below needs a controller-manager again
    wait_for(lambda: holder(c, "kube-controller-manager") == other, 30, 0.2, "a leader again")


def test_node_loss_evicts_and_replaces(ha: Cluster) -> None:
    c = ha
    c.kubectl("create", "namespace", "nl")
    c.kubectl("apply", "-f", "-", input=deployment("nl", "svc", 3, toleration_s=2))
    c.kubectl("run", "bare", "-n", "nl", "--image=nginx", "--overrides", json.dumps({"spec": {
        "nodeName": "node-3", "tolerations": [
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 2}]}}))
    wait_for(lambda: len(ready_pods(c, "nl", "app=svc")) == 3, 60, 0.2, "3 ready pods")
    # make sure one replica sits on node-3
    on3 = [p for p in ready_pods(c, "nl", "app=svc") if p["spec"]["nodeName"] == "node-3"]
    if not on3:
        c.kubectl("scale", "deployment/svc", "-n", "nl", "--replicas=6")
        wait_for(lambda: any(p["spec"]["nodeName"] == "node-3" for p in ready_pods(c, "nl", "app=svc")), 60, 0.2,
                 "a replica on node-3")
    want = len(ready_pods(c, "nl", "app=svc"))
    c.kubelets.nodes["node-3"] = False  # its kubelet goes silent

    def ready_of(node: str) -> str:
        n = c.rest.call("GET", f"/api/v1/nodes/{node}") or {}
        return str(next((x["status"] for x in (n.get("status") or {}).get("conditions") or []
                         if x["type"] == "Ready"), ""))

    wait_for(lambda: ready_of("node-3") == "Unknown", 40, 0.2, "node-3 Unknown")
    node3 = c.rest.call("GET", "/api/v1/nodes/node-3")
    taints = {(t["key"], t["effect"]) for t in node3["spec"].get("taints") or []}
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints
    assert ("node.kubernetes.io/unreachable", "NoSchedule") in taints
    assert ready_of("node-1") == "True"

    def replaced() -> bool:
        ps = ready_pods(c, "nl", "app=svc")
        return len(ps) == want and all(p["spec"]["nodeName"] != "node-3" for p in ps)

    wait_for(replaced, 60, 0.2, "replicas evicted from node-3 and replaced elsewhere")
    bare = c.rest.call("GET", "/api/v1/namespaces/nl/pods/bare")
    assert bare is not None and bare["metadata"].get("deletionTimestamp")  # evicted, never recreated elsewhere
    assert bare["spec"]["nodeName"] == "node-3"

    # the kubelet comes back: Ready again, lifecycle taints removed, the pending deletion completes
    c.kubelets.nodes["node-3"] = True
    c.kubelets._status("node-3")
    wait_for(lambda: ready_of("node-3") == "True" and not [
        t for t in (c.rest.call("GET", "/api/v1/nodes/node-3")["spec"].get("taints") or [])
        if t["key"].startswith("node.kubernetes.io/")], 30, 0.2, "node-3 healthy and untainted")
    wait_for(lambda: c.rest.call("GET", "/api/v1/namespaces/nl/pods/bare") is None, 30, 0.2, "bare pod gone")
