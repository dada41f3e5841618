from __future__ import annotations

import base64
from typing import Any

import pytest

from node_agent.kubelet.env import EnvError, container_env, expand
from node_agent.kubelet.node import NodeConfig, build_lease, build_node, node_status, parse_capacity, renew_lease
from node_agent.kubelet.status import rfc3339
from node_agent.kubelet.volumes import VolumeError, container_mounts, plan_volumes

from .helpers import T0, c, pod

pytestmark = pytest.mark.unit

CMS = {"cfg": {"data": {"MODE": "prod", "LEVEL": "3"}}}
SECRETS = {"db": {"data": {"password": base64.b64encode(b"s3cret").decode()}}}


def _env(container: dict[str, Any], p: dict[str, Any] | None = None) -> dict[str, str]:
    p = p or pod([container], meta={"labels": {"app": "web"}}, spec={"serviceAccountName": "sa"})
    return dict(container_env(p, container, config_maps=CMS, secrets=SECRETS, pod_ip="10.244.1.5",
                              host_ip="172.30.0.11", node_allocatable={"cpu": "4", "memory": "8Gi"}))


def test_env_all_sources() -> None:
    ct = c("app", resources={"limits": {"memory": "128Mi"}, "requests": {"cpu": "250m"}},
           envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
           env=[{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)-$(NOPE)-$$(A)"},
                {"name": "CFG_MODE", "value": "dev"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "CPU_L", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                {"name": "CPU_R", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "LVL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "LEVEL"}}},
                {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "x", "optional": True}}}])
    env = _env(ct)
    assert list(env)[:2] == ["CFG_MODE", "CFG_LEVEL"]
    assert env == {"CFG_MODE": "dev", "CFG_LEVEL": "3", "A": "x", "B": "x-$(NOPE)-$(A)", "POD": "web",
                   "NS": "default", "IP": "10.244.1.5", "NODE": "n1", "APP": "web", "MEM": "128", "CPU_L": "4",
                   "CPU_R": "250", "PW": "s3cret", "LVL": "3"}


@pytest.mark.parametrize("env,msg", [
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "x"}}}], 'configmap "gone" not found'),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope"}}}],
     "couldn't find key nope in Secret default/db"),
    ([{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}], "unsupported fieldRef"),
])
def test_env_errors(env: list[dict[str, Any]], msg: str) -> None:
    with pytest.raises(EnvError, match=msg):
        _env(c("app", env=env))


def test_expand() -> None:
    assert expand("$(A)$(B)$$", {"A": "1"}) == "1$(B)$"


def test_volume_plan_and_mounts() -> None:
    vols = [{"name": "scratch", "emptyDir": {}}, {"name": "mem", "emptyDir": {"medium": "Memory"}},
            {"name": "host", "hostPath": {"path": "/var/log"}},
            {"name": "conf", "configMap": {"name": "cfg", "items": [{"key": "MODE", "path": "mode.txt"}]}},
            {"name": "sec", "secret": {"secretName": "db", "defaultMode": 0o400}},
            {"name": "info", "downwardAPI": {"items": [{"path": "labels",
                                                         "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "all", "projected": {"sources": [{"configMap": {"name": "cfg"}}, {"secret": {"name": "db"}}]}}]
    p = pod([c("app")], meta={"labels": {"app": "web", "tier": "fe"}}, spec={"volumes": vols})
    plans = plan_volumes(p, "/pods/u1", config_maps=CMS, secrets=SECRETS)
    by = {x.name: x for x in plans}
    assert by["scratch"].host_path == "/pods/u1/volumes/kubernetes.io~emptydir/scratch" and not by["scratch"].tmpfs
    assert by["mem"].tmpfs and by["host"].host_path == "/var/log" and by["sec"].tmpfs
    assert [(f.path, f.data) for f in by["conf"].files] == [("mode.txt", b"prod")]
    assert [(f.path, f.data, f.mode) for f in by["sec"].files] == [("password", b"s3cret", 0o400)]
    assert by["info"].files[0].data == b'app="web"\ntier="fe"'
    assert sorted(f.path for f in by["all"].files) == ["LEVEL", "MODE", "password"]
    ct = c("app", volumeMounts=[{"name": "conf", "mountPath": "/etc/app"},
                                {"name": "scratch", "mountPath": "/data", "subPath": "x"}])
    ms = container_mounts(ct, plans)
    assert [(m.container_path, m.host_path, m.read_only) for m in ms] == [
        ("/etc/app", "/pods/u1/volumes/kubernetes.io~configmap/conf", True),
        ("/data", "/pods/u1/volumes/kubernetes.io~emptydir/scratch/x", False)]


@pytest.mark.parametrize("vols,mounts,msg", [
    ([{"name": "x", "configMap": {"name": "gone"}}], [], 'configmap "gone" not found'),
    ([{"name": "x", "nfs": {"server": "a"}}], [], "unsupported volume type"),
    ([], [{"name": "nope", "mountPath": "/a"}], "no volume of that name"),
    ([{"name": "x", "emptyDir": {}}], [{"name": "x", "mountPath": "/a", "subPath": "../etc"}], "relative path"),
])
def test_volume_errors(vols: list[dict[str, Any]], mounts: list[dict[str, Any]], msg: str) -> None:
    p = pod([c("app")], spec={"volumes": vols})
    with pytest.raises(VolumeError, match=msg):
        plans = plan_volumes(p, "/pods/u1", config_maps=CMS, secrets=SECRETS)
        container_mounts(c("app", volumeMounts=mounts), plans)


def test_node_object_and_lease() -> None:
    cfg = NodeConfig("node-1", "172.30.0.11", parse_capacity("cpu=4, memory=8Gi,pods=110"), "10.244.1.0/24")
    n = build_node(cfg, T0)
    assert n["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
    assert n["metadata"]["labels"]["kubernetes.io/os"] == "linux"
    assert n["spec"] == {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    st = n["status"]
    assert st["capacity"] == st["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    assert st["addresses"] == [{"type": "InternalIP", "address": "172.30.0.11"},
                               {"type": "Hostname", "address": "node-1"}]
    assert [(k["type"], k["status"]) for k in st["conditions"]] == [
        ("MemoryPressure", "False"), ("DiskPressure", "False"), ("PIDPressure", "False"), ("Ready", "True")]
    st2 = node_status(cfg, T0 + 10, previous=st)
    ready = st2["conditions"][3]
    assert ready["lastHeartbeatTime"] == rfc3339(T0 + 10) and ready["lastTransitionTime"] == rfc3339(T0)
    st3 = node_status(cfg, T0 + 20, previous=st2, ready=False, ready_message="runtime down")
    assert st3["conditions"][3]["status"] == "False" and st3["conditions"][3]["lastTransitionTime"] == rfc3339(T0 + 20)
    lease = build_lease(cfg, T0, node_uid="nu")
    assert lease["metadata"]["namespace"] == "kube-node-lease" and lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == "nu"
    assert renew_lease(lease, cfg, T0 + 10)["spec"]["renewTime"].endswith(".000000Z")
    assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    other = NodeConfig("node-2", "127.0.0.1", {}, kubelet_port=18250)
    assert build_node(other, T0)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 18250
    with pytest.raises(ValueError, match="invalid capacity item"):
        parse_capacity("cpu")


def _svc(ns: str, name: str, ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"clusterIP": ip, "ports": ports}}


def test_service_env() -> None:
    from node_agent.kubelet.env import service_env

    svcs = [_svc("default", "kubernetes", "10.96.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}]),
            _svc("shop", "web-api", "10.96.0.15", [{"name": "http", "port": 80}, {"name": "m", "port": 9090,
                                                                                 "protocol": "UDP"}]),
            _svc("shop", "db", "None", [{"port": 5432}]), _svc("other", "x", "10.96.0.9", [{"port": 1}])]
    env = dict(service_env(svcs, "shop"))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443" and env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert env["WEB_API_SERVICE_HOST"] == "10.96.0.15" and env["WEB_API_SERVICE_PORT"] == "80"
    assert env["WEB_API_PORT_9090_UDP"] == "udp://10.96.0.15:9090" and env["WEB_API_PORT_9090_UDP_PROTO"] == "udp"
    assert env["WEB_API_PORT_80_TCP_ADDR"] == "10.96.0.15" and env["WEB_API_PORT_80_TCP_PORT"] == "80"
    assert not any(k.startswith(("DB_", "X_")) for k in env)
    no_links = dict(service_env(svcs, "shop", enable_links=False))
    assert "KUBERNETES_SERVICE_HOST" in no_links and "WEB_API_SERVICE_HOST" not in no_links
    ct = c("app", env=[{"name": "KUBERNETES_SERVICE_HOST", "value": "override"},
                       {"name": "U", "value": "$(WEB_API_SERVICE_HOST)"}])
    got = dict(container_env(pod([ct]), ct, config_maps={}, secrets={}, services=service_env(svcs, "shop")))
    assert got["KUBERNETES_SERVICE_HOST"] == "override" and got["U"] == "10.96.0.15"


def test_node_pressure_conditions() -> None:
    from node_agent.kubelet.node import HostSignals, read_host_signals

    cfg = NodeConfig("n", "127.0.0.1", {})
    st = node_status(cfg, T0, signals=HostSignals(memory_available_bytes=50 * 2**20, disk_available_fraction=0.05))
    got = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
    assert got["MemoryPressure"] == ("True", "KubeletHasInsufficientMemory")
    assert got["DiskPressure"] == ("True", "KubeletHasDiskPressure")
    assert got["PIDPressure"] == ("False", "KubeletHasSufficientPID") and got["Ready"][0] == "True"
    s = read_host_signals("/")
    assert s.memory_available_bytes > 0 and 0 <= s.disk_available_fraction <= 1 and 0 < s.pids_available_fraction <= 1
