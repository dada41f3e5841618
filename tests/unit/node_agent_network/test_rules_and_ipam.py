from __future__ import annotations

import re
from pathlib import Path

import pytest

from node_agent.network.ipam import Ipam, PoolExhausted
from node_agent.proxy.rules import Endpoint, ruleset, service_ports

pytestmark = pytest.mark.unit


def _svc(name: str, **spec: object) -> dict:
    base: dict = {"clusterIP": "10.96.0.10", "type": "ClusterIP",
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"}]}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": base | spec}


def _slice(service: str, endpoints: list[dict], ports: list[dict] | None = None) -> dict:
    return {"metadata": {"name": service + "-x", "namespace": "ns", "labels": {"kubernetes.io/service-name": service}},
            "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": endpoints}


def test_only_ready_not_terminating_endpoints_with_the_named_port() -> None:
    eps = [{"addresses": ["10.244.1.2"]},                                        # nil ready = ready
           {"addresses": ["10.244.1.3"], "conditions": {"ready": False}},
           {"addresses": ["10.244.1.4"], "conditions": {"ready": True, "terminating": True}},
           {"addresses": ["10.244.1.5"], "conditions": {"ready": True}}]
    [sp] = service_ports([_svc("web")], [_slice("web", eps)])
    assert sp.endpoints == (Endpoint("10.244.1.2", 8080), Endpoint("10.244.1.5", 8080))


@pytest.mark.parametrize("spec", [{"clusterIP": "None"}, {"type": "ExternalName", "externalName": "a.example"}])
def test_headless_and_external_name_services_get_no_rules(spec: dict) -> None:
    assert service_ports([_svc("h", **spec)], [_slice("h", [{"addresses": ["10.244.1.2"]}])]) == []


def test_cascade_uses_kube_proxy_probabilities() -> None:
    eps = [{"addresses": [f"10.244.1.{i}"]} for i in range(2, 6)]
    text = ruleset(service_ports([_svc("web")], [_slice("web", eps)]))
    mods = [int(m) for m in re.findall(r"numgen random mod (\d+) == 0", text)]
    assert mods == [4, 3, 2]          # 1/4, then 1/3 of the rest, then 1/2, then the last unconditionally
    probs, rest = [], 1.0
    for k in [*mods, 1]:
        probs.append(rest / k)
        rest -= rest / k
    assert probs == pytest.approx([0.25] * 4)


def test_no_endpoints_rejects_and_node_ports_masquerade() -> None:
    text = ruleset(service_ports([_svc("empty", clusterIP="10.96.0.20"),
                                  _svc("np", type="NodePort",
                                       ports=[{"name": "http", "port": 80, "nodePort": 30080}])],
                                 [_slice("np", [{"addresses": ["10.244.1.2"]}])]))
    assert "ip daddr 10.96.0.20 tcp dport 80 reject with tcp reset" in text
    assert re.search(r"tcp dport 30080 meta mark set meta mark \| 0x4000 goto svc-", text)
    assert text.startswith("add table ip kemu_proxy\ndelete table ip kemu_proxy\n")


def test_client_ip_affinity_sets_and_lookups() -> None:
    text = ruleset(service_ports([_svc("s", sessionAffinity="ClientIP")], [_slice("s", [{"addresses": ["10.0.0.9"]}])]))
    assert "flags dynamic,timeout; timeout 10800s;" in text
    assert re.search(r"ip saddr @aff-\w+ goto ep-", text) and "update @aff-" in text


def test_ipam_is_idempotent_persistent_and_bounded(tmp_path: Path) -> None:
    ipam = Ipam("10.244.3.0/29")
    assert ipam.gateway == "10.244.3.1"
    a = ipam.allocate("sb-a")
    assert a == "10.244.3.2" and ipam.allocate("sb-a") == a
    ipam.save(tmp_path / "ipam.json")
    again = Ipam.load(tmp_path / "ipam.json", "10.244.3.0/29")
    assert again.allocate("sb-b") == "10.244.3.3"
    for i in range(3):
        again.allocate(f"x{i}")
    with pytest.raises(PoolExhausted):
        again.allocate("one-too-many")
    again.release("sb-a")
    assert again.allocate("reuse") == "10.244.3.2"
    with pytest.raises(ValueError):
        Ipam.load(tmp_path / "ipam.json", "10.244.4.0/24")
