from __future__ import annotations

import asyncio

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from node_agent.dns.answer import answer
from node_agent.dns.records import Zone, build_zone, resolv_conf
from node_agent.dns.server import DnsServer
from tests.support.procs import free_port

pytestmark = pytest.mark.unit

SERVICES = [
    {"metadata": {"name": "web", "namespace": "shop"},
     "spec": {"clusterIP": "10.96.0.15", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
    {"metadata": {"name": "db", "namespace": "shop"},
     "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}},
    {"metadata": {"name": "ext", "namespace": "shop"},
     "spec": {"type": "ExternalName", "externalName": "web.shop.svc.cluster.local"}},
]
SLICES = [{"metadata": {"name": "db-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "db"}},
           "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
           "endpoints": [{"addresses": ["10.244.1.5"], "hostname": "db-0"},
                         {"addresses": ["10.244.2.6"], "hostname": "db-1"},
                         {"addresses": ["10.244.2.7"], "hostname": "db-2", "conditions": {"ready": False}}]}]


def _ask(zone: Zone, name: str, qtype: str) -> DNSRecord | None:
    return answer(zone, DNSRecord.question(name, qtype))


@pytest.fixture
def zone() -> Zone:
    return build_zone(SERVICES, SLICES)


def _a(reply: DNSRecord | None) -> list[str]:
    assert reply is not None
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A)


def test_cluster_ip_headless_and_statefulset_names(zone: Zone) -> None:
    assert _a(_ask(zone, "web.shop.svc.cluster.local", "A")) == ["10.96.0.15"]
    assert _a(_ask(zone, "db.shop.svc.cluster.local", "A")) == ["10.244.1.5", "10.244.2.6"]   # ready only
    assert _a(_ask(zone, "db-1.db.shop.svc.cluster.local.", "A")) == ["10.244.2.6"]
    assert _a(_ask(zone, "10-244-1-5.shop.pod.cluster.local", "A")) == ["10.244.1.5"]


def test_srv_cname_nxdomain_nodata_and_forwarding(zone: Zone) -> None:
    srv = _ask(zone, "_pg._tcp.db.shop.svc.cluster.local", "SRV")
    assert srv is not None and sorted(str(rr.rdata) for rr in srv.rr) == [
        "0 100 5432 db-0.db.shop.svc.cluster.local.", "0 100 5432 db-1.db.shop.svc.cluster.local."]
    ext = _ask(zone, "ext.shop.svc.cluster.local", "A")
    assert ext is not None and [QTYPE[rr.rtype] for rr in ext.rr] == ["CNAME", "A"]
    missing = _ask(zone, "nope.shop.svc.cluster.local", "A")
    assert missing is not None and missing.header.rcode == RCODE.NXDOMAIN
    nodata = _ask(zone, "web.shop.svc.cluster.local", "AAAA")
    assert nodata is not None and nodata.header.rcode == RCODE.NOERROR and not nodata.rr
    assert _ask(zone, "example.org", "A") is None


def test_resolv_conf_has_the_cluster_search_path() -> None:
    assert resolv_conf("shop", "10.96.0.10") == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")


async def test_server_over_udp_and_tcp_and_servfail_without_upstream(zone: Zone) -> None:
    port = free_port()
    server = DnsServer(lambda: zone, upstreams=[("127.0.0.1", free_port())])   # nobody answers there
    await server.start("127.0.0.1", port)
    try:
        q = DNSRecord.question("web.shop.svc.cluster.local", "A")
        udp = DNSRecord.parse(await asyncio.to_thread(q.send, "127.0.0.1", port, False, 2))
        tcp = DNSRecord.parse(await asyncio.to_thread(q.send, "127.0.0.1", port, True, 2))
        assert _a(udp) == _a(tcp) == ["10.96.0.15"]
        other = DNSRecord.parse(await asyncio.to_thread(DNSRecord.question("example.org").send, "127.0.0.1", port,
                                                        False, 5))
        assert other.header.rcode == RCODE.SERVFAIL
    finally:
        server.close()


def test_ptr_for_cluster_ips_and_headless_members_other_reverse_names_forwarded(zone: Zone) -> None:
    svc = _ask(zone, "15.0.96.10.in-addr.arpa", "PTR")
    assert svc is not None and [str(rr.rdata) for rr in svc.rr] == ["web.shop.svc.cluster.local."]
    member = _ask(zone, "6.2.244.10.in-addr.arpa.", "PTR")
    assert member is not None and [str(rr.rdata) for rr in member.rr] == ["db-1.db.shop.svc.cluster.local."]
    assert _ask(zone, "7.2.244.10.in-addr.arpa", "PTR") is None       # not ready: not ours, forwarded
    assert _ask(zone, "1.2.0.192.in-addr.arpa", "PTR") is None
    nodata = _ask(zone, "15.0.96.10.in-addr.arpa", "A")
    assert nodata is not None and not nodata.rr and nodata.header.rcode == RCODE.NOERROR
