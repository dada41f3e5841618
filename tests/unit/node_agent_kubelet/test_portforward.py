"""The port-forward SPDY session against a scripted client and fake pod connections: replies to every stream,
client bytes that arrive before the dial completes are delivered, the pod's end becomes FIN on both streams, a
refused port is reported on the error stream, PINGs are echoed."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import aiohttp
import pytest

from node_agent.kubelet import portforward, spdy

pytestmark = pytest.mark.unit


class _Msg:
    def __init__(self, data: bytes) -> None:
        self.type = aiohttp.WSMsgType.BINARY
        self.data = data


class FakeWs:
    """The client's side: frames to send in order (split in small messages, as kubectl writes), then wait."""

    def __init__(self, frames: list[bytes], linger_s: float = 0.3) -> None:
        self.incoming = [f[i:i + 4] for f in frames for i in range(0, len(f), 4)]
        self.sent = bytearray()
        self.closed = False
        self.linger_s = linger_s

    def __aiter__(self) -> FakeWs:
        return self

    async def __anext__(self) -> _Msg:
        if self.incoming:
            await asyncio.sleep(0)
            return _Msg(self.incoming.pop(0))
        await asyncio.sleep(self.linger_s)  # let the session's tasks finish, then "close"
        raise StopAsyncIteration

    async def send_bytes(self, data: bytes) -> None:
        self.sent += data

    async def close(self) -> None:
        self.closed = True


class FakePod:
    def __init__(self, reply: bytes, dial_delay_s: float = 0.0) -> None:
        self.reply = reply
        self.got = bytearray()
        self.eof = False
        self.closed = False
        self.dial_delay_s = dial_delay_s
        self._sent = False

    async def read(self) -> bytes:
        while not self.eof:  # answer once the client has finished sending, like an HTTP/1.0 server
            await asyncio.sleep(0.01)
        if self._sent:
            return b""
        self._sent = True
        return self.reply + b"|" + bytes(self.got)

    async def write(self, data: bytes) -> None:
        self.got += data

    async def close_write(self) -> None:
        self.eof = True

    async def close(self) -> None:
        self.closed = True


def _client_frames(codec: spdy.HeaderCodec, port: int = 80) -> list[bytes]:
    def syn(sid: int, kind: str) -> bytes:
        h = {"streamType": kind, "port": str(port), "requestID": "0"}
        return spdy.control(spdy.SYN_STREAM, 0, struct.pack(">IIBB", sid, 0, 0, 0) + codec.encode(h))
    return [syn(1, "error"), spdy.data(1, b"", fin=True), syn(3, "data"), spdy.data(3, b"hello "),
            spdy.data(3, b"pod", fin=True), spdy.ping(7)]


def _frames(sent: bytes) -> list[spdy.Frame]:
    return spdy.FrameReader(spdy.HeaderCodec()).feed(sent)


async def _run(ws: FakeWs, dial: Any) -> None:
    await asyncio.wait_for(portforward.Session(ws, dial).run(), 5)  # type: ignore[arg-type]


async def test_bytes_flow_both_ways_and_the_pods_end_is_fin_on_both_streams() -> None:
    pod = FakePod(b"answer", dial_delay_s=0.05)
    dialled: list[int] = []

    async def dial(port: int) -> portforward.PodConnection:
        dialled.append(port)
        await asyncio.sleep(pod.dial_delay_s)  # the client's data arrives before the pod connection exists
        return pod
    ws = FakeWs(_client_frames(spdy.HeaderCodec()))
    await _run(ws, dial)
    frames = _frames(bytes(ws.sent))
    assert dialled == [80]
    assert [(f.type, f.stream_id) for f in frames if f.control and f.type == spdy.SYN_REPLY] == [
        (spdy.SYN_REPLY, 1), (spdy.SYN_REPLY, 3)]
    assert any(f.control and f.type == spdy.PING and f.data == struct.pack(">I", 7) for f in frames)
    data = b"".join(f.data for f in frames if not f.control and f.stream_id == 3)
    assert data == b"answer|hello pod"
    fins = {f.stream_id for f in frames if not f.control and f.fin}
    assert fins == {1, 3}
    assert pod.closed


async def test_a_refused_port_is_reported_on_the_error_stream() -> None:
    async def dial(port: int) -> portforward.PodConnection:
        raise portforward.DialError(f"error forwarding port {port}: [Errno 111] Connection refused")
    ws = FakeWs(_client_frames(spdy.HeaderCodec(), port=81))
    await _run(ws, dial)
    frames = _frames(bytes(ws.sent))
    err = b"".join(f.data for f in frames if not f.control and f.stream_id == 1)
    assert err == b"error forwarding port 81: [Errno 111] Connection refused"
    assert {f.stream_id for f in frames if not f.control and f.fin} == {1, 3}


async def test_a_stream_without_a_valid_port_is_reset() -> None:
    codec = spdy.HeaderCodec()
    bad = spdy.control(spdy.SYN_STREAM, 0, struct.pack(">IIBB", 1, 0, 0, 0) + codec.encode(
        {"streamType": "data", "port": "http", "requestID": "0"}))

    async def dial(port: int) -> portforward.PodConnection:
        raise AssertionError("no dial for a bad port")
    ws = FakeWs([bad], linger_s=0.05)
    await _run(ws, dial)
    frames = _frames(bytes(ws.sent))
    assert [(f.type, f.stream_id) for f in frames] == [(spdy.RST_STREAM, 1)]
