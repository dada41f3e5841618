"""What the kubelet asks of the runtime for a pod sandbox (issue 4 audit): the pod cgroup named as the kubelet
names it with the pod's summed resources (LinuxPodSandboxConfig.cgroup_parent / resources), and a CRI PortMapping
for every containerPort with a hostPort."""

from __future__ import annotations

import pytest

from node_agent.kubelet.containers import sandbox_request
from node_agent.kubelet.cri_client import CriRuntime
from node_agent.kubelet.resources import pod_limits, pod_linux_resources

from .helpers import c, pod

pytestmark = pytest.mark.unit


def _lim(cpu: str, mem: str) -> dict[str, dict[str, str]]:
    return {"limits": {"cpu": cpu, "memory": mem}}


def test_pod_resources_sum_the_containers_limits() -> None:
    p = pod([c("a", resources=_lim("200m", "64Mi")), c("b", resources=_lim("300m", "32Mi"))],
            init=[c("i", resources=_lim("1", "16Mi")),
                  c("side", restartPolicy="Always", resources=_lim("100m", "8Mi"))])
    # max(apps + sidecars, init + sidecars before it) = max(600m/104Mi, 1000m/16Mi)
    r = pod_linux_resources(p)
    assert r.cpu_quota == 100_000 and r.memory_limit_in_bytes == 104 * 2**20 and r.cpu_shares == 1024
    req = sandbox_request(p, 0, "/logs")
    assert req.cgroup_parent == "/kubepods/pod" + "u1"  # Guaranteed: right under kubepods
    assert req.pod_resources == (100_000, 100_000, 1024, 104 * 2**20)
    # one container without a memory limit: the pod is unlimited in memory, Burstable
    q = pod([c("a", resources=_lim("200m", "64Mi")), c("b", resources={"limits": {"cpu": "100m"}})])
    assert pod_limits(q) == {"cpu": pod_limits(q)["cpu"]} and pod_linux_resources(q).memory_limit_in_bytes == 0
    assert sandbox_request(q, 0, "/logs").cgroup_parent == "/kubepods/burstable/podu1"
    assert sandbox_request(pod(), 0, "/logs").cgroup_parent == "/kubepods/besteffort/podu1"


def test_host_ports_become_cri_port_mappings() -> None:
    p = pod([c("web", ports=[{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81},
                             {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "10.0.0.1"}])])
    req = sandbox_request(p, 0, "/logs")
    assert req.port_mappings == (("TCP", 80, 8080, ""), ("UDP", 53, 5353, "10.0.0.1"))
    assert sandbox_request(pod([c("web", ports=[{"containerPort": 80, "hostPort": 80}])],
                               spec={"hostNetwork": True}), 0, "/logs").port_mappings == ()


def test_cri_sandbox_config_carries_them() -> None:
    from node_agent.kubelet.cri_client import _pb

    rt = CriRuntime.__new__(CriRuntime)
    rt.pb = _pb()[0]
    p = pod([c("web", ports=[{"containerPort": 80, "hostPort": 8080}], resources=_lim("500m", "32Mi"))])
    cfg = rt._sandbox_config(sandbox_request(p, 0, "/logs"))
    assert [(m.protocol, m.container_port, m.host_port) for m in cfg.port_mappings] == [(0, 80, 8080)]
    assert cfg.linux.cgroup_parent == "/kubepods/podu1"  # limits only: requests = limits, Guaranteed
    assert cfg.linux.resources.cpu_quota == 50_000 and cfg.linux.resources.memory_limit_in_bytes == 32 * 2**20


def test_node_signals_count_threads_and_carry_the_boot_id() -> None:
    from node_agent.kubelet.node import HostSignals, boot_id, parse_loadavg_tasks, read_host_signals

    assert parse_loadavg_tasks("0.20 0.18 0.12 1/80 11206\n") == 80
    with pytest.raises(OSError):
        parse_loadavg_tasks("garbage")
    s = read_host_signals("/")
    assert 0 < s.pids_available_fraction <= 1 and s.memory_available_bytes > 0
    assert HostSignals(pids_available_fraction=0.05).pressure() == {"PIDPressure"}
    assert HostSignals(memory_available_bytes=99 * 2**20, disk_available_fraction=0.09).pressure() == {
        "MemoryPressure", "DiskPressure"}
    assert len(boot_id()) == 36


def test_node_allocatable_and_eviction_thresholds() -> None:
    from node_agent.kubelet.node import Eviction, HostSignals, allocatable, parse_eviction_hard

    cap = {"cpu": "2", "memory": "4Gi", "pods": "40", "ephemeral-storage": "10Gi"}
    assert allocatable(cap) == {"cpu": "2", "memory": f"{4 * 2**20 - 100 * 1024}Ki", "pods": "40",
                                "ephemeral-storage": str(9 * 2**30)}
    got = allocatable(cap, ({"cpu": "100m", "memory": "200Mi"}, {"cpu": "150m"}), Eviction(memory_bytes=0))
    assert got["cpu"] == "1750m" and got["memory"] == f"{4 * 2**20 - 200 * 1024}Ki"
    ev = parse_eviction_hard("memory.available<1Gi,nodefs.available<15%")
    assert ev == Eviction(memory_bytes=2**30, nodefs_fraction=0.15, pids_fraction=0.10)
    assert HostSignals(memory_available_bytes=2**29).pressure(ev) == {"MemoryPressure"}
    for bad in ("memory.available", "memory.available<10%", "imagefs.available<15%", "nodefs.available<1Gi"):
        with pytest.raises(ValueError):
            parse_eviction_hard(bad)
