"""StatefulSet, DaemonSet, CronJob, PVC provisioning and preemption on a real control plane with kubectl."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.integration.controllers.conftest import Cluster
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration
Obj = dict[str, Any]


def items(c: Cluster, path: str) -> list[Obj]:
    return list((c.rest.call("GET", path) or {}).get("items") or [])


def test_statefulset_ordered_start_and_pvc_retention(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "sts")
    c.kubelets.hold_ready.add("pg-0")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pg, namespace: sts}
spec:
  serviceName: pg
  replicas: 3
  selector: {matchLabels: {app: pg}}
  template:
    metadata: {labels: {app: pg}}
    spec: {containers: [{name: c, image: postgres}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
""")
    wait_for(lambda: c.rest.call("GET", "/api/v1/namespaces/sts/pods/pg-0") is not None, 30, 0.2, "pg-0")
    time.sleep(1.5)
    assert c.rest.call("GET", "/api/v1/namespaces/sts/pods/pg-1") is None  # waits for pg-0 to be Ready
    c.kubelets.hold_ready.discard("pg-0")
    c.kubectl("rollout", "status", "statefulset/pg", "-n", "sts", "--timeout=60s", timeout=90)
    pods = sorted(items(c, "/api/v1/namespaces/sts/pods"), key=lambda p: p["metadata"]["creationTimestamp"])
    assert [p["metadata"]["name"] for p in pods] == ["pg-0", "pg-1", "pg-2"]
    assert pods[0]["spec"]["hostname"] == "pg-0" and pods[0]["spec"]["subdomain"] == "pg"

    def pvcs() -> dict[str, str]:
        return {p["metadata"]["name"]: (p.get("status") or {}).get("phase", "")
                for p in items(c, "/api/v1/namespaces/sts/persistentvolumeclaims")}

    wait_for(lambda: pvcs() == {f"data-pg-{i}": "Bound" for i in range(3)}, 30, 0.2, "3 bound PVCs")
    pv = items(c, "/api/v1/persistentvolumes")[0]
    assert pv["spec"]["storageClassName"] == "standard" and pv["spec"]["hostPath"]["type"] == "DirectoryOrCreate"
    c.kubectl("scale", "statefulset/pg", "-n", "sts", "--replicas=1")
    wait_for(lambda: [p["metadata"]["name"] for p in items(c, "/api/v1/namespaces/sts/pods")] == ["pg-0"], 60, 0.2,
             "scaled down to pg-0")
    c.kubectl("delete", "statefulset/pg", "-n", "sts")
    assert set(pvcs()) == {"data-pg-0", "data-pg-1", "data-pg-2"}  # retained


def test_daemonset_on_every_node(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "ds")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ds}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: fluentd}]}
""")

    def placed() -> list[str]:
        return sorted(p["spec"].get("nodeName") or "" for p in items(c, "/api/v1/namespaces/ds/pods")
                      if not p["metadata"].get("deletionTimestamp"))

    wait_for(lambda: placed() == ["node-1", "node-2", "node-3"], 30, 0.2, "a daemon on each node")
    c.kubelets.add_node("node-4")
    wait_for(lambda: placed() == ["node-1", "node-2", "node-3", "node-4"], 30, 0.2, "a daemon on the new node")
    c.kubectl("rollout", "status", "daemonset/agent", "-n", "ds", "--timeout=60s", timeout=90)
    c.kubectl("delete", "node", "node-4")
    wait_for(lambda: placed() == ["node-1", "node-2", "node-3"], 30, 0.2, "the daemon of the removed node gone")


def test_cronjob_manual_run_and_history(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "cron")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: cron}
spec:
  schedule: "0 0 1 1 *"
  successfulJobsHistoryLimit: 2
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["true"]}]
""")
    for i in range(4):
        c.kubectl("create", "job", f"manual-{i}", "--from=cronjob/report", "-n", "cron")
        wait_for(lambda i=i: any(x["type"] == "Complete" for x in ((c.rest.call(  # type: ignore[misc]
            "GET", f"/apis/batch/v1/namespaces/cron/jobs/manual-{i}") or {}).get("status") or {}).get(
            "conditions") or []), 30, 0.2, f"manual-{i} complete")
    wait_for(lambda: sorted(j["metadata"]["name"] for j in items(c, "/apis/batch/v1/namespaces/cron/jobs")
                            if not j["metadata"].get("deletionTimestamp")) == ["manual-2", "manual-3"],
             30, 0.2, "history pruned to 2")
    cj = c.rest.call("GET", "/apis/batch/v1/namespaces/cron/cronjobs/report")
    assert cj["status"].get("lastSuccessfulTime")


def test_preemption_by_priority_class(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "prio")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: urgent}
value: 1000000
""")
    wait_for(lambda: c.rest.call("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/urgent") is not None, 10, 0.1,
             "class")
    nodes = [n["metadata"]["name"] for n in items(c, "/api/v1/nodes")]
    for n in nodes:  # fill every node with a big low-priority pod
        c.kubectl("run", f"filler-{n}", "-n", "prio", "--image=busybox", "--overrides", json.dumps({"spec": {
            "nodeSelector": {"kubernetes.io/hostname": n},
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "3500m"}}}]}}))
    wait_for(lambda: all((p.get("status") or {}).get("phase") == "Running"
                         for p in items(c, "/api/v1/namespaces/prio/pods")), 30, 0.2, "fillers running")
    c.kubectl("run", "vip", "-n", "prio", "--image=busybox", "--overrides", json.dumps({"spec": {
        "priorityClassName": "urgent",
        "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "2"}}}]}}))

    def vip_node() -> str:
        p = c.rest.call("GET", "/api/v1/namespaces/prio/pods/vip") or {}
        return str((p.get("spec") or {}).get("nodeName") or "")

    wait_for(lambda: vip_node() != "", 60, 0.2, "the urgent pod scheduled after preemption")
    events = c.kubectl("get", "events", "-n", "prio")
    assert "Preempted" in events


def test_rollout_pause_resume_and_drain_with_pdb(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "dr")
    c.kubectl("create", "deployment", "web", "-n", "dr", "--image=nginx:1", "--replicas=3")
    c.kubectl("rollout", "status", "deployment/web", "-n", "dr", "--timeout=60s", timeout=90)
    c.kubectl("rollout", "pause", "deployment/web", "-n", "dr")
    c.kubectl("set", "image", "deployment/web", "-n", "dr", "nginx=nginx:2")
    time.sleep(1.5)
    assert len(items(c, "/apis/apps/v1/namespaces/dr/replicasets")) == 1  # paused: no new ReplicaSet
    c.kubectl("rollout", "resume", "deployment/web", "-n", "dr")
    c.kubectl("rollout", "status", "deployment/web", "-n", "dr", "--timeout=60s", timeout=90)
    assert len(items(c, "/apis/apps/v1/namespaces/dr/replicasets")) == 2

    c.kubectl("create", "poddisruptionbudget", "web", "-n", "dr", "--selector=app=web", "--min-available=2")
    wait_for(lambda: ((c.rest.call("GET", "/apis/policy/v1/namespaces/dr/poddisruptionbudgets/web") or {})
                      .get("status") or {}).get("disruptionsAllowed") == 1, 30, 0.2, "PDB allows 1 disruption")
    pods = [p for p in items(c, "/api/v1/namespaces/dr/pods") if not p["metadata"].get("deletionTimestamp")]
    target = pods[0]["spec"]["nodeName"]
    out = c.kubectl("drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=90s",
                    timeout=120)
    assert "drained" in out
    try:
        def on_target() -> list[Obj]:
            return [p for p in items(c, "/api/v1/namespaces/dr/pods")
                    if p["spec"].get("nodeName") == target and not p["metadata"].get("deletionTimestamp")]

        assert not on_target()
        wait_for(lambda: len([p for p in items(c, "/api/v1/namespaces/dr/pods")
                              if not p["metadata"].get("deletionTimestamp")
                              and (p.get("status") or {}).get("phase") == "Running"]) == 3, 60, 0.2,
                 "3 replicas again, elsewhere")
        node = c.rest.call("GET", f"/api/v1/nodes/{target}")
        assert node["spec"].get("unschedulable") is True
    finally:
        c.kubectl("uncordon", target)


def test_podgc_removes_pods_of_deleted_nodes(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "pgc")
    c.kubelets.add_node("node-gone")
    c.kubectl("run", "stray", "-n", "pgc", "--image=nginx", "--overrides",
              json.dumps({"spec": {"nodeName": "node-gone"}}))
    c.kubelets.nodes["node-gone"] = False  # no kubelet will ever confirm its pods' deletion
    c.kubectl("delete", "node", "node-gone")
    wait_for(lambda: c.rest.call("GET", "/api/v1/namespaces/pgc/pods/stray") is None, 40, 0.2,
             "the pod of the deleted node force-deleted")


def test_hpa_without_metrics_api_reports_it(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "hpa")
    c.kubectl("create", "deployment", "web", "-n", "hpa", "--image=nginx", "--replicas=2")
    c.kubectl("set", "resources", "deployment/web", "-n", "hpa", "--requests=cpu=100m")
    c.kubectl("autoscale", "deployment/web", "-n", "hpa", "--min=2", "--max=5", "--cpu-percent=50")

    def active() -> dict[str, str]:
        h = c.rest.call("GET", "/apis/autoscaling/v2/namespaces/hpa/horizontalpodautoscalers/web") or {}
        cond = next((x for x in (h.get("status") or {}).get("conditions") or [] if x["type"] == "ScalingActive"),
                    None)
        return dict(cond) if cond else {}

    wait_for(lambda: active().get("reason") == "FailedGetResourceMetric", 30, 0.2, "HPA reports missing metrics")
    assert active()["status"] == "False"
    assert "no metrics returned from resource metrics API" in active()["message"]


def test_quota_limits_replicas_and_reports_failure(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "quota")
    # pods=1 and 2 replicas: the second create is refused (the quota controller must not lower status.used
    # from a cache that has not seen the first pod yet, or the admission would let it through)
    c.kubectl("create", "quota", "q", "-n", "quota", "--hard=pods=1")
    wait_for(lambda: ((c.rest.call("GET", "/api/v1/namespaces/quota/resourcequotas/q") or {}).get("status") or {})
             .get("used", {}).get("pods") == "0", 30, 0.2, "quota usage tracked")
    c.kubectl("create", "deployment", "web", "-n", "quota", "--image=nginx", "--replicas=2")

    def rs_failure() -> str:
        rs = items(c, "/apis/apps/v1/namespaces/quota/replicasets")
        conds = ((rs[0].get("status") or {}).get("conditions") or []) if rs else []
        return next((x["message"] for x in conds if x["type"] == "ReplicaFailure"), "")

    wait_for(lambda: "exceeded quota" in rs_failure(), 30, 0.2, "ReplicaFailure condition")
    n = len(items(c, "/api/v1/namespaces/quota/pods"))
    assert n == 1
    wait_for(lambda: (c.rest.call("GET", "/api/v1/namespaces/quota/resourcequotas/q") or {})["status"]["used"]
             ["pods"] == str(n), 30, 0.2, "quota usage follows the pods")
    assert "FailedCreate" in c.kubectl("get", "events", "-n", "quota")
