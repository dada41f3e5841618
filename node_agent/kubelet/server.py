"""The kubelet HTTP endpoint (plain HTTP, default port 10250): /healthz, /pods, /containerLogs, /exec, /attach,
/stats/summary, /metrics (Prometheus text, when given a renderer).

``/containerLogs/<ns>/<pod>/<container>`` reads the CRI log files the runtime writes under the pod's log
directory (``<log_root>/<ns>_<pod>_<uid>/<container>/<attempt>.log``; each line
``<RFC3339Nano> <stdout|stderr> <P|F> <text>``, P = partial line) and supports ``previous``, ``tailLines``,
``timestamps``, ``sinceSeconds``, ``limitBytes`` and ``follow`` (polls the file; ends once the container no
longer runs and its file is drained, when a newer attempt starts, or after ``follow_limit_s``). ``/exec`` and
``/attach`` relay a WebSocket client to the runtime's CRI streaming URL; so does ``/portForward``, except that
kubectl's WebSocket-tunnelled SPDY (``SPDY/3.1+portforward.k8s.io``) is served here (``portforward``). Bad
parameters get a Kubernetes Status 400; an unknown pod/container a Status 404. The pure parts (parsing/selecting
lines) are plain functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import glob
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from node_agent.kubelet import portforward
from node_agent.kubelet.runtime_api import RuntimeError_, StreamingClient

_LINE = re.compile(r"^(\S+) (stdout|stderr) ([PF]) ?(.*)$", re.S)


@dataclass(frozen=True)
class LogLine:
    time: str
    stream: str
    partial: bool
    text: str


def parse_cri_line(line: str) -> LogLine | None:
    m = _LINE.match(line.rstrip("\n"))
    if not m:
        return None
    return LogLine(m.group(1), m.group(2), m.group(3) == "P", m.group(4))


def parse_time(ts: str) -> float:
    """RFC 3339 (nanosecond precision allowed) -> epoch seconds."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", ts)
    if not m:
        return 0.0
    base = dt.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return base.timestamp() + frac


def render(lines: list[LogLine], *, timestamps: bool, tail: int | None, since: float | None,
           limit_bytes: int | None) -> bytes:
    """Join partial lines, filter by time, keep the last ``tail`` lines, cap at ``limit_bytes``."""
    full: list[tuple[str, str]] = []
    pending = ""
    first_ts = ""
    for ln in lines:
        if not pending:
            first_ts = ln.time
        pending += ln.text
        if not ln.partial:
            full.append((first_ts, pending))
            pending = ""
    if pending:
        full.append((first_ts, pending))
    if since is not None:
        full = [x for x in full if parse_time(x[0]) >= since]
    if tail is not None:
        full = full[-tail:] if tail > 0 else []
    out = b"".join(((f"{t} " if timestamps else "") + text + "\n").encode() for t, text in full)
    return out[:limit_bytes] if limit_bytes is not None else out


def container_log_files(log_root: str, ns: str, pod: str, container: str) -> list[str]:
    """Log files of a container, oldest attempt first (any pod uid with that name; newest uid dir wins)."""
    dirs = sorted(glob.glob(os.path.join(glob.escape(log_root), f"{glob.escape(ns)}_{glob.escape(pod)}_*")),
                  key=os.path.getmtime)
    if not dirs:
        return []
    files = glob.glob(os.path.join(glob.escape(dirs[-1]), glob.escape(container), "*.log"))

    def attempt(p: str) -> int:
        base = os.path.basename(p).split(".")[0]
        return int(base) if base.isdigit() else -1
    return sorted(files, key=attempt)


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return web.json_response(body, status=code)


def _int_param(q: Any, name: str) -> int | None:
    v = q.get(name)
    if v is None or v == "":
        return None
    if not re.fullmatch(r"-?\d+", v):
        raise ValueError(f"{name}: invalid value {v!r}: must be an integer")
    return int(v)


def _bool_param(q: Any, name: str) -> bool:
    return str(q.get(name, "false")).lower() in ("1", "true", "yes")


def _read_lines(path: str) -> list[LogLine]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [x for x in (parse_cri_line(ln) for ln in f) if x is not None]


Resolver = Callable[[str, str, str], Awaitable[str | None]]  # (ns, pod, container) -> running container id
SandboxResolver = Callable[[str, str], Awaitable[str | None]]  # (ns, pod) -> ready sandbox id


def make_app(log_root: str, pods: Callable[[], list[dict[str, Any]]], stats: Callable[[], Any] | None = None,
             clock: Callable[[], float] | None = None, follow_limit_s: float = 3600.0,
             resolve: Resolver | None = None, streaming: StreamingClient | None = None,
             resolve_sandbox: SandboxResolver | None = None,
             metrics: Callable[[], str] | None = None) -> web.Application:
    import time

    now = clock or time.time

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def list_pods(_: web.Request) -> web.Response:
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods()})

    async def logs(req: web.Request) -> web.StreamResponse:
        ns, pod, container = req.match_info["ns"], req.match_info["pod"], req.match_info["container"]
        q = req.query
        try:
            tail = _int_param(q, "tailLines")
            since_s = _int_param(q, "sinceSeconds")
            limit = _int_param(q, "limitBytes")
            if since_s is not None and since_s < 1:
                raise ValueError("sinceSeconds: Invalid value: must be greater than 0")
            if limit is not None and limit < 1:
                raise ValueError("limitBytes: Invalid value: must be greater than 0")
            if tail is not None and tail < 0:
                raise ValueError("tailLines: Invalid value: must be greater than or equal to 0")
        except ValueError as e:
            return _status(400, "BadRequest", str(e))
        files = container_log_files(log_root, ns, pod, container)
        if not files:
            return _status(404, "NotFound", f'container "{container}" in pod "{pod}" is not available')
        previous = _bool_param(q, "previous")
        if previous:
            if len(files) < 2:
                return _status(400, "BadRequest",
                               f'previous terminated container "{container}" in pod "{pod}" not found')
            path = files[-2]
        else:
            path = files[-1]
        since = now() - since_s if since_s is not None else None
        ts = _bool_param(q, "timestamps")
        body = render(_read_lines(path), timestamps=ts, tail=tail, since=since, limit_bytes=limit)
        if not _bool_param(q, "follow") or previous:
            return web.Response(body=body, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(req)
        await resp.write(body)
        offset = os.path.getsize(path)
        deadline = now() + follow_limit_s
        stopped_rounds = 0
        while now() < deadline:
            await asyncio.sleep(0.2)
            size = os.path.getsize(path) if os.path.exists(path) else 0
            if size > offset:
                with open(path, "rb") as f:
                    f.seek(offset)
                    chunk = f.read(size - offset)
                # only complete lines; the rest is read on the next round
                cut = chunk.rfind(b"\n") + 1
                if cut:
                    lines = [x for x in (parse_cri_line(ln) for ln in chunk[:cut].decode("utf-8", "replace")
                                         .splitlines()) if x is not None]
                    await resp.write(render(lines, timestamps=ts, tail=None, since=None, limit_bytes=None))
                    offset += cut
                continue
            newest = container_log_files(log_root, ns, pod, container)
            if not newest or newest[-1] != path:
                break
            # Like the kubelet, a follow ends when the container is no longer running (after the file is drained;
            # two quiet rounds so the runtime's last writes are in).
            if resolve is not None:
                stopped_rounds = stopped_rounds + 1 if await resolve(ns, pod, container) is None else 0
                if stopped_rounds >= 2:
                    break
        await resp.write_eof()
        return resp

    async def summary(_: web.Request) -> web.Response:
        if stats is None:
            return _status(404, "NotFound", "stats are not available")
        return web.Response(text=json.dumps(await stats()), content_type="application/json")

    async def stream(req: web.Request) -> web.StreamResponse:
        ns, pod, container = req.match_info["ns"], req.match_info["pod"], req.match_info["container"]
        verb = req.match_info["verb"]
        if resolve is None or streaming is None:
            return _status(501, "NotImplemented", f"{verb} is not supported by this node's runtime")
        cid = await resolve(ns, pod, container)
        if cid is None:
            return _status(404, "NotFound", f'container "{container}" in pod "{pod}" is not running')
        if req.headers.get("Upgrade", "").lower() != "websocket":
            return _status(400, "BadRequest", "Upgrade request required (websocket)")
        q = req.query
        flags = {k: _bool_param(q, k) for k in ("tty", "stdin", "stdout", "stderr")}
        try:
            if verb == "exec":
                cmd = q.getall("command", [])
                if not cmd:
                    return _status(400, "BadRequest", "you must specify at least 1 command")
                url = await streaming.exec_url(cid, cmd, **flags)
            else:
                url = await streaming.attach_url(cid, **flags)
        except RuntimeError_ as e:
            return _status(500, "InternalError", e.message)
        return await relay_websocket(req, url)

    async def port_forward(req: web.Request) -> web.StreamResponse:
        ns, pod = req.match_info["ns"], req.match_info["pod"]
        if resolve_sandbox is None or streaming is None:
            return _status(501, "NotImplemented", "portforward is not supported by this node's runtime")
        sid = await resolve_sandbox(ns, pod)
        if sid is None:
            return _status(404, "NotFound", f'pod "{pod}" is not running on this node')
        if req.headers.get("Upgrade", "").lower() != "websocket":
            return _status(400, "BadRequest", "Upgrade request required (websocket)")
        try:
            ports = [int(p) for p in req.query.getall("port", [])]
        except ValueError:
            return _status(400, "BadRequest", "port: must be an integer")
        if portforward.wants_spdy(req):
            # kubectl's WebSocket-tunnelled SPDY: one runtime port-forward per forwarded connection
            async def dial(port: int) -> portforward.PodConnection:
                try:
                    url = await streaming.port_forward_url(sid, [port])
                except RuntimeError_ as e:
                    raise portforward.DialError(f"error forwarding port {port}: {e.message}") from None
                return await portforward.RuntimePortConnection.open(url)
            return await portforward.serve(req, dial)
        try:
            url = await streaming.port_forward_url(sid, ports)
        except RuntimeError_ as e:
            return _status(500, "InternalError", e.message)
        return await relay_websocket(req, url)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/pods", list_pods)
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", logs)
    app.router.add_get("/stats/summary", summary)
    app.router.add_get("/{verb:exec|attach}/{ns}/{pod}/{container}", stream)
    app.router.add_get("/portForward/{ns}/{pod}", port_forward)
    if metrics is not None:
        async def prometheus(_: web.Request) -> web.Response:
            return web.Response(text=metrics(), content_type="text/plain", charset="utf-8",
                                headers={"X-Content-Type-Options": "nosniff"})
        app.router.add_get("/metrics", prometheus)
    return app


async def relay_websocket(req: web.Request, url: str) -> web.StreamResponse:
    """Connect to the runtime's streaming URL with the client's subprotocols, accept the client with the one the
    runtime chose, and copy frames both ways until either side closes."""
    offered = [p.strip() for p in req.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    session = aiohttp.ClientSession()
    try:
        upstream = await session.ws_connect(url, protocols=offered, timeout=aiohttp.ClientWSTimeout(ws_close=5))
    except (aiohttp.ClientError, OSError) as e:
        await session.close()
        return _status(502, "ServiceUnavailable", f"runtime streaming endpoint: {e}")
    client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else ())
    await client.prepare(req)

    async def pump(src: Any, dst: Any) -> None:
        async for msg in src:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                await dst.send_str(msg.data)
            else:
                break

    try:
        down = asyncio.create_task(pump(upstream, client))
        up = asyncio.create_task(pump(client, upstream))
        await asyncio.wait([down, up], return_when=asyncio.FIRST_COMPLETED)
        if not down.done():
            # stdin closed by the client: give the command a moment to finish its output
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(down), 5)
        for t in (down, up):
            t.cancel()
    finally:
        await upstream.close()
        await client.close()
        await session.close()
    return client
