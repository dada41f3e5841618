"""The load balancer's I/O: accept TCP clients, pipe each to one backend, and health-check the backends.

Contracts:
- Pass-through: bytes are copied unchanged in both directions (TLS ends at the apiserver, so the client verifies
  the apiserver's certificate, which must name the address the client dialled -- the load balancer's).
- A client connection goes to the first candidate (kemu/launcher/lb/pool.py) that accepts a TCP connection within
  the connect timeout; a refused or timed-out connect marks that backend unhealthy and the next one is tried. When
  none accepts, the client's connection is closed.
- A clean end of one direction is passed on as a half-close; the pair is closed when both directions ended, when
  either fails, or a bounded time after the first one ended (a peer that never finishes cannot pin it).
- Active health: every interval each backend gets GET /readyz over TLS verified with the cluster CA (200 = healthy),
  or a bare TCP connect when no CA is given. After each round the pool's view is written atomically to the status
  file as JSON (what `kemu status` shows).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from kemu.launcher.lb.pool import Backend, Pool

log = logging.getLogger("kemu.lb")
CHUNK = 64 * 1024
HALF_CLOSE_GRACE_S = 60.0

HealthCheck = Callable[[Backend], Awaitable[str | None]]   # None: healthy; else why not


def tcp_check(timeout_s: float) -> HealthCheck:
    async def check(b: Backend) -> str | None:
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(b.host, b.port), timeout_s)
        except (OSError, TimeoutError) as e:
            return f"connect: {e!r}"
        w.close()
        return None
    return check


def readyz_check(ca_file: str, timeout_s: float) -> HealthCheck:
    ctx = ssl.create_default_context(cafile=ca_file)

    async def check(b: Backend) -> str | None:
        try:
            async with asyncio.timeout(timeout_s):
                r, w = await asyncio.open_connection(b.host, b.port, ssl=ctx, server_hostname=b.host)
                try:
                    w.write(f"GET /readyz HTTP/1.1\r\nHost: {b.address}\r\nConnection: close\r\n\r\n".encode())
                    status = (await r.readline()).split()
                finally:
                    w.close()
        except (OSError, TimeoutError, ssl.SSLError) as e:
            return f"readyz: {e!r}"
        if len(status) < 2 or status[1] != b"200":
            return f"readyz: {b' '.join(status[1:]).decode(errors='replace') or 'no answer'}"
        return None
    return check


class LoadBalancer:
    def __init__(self, pool: Pool, check: HealthCheck, interval_s: float = 1.0, status_file: Path | None = None,
                 connect_timeout_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.pool, self.check, self.interval_s = pool, check, interval_s
        self.status_file, self.connect_timeout_s, self.clock = status_file, connect_timeout_s, clock
        self.listen = ""

    def _report(self, b: Backend, healthy: bool, error: str = "") -> None:
        if self.pool.report(b, healthy, self.clock(), error):
            log.info("backend %s %s%s", b.address, "healthy" if healthy else "UNHEALTHY",
                     f" ({error})" if error else "")

    async def health_round(self) -> None:
        results = await asyncio.gather(*(self.check(b) for b in self.pool.backends))
        for b, error in zip(self.pool.backends, results, strict=True):
            self._report(b, error is None, error or "")
        self.write_status()

    async def health_loop(self) -> None:
        while True:
            await self.health_round()
            await asyncio.sleep(self.interval_s)

    def write_status(self) -> None:
        if self.status_file is None:
            return
        tmp = self.status_file.with_suffix(".tmp")
        doc = {"listen": self.listen, "written_unix": time.time(), "backends": self.pool.snapshot(self.clock())}
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(doc, indent=1))
            tmp.replace(self.status_file)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for b in self.pool.candidates():
                try:
                    up_r, up_w = await asyncio.wait_for(asyncio.open_connection(b.host, b.port),
                                                        self.connect_timeout_s)
                except (OSError, TimeoutError) as e:
                    self._report(b, False, f"connect: {e!r}")
                    continue
                b.active += 1
                b.served += 1
                try:
                    await pipe(reader, writer, up_r, up_w)
                finally:
                    b.active -= 1
                return
            log.warning("no backend accepted a connection from %s", writer.get_extra_info("peername"))
        finally:
            writer.close()

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        self.listen = f"{host}:{port}"
        server = await asyncio.start_server(self.handle, host, port, reuse_address=True, backlog=512)
        checker = asyncio.create_task(self.health_loop())
        log.info("balancing %s over %s", self.listen, ", ".join(b.address for b in self.pool.backends))
        try:
            await stop.wait()
        finally:
            checker.cancel()
            server.close()
            await asyncio.gather(checker, return_exceptions=True)


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> bool:
    """Copy until EOF (then half-close dst): True; False when either side failed."""
    try:
        while data := await src.read(CHUNK):
            dst.write(data)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()
        return True
    except (OSError, RuntimeError):
        return False


async def pipe(c_r: asyncio.StreamReader, c_w: asyncio.StreamWriter, u_r: asyncio.StreamReader,
               u_w: asyncio.StreamWriter) -> None:
    tasks = {asyncio.create_task(_copy(c_r, u_w)), asyncio.create_task(_copy(u_r, c_w))}
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending and all(t.result() for t in done):
            await asyncio.wait(pending, timeout=HALF_CLOSE_GRACE_S)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        u_w.close()
        c_w.close()
