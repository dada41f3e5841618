from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from node_agent.kubelet.prober import run_check, run_hook
from node_agent.kubelet.probes import ProbeConfig, ProbeHandler
from tests.support.procs import free_port

from .fakes import Clock, FakeRuntime

pytestmark = pytest.mark.unit


async def _http_server() -> tuple[web.AppRunner, int, list[str]]:
    seen: list[str] = []

    async def ok(req: web.Request) -> web.Response:
        seen.append(req.headers.get("User-Agent", "") + "|" + req.headers.get("X-A", ""))
        return web.Response(text="fine")

    async def bad(_: web.Request) -> web.Response:
        return web.Response(status=503, text="not yet")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(0.6)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/bad", bad)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port, seen


def _cfg(h: ProbeHandler, timeout_s: float = 1.0) -> ProbeConfig:
    return ProbeConfig("readiness", h, timeout_s=timeout_s)


async def test_http_and_tcp_checks_on_loopback() -> None:
    runner, port, seen = await _http_server()
    rt = FakeRuntime(Clock(0))
    try:
        http = ProbeHandler("http", host="127.0.0.1", port=port, path="/ok", headers=(("X-A", "1"),))
        assert await run_check(_cfg(http), rt, "c") == (True, "")
        assert seen == ["kube-probe/1.32|1"]
        ok, msg = await run_check(_cfg(ProbeHandler("http", host="127.0.0.1", port=port, path="/bad")), rt, "c")
        assert not ok and msg.startswith("HTTP probe failed with statuscode: 503")
        ok, msg = await run_check(_cfg(ProbeHandler("http", host="127.0.0.1", port=port, path="/slow"), 0.3), rt, "c")
        assert not ok and "timeout" in msg
        assert await run_check(_cfg(ProbeHandler("tcp", host="127.0.0.1", port=port)), rt, "c") == (True, "")
        closed = free_port()
        ok, msg = await run_check(_cfg(ProbeHandler("tcp", host="127.0.0.1", port=closed)), rt, "c")
        assert not ok and f"127.0.0.1:{closed}" in msg
    finally:
        await runner.cleanup()


async def test_exec_check_and_hooks() -> None:
    rt = FakeRuntime(Clock(0))
    rt.exec_result = lambda cid, cmd: 0 if cmd == ["ok"] else 2
    assert (await run_check(_cfg(ProbeHandler("exec", command=("ok",))), rt, "c"))[0]
    ok, msg = await run_check(_cfg(ProbeHandler("exec", command=("no",))), rt, "c")
    assert not ok and msg == "command exited with 2"
    spec: dict[str, Any] = {"name": "app"}
    assert await run_hook({"exec": {"command": ["ok"]}}, spec, rt, "c", "", 5) == (True, "")
    assert (await run_hook({"exec": {"command": ["no"]}}, spec, rt, "c", "", 5))[0] is False
    assert await run_hook({"sleep": {"seconds": 0}}, spec, rt, "c", "", 5) == (True, "")
    assert (await run_hook({}, spec, rt, "c", "", 5))[0] is False
