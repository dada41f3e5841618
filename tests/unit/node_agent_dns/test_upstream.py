"""Forwarding to upstream resolvers: the host's resolv.conf parsed, answers relayed as the upstream gave them, a
truncated UDP answer asked again over TCP, a dead upstream skipped within the timeout (SERVFAIL when none is left).
The upstreams are small servers on loopback."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from node_agent.dns.records import Zone
from node_agent.dns.server import DnsServer
from node_agent.dns.upstream import Upstream, exchange, parse_hostport, resolv_conf_nameservers
from tests.support.procs import free_port

pytestmark = pytest.mark.unit


def test_resolv_conf_and_host_port_parsing() -> None:
    text = ("# generated\nsearch example.internal\nnameserver 10.255.255.53\nnameserver fe80::1%eth0 ; x\n"
            "options ndots:1\nnameserver   192.0.2.7   # second\n")
    assert resolv_conf_nameservers(text) == [("10.255.255.53", 53), ("fe80::1", 53), ("192.0.2.7", 53)]
    assert parse_hostport("10.0.0.1") == ("10.0.0.1", 53)
    assert parse_hostport("10.0.0.1:5353") == ("10.0.0.1", 5353)
    assert parse_hostport("[fd00::1]:54") == ("fd00::1", 54)


class _Upstream:
    """Answers every A question with 192.0.2.<n>; over UDP it can claim truncation (TC, no answer) instead."""

    def __init__(self, truncate_udp: bool) -> None:
        self.truncate_udp = truncate_udp
        self.udp_queries = 0
        self.tcp_queries = 0

    def reply(self, data: bytes, tcp: bool) -> bytes:
        q = DNSRecord.parse(data)
        r = q.reply()
        if self.truncate_udp and not tcp:
            r.header.tc = 1
        else:
            r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.9" if tcp else "192.0.2.8"), ttl=60))
        return bytes(r.pack())


@pytest.fixture
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[tuple[_Upstream, int]]:
    up = _Upstream(truncate_udp=getattr(request, "param", False))
    port = free_port()
    loop = asyncio.get_running_loop()

    class Udp(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            up.udp_queries += 1
            self.transport.sendto(up.reply(data, tcp=False), addr)   # type: ignore[attr-defined]

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
        up.tcp_queries += 1
        reply = up.reply(await reader.readexactly(n), tcp=True)
        writer.write(struct.pack("!H", len(reply)) + reply)
        await writer.drain()
        writer.close()

    transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", port))
    server = await asyncio.start_server(tcp, "127.0.0.1", port)
    try:
        yield up, port
    finally:
        transport.close()
        server.close()


async def test_udp_answer_is_relayed(upstream: tuple[_Upstream, int]) -> None:
    up, port = upstream
    q = DNSRecord.question("example.org", "A")
    reply = DNSRecord.parse(await asyncio.wait_for(exchange(bytes(q.pack()), Upstream("127.0.0.1", port)), 5))
    assert reply.header.id == q.header.id and [str(rr.rdata) for rr in reply.rr] == ["192.0.2.8"]
    assert (up.udp_queries, up.tcp_queries) == (1, 0)


@pytest.mark.parametrize("upstream", [True], indirect=True)
async def test_truncated_udp_answer_is_asked_again_over_tcp(upstream: tuple[_Upstream, int]) -> None:
    up, port = upstream
    q = DNSRecord.question("big.example.org", "A")
    reply = DNSRecord.parse(await asyncio.wait_for(exchange(bytes(q.pack()), Upstream("127.0.0.1", port)), 5))
    assert [str(rr.rdata) for rr in reply.rr] == ["192.0.2.9"] and not reply.header.tc
    assert (up.udp_queries, up.tcp_queries) == (1, 1)


async def test_server_skips_a_dead_upstream_then_servfails_when_none_answers(
        upstream: tuple[_Upstream, int]) -> None:
    _, port = upstream
    dead = ("127.0.0.1", free_port())            # nothing listens: ICMP unreachable fails it at once
    server = DnsServer(Zone, [dead, ("127.0.0.1", port)], forward_timeout_s=2.0)
    q = DNSRecord.question("example.org", "A")
    relayed = await server.resolve(bytes(q.pack()))
    assert relayed is not None and [str(rr.rdata) for rr in DNSRecord.parse(relayed).rr] == ["192.0.2.8"]
    lonely = DnsServer(Zone, [dead], forward_timeout_s=2.0)
    failed = await asyncio.wait_for(lonely.resolve(bytes(q.pack())), 10)
    assert failed is not None and DNSRecord.parse(failed).header.rcode == RCODE.SERVFAIL
    # cluster names never leave the node
    in_zone = await server.resolve(bytes(DNSRecord.question("nope.default.svc.cluster.local").pack()))
    assert in_zone is not None and DNSRecord.parse(in_zone).header.rcode == RCODE.NXDOMAIN


async def test_no_zone_yet_means_servfail_not_nxdomain() -> None:
    """A restarting proxy has no view of the cluster for a moment: clients must retry, not cache a negative."""
    server = DnsServer(lambda: None, [])
    reply = await server.resolve(bytes(DNSRecord.question("web.default.svc.cluster.local").pack()))
    assert reply is not None and DNSRecord.parse(reply).header.rcode == RCODE.SERVFAIL
