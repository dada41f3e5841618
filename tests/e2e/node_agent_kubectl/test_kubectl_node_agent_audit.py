"""Issue 4 audit checks through the real kubectl, on a node of their own (conftest's fixture with this module's
POD_SET): node registration and Lease, the kubelet endpoint (healthz, metrics, stats), a service-account token
that the apiserver accepts, volume sources (hostPath types, emptyDir Memory sizeLimit, PVC on a hostPath PV,
secret defaultMode/optional, downwardAPI updates), $(VAR) expansion, native sidecars, httpGet probes on named ports,
events with the kubelet's reasons and messages, and `kubectl logs` options.
"""

from __future__ import annotations

import glob
import json
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.node_agent_kubectl.conftest import Node
from tests.support.procs import wait_for

pytestmark = pytest.mark.e2e


def _c(name: str, script: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script], **kw}


def _pod(name: str, node: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": containers, **spec}}


def POD_SET(node: str, host: str) -> list[dict[str, Any]]:  # the conftest's hook
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "au-secret", "namespace": "default"},
         "stringData": {"key": "value-1", "other": "x"}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "au-pv"},
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                  "hostPath": {"path": f"{host}/pv", "type": "DirectoryOrCreate"},
                  "claimRef": {"namespace": "default", "name": "au-data"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "au-data", "namespace": "default"},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": "au-pv",
                  "resources": {"requests": {"storage": "1Gi"}}}},
        # the kube-api-access-* volume is added by the apiserver's ServiceAccount admission
        _pod("sa", node, [_c("main", "exec sleep 3600")]),
        _pod("vols", node, [_c("main", "echo $(GREETING) $0 $1; exec sleep 3600", args=["$(WHO)", "$(UNSET)"], env=[
            {"name": "WHO", "value": "world"}, {"name": "GREETING", "value": "hello-$(WHO)"}],
            volumeMounts=[{"name": "made", "mountPath": "/made"}, {"name": "mem", "mountPath": "/mem"},
                          {"name": "data", "mountPath": "/data"}, {"name": "sec", "mountPath": "/sec"},
                          {"name": "nosec", "mountPath": "/nosec"}, {"name": "info", "mountPath": "/info"}])],
            volumes=[{"name": "made", "hostPath": {"path": f"{host}/made/here", "type": "DirectoryOrCreate"}},
                     {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}},
                     {"name": "data", "persistentVolumeClaim": {"claimName": "au-data"}},
                     {"name": "sec", "secret": {"secretName": "au-secret", "defaultMode": 0o400,
                                                "items": [{"key": "key", "path": "k/key.txt"}]}},
                     {"name": "nosec", "secret": {"secretName": "au-missing", "optional": True}},
                     {"name": "info", "downwardAPI": {"items": [
                         {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]),
        _pod("badhost", node, [_c("main", "exec sleep 3600",
                                  volumeMounts=[{"name": "f", "mountPath": "/f"}])],
             volumes=[{"name": "f", "hostPath": {"path": f"{host}/no-such-file", "type": "File"}}]),
        _pod("sidecar", node, [_c("app", "cat /shared/side; exec sleep 3600",
                                  volumeMounts=[{"name": "shared", "mountPath": "/shared"}])],
             initContainers=[
                 _c("side", "trap 'exit 1' TERM; echo side-up > /shared/side; while true; do sleep 0.2; done",
                    restartPolicy="Always", volumeMounts=[{"name": "shared", "mountPath": "/shared"}]),
                 _c("check", "test -f /shared/side", volumeMounts=[{"name": "shared", "mountPath": "/shared"}])],
             volumes=[{"name": "shared", "emptyDir": {}}]),
        _pod("probe", node, [_c("web", "mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www",
                                ports=[{"name": "http", "containerPort": 8080}],
                                readinessProbe={"httpGet": {"path": "/index.html", "port": "http"},
                                                "initialDelaySeconds": 1, "periodSeconds": 1, "timeoutSeconds": 2,
                                                "successThreshold": 2, "failureThreshold": 2},
                                livenessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 2})]),
        _pod("crash", node, [_c("main", "echo crashing; exit 1")]),
        _pod("oomer", node, [_c("hog", "head -c 200m /dev/zero | tail", resources={"limits": {"memory": "16Mi"}})]),
        _pod("lines", node, [_c("main", "for i in 1 2 3 4 5; do echo line-$i; done; exec sleep 3600")]),
        _pod("hostport", node, [_c("web", "mkdir -p /www; echo via-host-port > /www/index.html; "
                                          "exec httpd -f -p 8080 -h /www",
                                   ports=[{"containerPort": 8080, "hostPort": 18080}])]),
        _pod("filler", node, [_c("main", "dd if=/dev/zero of=/scratch/f bs=1024 count=2048; exec sleep 3600",
                                 volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])],
             volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}]),
        _pod("limited", node, [_c("a", "exec sleep 3600", resources={"limits": {"cpu": "200m", "memory": "32Mi"}}),
                               _c("b", "exec sleep 3600", resources={"limits": {"cpu": "100m", "memory": "16Mi"}})]),
    ]


def _running(node: Node, name: str, timeout: float = 90) -> dict[str, Any]:
    def ok() -> bool:
        st = node.k.pod(name)["status"]
        return st.get("phase") == "Running" and bool(st.get("podIP")) and all(
            "running" in (s.get("state") or {}) for s in st.get("containerStatuses") or [{}])
    wait_for(ok, timeout, 0.5, what=f"pod {name} running")
    return node.k.pod(name)


def _exec(node: Node, pod: str, *cmd: str) -> str:
    return node.k.run("exec", pod, "--", *cmd)


def _events(node: Node, pod: str) -> list[dict[str, Any]]:
    return list(node.k.json("get", "events", "--field-selector", f"involvedObject.name={pod}")["items"])


# ---- node ---------------------------------------------------------------------------------------------------------
def test_node_registration_conditions_and_lease(node: Node) -> None:
    n = node.k.json("get", "node", node.name)
    st = n["status"]
    assert st["capacity"] == {"cpu": "2", "memory": "4Gi", "pods": "40"}
    # allocatable: capacity less the default hard eviction threshold memory.available<100Mi
    assert st["allocatable"] == {"cpu": "2", "memory": f"{4 * 2**20 - 100 * 1024}Ki", "pods": "40"}
    assert n["spec"]["podCIDR"] == "10.244.7.0/24"
    assert {"type": "InternalIP", "address": node.machine.address} in st["addresses"]
    assert n["metadata"]["labels"]["kubernetes.io/hostname"] == node.name
    assert len(st["nodeInfo"]["bootID"]) == 36 and st["nodeInfo"]["kubeletVersion"].startswith("v1.32")
    conds = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
    assert conds == {"MemoryPressure": ("False", "KubeletHasSufficientMemory"),
                     "DiskPressure": ("False", "KubeletHasNoDiskPressure"),
                     "PIDPressure": ("False", "KubeletHasSufficientPID"), "Ready": ("True", "KubeletReady")}
    lease = node.k.json("get", "lease", node.name, "-n", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == node.name and lease["spec"]["leaseDurationSeconds"] == 40
    t0 = lease["spec"]["renewTime"]
    wait_for(lambda: node.k.json("get", "lease", node.name, "-n", "kube-node-lease")["spec"]["renewTime"] != t0,
             20, 0.5, what="lease renewed (every 2 s here)")


def test_kubelet_endpoint_through_the_apiserver_proxy(node: Node) -> None:
    base = f"/api/v1/nodes/{node.name}/proxy"
    assert node.k.run("get", "--raw", f"{base}/healthz").strip() == "ok"
    _running(node, "lines")
    metrics = node.k.run("get", "--raw", f"{base}/metrics")
    for name in ("kubelet_runtime_operations_duration_seconds_bucket", "kubelet_runtime_operations_total",
                 f'kubelet_node_name{{node="{node.name}"}} 1', "kubelet_running_pods ",
                 'kubelet_running_containers{container_state="running"}'):
        assert name in metrics, name
    summary = json.loads(node.k.run("get", "--raw", f"{base}/stats/summary"))
    assert summary["node"]["nodeName"] == node.name
    assert "lines" in {p["podRef"]["name"] for p in summary["pods"]}


# ---- service account token ------------------------------------------------------------------------------------------
def test_projected_token_is_accepted_by_the_apiserver(node: Node) -> None:
    _running(node, "sa")
    sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount"
    token = _exec(node, "sa", "cat", f"{sa_dir}/token").strip()
    assert _exec(node, "sa", "cat", f"{sa_dir}/namespace") == "default"
    assert _exec(node, "sa", "cat", f"{sa_dir}/ca.crt") == node.ca_file.read_text()
    who = json.loads(node.k.run("--token", token, "auth", "whoami", "-o", "json"))
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:default", who
    # the token is bound to the pod: its claims name it
    extra = who["status"]["userInfo"].get("extra") or {}
    assert extra.get("authentication.kubernetes.io/pod-name") == ["sa"], who


# ---- volumes and env -------------------------------------------------------------------------------------------------
def test_volume_sources_and_var_expansion(node: Node) -> None:
    node.k.run("patch", "pvc", "au-data", "--subresource=status", "--type=merge", "-p",
               '{"status": {"phase": "Bound"}}')
    _running(node, "vols")
    assert node.k.run("logs", "vols").strip() == "hello-world world $(UNSET)"
    assert (node.hostpath / "made" / "here").is_dir()  # DirectoryOrCreate made it
    _exec(node, "vols", "sh", "-c", "echo from-pod > /made/f; echo to-pv > /data/f")
    assert (node.hostpath / "made" / "here" / "f").read_text() == "from-pod\n"
    assert (node.hostpath / "pv" / "f").read_text() == "to-pv\n"  # the PVC mounts its PV's host path
    df = _exec(node, "vols", "df", "-k", "/mem").splitlines()[-1].split()
    assert df[1] == "8192", df  # tmpfs of sizeLimit 8Mi
    assert _exec(node, "vols", "cat", "/sec/k/key.txt") == "value-1"
    assert _exec(node, "vols", "stat", "-L", "-c", "%a", "/sec/k/key.txt").strip() == "400"
    assert _exec(node, "vols", "ls", "/nosec").strip() == ""  # optional secret that does not exist: empty
    assert _exec(node, "vols", "cat", "/info/labels") == 'app="vols"'
    node.k.run("label", "pod", "vols", "color=blue")
    wait_for(lambda: 'color="blue"' in _exec(node, "vols", "cat", "/info/labels"), 20, 0.5,
             what="downwardAPI labels file updated")


def test_host_path_type_check_fails_the_mount(node: Node) -> None:
    def failed_mount() -> str:
        return " ".join(e["message"] for e in _events(node, "badhost") if e["reason"] == "FailedMount")
    wait_for(lambda: "hostPath type check failed" in failed_mount(), 30, 0.5, what="FailedMount event")
    assert f'MountVolume.SetUp failed for volume "f" : hostPath type check failed: {node.hostpath}/no-such-file ' \
           "is not a file" in failed_mount()
    assert node.k.pod("badhost")["status"]["phase"] == "Pending"


# ---- sidecars and probes ---------------------------------------------------------------------------------------------
def test_native_sidecar_starts_first_keeps_running_and_is_restarted(node: Node) -> None:
    _running(node, "sidecar")
    assert node.k.run("logs", "sidecar", "-c", "app").strip() == "side-up"
    inits = {s["name"]: s for s in node.k.pod("sidecar")["status"]["initContainerStatuses"]}
    assert "running" in inits["side"]["state"] and inits["side"]["started"] is True
    assert inits["check"]["state"]["terminated"]["reason"] == "Completed"
    node.k.run("exec", "sidecar", "-c", "side", "--", "kill", "1")

    def restarted() -> bool:
        s = {x["name"]: x for x in node.k.pod("sidecar")["status"]["initContainerStatuses"]}["side"]
        return s["restartCount"] >= 1 and "running" in s["state"]
    wait_for(restarted, 30, 0.5, what="sidecar restarted")
    app = node.k.pod("sidecar")["status"]["containerStatuses"][0]
    assert app["restartCount"] == 0 and "running" in app["state"]


def test_http_readiness_probe_on_a_named_port(node: Node) -> None:
    _running(node, "probe")
    wait_for(lambda: node.k.pod("probe")["status"]["containerStatuses"][0]["ready"] is True, 30, 0.5,
             what="ready through httpGet on port 'http'")
    assert node.k.pod("probe")["status"]["containerStatuses"][0]["restartCount"] == 0


# ---- hostPort -------------------------------------------------------------------------------------------------------
def test_host_port_reaches_the_pod_on_the_node_address(node: Node) -> None:
    _running(node, "hostport")
    got = b""

    def fetch() -> bool:
        nonlocal got
        try:
            with socket.create_connection((node.machine.address, 18080), timeout=5) as s:
                s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
            return b"via-host-port" in got
        except OSError:
            return False
    wait_for(fetch, 30, 0.5, what=f"GET {node.machine.address}:18080 (hostPort -> pod 8080)")
    assert got.startswith(b"HTTP/1.") and b" 200 " in got.split(b"\r\n", 1)[0], got[:200]
    # the pod's removal takes its DNAT rule away: the node itself refuses the port
    node.k.run("delete", "pod", "hostport", "--wait=true", "--timeout=60s", timeout=90)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((node.machine.address, 18080), timeout=5).close()


# ---- pod cgroup -----------------------------------------------------------------------------------------------------
def test_pod_cgroup_carries_the_summed_limits(node: Node) -> None:
    pod = _running(node, "limited")
    uid = pod["metadata"]["uid"]
    v1 = glob.glob(f"/sys/fs/cgroup/memory/kemu/*/pod{uid}/memory.limit_in_bytes")
    if v1:
        cpu = glob.glob(f"/sys/fs/cgroup/cpu/kemu/*/pod{uid}/cpu.cfs_quota_us")
        assert int(Path(v1[0]).read_text()) == 48 * 2**20 and int(Path(cpu[0]).read_text()) == 30_000
    else:  # cgroup v2
        mem = glob.glob(f"/sys/fs/cgroup/kemu/*/pod{uid}/memory.max")
        assert mem, f"no pod cgroup for {uid}"
        assert int(Path(mem[0]).read_text()) == 48 * 2**20


# ---- events ----------------------------------------------------------------------------------------------------------
def test_events_have_the_kubelets_reasons_and_messages(node: Node) -> None:
    _running(node, "lines")
    msgs = {e["reason"]: e["message"] for e in _events(node, "lines")}
    assert msgs["Pulled"] == 'Container image "busybox" already present on machine', msgs
    assert msgs["Created"] == "Created container main" and msgs["Started"] == "Started container main", msgs
    uid = node.k.pod("crash")["metadata"]["uid"]
    want = f"Back-off restarting failed container main in pod crash_default({uid})"
    wait_for(lambda: any(e["reason"] == "BackOff" and e["message"] == want for e in _events(node, "crash")), 60, 1,
             what="BackOff event")
    wait_for(lambda: any(e["reason"] == "OOMKilling" and e["type"] == "Warning" for e in _events(node, "oomer")),
             60, 1, what="OOMKilling event")


# ---- logs ------------------------------------------------------------------------------------------------------------
def test_logs_tail_timestamps_since_and_limit_bytes(node: Node) -> None:
    _running(node, "lines")
    wait_for(lambda: "line-5" in node.k.run("logs", "lines"), 20, 0.5, what="all lines logged")
    out = node.k.run("logs", "lines", "--tail=2", "--timestamps", "--since=1h").splitlines()
    assert [x.split(" ", 1)[1] for x in out] == ["line-4", "line-5"], out
    ts = datetime.fromisoformat(out[0].split(" ", 1)[0].replace("Z", "+00:00")).timestamp()
    assert abs(ts - time.time()) < 3600, out
    assert node.k.run("logs", "lines", "--limit-bytes=9") == "line-1\nli"


# ---- local storage (last: the eviction check runs every 10 s) -------------------------------------------------------
def test_empty_dir_over_its_size_limit_evicts_the_pod(node: Node) -> None:
    def evicted() -> bool:
        st = node.k.pod("filler")["status"]
        return st.get("phase") == "Failed" and st.get("reason") == "Evicted"
    wait_for(evicted, 60, 1, what="filler evicted")
    assert node.k.pod("filler")["status"]["message"] == 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". '
    assert any(e["reason"] == "Evicted" for e in _events(node, "filler"))
