"""A tiny aiohttp server that serves just what kubectl explain/apply validation read: /version, legacy discovery
and the OpenAPI documents of ``apiserver.schema``. Run in a thread by the kubectl test; also runnable by hand:
``python -m tests.unit.apiserver_schema.docserver PORT [MINOR]``.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from typing import Any

from aiohttp import web

from apiserver import schema

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {"group": "stable.example.com", "scope": "Namespaced",
             "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "listKind": "CronTabList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {
                               "type": "object", "properties": {"spec": {
                                   "type": "object", "properties": {
                                       "cronSpec": {"type": "string", "description": "When to run."},
                                       "replicas": {"type": "integer", "minimum": 1}}}}}}}]}}

RESOURCES: list[dict[str, Any]] = [
    {"group": "", "version": "v1", "kind": "Pod", "resource": "pods", "namespaced": True,
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
     "subresources": ["status", "log", "exec"], "shortNames": ["po"]},
    {"group": "", "version": "v1", "kind": "ConfigMap", "resource": "configmaps", "namespaced": True,
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
     "subresources": [], "shortNames": ["cm"]},
    {"group": "apps", "version": "v1", "kind": "Deployment", "resource": "deployments", "namespaced": True,
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
     "subresources": ["status", "scale"], "shortNames": ["deploy"]},
    {"group": "stable.example.com", "version": "v1", "kind": "CronTab", "resource": "crontabs", "namespaced": True,
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
     "subresources": ["status"], "shortNames": []},
]


BUILTIN_RESOURCES = [r for r in RESOURCES if r["group"] != "stable.example.com"]


@functools.cache
def _v2_protobuf() -> bytes:
    return schema.openapi_v2_protobuf(BUILTIN_RESOURCES)


def _resource_list(group: str, version: str) -> dict[str, Any]:
    out = []
    for r in RESOURCES:
        if (r["group"], r["version"]) != (group, version):
            continue
        out.append({"name": r["resource"], "singularName": r["kind"].lower(), "namespaced": r["namespaced"],
                    "kind": r["kind"], "verbs": r["verbs"], "shortNames": r["shortNames"]})
        out += [{"name": f"{r['resource']}/{s}", "singularName": "", "namespaced": r["namespaced"],
                 "kind": r["kind"], "verbs": ["get", "patch", "update"]} for s in r["subresources"]]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": out}


def make_app(minor: int = 32) -> web.Application:
    groups = sorted({r["group"] for r in RESOURCES if r["group"]})

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path == "/version":
            return web.json_response({"major": "1", "minor": str(minor), "gitVersion": f"v1.{minor}.0-kemu",
                                      "platform": "linux/amd64"})
        if path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if path == "/apis":
            return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in groups]})
        if path == "/api/v1":
            return web.json_response(_resource_list("", "v1"))
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in groups:
            return web.json_response(_resource_list(parts[1], parts[2]))
        if path == "/openapi/v2":
            if schema.OPENAPI_V2_PROTOBUF_ACCEPT in request.headers.get("Accept", ""):
                return web.Response(body=_v2_protobuf(), content_type=schema.OPENAPI_V2_PROTOBUF)
            return web.json_response(schema.openapi_v2_document(BUILTIN_RESOURCES))
        if path == "/openapi/v3":
            return web.json_response(schema.openapi_v3_index([("", "v1")] + [(g, "v1") for g in groups]))
        if path == "/openapi/v3/api/v1":
            return web.json_response(schema.openapi_v3_document("", "v1", RESOURCES))
        if len(parts) == 5 and parts[:3] == ["openapi", "v3", "apis"]:
            if parts[3] == "stable.example.com":
                return web.json_response(schema.crd_openapi_document(CRD, parts[4]))
            return web.json_response(schema.openapi_v3_document(parts[3], parts[4], RESOURCES))
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                  "code": 404}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class DocServer:
    """The app on 127.0.0.1:<port> in a background thread with its own event loop."""

    def __init__(self, port: int, minor: int = 32) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(make_app(minor))
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


if __name__ == "__main__":
    web.run_app(make_app(int(sys.argv[2]) if len(sys.argv) > 2 else 32), host="127.0.0.1", port=int(sys.argv[1]))
