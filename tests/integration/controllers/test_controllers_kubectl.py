"""Controllers and scheduler on a real control plane, driven with the real kubectl (fake kubelets simulate
readiness): Deployment scale / rolling update bounds / undo, scheduling constraints and the unschedulable
message, Endpoints, cascade and orphan deletes, Job, namespace deletion, node loss -> eviction -> replacement."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest

from tests.integration.controllers.conftest import Cluster
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration
Obj = dict[str, Any]


def deployment_yaml(ns: str, name: str, replicas: int, image: str, extra_spec: str = "") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
{extra_spec}  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: c
        image: {image}
        ports: [{{name: http, containerPort: 8080}}]
"""


def pods(c: Cluster, ns: str, selector: str = "") -> list[Obj]:
    q = f"?labelSelector={selector}" if selector else ""
    return list(c.rest.call("GET", f"/api/v1/namespaces/{ns}/pods{q}")["items"])


def live(ps: list[Obj]) -> list[Obj]:
    return [p for p in ps if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def test_deployment_scale_rolling_update_undo(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "dep")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("dep", "web", 3, "nginx:1"))
    c.kubectl("rollout", "status", "deployment/web", "-n", "dep", "--timeout=60s", timeout=90)
    ps = live(pods(c, "dep", "app=web"))
    assert len(ps) == 3 and all(p["spec"].get("nodeName") for p in ps)
    assert len({p["spec"]["nodeName"] for p in ps}) >= 2  # spread by the scores

    c.kubectl("scale", "deployment/web", "-n", "dep", "--replicas=5")
    wait_for(lambda: len([p for p in live(pods(c, "dep", "app=web"))
                          if (p.get("status") or {}).get("phase") == "Running"]) == 5, 60, 0.2, "5 running pods")

    peak = [0]
    stop = threading.Event()

    def watch_peak() -> None:
        for _ in range(3000):
            if stop.is_set():
                return
            peak[0] = max(peak[0], len(live(pods(c, "dep", "app=web"))))
            time.sleep(0.05)

    t = threading.Thread(target=watch_peak, daemon=True)
    t.start()
    c.kubectl("set", "image", "deployment/web", "-n", "dep", "c=nginx:2")
    c.kubectl("rollout", "status", "deployment/web", "-n", "dep", "--timeout=90s", timeout=120)
    stop.set()
    t.join(10)
    assert peak[0] <= 6, f"maxSurge 1 over 5 replicas allows 6 pods, saw {peak[0]}"
    images = {p["spec"]["containers"][0]["image"] for p in live(pods(c, "dep", "app=web"))}
    assert images == {"nginx:2"}
    c.kubectl("annotate", "deployment/web", "-n", "dep", "kubernetes.io/change-cause=image to nginx:2")

    def history() -> list[list[str]]:
        out = c.kubectl("rollout", "history", "deployment/web", "-n", "dep")
        return [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]

    wait_for(lambda: history() == [["1", "<none>"], ["2", "image to nginx:2"]], 30, 0.2, "rollout history")
    c.kubectl("rollout", "undo", "deployment/web", "-n", "dep")
    c.kubectl("rollout", "status", "deployment/web", "-n", "dep", "--timeout=90s", timeout=120)
    wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in live(pods(c, "dep", "app=web"))} == {"nginx:1"},
             60, 0.2, "undo to nginx:1")
    d = json.loads(c.kubectl("get", "deployment/web", "-n", "dep", "-o", "json"))
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert d["status"]["availableReplicas"] == 5 and d["status"]["updatedReplicas"] == 5
    rs = json.loads(c.kubectl("get", "rs", "-n", "dep", "-o", "json"))["items"]
    assert len(rs) == 2
    events = c.kubectl("get", "events", "-n", "dep")
    assert "ScalingReplicaSet" in events and "Scheduled" in events


def test_service_endpoints(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "svc")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("svc", "api", 2, "nginx:1"))
    c.kubectl("expose", "deployment/api", "-n", "svc", "--port=80", "--target-port=http")
    c.kubectl("rollout", "status", "deployment/api", "-n", "svc", "--timeout=60s", timeout=90)

    def eps() -> list[str]:
        e = c.rest.call("GET", "/api/v1/namespaces/svc/endpoints/api") or {}
        return sorted(a["ip"] for s in e.get("subsets") or [] for a in s.get("addresses") or [])

    wait_for(lambda: len(eps()) == 2, 30, 0.2, "2 ready endpoints")
    e = c.rest.call("GET", "/api/v1/namespaces/svc/endpoints/api")
    assert e["subsets"][0]["ports"][0]["port"] == 8080  # the named targetPort resolved
    slices = c.rest.call("GET", "/apis/discovery.k8s.io/v1/namespaces/svc/endpointslices"
                                "?labelSelector=kubernetes.io/service-name=api")["items"]
    assert len(slices) == 1 and len(slices[0]["endpoints"]) == 2


def test_scheduling_constraints_and_unschedulable_message(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "sch")
    c.kubectl("label", "node", "node-2", "disk=ssd")
    c.kubectl("taint", "node", "node-1", "dedicated=db:NoSchedule")
    try:
        c.kubectl("run", "ssd", "-n", "sch", "--image=busybox", "--overrides",
                  json.dumps({"spec": {"nodeSelector": {"disk": "ssd"}}}))
        c.kubectl("run", "db", "-n", "sch", "--image=busybox", "--overrides", json.dumps({"spec": {
            "nodeSelector": {"kubernetes.io/hostname": "node-1"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]}}))
        c.kubectl("run", "huge", "-n", "sch", "--image=busybox", "--overrides", json.dumps({"spec": {"containers": [
            {"name": "huge", "image": "busybox", "resources": {"requests": {"cpu": "100"}}}]}}))

        def node_of(name: str) -> str:
            p = c.rest.call("GET", f"/api/v1/namespaces/sch/pods/{name}") or {}
            return str((p.get("spec") or {}).get("nodeName") or "")

        wait_for(lambda: node_of("ssd") == "node-2" and node_of("db") == "node-1", 30, 0.2, "placements")

        def message() -> str:
            p = c.rest.call("GET", "/api/v1/namespaces/sch/pods/huge") or {}
            cond: Obj = next((x for x in (p.get("status") or {}).get("conditions") or []
                              if x["type"] == "PodScheduled"),
                        {})
            return str(cond.get("message", ""))

        wait_for(lambda: message().startswith("0/3 nodes are available"), 30, 0.2, "FailedScheduling condition")
        assert message() == ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, "
                             "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful "
                             "for scheduling, 2 No preemption victims found for incoming pod.")
        desc = c.kubectl("describe", "pod", "huge", "-n", "sch")
        assert "FailedScheduling" in desc and "Insufficient cpu" in desc
    finally:
        c.kubectl("taint", "node", "node-1", "dedicated-", check=False)
        c.kubectl("label", "node", "node-2", "disk-", check=False)


def test_cascade_orphan_and_foreground(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "gc")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("gc", "a", 2, "nginx:1"))
    c.kubectl("rollout", "status", "deployment/a", "-n", "gc", "--timeout=60s", timeout=90)
    c.kubectl("delete", "deployment/a", "-n", "gc", "--cascade=orphan")
    rs = json.loads(c.kubectl("get", "rs", "-n", "gc", "-o", "json"))["items"]
    assert len(rs) == 1
    wait_for(lambda: not (json.loads(c.kubectl("get", "rs", "-n", "gc", "-o", "json"))["items"][0]["metadata"]
                          .get("ownerReferences")), 30, 0.2, "orphaned RS loses its owner reference")
    assert len(live(pods(c, "gc", "app=a"))) == 2
    c.kubectl("delete", "rs", "--all", "-n", "gc")  # background: the pods are garbage collected
    wait_for(lambda: not live(pods(c, "gc", "app=a")), 30, 0.2, "pods of the deleted RS collected")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("gc", "b", 2, "nginx:1"))
    c.kubectl("rollout", "status", "deployment/b", "-n", "gc", "--timeout=60s", timeout=90)
    c.kubectl("delete", "deployment/b", "-n", "gc", "--cascade=foreground", "--timeout=60s", timeout=90)
    assert not json.loads(c.kubectl("get", "rs", "-n", "gc", "-o", "json"))["items"]


def test_job_completions_parallelism(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "job")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: batch/v1
kind: Job
metadata: {name: work, namespace: job}
spec:
  completions: 10
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
""")
    peak = 0
    deadline = time.monotonic() + 120
    done = False
    while time.monotonic() < deadline and not done:
        ps = pods(c, "job", "job-name=work")
        peak = max(peak, len(live(ps)))
        j = c.rest.call("GET", "/apis/batch/v1/namespaces/job/jobs/work")
        done = any(x["type"] == "Complete" and x["status"] == "True"
                   for x in (j.get("status") or {}).get("conditions") or [])
        time.sleep(0.1)
    assert done, "job did not complete"
    assert peak <= 3
    j = c.rest.call("GET", "/apis/batch/v1/namespaces/job/jobs/work")
    assert j["status"]["succeeded"] == 10


def test_namespace_deletion_and_default_service_account(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "doomed")
    wait_for(lambda: c.rest.call("GET", "/api/v1/namespaces/doomed/serviceaccounts/default") is not None, 30, 0.2,
             "default service account")
    def root_ca() -> str:
        cm = c.rest.call("GET", "/api/v1/namespaces/doomed/configmaps/kube-root-ca.crt") or {}
        return str((cm.get("data") or {}).get("ca.crt", ""))

    wait_for(lambda: "BEGIN CERTIFICATE" in root_ca(), 30, 0.2, "kube-root-ca.crt published")
    c.kubectl("create", "configmap", "cfg", "-n", "doomed", "--from-literal=a=b")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("doomed", "x", 1, "nginx:1"))
    c.kubectl("delete", "namespace", "doomed", "--timeout=90s", timeout=120)
    assert c.rest.call("GET", "/api/v1/namespaces/doomed") is None


def test_controllers_survive_an_apiserver_restart(cluster: Cluster) -> None:
    """The apiserver is killed and restarted on the same port; the informers relist
    and the controllers and scheduler keep converging."""
    c = cluster
    c.kubectl("create", "namespace", "restart")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("restart", "r", 1, "nginx:1"))
    c.kubectl("rollout", "status", "deployment/r", "-n", "restart", "--timeout=60s", timeout=90)
    c.procs.kill("apiserver")
    time.sleep(1.0)
    c.procs.restart("apiserver")
    wait_for(lambda: c.rest.call("GET", "/api/v1/namespaces/restart") is not None, 60, 0.2, "apiserver back")
    c.kubectl("scale", "deployment/r", "-n", "restart", "--replicas=3")
    wait_for(lambda: len([p for p in live(pods(c, "restart", "app=r")) if p["spec"].get("nodeName")]) == 3, 60,
             0.2, "scaled and scheduled after the restart")


def test_indexed_job_with_ttl_after_finished(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "ttl")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: batch/v1
kind: Job
metadata: {name: idx, namespace: ttl}
spec:
  completions: 3
  parallelism: 2
  completionMode: Indexed
  ttlSecondsAfterFinished: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
""")
    seen: set[str] = set()

    def gone() -> bool:
        for p in pods(c, "ttl"):
            seen.add(p["metadata"]["annotations"].get("batch.kubernetes.io/job-completion-index", "?"))
        return c.rest.call("GET", "/apis/batch/v1/namespaces/ttl/jobs/idx") is None

    wait_for(gone, 60, 0.1, "the finished job removed after its TTL")
    assert seen == {"0", "1", "2"}


def test_scheduler_health_and_metrics(cluster: Cluster) -> None:
    base = f"http://127.0.0.1:{cluster.health_port}"
    with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
        assert r.read() == b"ok"
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        assert 'leader_election_master_status{name="kube-scheduler"} 1' in r.read().decode()


def test_job_backoff_limit_counts_failed_pods(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "fail")
    c.kubelets.fail_jobs.add("broken-")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: batch/v1
kind: Job
metadata: {name: broken, namespace: fail}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["false"]}]
""")

    def failed() -> dict[str, Any]:
        j = c.rest.call("GET", "/apis/batch/v1/namespaces/fail/jobs/broken") or {}
        return next((x for x in (j.get("status") or {}).get("conditions") or [] if x["type"] == "Failed"), {})

    wait_for(lambda: failed().get("reason") == "BackoffLimitExceeded", 60, 0.2, "job failed after 2 pod failures")
    j = c.rest.call("GET", "/apis/batch/v1/namespaces/fail/jobs/broken")
    assert j["status"]["failed"] == 2 and not j["status"].get("succeeded")
    assert "BackoffLimitExceeded" in c.kubectl("get", "events", "-n", "fail")


def test_bad_rollout_halts_then_undo(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "bad")
    c.kubelets.bad_images.add("nginx:broken")
    c.kubectl("apply", "-f", "-", input=deployment_yaml("bad", "web", 2, "nginx:1",
                                                        extra_spec="  progressDeadlineSeconds: 3\n"))
    c.kubectl("rollout", "status", "deployment/web", "-n", "bad", "--timeout=60s", timeout=90)
    c.kubectl("set", "image", "deployment/web", "-n", "bad", "c=nginx:broken")
    r = c.api.kubectl("rollout", "status", "deployment/web", "-n", "bad", "--timeout=60s", check=False, timeout=90)
    assert r.returncode != 0 and 'deployment "web" exceeded its progress deadline' in r.stderr
    ready = [p for p in live(pods(c, "bad", "app=web"))
             if any(x["type"] == "Ready" and x["status"] == "True" for x in p["status"].get("conditions") or [])]
    assert len(ready) == 2  # maxUnavailable 0: the old pods kept serving
    c.kubectl("rollout", "undo", "deployment/web", "-n", "bad")
    c.kubectl("rollout", "status", "deployment/web", "-n", "bad", "--timeout=60s", timeout=90)
    wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in live(pods(c, "bad", "app=web"))} == {"nginx:1"},
             30, 0.2, "only good pods left")
