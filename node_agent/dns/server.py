"""The node's DNS server (asyncio, UDP and TCP): cluster names from the current Zone, other names forwarded.

The zone is read through a callable on every query, so whoever watches Services and EndpointSlices swaps in a new
Zone and the next query sees it; while it returns None (no view of the cluster yet) every query gets SERVFAIL. Other
names are forwarded to the upstream resolvers in order (node_agent/dns/upstream.py: UDP, TCP on truncation,
optionally from another network namespace), each bounded by FORWARD_TIMEOUT_S; when none answers the client gets
SERVFAIL (its resolver then tries its next option), never a hang.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Sequence
from typing import cast

from dnslib import RCODE, DNSRecord

from node_agent.dns.answer import answer
from node_agent.dns.records import Zone
from node_agent.dns.upstream import Upstream, exchange

FORWARD_TIMEOUT_S = 2.0
log = logging.getLogger(__name__)


class DnsServer:
    def __init__(self, zone: Callable[[], Zone | None], upstreams: Sequence[tuple[str, int] | Upstream],
                 upstream_netns: str = "", forward_timeout_s: float = FORWARD_TIMEOUT_S) -> None:
        self.zone = zone
        self.upstreams = [u if isinstance(u, Upstream) else Upstream(u[0], u[1], upstream_netns) for u in upstreams]
        self.forward_timeout_s = forward_timeout_s
        self._transports: list[asyncio.BaseTransport] = []
        self._tcp: asyncio.Server | None = None

    async def resolve(self, data: bytes) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:      # dnslib raises several types for malformed packets; drop them like a resolver does
            return None
        zone = self.zone()
        if zone is None:   # not synced yet (a restarting proxy): SERVFAIL makes clients retry; NXDOMAIN would stick
            return _servfail(request)
        reply = answer(zone, request)
        if reply is not None:
            return bytes(reply.pack())
        for upstream in self.upstreams:
            try:
                return await asyncio.wait_for(exchange(data, upstream), self.forward_timeout_s)
            except (OSError, TimeoutError) as e:
                log.debug("upstream %s:%d: %r", upstream.host, upstream.port, e)
        return _servfail(request)

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(host, port))
        self._transports.append(transport)
        self._tcp = await asyncio.start_server(self._serve_tcp, host, port)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = await self.resolve(await reader.readexactly(length))
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        for t in self._transports:
            t.close()
        if self._tcp is not None:
            self._tcp.close()


def _servfail(request: DNSRecord) -> bytes:
    failure = request.reply()
    failure.header.rcode = RCODE.SERVFAIL
    return bytes(failure.pack())


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()   # keeps in-flight replies referenced until they finish

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)   # asyncio's UDP transport, not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.server.resolve(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
