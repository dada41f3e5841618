"""The README's main command end to end (issue 7, "must show" 1): `kemu up` brings up 3 etcd_raft members, the
apiserver, controller-manager, scheduler and 3 nodes on their own machines; the real kubectl sees 3 Ready nodes and
runs a Deployment behind a Service that a pod reaches by DNS name, balanced over pods on several nodes; `kemu down`
leaves no process, namespace, bridge, cgroup or mount behind."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from kemu.launcher import machines
from node_agent.runtime.sweep import scope_dirs
from tests.conftest import require_root
from tests.support.kemu_cli import alive, run_kemu
from tests.support.net import free_subnet
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e

IN_CLUSTER = """
import json, ssl, urllib.error, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
ctx = ssl.create_default_context(cafile=f"{sa}/ca.crt")
req = urllib.request.Request("https://kubernetes.default.svc/api/v1/namespaces/default/pods",
                             headers={"Authorization": "Bearer " + open(f"{sa}/token").read()})
try:
    print(urllib.request.urlopen(req, context=ctx, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code, json.loads(e.read())["message"])
"""
SERVER = 'while true; do echo -e "HTTP/1.0 200 OK\\r\\n\\r\\n$(hostname)" | nc -l -p 8080; done'


def test_up_runs_a_service_then_down_leaves_nothing(tmp_path: Path) -> None:
    require_root()
    cluster = "t" + uuid.uuid4().hex[:6]
    state = tmp_path / "state"
    up = run_kemu(state, cluster, "up", "--netns", "on", "--subnet", free_subnet(), "--fast")
    recorded_pids: list[int] = []
    netns: set[str] = set()
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        recorded_pids = [p["pid"] for p in json.loads((state / "state.json").read_text())["processes"]]
        netns = {m["netns"] for m in json.loads((state / "machines.json").read_text())["machines"]}
        env = {**os.environ, "KUBECONFIG": str(state / "kubeconfig")}

        def kubectl(*args: str, check: bool = True) -> str:
            r = subprocess.run(["kubectl", "--cache-dir", str(tmp_path / "kc"), *args], capture_output=True,
                               text=True, timeout=60, env=env)
            if check and r.returncode != 0:
                raise AssertionError(f"kubectl {' '.join(args)}: {r.stderr}")
            return r.stdout

        def ready_nodes() -> int:
            return sum(line.split()[1] == "Ready" for line in kubectl("get", "nodes", "--no-headers").splitlines())
        wait_for(lambda: ready_nodes() == 3, timeout_s=60, interval_s=1, what="3 Ready nodes")
        # `kemu logs apiserver` reads the one apiserver's log (apiserver-1); `kemu logs etcd` is ambiguous
        assert run_kemu(state, cluster, "logs", "apiserver").returncode == 0
        ambiguous = run_kemu(state, cluster, "logs", "etcd")
        assert ambiguous.returncode == 1 and "etcd-1, etcd-2, etcd-3" in ambiguous.stderr
        kubectl("create", "deployment", "web", "--image=busybox", "--replicas=3", "--port=8080", "--", "sh", "-c",
                SERVER)
        kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080")
        kubectl("run", "client", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
        kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=120s")
        kubectl("wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
        pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
        assert len({p["spec"]["nodeName"] for p in pods}) >= 2, "the scheduler spreads the replicas"
        names = {p["metadata"]["name"] for p in pods}

        def answers() -> Counter[str]:
            out = kubectl("exec", "client", "--", "sh", "-c",
                          "for i in $(seq 1 30); do echo | nc -w 2 web.default.svc.cluster.local 80 | tail -1; done")
            return Counter(line.strip() for line in out.splitlines() if line.strip())
        wait_for(lambda: set(answers()) == names, timeout_s=60, interval_s=2,
                 what="every replica answering through the Service name")
        # in-cluster API access: a pod calls https://kubernetes.default.svc with its ServiceAccount's token and CA
        # (the Service's EndpointSlice lists the apiserver; the control plane routes back to pod addresses) and is
        # authenticated as that ServiceAccount, which RBAC gives no rights to list pods -- as on a real cluster
        (tmp_path / "incluster.py").write_text(IN_CLUSTER)
        kubectl("create", "configmap", "incluster", f"--from-file={tmp_path / 'incluster.py'}")
        kubectl("run", "py", "--image=python", "--restart=Never", "--overrides", json.dumps({"spec": {
            "volumes": [{"name": "s", "configMap": {"name": "incluster"}}],
            "containers": [{"name": "py", "image": "python", "command": ["python3", "/s/incluster.py"],
                            "volumeMounts": [{"name": "s", "mountPath": "/s"}]}]}}))
        wait_for(lambda: kubectl("get", "pod", "py", "-o", "jsonpath={.status.phase}") == "Succeeded",
                 timeout_s=120, interval_s=1, what="the in-cluster API client pod")
        assert kubectl("logs", "py").strip() == ('403 pods is forbidden: User "system:serviceaccount:default:default" '
                                                 'cannot list resource "pods" in API group "" in the namespace '
                                                 '"default"')
        # metrics.k8s.io from the kubelets' summaries: kubectl top, and an HPA that scales a busy Deployment up
        kubectl("create", "deployment", "burn", "--image=busybox", "--", "sh", "-c", "while true; do :; done")
        kubectl("set", "resources", "deployment", "burn", "--requests=cpu=100m")
        kubectl("wait", "--for=condition=Available", "deployment/burn", "--timeout=120s")
        top = kubectl("top", "pods", "-l", "app=burn", "--no-headers")
        assert top.split()[0].startswith("burn-") and top.split()[1].endswith("m")
        kubectl("autoscale", "deployment", "burn", "--cpu-percent=50", "--min=1", "--max=3")
        wait_for(lambda: json.loads(kubectl("get", "deploy", "burn", "-o", "json"))["spec"]["replicas"] == 3,
                 timeout_s=120, interval_s=2, what="the HPA scaling the busy Deployment to 3 replicas")
    finally:
        down = run_kemu(state, cluster, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(alive(pid) for pid in recorded_pids)
    assert not netns & machines.existing_netns()
    assert subprocess.run(["ip", "link", "show", machines.Underlay(cluster).bridge],
                          capture_output=True).returncode != 0
    with open("/proc/self/mountinfo") as f:
        assert str(state) not in f.read()
    for runtime_root in state.glob("nodes/*/runtime"):
        assert scope_dirs(runtime_root) == [], "the node's cgroups are removed"
        for rec in runtime_root.glob("sandboxes/*/sandbox.json"):
            assert not alive(json.loads(rec.read_text())["holder_pid"]), "sandbox holders are gone"
