from __future__ import annotations

import os
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from node_agent.kubelet.server import make_app, parse_cri_line, parse_time, render
from tests.support.procs import free_port

pytestmark = pytest.mark.unit

T = "2027-01-15T08:00:00.123456789Z"


def test_parse_and_render() -> None:
    raw = [f"{T} stdout P hel", f"{T} stdout F lo", "2027-01-15T08:00:05Z stderr F oops", "garbage"]
    lines = [x for x in map(parse_cri_line, raw) if x is not None]
    assert len(lines) == 3 and lines[0].partial and lines[2].stream == "stderr"
    assert render(lines, timestamps=False, tail=None, since=None, limit_bytes=None) == b"hello\noops\n"
    assert render(lines, timestamps=True, tail=1, since=None, limit_bytes=None) == b"2027-01-15T08:00:05Z oops\n"
    assert render(lines, timestamps=False, tail=None, since=parse_time("2027-01-15T08:00:01Z"),
                  limit_bytes=None) == b"oops\n"
    assert render(lines, timestamps=False, tail=0, since=None, limit_bytes=None) == b""
    assert render(lines, timestamps=False, tail=None, since=None, limit_bytes=3) == b"hel"
    assert abs(parse_time(T) - (parse_time("2027-01-15T08:00:00Z") + 0.123456789)) < 1e-6


def _write(root: str, attempt: int, lines: list[str]) -> None:
    d = os.path.join(root, "default_web_u1", "app")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{attempt}.log"), "w") as f:
        f.writelines(x + "\n" for x in lines)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_http_endpoint(tmp_path: Any) -> None:
    root = str(tmp_path)
    _write(root, 0, [f"{T} stdout F first run"])
    _write(root, 1, [f"{T} stdout F a", f"{T} stdout F b", f"{T} stderr F c"])
    runner, base = await _serve(make_app(root, lambda: [{"metadata": {"name": "web"}}]))
    try:
        async with aiohttp.ClientSession() as s:
            async def get(path: str) -> tuple[int, str]:
                async with s.get(base + path) as r:
                    return r.status, await r.text()
            assert await get("/healthz") == (200, "ok")
            st, body = await get("/pods")
            assert st == 200 and '"web"' in body
            assert await get("/containerLogs/default/web/app") == (200, "a\nb\nc\n")
            assert await get("/containerLogs/default/web/app?tailLines=1") == (200, "c\n")
            assert await get("/containerLogs/default/web/app?previous=true") == (200, "first run\n")
            st, body = await get("/containerLogs/default/web/app?timestamps=true&tailLines=1")
            assert body == f"{T} c\n"
            st, body = await get("/containerLogs/default/web/nope")
            assert st == 404 and '"reason": "NotFound"' in body
            st, body = await get("/containerLogs/default/web/app?tailLines=x")
            assert st == 400 and "must be an integer" in body
            st, body = await get("/stats/summary")
            assert st == 404
    finally:
        await runner.cleanup()


async def test_follow_streams_new_lines_until_container_restarts(tmp_path: Any) -> None:
    root = str(tmp_path)
    _write(root, 0, [f"{T} stdout F one"])
    runner, base = await _serve(make_app(root, lambda: []))
    try:
        async with aiohttp.ClientSession() as s, s.get(base + "/containerLogs/default/web/app?follow=true") as r:
            assert await r.content.readline() == b"one\n"
            with open(os.path.join(root, "default_web_u1", "app", "0.log"), "a") as f:
                f.write(f"{T} stdout F two\n")
            assert await r.content.readline() == b"two\n"
            _write(root, 1, [f"{T} stdout F new"])  # a newer attempt ends the follow
            assert await r.content.read() == b""
    finally:
        await runner.cleanup()


class _Streams:
    def __init__(self, url: str) -> None:
        self.url = url
        self.calls: list[tuple[str, list[str], dict[str, bool]]] = []

    async def exec_url(self, container_id: str, cmd: list[str], **flags: bool) -> str:
        self.calls.append((container_id, cmd, flags))
        return self.url

    async def attach_url(self, container_id: str, **flags: bool) -> str:
        self.calls.append((container_id, [], flags))
        return self.url

    async def port_forward_url(self, sandbox_id: str, ports: list[int]) -> str:
        return self.url


async def test_exec_relays_websocket_frames_and_subprotocol(tmp_path: Any) -> None:
    # Stand-in for the runtime's streaming server: answers stdin frames on stdout, then closes.
    async def runtime_ws(req: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=["v5.channel.k8s.io"])
        await ws.prepare(req)
        await ws.send_bytes(b"\x01hello\n")
        msg = await ws.receive()
        await ws.send_bytes(b"\x01got " + msg.data[1:])
        await ws.close()
        return ws

    rt_app = web.Application()
    rt_app.router.add_get("/exec/abc", runtime_ws)
    rt_runner, rt_base = await _serve(rt_app)
    streams = _Streams(rt_base + "/exec/abc")

    async def resolve(ns: str, pod: str, container: str) -> str | None:
        return "cid-1" if (ns, pod, container) == ("default", "web", "app") else None

    runner, base = await _serve(make_app(str(tmp_path), lambda: [], resolve=resolve, streaming=streams))
    try:
        async with aiohttp.ClientSession() as s:
            url = base + "/exec/default/web/app?command=sh&command=-c&command=cat&stdin=true&stdout=true"
            async with s.ws_connect(url, protocols=["v5.channel.k8s.io", "v4.channel.k8s.io"]) as ws:
                assert ws.protocol == "v5.channel.k8s.io"
                assert (await ws.receive()).data == b"\x01hello\n"
                await ws.send_bytes(b"\x00ping")
                assert (await ws.receive()).data == b"\x01got ping"
                assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                                     aiohttp.WSMsgType.CLOSING)
            assert streams.calls[0][:2] == ("cid-1", ["sh", "-c", "cat"])
            assert streams.calls[0][2] == {"tty": False, "stdin": True, "stdout": True, "stderr": False}
            async with s.get(base + "/exec/default/web/nope?command=ls") as r:
                assert r.status == 404
            async with s.get(base + "/exec/default/web/app?command=ls") as r:
                assert r.status == 400  # not an upgrade request
    finally:
        await runner.cleanup()
        await rt_runner.cleanup()


async def test_follow_ends_when_container_stops(tmp_path: Any) -> None:
    root = str(tmp_path)
    _write(root, 0, [f"{T} stdout F one"])
    state = {"running": True}

    async def resolve(ns: str, pod: str, container: str) -> str | None:
        return "cid" if state["running"] else None

    runner, base = await _serve(make_app(root, lambda: [], resolve=resolve))
    try:
        async with aiohttp.ClientSession() as s, s.get(base + "/containerLogs/default/web/app?follow=true") as r:
            assert await r.content.readline() == b"one\n"
            with open(os.path.join(root, "default_web_u1", "app", "0.log"), "a") as f:
                f.write(f"{T} stdout F last words\n")
            state["running"] = False
            assert await r.content.read() == b"last words\n"
    finally:
        await runner.cleanup()


async def test_port_forward_relays_to_sandbox_url(tmp_path: Any) -> None:
    async def runtime_ws(req: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=["portforward.k8s.io"])
        await ws.prepare(req)
        msg = await ws.receive()
        await ws.send_bytes(b"echo:" + msg.data)
        await ws.close()
        return ws

    rt_app = web.Application()
    rt_app.router.add_get("/pf/sb1", runtime_ws)
    rt_runner, rt_base = await _serve(rt_app)
    calls: list[tuple[str, list[int]]] = []

    class Streams(_Streams):
        async def port_forward_url(self, sandbox_id: str, ports: list[int]) -> str:
            calls.append((sandbox_id, ports))
            return rt_base + "/pf/sb1"

    async def resolve_sandbox(ns: str, pod: str) -> str | None:
        return "sb1" if pod == "web" else None

    runner, base = await _serve(make_app(str(tmp_path), lambda: [], streaming=Streams(""),
                                         resolve_sandbox=resolve_sandbox))
    try:
        async with aiohttp.ClientSession() as s:
            url = base + "/portForward/default/web?port=8080"
            async with s.ws_connect(url, protocols=["portforward.k8s.io"]) as ws:
                await ws.send_bytes(b"\x00\x00data")
                assert (await ws.receive()).data == b"echo:\x00\x00data"
            assert calls == [("sb1", [8080])]
            async with s.get(base + "/portForward/default/nope?port=1") as r:
                assert r.status == 404
    finally:
        await runner.cleanup()
        await rt_runner.cleanup()
