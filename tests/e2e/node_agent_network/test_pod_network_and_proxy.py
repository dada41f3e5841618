"""Pod network + service proxy in kemu-made namespaces: one node netns with its bridge, three pod netns each running
a tiny server that answers its own name. All traffic stays inside these namespaces; loops are bounded."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.podnet import Net, pod_network
from tests.support.procs import ProcessGroup

pytestmark = pytest.mark.e2e


@pytest.fixture
def net(tmp_path: Path, procs: ProcessGroup) -> Iterator[Net]:
    with pod_network(tmp_path, procs) as n:
        yield n


def _svc(name: str, ip: str, port: int = 80, node_port: int | None = None, affinity: bool = False) -> dict:
    p: dict = {"name": "http", "port": port, "protocol": "TCP", "targetPort": "web"}
    spec: dict = {"clusterIP": ip, "ports": [p], "type": "ClusterIP"}
    if node_port:
        p["nodePort"], spec["type"] = node_port, "NodePort"
    if affinity:
        spec["sessionAffinity"] = "ClientIP"
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _slice(service: str, ips: dict[str, str], unready: frozenset[str] = frozenset()) -> dict:
    return {"metadata": {"name": f"{service}-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service}},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": name not in unready}}
                          for name, ip in sorted(ips.items())]}


def test_vip_balances_over_ready_endpoints_only(net: Net) -> None:
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips)])
    seen = net.client(net.node, "10.96.0.50", 80, 90)
    assert set(seen) == {"pod0", "pod1", "pod2"} and all(c >= 10 for c in seen.values()), seen
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips, unready=frozenset({"pod1"}))])
    seen = net.client(net.node, "10.96.0.50", 80, 40)
    assert set(seen) == {"pod0", "pod2"}, seen


def test_from_a_pod_including_hairpin_to_itself(net: Net) -> None:
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips)])
    seen = net.client(net.pods["pod0"], "10.96.0.50", 80, 90)
    assert set(seen) == {"pod0", "pod1", "pod2"}, seen


def test_no_endpoints_is_refused_not_hung(net: Net) -> None:
    net.apply([_svc("empty", "10.96.0.60")], [])
    assert net.client(net.pods["pod0"], "10.96.0.60", 80, 3) == {"error:ConnectionRefusedError": 3}
    assert net.client(net.node, "10.96.0.60", 80, 3) == {"error:ConnectionRefusedError": 3}


def test_node_port_and_client_ip_affinity(net: Net) -> None:
    net.apply([_svc("np", "10.96.0.70", node_port=30080), _svc("sticky", "10.96.0.80", affinity=True)],
              [_slice("np", net.ips), _slice("sticky", net.ips)])
    seen = net.client(net.pods["pod2"], net.gateway, 30080, 60)
    assert set(seen) == {"pod0", "pod1", "pod2"}, seen
    sticky = net.client(net.pods["pod1"], "10.96.0.80", 80, 20)
    assert len(sticky) == 1 and next(iter(sticky.values())) == 20, sticky


def test_deleting_services_removes_their_rules(net: Net) -> None:
    net.apply([_svc("web", "10.96.0.50")], [_slice("web", net.ips)])
    net.apply([], [])
    listing = subprocess.run(["ip", "netns", "exec", net.node, "nft", "list", "table", "ip", "kemu_proxy"],
                             capture_output=True, text=True, timeout=30).stdout
    assert "10.96.0.50" not in listing
    assert net.client(net.node, "10.96.0.50", 80, 1) != {"pod0": 1}
