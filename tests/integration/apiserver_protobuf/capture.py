"""A tiny HTTPS stand-in for kube-apiserver that records what the real kubectl sends.

It answers `GET /version` with minor "32" (so the kubectl dispatcher runs 1.32), serves aggregated discovery built
from apiserver.resources.Registry, and for every POST records (path, content type, body) and answers 201 with the
body decoded by apiserver.protobuf (or parsed as JSON), so kubectl prints its usual "<kind>/<name> created".
SelfSubjectAccessReviews get `status.allowed: true`. Runs its own event loop in a thread; `close()` stops it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from apiserver import protobuf
from apiserver.discovery import aggregated, api_resource_list
from apiserver.resources import Registry
from tests.integration.apiserver_protobuf.tlsfiles import make_ca_and_cert
from tests.support.procs import free_port

DISCOVERY_V2_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TOKEN = "capture-token"


@dataclass
class Captured:
    method: str
    path: str
    content_type: str
    body: bytes


class CaptureServer:
    def __init__(self, work_dir: Path) -> None:
        self.requests: list[Captured] = []
        # Canned objects by path: answered to GET and PATCH (a PATCH records its body and returns the object).
        self.objects: dict[str, dict[str, Any]] = {}
        self.port = free_port()
        ca, cert, key = make_ca_and_cert(work_dir / "pki")
        self.kubeconfig = work_dir / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "capture",
            "clusters": [{"name": "capture", "cluster": {
                "server": f"https://127.0.0.1:{self.port}",
                "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode()}}],
            "users": [{"name": "capture", "user": {"token": TOKEN}}],
            "contexts": [{"name": "capture", "context": {"cluster": "capture", "user": "capture",
                                                        "namespace": "default"}}],
        }))
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ssl.load_cert_chain(cert, key)
        self._registry = Registry()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("capture server did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._ssl).start()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.method == "GET":
            if path == "/version":
                return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.4",
                                          "platform": "linux/amd64"})
            if path in ("/api", "/apis"):
                doc = aggregated(self._registry, legacy=path == "/api")
                return web.Response(body=json.dumps(doc).encode(), headers={"Content-Type": DISCOVERY_V2_CT})
            parts = path.strip("/").split("/")
            if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
                group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
                resources = api_resource_list(self._registry, group, version)
                if resources is not None:
                    return web.json_response(resources)
            if path in self.objects:
                return web.json_response(self.objects[path])
            list_query = request.query.get("fieldSelector")
            if list_query is not None and path + "?" + list_query in self.objects:
                return web.json_response(self.objects[path + "?" + list_query])
            self.requests.append(Captured("GET", request.path_qs, "", b""))
            return _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        body = await request.read()
        ctype = request.headers.get("Content-Type", "")
        self.requests.append(Captured(request.method, path, ctype, body))
        if request.method == "PATCH" and path in self.objects:
            return web.json_response(self.objects[path])
        if request.method == "DELETE":
            return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        if request.method != "POST":
            return _status(405, "MethodNotAllowed", "not supported by the capture server")
        try:
            obj = protobuf.decode(body) if ctype.startswith(protobuf.MEDIA_TYPE) else json.loads(body)
        except protobuf.ProtobufError as e:
            return _status(400, "BadRequest", str(e))
        if obj.get("kind") == "Eviction":
            return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"},
                                     status=201)
        if obj.get("kind") == "SelfSubjectAccessReview":
            obj = {**obj, "status": {"allowed": True}}
        elif obj.get("kind") == "TokenRequest":
            obj = {**obj, "status": {"token": "captured", "expirationTimestamp": "2030-01-01T00:00:00Z"}}
        return web.json_response(obj, status=201)

    def posts(self) -> list[Captured]:
        return [r for r in self.requests if r.method == "POST"]

    def close(self) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}, status=code)


def kubectl(server: CaptureServer, *args: str, timeout_s: float = 60,
            stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real kubectl against the capture server (bounded in time; a timeout kills it)."""
    return subprocess.run(["kubectl", "--kubeconfig", str(server.kubeconfig), *args], input=stdin,
                          capture_output=True, timeout=timeout_s, check=False)


def dry_run_json(server: CaptureServer, *args: str) -> Any:
    """`kubectl <args> --dry-run=client -o json`, the flags placed before a `--` command separator."""
    flags = ("--dry-run=client", "-o", "json")
    cut = args.index("--") if "--" in args else len(args)
    out = kubectl(server, *args[:cut], *flags, *args[cut:])
    if out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} --dry-run=client failed: {out.stderr.decode()}")
    return json.loads(out.stdout)
