"""kemu.rest: pure path/param building and error typing; wire shapes against a loopback aiohttp stand-in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from kemu import rest
from kemu.rest import (
    DEPLOYMENTS,
    NODES,
    PODS,
    AlreadyExists,
    ApiError,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    RestClient,
    api_path,
    error_from_status,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("args,want", [
    (("", "v1", "pods"), "/api/v1/pods"),
    (("core", "v1", "pods", "default"), "/api/v1/namespaces/default/pods"),
    (("", "v1", "pods", "ns", "p1", "binding"), "/api/v1/namespaces/ns/pods/p1/binding"),
    (("", "v1", "nodes", None, "n1"), "/api/v1/nodes/n1"),
    (("apps", "v1", "deployments", "ns", "d", "scale"), "/apis/apps/v1/namespaces/ns/deployments/d/scale"),
    (("coordination.k8s.io", "v1", "leases", "kube-system"),
     "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"),
    (("", "v1", "pods", "ns", "a b"), "/api/v1/namespaces/ns/pods/a%20b"),
])
def test_api_path(args: tuple[Any, ...], want: str) -> None:
    assert api_path(*args) == want


def test_api_path_errors() -> None:
    with pytest.raises(ValueError):
        api_path("", "v1", "pods", "ns", None, "status")
    with pytest.raises(ValueError):
        api_path("", "", "pods")


def test_cluster_scoped_resource_ignores_namespace() -> None:
    assert NODES.path("default", "n1") == "/api/v1/nodes/n1"


@pytest.mark.parametrize("code,body,cls,reason", [
    (404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": 'pods "x" not found'}, NotFound, "NotFound"),
    (409, {"code": 409, "reason": "AlreadyExists", "message": "exists"}, AlreadyExists, "AlreadyExists"),
    (409, {"code": 409, "reason": "Conflict", "message": "modified"}, Conflict, "Conflict"),
    (410, {"code": 410, "reason": "Expired", "message": "too old"}, Gone, "Expired"),
    (422, {"code": 422, "reason": "Invalid", "details": {"causes": []}}, Invalid, "Invalid"),
    (404, "not json", NotFound, ""),
    (500, {"code": 500, "reason": "InternalError"}, ApiError, "InternalError"),
])
def test_error_from_status(code: int, body: Any, cls: type, reason: str) -> None:
    e = error_from_status(code, json.dumps(body) if isinstance(body, dict) else body)
    assert type(e) is cls
    assert e.reason == reason and e.code == code


def test_already_exists_is_a_conflict() -> None:
    assert isinstance(error_from_status(409, {"reason": "AlreadyExists"}), Conflict)


def test_load_kubeconfig(tmp_path: Any) -> None:
    p = tmp_path / "kc"
    p.write_text("""
apiVersion: v1
kind: Config
current-context: c
clusters: [{name: k, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: tok}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
""")
    c = rest.load_kubeconfig(str(p))
    assert (c.server, c.token, c.insecure) == ("http://127.0.0.1:1", "tok", True)
    client = RestClient.from_kubeconfig(str(p))
    assert client.headers["Authorization"] == "Bearer tok"
    p.write_text(p.read_text().replace('insecure-skip-tls-verify: true', 'certificate-authority-data: "UEVN"'))
    assert rest.load_kubeconfig(str(p)).ca_data == "PEM"


class StandIn:
    """A loopback stand-in recording requests; answers are scripted per (method, path)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], str, Any]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, req: web.Request) -> web.StreamResponse:
        body = await req.text()
        self.seen.append((req.method, req.path, dict(req.query), req.headers.get("Content-Type", ""),
                          json.loads(body) if body and req.headers.get("Content-Type", "").endswith("json") else body))
        if req.path == "/api/v1/namespaces/ns/pods/missing":
            return web.json_response({"kind": "Status", "code": 404, "reason": "NotFound",
                                      "message": 'pods "missing" not found'}, status=404)
        if req.query.get("watch") == "true":
            resp = web.StreamResponse()
            await resp.prepare(req)
            for ev in ({"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}}},
                       {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "6"}}}):
                await resp.write(json.dumps(ev).encode() + b"\n")
            if req.query.get("resourceVersion") == "1":
                await resp.write(json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                                                         "reason": "Expired"}}).encode() + b"\n")
            await resp.write_eof()
            return resp
        if req.method == "GET" and req.path == "/api/v1/pods":
            page = req.query.get("continue")
            if not page:
                return web.json_response({"kind": "PodList", "apiVersion": "v1",
                                          "metadata": {"resourceVersion": "10", "continue": "p2"},
                                          "items": [{"metadata": {"name": "a"}}]})
            return web.json_response({"metadata": {"resourceVersion": "10"}, "items": [{"metadata": {"name": "b"}}]})
        if req.path.endswith("/log"):
            return web.Response(text="line1\nline2\n")
        return web.json_response({"ok": True, "path": req.path})


@pytest.fixture
async def standin() -> Any:
    s = StandIn()
    runner = web.AppRunner(s.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = RestClient(f"http://127.0.0.1:{port}", token="t0k")
    yield s, client
    await client.close()
    await runner.cleanup()


async def test_wire_shapes(standin: Any) -> None:
    s, c = standin
    with pytest.raises(NotFound) as ei:
        await c.get(PODS, "missing", "ns")
    assert ei.value.message == 'pods "missing" not found'
    items, rv = await c.list_all(PODS)
    assert [i["metadata"]["name"] for i in items] == ["a", "b"] and rv == "10"
    assert (items[0]["kind"], items[0]["apiVersion"], items[1]["apiVersion"]) == ("Pod", "v1", "v1")
    await c.create(PODS, {"metadata": {"name": "p", "namespace": "ns"}})
    assert s.seen[-1][:2] == ("POST", "/api/v1/namespaces/ns/pods")
    await c.update_status(PODS, {"metadata": {"name": "p", "namespace": "ns"}})
    assert s.seen[-1][:2] == ("PUT", "/api/v1/namespaces/ns/pods/p/status")
    await c.patch(DEPLOYMENTS, "d", {"spec": {}}, "ns", patch_type="strategic")
    assert s.seen[-1][3] == "application/strategic-merge-patch+json"
    await c.patch(DEPLOYMENTS, "d", "x: 1", "ns", patch_type="apply", field_manager="me", force=True)
    assert s.seen[-1][2] == {"fieldManager": "me", "force": "true"}
    assert s.seen[-1][3] == "application/apply-patch+yaml"
    await c.delete(PODS, "p", "ns", propagation_policy="Foreground", grace_period_seconds=0,
                   preconditions={"uid": "u1"})
    m, p, _, _, body = s.seen[-1]
    assert (m, p) == ("DELETE", "/api/v1/namespaces/ns/pods/p")
    assert body["propagationPolicy"] == "Foreground" and body["gracePeriodSeconds"] == 0
    assert body["preconditions"] == {"uid": "u1"}
    await c.bind("ns", "p", "n1")
    assert s.seen[-1][1] == "/api/v1/namespaces/ns/pods/p/binding"
    assert s.seen[-1][4]["target"] == {"apiVersion": "v1", "kind": "Node", "name": "n1"}
    await c.evict("ns", "p")
    assert s.seen[-1][4]["kind"] == "Eviction"
    await c.scale(DEPLOYMENTS, "d", "ns", 3)
    assert s.seen[-1][1] == "/apis/apps/v1/namespaces/ns/deployments/d/scale"
    assert await c.pod_log("ns", "p", tail_lines=2) == "line1\nline2\n"
    with pytest.raises(ValueError):
        await c.patch(PODS, "p", {}, "ns", patch_type="bogus")


async def test_watch_events_and_gone(standin: Any) -> None:
    s, c = standin
    got = [(t, o["metadata"]["resourceVersion"]) async for t, o in c.watch(PODS, "ns", resource_version="4",
                                                                           timeout_seconds=5)]
    assert got == [("ADDED", "5"), ("BOOKMARK", "6")]
    q = s.seen[-1][2]
    assert q["watch"] == "true" and q["allowWatchBookmarks"] == "true" and q["timeoutSeconds"] == "5"
    with pytest.raises(Gone):
        async for _ in c.watch(PODS, "ns", resource_version="1"):
            pass
