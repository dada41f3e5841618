"""Forwarding from another network namespace: the node's DNS server makes its upstream sockets in the namespace it
is given (as a proxy inside a node netns reaches the host's resolver through /proc/1/ns/net). The upstream here
listens on 127.0.0.1 inside a namespace this test creates, so only a socket made in that namespace can reach it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from dnslib import RCODE, DNSRecord

from node_agent.dns.records import Zone
from node_agent.dns.server import DnsServer
from node_agent.dns.upstream import host_netns_path
from tests.conftest import require_root
from tests.support.procs import ProcessGroup, free_port, wait_for

pytestmark = pytest.mark.e2e

UPSTREAM = ("import socket,sys\n"
            "from dnslib import DNSRecord, RR, QTYPE, A\n"
            "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', int(sys.argv[1])))\n"
            "while True:\n"
            "  d,a=s.recvfrom(4096); q=DNSRecord.parse(d); r=q.reply()\n"
            "  r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A('192.0.2.53'), ttl=60)); s.sendto(r.pack(), a)\n")


@pytest.fixture
def netns() -> Iterator[str]:
    require_root()
    name = f"kemu-t{uuid.uuid4().hex[:6]}-up"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)




async def test_forwarded_queries_leave_from_the_given_namespace(netns: str, procs: ProcessGroup) -> None:
    port = free_port()
    procs.start("upstream", ["nsenter", f"--net=/run/netns/{netns}", sys.executable, "-c", UPSTREAM, str(port)])
    listening = ["nsenter", f"--net=/run/netns/{netns}", "ss", "-Hunl", f"sport = :{port}"]
    wait_for(lambda: subprocess.run(listening, capture_output=True, text=True, timeout=10).stdout.strip() != "",
             timeout_s=60, interval_s=0.2, what="upstream bound in its namespace")
    q = bytes(DNSRecord.question("outside.example.org", "A").pack())
    there = DnsServer(Zone, [("127.0.0.1", port)], upstream_netns=f"/run/netns/{netns}")
    reply = await asyncio.wait_for(there.resolve(q), 10)
    assert reply is not None and [str(rr.rdata) for rr in DNSRecord.parse(reply).rr] == ["192.0.2.53"]
    here = DnsServer(Zone, [("127.0.0.1", port)], forward_timeout_s=1.0)   # our own loopback: nobody there
    failed = await asyncio.wait_for(here.resolve(q), 10)
    assert failed is not None and DNSRecord.parse(failed).header.rcode == RCODE.SERVFAIL


def test_host_namespace_path_is_the_hosts() -> None:
    require_root()
    path = host_netns_path()      # the test runs in the host's namespace, as `kemu up` does
    assert path and os.stat(path).st_ino == os.stat("/proc/self/ns/net").st_ino
