"""Node lifecycle controller: marks silent nodes Unknown, keeps the not-ready/unreachable taints in step with
Ready, marks their pods not ready, and evicts pods from NoExecute-tainted nodes after their tolerationSeconds
(``logic.nodelifecycle``). A monitor loop runs every --node-monitor-period; pods waiting for eviction are
requeued for their deadline."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from controllers.logic import nodelifecycle as logic
from controllers.manager.base import Base
from kemu.api.meta import format_time
from kemu.rest import LEASES, NODES, PODS, ApiError, Conflict, NotFound

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class NodeLifecycleController(Base):
    name = "nodelifecycle"
    component = "node-controller"

    def setup(self) -> None:
        self.nodes = self.ctx.informer(NODES)
        self.pods = self.ctx.informer(PODS)
        self.leases = self.ctx.informer(LEASES)
        self.observed: dict[str, logic.Observed] = {}
        self.nodes.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        if new is not None and (new.get("spec") or {}).get("nodeName"):
            self.enqueue_key(new["spec"]["nodeName"])

    def background(self) -> list[Any]:
        return [self._monitor()]

    async def _monitor(self) -> None:
        await asyncio.sleep(self.ctx.options.node_monitor_period_s)
        while True:
            for key in list(self.nodes.cache.keys()):
                self.enqueue_key(key)
            await asyncio.sleep(self.ctx.options.node_monitor_period_s)

    async def reconcile(self, key: str) -> float | None:
        node = self.nodes.cache.get(key)
        if node is None:
            self.observed.pop(key, None)
            return None
        now = self.ctx.now()
        lease = self.leases.cache.get(f"kube-node-lease/{key}")
        obs = logic.observe(self.observed.get(key, logic.Observed()), node, lease, now)
        self.observed[key] = obs
        assert obs.at is not None
        grace = self.ctx.options.node_monitor_grace_period_s
        if (now - obs.at).total_seconds() > grace:
            conds = logic.unknown_conditions(node, now)
            if conds is not None:
                log.info("node %s: no heartbeat for %.0fs, marking Unknown", key, (now - obs.at).total_seconds())
                node = await self._write_status(node, conds)
                if node is None:
                    return 1.0
                self.recorder.emit(node, "Normal", "NodeNotReady", f"Node {key} status is now: NodeNotReady")
        taints = logic.desired_taints(node, now)
        if taints is not None:
            try:
                node = await self.ctx.client.update(NODES, {**node, "spec": {**(node.get("spec") or {}),
                                                                            "taints": taints}})
            except (Conflict, NotFound):
                return 0.5
        return await self._pods(node, now)

    async def _write_status(self, node: Obj, conds: list[Obj]) -> Obj | None:
        try:
            return await self.ctx.client.update_status(NODES, {**node, "status": {**(node.get("status") or {}),
                                                                                  "conditions": conds}})
        except (Conflict, NotFound):
            return None

    async def _pods(self, node: Obj, now: datetime) -> float | None:
        name = node["metadata"]["name"]
        taints = list((node.get("spec") or {}).get("taints") or [])
        not_ready = logic.ready_status(node) != "True"
        next_s: float | None = None
        for pod in self.pods.cache.by_index("nodeName", name):
            md = pod.get("metadata") or {}
            if not_ready:
                patch = logic.pod_not_ready_patch(pod, now)
                if patch is not None:
                    try:
                        await self.ctx.client.patch(PODS, md["name"], patch, md["namespace"], "strategic",
                                                    subresource="status")
                    except ApiError as e:
                        log.info("marking %s/%s not ready: %s", md["namespace"], md["name"], e)
            if md.get("deletionTimestamp"):
                continue
            when = logic.eviction_time(pod, taints, self.ctx.options.pod_eviction_timeout_s)
            if when is None or when is False:
                continue
            if when is True or (isinstance(when, datetime) and when <= now):
                self.recorder.emit(pod, "Normal", "TaintManagerEviction",
                                   f"Marking for deletion Pod {md['namespace']}/{md['name']}")
                try:
                    await self.ctx.client.delete(PODS, md["name"], md["namespace"],
                                                 preconditions={"uid": md.get("uid", "")})
                except (NotFound, Conflict):
                    pass
            elif isinstance(when, datetime):
                wait = (when - now).total_seconds()
                next_s = wait if next_s is None else min(next_s, wait)
        return None if next_s is None else max(next_s, 0.1)


def stamp(now: datetime) -> str:
    return format_time(now)
