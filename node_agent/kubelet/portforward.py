"""kubectl port-forward over SPDY/3.1 tunnelled in a WebSocket (subprotocol ``SPDY/3.1+portforward.k8s.io``).

kubectl opens, per local connection, two SPDY streams with headers ``streamType`` (``error`` | ``data``), ``port``
and ``requestID``; every stream gets a SYN_REPLY. Once a request's data stream exists, a connection to the pod's
port is dialled (through the runtime: ``dial(port)``) and bytes are copied both ways as DATA frames. When the pod
side ends, the data stream and the error stream get FIN (kubectl waits for the error stream's end); a dial
failure is written on the error stream first. RST_STREAM or the end of the WebSocket closes the pod connections.
PINGs are echoed; SETTINGS and WINDOW_UPDATE need no answer (kubectl's SPDY library does no flow control).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from node_agent.kubelet import spdy

log = logging.getLogger(__name__)

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHUNK = 32 * 1024


class PodConnection(Protocol):
    async def read(self) -> bytes: ...  # b"" at the end
    async def write(self, data: bytes) -> None: ...
    async def close_write(self) -> None: ...  # half-close: the pod's side reads EOF
    async def close(self) -> None: ...


class DialError(Exception):
    """The pod's port cannot be reached; the message is what kubectl shows ("error forwarding port P: ...")."""


@dataclass
class _Request:
    port: int = 0
    data_id: int = 0
    error_id: int = 0
    conn: PodConnection | None = None
    task: asyncio.Task[None] | None = None
    pending: list[bytes] = field(default_factory=list)  # client bytes (b"" = its FIN) that came before the dial


class Session:
    def __init__(self, ws: web.WebSocketResponse, dial: Callable[[int], Awaitable[PodConnection]]) -> None:
        self.ws = ws
        self.dial = dial
        self.codec = spdy.HeaderCodec()
        self.reader = spdy.FrameReader(self.codec)
        self.requests: dict[str, _Request] = {}
        self.by_stream: dict[int, str] = {}
        self.last_stream = 0
        self._send_lock = asyncio.Lock()

    async def send(self, frame: bytes) -> None:
        async with self._send_lock:
            if not self.ws.closed:
                await self.ws.send_bytes(frame)

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.BINARY:
                    continue
                try:
                    frames = self.reader.feed(msg.data)
                except spdy.SpdyError as e:
                    log.warning("port-forward: %s", e)
                    await self.send(spdy.goaway(self.last_stream, 1))
                    break
                for f in frames:
                    await self._handle(f)
        finally:
            for r in self.requests.values():
                if r.task is not None:
                    r.task.cancel()
                if r.conn is not None:
                    with contextlib.suppress(Exception):
                        await r.conn.close()

    async def _handle(self, f: spdy.Frame) -> None:
        if not f.control:
            rid = self.by_stream.get(f.stream_id)
            r = self.requests.get(rid) if rid is not None else None
            if r is None or f.stream_id != r.data_id:
                return
            try:
                for chunk in [f.data] if f.data else []:
                    if r.conn is None:
                        r.pending.append(chunk)
                    else:
                        await r.conn.write(chunk)
                if f.fin:  # the client will send no more: half-close towards the pod
                    if r.conn is None:
                        r.pending.append(b"")
                    else:
                        await r.conn.close_write()
            except (OSError, aiohttp.ClientError) as e:  # the pod side went away: only this request ends
                await self._finish(r, f"error forwarding port {r.port}: {e}")
            return
        if f.type == spdy.SYN_STREAM:
            await self._open(f)
        elif f.type == spdy.PING:
            await self.send(spdy.control(spdy.PING, 0, f.data[:4]))
        elif f.type == spdy.RST_STREAM:
            rid = self.by_stream.get(f.stream_id)
            r = self.requests.get(rid) if rid is not None else None
            if r is not None and f.stream_id == r.data_id:
                await self._finish(r, "")
        elif f.type == spdy.GOAWAY:
            await self.ws.close()

    async def _open(self, f: spdy.Frame) -> None:
        self.last_stream = max(self.last_stream, f.stream_id)
        h = f.headers
        kind, rid = h.get("streamtype", ""), h.get("requestid", "")
        try:
            port = int(h.get("port", ""))
        except ValueError:
            port = 0
        if kind not in ("data", "error") or not 0 < port < 65536:
            await self.send(spdy.rst_stream(f.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        await self.send(spdy.syn_reply(self.codec, f.stream_id))
        r = self.requests.setdefault(rid, _Request(port=port))
        self.by_stream[f.stream_id] = rid
        if kind == "error":
            r.error_id = f.stream_id
        else:
            r.data_id = f.stream_id
            r.task = asyncio.create_task(self._forward(r))

    async def _forward(self, r: _Request) -> None:
        try:
            await self._copy_out(r)
        except (OSError, aiohttp.ClientError) as e:  # the WebSocket itself is gone: run() cleans up
            log.debug("port-forward request on port %d: %s", r.port, e)

    async def _copy_out(self, r: _Request) -> None:
        try:
            r.conn = await self.dial(r.port)
        except DialError as e:  # its message is complete
            await self._finish(r, str(e))
            return
        except (OSError, aiohttp.ClientError) as e:
            await self._finish(r, f"error forwarding port {r.port}: {e}")
            return
        try:
            for chunk in r.pending:
                await (r.conn.write(chunk) if chunk else r.conn.close_write())
            r.pending.clear()
            while chunk := await r.conn.read():
                for i in range(0, len(chunk), CHUNK):
                    await self.send(spdy.data(r.data_id, chunk[i:i + CHUNK]))
        except DialError as e:  # the runtime's own message, e.g. nothing listens on the port
            await self._finish(r, str(e))
            return
        except (OSError, aiohttp.ClientError) as e:
            await self._finish(r, f"error forwarding port {r.port}: {e}")
            return
        await self._finish(r, "")

    async def _finish(self, r: _Request, error: str) -> None:
        if r.error_id and error:
            await self.send(spdy.data(r.error_id, error.encode()))
        if r.error_id:
            await self.send(spdy.data(r.error_id, b"", fin=True))
        if r.data_id:
            await self.send(spdy.data(r.data_id, b"", fin=True))
        for sid in (r.data_id, r.error_id):
            rid = self.by_stream.pop(sid, None)
            if rid is not None:
                self.requests.pop(rid, None)
        if r.conn is not None:
            with contextlib.suppress(Exception):
                await r.conn.close()
        current = asyncio.current_task()
        if r.task is not None and r.task is not current:
            r.task.cancel()


class RuntimePortConnection:
    """One pod port through the runtime's WebSocket port-forward (``v4.channel.k8s.io``: channel 0 data,
    channel 1 errors; the first frame on each carries the port; ``255, 0`` half-closes the data channel)."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self._seen: set[int] = set()

    @classmethod
    async def open(cls, url: str) -> RuntimePortConnection:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url, protocols=("v4.channel.k8s.io",), max_msg_size=0)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def read(self) -> bytes:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                continue
            ch, payload = msg.data[0], msg.data[1:]
            if ch not in self._seen:  # the port prefix
                self._seen.add(ch)
                payload = payload[2:]
            if ch == 1 and payload:
                raise DialError(payload.decode(errors="replace"))
            if ch == 0 and payload:
                return bytes(payload)
        return b""

    async def write(self, data: bytes) -> None:
        await self.ws.send_bytes(b"\x00" + data)

    async def close_write(self) -> None:
        await self.ws.send_bytes(b"\xff\x00")  # close channel 0 (v5.channel.k8s.io's convention)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


async def serve(req: web.Request, dial: Callable[[int], Awaitable[PodConnection]]) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), max_msg_size=0, autoping=True)
    await ws.prepare(req)
    await Session(ws, dial).run()
    return ws


def offered(req: web.Request) -> list[str]:
    return [p.strip() for p in req.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]


def wants_spdy(req: Any) -> bool:
    return PROTOCOL in offered(req)
