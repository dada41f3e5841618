"""The agent's control loops against a loopback stand-in apiserver (a dict store with list/watch) and the in-memory
runtime: node registration and status, lease renewal, pods from list+watch to workers, status PATCHes, events,
admission rejection and deletion. Bounded: every wait polls at most a few seconds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from node_agent.kubelet.agent import AgentConfig, NodeAgent
from node_agent.kubelet.apiclient import ApiClient
from node_agent.kubelet.node import NodeConfig
from tests.support.procs import free_port

from .fakes import FakeRuntime

pytestmark = pytest.mark.unit


class StandIn:
    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}
        self.watchers: list[asyncio.Queue[dict[str, Any]]] = []
        self.rv = 1

    def emit(self, typ: str, obj: dict[str, Any]) -> None:
        for q in self.watchers:
            q.put_nowait({"type": typ, "object": obj})

    def put_pod(self, pod: dict[str, Any], typ: str = "ADDED") -> None:
        m = pod["metadata"]
        self.store[f"api/v1/namespaces/{m['namespace']}/pods/{m['name']}"] = pod
        self.emit(typ, pod)

    async def handle(self, req: web.Request) -> web.StreamResponse:
        body = await req.json() if req.can_read_body else None
        key = req.path.strip("/")
        if req.method == "GET" and key == "api/v1/pods":
            if req.query.get("watch"):
                resp = web.StreamResponse()
                await resp.prepare(req)
                q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
                self.watchers.append(q)
                while True:
                    await resp.write((json.dumps(await q.get()) + "\n").encode())
            items = [v for k, v in self.store.items() if "/pods/" in k]
            return web.json_response({"items": items, "metadata": {"resourceVersion": str(self.rv)}})
        if req.method == "POST":
            assert body is not None
            key = f"{key}/{body['metadata']['name']}"
            if key in self.store:
                return web.json_response({"kind": "Status", "reason": "AlreadyExists", "code": 409}, status=409)
            self.rv += 1
            body["metadata"].update(uid="uid-" + body["metadata"]["name"], resourceVersion=str(self.rv))
            self.store[key] = body
            return web.json_response(body, status=201)
        target = key[: -len("/status")] if key.endswith("/status") else key
        if target not in self.store:
            if req.method == "GET" and key.endswith("/services"):
                return web.json_response({"items": []})
            return web.json_response({"kind": "Status", "reason": "NotFound", "code": 404}, status=404)
        obj = self.store[target]
        if req.method == "PUT":
            self.store[target] = body or {}
        elif req.method == "PATCH":
            assert body is not None
            for f, v in body.items():
                obj[f] = {**obj[f], **v} if isinstance(v, dict) and isinstance(obj.get(f), dict) else v
            if "/pods/" in target:
                self.emit("MODIFIED", obj)
        elif req.method == "DELETE":
            del self.store[target]
            if "/pods/" in target:
                self.emit("DELETED", obj)
        return web.json_response(self.store.get(target, obj))


async def _until(pred: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "uid": "uid-" + name},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "busybox:1.36"}], **spec}}


async def test_agent_loops(tmp_path: Any) -> None:
    api = StandIn()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    rt = FakeRuntime(time.time)
    cfg = AgentConfig(NodeConfig("n1", "127.0.0.1", {"cpu": "2", "memory": "1Gi", "pods": "10"}),
                      root_dir=str(tmp_path), lease_renew_interval_s=0.2, status_interval_s=0.2, poll_s=0.1)
    client = ApiClient(f"http://127.0.0.1:{port}")
    agent = NodeAgent(cfg, client, rt)
    api.put_pod(_pod("web"))  # present before the agent starts: picked up by the first LIST
    task = asyncio.create_task(agent.run())
    try:
        node_key, lease_key = "api/v1/nodes/n1", "apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"
        await _until(lambda: node_key in api.store and lease_key in api.store)
        ready = api.store[node_key]["status"]["conditions"][-1]
        assert (ready["type"], ready["status"]) == ("Ready", "True")
        first_renew = api.store[lease_key]["spec"]["renewTime"]
        await _until(lambda: api.store[lease_key]["spec"]["renewTime"] != first_renew)

        web_key = "api/v1/namespaces/default/pods/web"
        await _until(lambda: api.store[web_key].get("status", {}).get("phase") == "Running")
        await _until(lambda: len(agent.workers) == 1)
        # events are sent in the background, in order per pod
        await _until(lambda: {"Pulling", "Pulled", "Created", "Started"}
                     <= {v["reason"] for k, v in api.store.items() if "/events/" in k})

        api.put_pod(_pod("big", containers=[{"name": "app", "image": "busybox:1.36",
                                             "resources": {"requests": {"cpu": "3"}}}]))
        big_key = "api/v1/namespaces/default/pods/big"
        await _until(lambda: api.store[big_key].get("status", {}).get("reason") == "OutOfcpu")
        assert api.store[big_key]["status"]["phase"] == "Failed"

        deleting = json.loads(json.dumps(api.store[web_key]))
        deleting["metadata"].update(deletionTimestamp="2027-01-01T00:00:00Z", deletionGracePeriodSeconds=1)
        api.put_pod(deleting, "MODIFIED")
        await _until(lambda: web_key not in api.store)
        await _until(lambda: not rt.containers and not rt.sandboxes and not agent.workers)
    finally:
        task.cancel()
        for t in list(agent.tasks.values()):
            t.cancel()
        await asyncio.gather(task, *agent.tasks.values(), return_exceptions=True)
        await client.close()
        await runner.cleanup()
