"""Stand-ins for kubelets in controller tests (no runtimes needed): a background thread that registers nodes,
renews their Leases, marks bound pods Running and Ready with a pod IP, and finishes pods being deleted (what a
kubelet confirms with a grace-period-0 delete). It talks to the real apiserver over HTTPS with the admin token.
Every loop is bounded by the test's lifetime (``stop``) and sleeps between rounds."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


class Api:
    def __init__(self, url: str, token: str, ca_file: str) -> None:
        self.url = url
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def call(self, method: str, path: str, body: Any = None, ctype: str = "application/json") -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": ctype,
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ctx) as r:
                raw = r.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def merge(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, body, "application/merge-patch+json")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_body(name: str, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
              labels: dict[str, str] | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  **(labels or {})}},
            "spec": {"taints": taints or []},
            "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": str(pods)},
                       "allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)}}}


class FakeKubelets:
    def __init__(self, api: Api, period_s: float = 0.3) -> None:
        self.api = api
        self.period_s = period_s
        self.nodes: dict[str, bool] = {}  # name -> heartbeating
        self.ready_pods = True
        self.hold_ready: set[str] = set()  # pod name prefixes never marked ready
        self.fail_jobs: set[str] = set()  # name prefixes of Job pods that exit 1 instead of 0
        self.bad_images: set[str] = set()  # pods running these images never pass readiness
        self.stop = threading.Event()
        self.ip = 10
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def add_node(self, name: str, **kw: Any) -> None:
        self.api.call("POST", "/api/v1/nodes", node_body(name, **kw))
        self._status(name)
        self.nodes[name] = True

    def _status(self, name: str) -> None:
        t = now()
        conds = [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                  "message": "kubelet is posting ready status", "lastHeartbeatTime": t, "lastTransitionTime": t}]
        self.api.merge(f"/api/v1/nodes/{name}/status", {"status": {"conditions": conds}})

    def _lease(self, name: str) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro_now()}
        if self.api.call("GET", path) is None:
            self.api.call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                          {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                           "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": spec})
        else:
            self.api.merge(path, {"spec": spec})

    def start(self) -> FakeKubelets:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        last_beat = 0.0
        while not self.stop.is_set():
            try:
                if time.monotonic() - last_beat > 2:
                    for n, alive in list(self.nodes.items()):
                        if alive:
                            self._lease(n)
                    last_beat = time.monotonic()
                self._pods()
            except Exception as e:  # keep going; the test asserts on outcomes, errors are kept for diagnosis
                self.errors.append(repr(e))
            self.stop.wait(self.period_s)

    def _may_be_ready(self, md: Obj, spec: Obj) -> bool:
        return self.ready_pods and not any(md["name"].startswith(h) for h in self.hold_ready) and \
            not any(c.get("image") in self.bad_images for c in spec.get("containers") or [])

    def _finish(self, path: str, spec: Obj, failed: bool = False) -> None:
        t = now()
        term = {"exitCode": 1 if failed else 0, "reason": "Error" if failed else "Completed", "startedAt": t,
                "finishedAt": t}
        self.api.merge(path + "/status", {"status": {
            "phase": "Failed" if failed else "Succeeded",
            "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": t}],
            "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                                   "restartCount": 0, "state": {"terminated": term}}
                                  for c in spec.get("containers") or []]}})

    def _pods(self) -> None:
        pods = self.api.call("GET", "/api/v1/pods")["items"]
        for p in pods:
            md, spec, st = p["metadata"], p.get("spec") or {}, p.get("status") or {}
            node = spec.get("nodeName")
            if not node or not self.nodes.get(node):
                continue
            path = f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}"
            if md.get("deletionTimestamp"):
                self.api.call("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
                continue
            if st.get("phase") in ("Succeeded", "Failed"):
                continue
            owner: Obj = next((r for r in md.get("ownerReferences") or [] if r.get("controller")), {})
            if owner.get("kind") == "Job" and st.get("phase") == "Running":
                # a Job's pod runs one round, then exits (0, or 1 for the prefixes in fail_jobs)
                self._finish(path, spec, any(md["name"].startswith(f) for f in self.fail_jobs))
                continue
            if st.get("phase") == "Running":
                ready = any(x.get("type") == "Ready" and x.get("status") == "True" for x in st.get("conditions") or [])
                if not ready and self._may_be_ready(md, spec):
                    t = now()
                    self.api.call("PATCH", path + "/status", ctype="application/strategic-merge-patch+json",
                                  body={"status": {"conditions": [
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": t},
                        {"type": "Ready", "status": "True", "lastTransitionTime": t}]}})
                continue
            self.ip += 1
            ready = self._may_be_ready(md, spec)
            t = now()
            self.api.merge(path + "/status", {"status": {
                "phase": "Running", "podIP": f"10.244.{self.ip // 250}.{self.ip % 250 + 1}", "hostIP": "10.0.0.1",
                "startTime": t,
                "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
                               {"type": "Initialized", "status": "True", "lastTransitionTime": t},
                               {"type": "ContainersReady", "status": "True" if ready else "False",
                                "lastTransitionTime": t},
                               {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": t}],
                "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": ready,
                                       "restartCount": 0, "started": True, "state": {"running": {"startedAt": t}}}
                                      for c in spec.get("containers") or []]}})
