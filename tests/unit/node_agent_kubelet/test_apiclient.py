"""The kubelet's REST client against a loopback stand-in server: request shapes, typed errors, watch parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from node_agent.kubelet.apiclient import ApiClient, ApiError
from tests.support.procs import free_port

pytestmark = pytest.mark.unit


async def test_requests_errors_and_watch() -> None:
    seen: list[tuple[str, str, str, str, Any]] = []

    async def handler(req: web.Request) -> web.StreamResponse:
        body = await req.json() if req.can_read_body else None
        seen.append((req.method, req.path_qs, req.headers.get("Content-Type", ""),
                     req.headers.get("Authorization", ""), body))
        if req.path.endswith("/missing"):
            return web.json_response({"kind": "Status", "reason": "NotFound", "code": 404,
                                      "message": 'pods "missing" not found'}, status=404)
        if req.query.get("watch") == "true":
            resp = web.StreamResponse()
            await resp.prepare(req)
            for ev in ({"type": "ADDED", "object": {"metadata": {"name": "a"}}},
                       {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}},
                       {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                    "message": "too old resource version"}}):
                await resp.write((json.dumps(ev) + "\n").encode())
            await resp.write_eof()
            return resp
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    api = ApiClient(f"http://127.0.0.1:{port}", token="t0k")
    try:
        assert await api.get("/api/v1/pods", {"fieldSelector": "spec.nodeName=n1"}) == {"ok": True}
        assert seen[-1][1] == "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1" and seen[-1][3] == "Bearer t0k"
        await api.patch("/api/v1/namespaces/d/pods/p/status", {"status": {}})
        assert seen[-1][0] == "PATCH" and seen[-1][2] == "application/merge-patch+json"
        await api.delete("/api/v1/namespaces/d/pods/p", grace_period_s=0, uid="u1")
        assert seen[-1][4] == {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                               "preconditions": {"uid": "u1"}}
        with pytest.raises(ApiError) as e:
            await api.get("/api/v1/namespaces/d/pods/missing")
        assert (e.value.code, e.value.reason) == (404, "NotFound")
        assert await api.get_or_none("/api/v1/namespaces/d/pods/missing") is None
        events = []
        with pytest.raises(ApiError) as e:
            async for typ, obj in api.watch("/api/v1/pods", {"resourceVersion": "5"}):
                events.append((typ, obj["metadata"]))
        assert events == [("ADDED", {"name": "a"}), ("BOOKMARK", {"resourceVersion": "9"})]
        assert (e.value.code, e.value.reason) == (410, "Expired")
        assert "watch=true" in seen[-1][1] and "resourceVersion=5" in seen[-1][1]
    finally:
        await api.close()
        await runner.cleanup()
