"""Informer against a loopback stand-in of the list/watch protocol (a unit test of the client side): initial
list, watch events, a 410 ERROR forcing a relist whose diff reaches the handlers, and rewatch after stream end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

from controllers.runtime.informer import Informer
from kemu.rest import PODS, RestClient

pytestmark = pytest.mark.unit


def pod(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "d", "resourceVersion": rv}, "spec": {}}


class Server:
    def __init__(self) -> None:
        self.lists = 0
        self.watches: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/api/v1/pods", self.handle)

    async def handle(self, req: web.Request) -> web.StreamResponse:
        if req.query.get("watch") != "true":
            self.lists += 1
            items = [pod("a", "1"), pod("b", "2")] if self.lists == 1 else [pod("a", "5"), pod("c", "6")]
            return web.json_response({"metadata": {"resourceVersion": "2" if self.lists == 1 else "6"},
                                      "items": items})
        self.watches.append(req.query.get("resourceVersion", ""))
        resp = web.StreamResponse()
        await resp.prepare(req)
        n = len(self.watches)
        if n == 1:
            await resp.write(json.dumps({"type": "MODIFIED", "object": pod("b", "3")}).encode() + b"\n")
            await resp.write(json.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "4"}}})
                             .encode() + b"\n")
        elif n == 2:  # resumes from the bookmark, then the history is gone
            await resp.write(json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                                                     "reason": "Expired"}}).encode() + b"\n")
        else:
            await asyncio.sleep(0.3)
        await resp.write_eof()
        return resp


async def test_list_watch_relist() -> None:
    s = Server()
    runner = web.AppRunner(s.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = RestClient(f"http://127.0.0.1:{port}")
    inf = Informer(client, PODS, backoff_s=0.01)
    seen: list[tuple[str, str]] = []
    inf.add_handler(lambda t, o, n: seen.append((t, ((n or o) or {})["metadata"]["name"])))
    task = asyncio.create_task(inf.run())
    try:
        for _ in range(200):
            if s.lists >= 2 and len(s.watches) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
        await runner.cleanup()
    assert s.watches[:3] == ["2", "4", "6"]  # from the list RV, then the bookmark, then the relist RV
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "b"),  # list, watch
                    ("DELETED", "b"), ("MODIFIED", "a"), ("ADDED", "c")]  # the relist's diff
    assert sorted(inf.cache.keys()) == ["d/a", "d/c"] and inf.relists == 2
