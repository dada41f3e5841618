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
