"""The proxy process end to end: Services and EndpointSlices created with the real kubectl through the apiserver
are programmed into a node netns within moments; the VIP balances over the pods; DNS answers the service name;
deleting the Service removes its rules. All traffic stays in kemu-made namespaces or on loopback."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnslib import DNSRecord

from tests.support.apiserver import ApiServer, start_apiserver
from tests.support.podnet import Net, pod_network
from tests.support.procs import ProcessGroup, free_port, wait_for
from tests.support.real_etcd import EtcdMember

pytestmark = pytest.mark.e2e


@pytest.fixture
def net(tmp_path: Path, procs: ProcessGroup) -> Iterator[Net]:
    with pod_network(tmp_path, procs) as n:
        yield n


def _service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def _slice(name: str, ips: list[str]) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": f"{name}-x1", "labels": {"kubernetes.io/service-name": name}},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}


def _dns_a(port: int, name: str) -> list[str]:
    reply = DNSRecord.parse(DNSRecord.question(name).send("127.0.0.1", port, timeout=2))
    return sorted(str(r.rdata) for r in reply.rr)


def test_proxy_follows_the_apiserver(net: Net, real_etcd: list[EtcdMember], procs: ProcessGroup,
                                     tmp_path: Path) -> None:
    api: ApiServer = start_apiserver(procs, [m.client_url for m in real_etcd], tmp_path / "api")
    token = tmp_path / "token"
    token.write_text(api.token)
    dns_port = free_port()
    procs.start("proxy", [sys.executable, "-m", "node_agent.proxy", "--apiserver", api.url, "--token-file",
                          str(token), "--ca-file", str(api.ca_file), "--netns", net.node,
                          "--dns-listen", f"127.0.0.1:{dns_port}"])
    api.kubectl("create", "-f", "-", input=json.dumps(_service("web")))
    vip = api.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert vip.startswith("10.") and vip != "10.96.0.1"
    api.kubectl("create", "-f", "-", input=json.dumps(_slice("web", sorted(net.ips.values()))))

    def balanced() -> bool:
        return set(net.client(net.node, vip, 80, 30)) == set(net.pods)
    wait_for(balanced, timeout_s=20, interval_s=0.3, what="VIP balancing over every pod")
    wait_for(lambda: _dns_a(dns_port, "web.default.svc.cluster.local") == [vip], timeout_s=10,
             what="DNS A record for the service")
    assert _dns_a(dns_port, "kubernetes.default.svc.cluster.local") == ["10.96.0.1"]
    # one pod leaves the slice: it stops receiving traffic
    api.kubectl("apply", "-f", "-", input=json.dumps(_slice("web", sorted(net.ips.values())[:2])))
    wait_for(lambda: set(net.client(net.node, vip, 80, 20)) == {n for n, ip in net.ips.items()
                                                               if ip in sorted(net.ips.values())[:2]},
             timeout_s=20, interval_s=0.3, what="traffic only to the two remaining endpoints")
    api.kubectl("delete", "svc", "web")
    wait_for(lambda: not net.client(net.node, vip, 80, 1).get("pod0") and
             not net.client(net.node, vip, 80, 1).get("pod1"), timeout_s=20, interval_s=0.3,
             what="rules gone after the Service is deleted")
