"""Forwarding to upstream resolvers: who they are (the host's /etc/resolv.conf by default) and one bounded exchange.

A node's DNS server runs inside the node's network namespace, which has no route out (DESIGN.md "Addresses stay
inside"); the host's resolver is reachable from the host's namespace only. So the forwarding socket can be made in
another network namespace (`netns`, a path such as /proc/1/ns/net; host_netns_path() finds one for the host): a
short-lived thread enters it with setns(2) (which switches only that thread), creates the socket and ends; the
socket keeps its namespace for life. Every query gets a fresh socket (and so a fresh source port).

Exchange: UDP first; a truncated reply (TC) is asked again over TCP, as resolvers do. The caller bounds the time.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import struct
import threading
from dataclasses import dataclass

from dnslib import DNSRecord

CLONE_NEWNET = 0x40000000
DNS_PORT = 53


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int = DNS_PORT
    netns: str = ""           # network namespace to send from ("" = this process's)


def parse_hostport(text: str) -> tuple[str, int]:
    """`IP`, `IP:PORT` or `[IPv6]:PORT` -> (host, port); port 53 when absent."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or DNS_PORT)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, DNS_PORT


def resolv_conf_nameservers(text: str) -> list[tuple[str, int]]:
    """The `nameserver` entries of a resolv.conf (pure), in order, on port 53."""
    out = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append((fields[1].split("%", 1)[0], DNS_PORT))
    return out


def host_nameservers(path: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    try:
        with open(path) as f:
            return resolv_conf_nameservers(f.read())
    except OSError:
        return []


def host_netns_path() -> str:
    """A path to the host's (init) network namespace that this process may open: /proc/1/ns/net, or, where init's
    files are closed to us (a micro-VM's init may be), kthreadd's /proc/2/ns/net -- kernel threads live in the init
    namespace. "" when neither opens."""
    for pid in (1, 2):
        path = f"/proc/{pid}/ns/net"
        try:
            os.close(os.open(path, os.O_RDONLY))
            return path
        except OSError:
            continue
    return ""


def enter_netns(path: str) -> None:
    """Move the calling thread (only) into the network namespace at `path` (setns(2))."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def socket_in(netns: str, family: int, kind: int) -> socket.socket:
    """A new non-blocking socket that belongs to network namespace `netns` ("" = ours)."""
    if not netns:
        sock = socket.socket(family, kind)
    else:
        box: list[socket.socket | BaseException] = []

        def make() -> None:
            try:
                enter_netns(netns)
                box.append(socket.socket(family, kind))
            except BaseException as e:     # handed to the caller's thread below
                box.append(e)
        t = threading.Thread(target=make, name="dns-upstream-socket", daemon=True)
        t.start()
        t.join()
        if not box:
            raise OSError("socket thread died")
        if isinstance(box[0], BaseException):
            raise box[0]
        sock = box[0]
    sock.setblocking(False)
    return sock


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


async def exchange(data: bytes, upstream: Upstream) -> bytes:
    """Ask one upstream and return its reply; raises OSError when it cannot be reached (the caller bounds the time)."""
    reply = await _udp(data, upstream)
    try:
        truncated = bool(DNSRecord.parse(reply).header.tc)
    except Exception:       # dnslib raises several types; hand the bytes back as they came
        truncated = False
    return await _tcp(data, upstream) if truncated else reply


async def _udp(data: bytes, upstream: Upstream) -> bytes:
    loop = asyncio.get_running_loop()
    sock = await asyncio.to_thread(socket_in, upstream.netns, _family(upstream.host), socket.SOCK_DGRAM)
    done: asyncio.Future[bytes] = loop.create_future()
    request_id = data[:2]

    class _Client(asyncio.DatagramProtocol):
        def datagram_received(self, reply: bytes, addr: tuple[str, int]) -> None:
            if not done.done() and reply[:2] == request_id:
                done.set_result(reply)

        def error_received(self, exc: Exception) -> None:   # e.g. ICMP port unreachable: fail now, not at timeout
            if not done.done():
                done.set_exception(exc)

    try:
        sock.connect((upstream.host, upstream.port))
    except OSError:
        sock.close()
        raise
    transport, _ = await loop.create_datagram_endpoint(_Client, sock=sock)
    try:
        transport.sendto(data)
        return await done
    finally:
        transport.close()


async def _tcp(data: bytes, upstream: Upstream) -> bytes:
    loop = asyncio.get_running_loop()
    sock = await asyncio.to_thread(socket_in, upstream.netns, _family(upstream.host), socket.SOCK_STREAM)
    try:
        await loop.sock_connect(sock, (upstream.host, upstream.port))
        reader, writer = await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as e:
        raise ConnectionError("upstream closed the connection") from e
    finally:
        writer.close()
