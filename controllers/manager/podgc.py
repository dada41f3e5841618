"""Pod garbage collector: force-deletes (grace 0) pods bound to nodes that no longer exist -- confirmed with a
live GET of the node, as the real PodGC does -- and, past ``terminated_pod_gc_threshold`` terminated pods, the
oldest terminated ones. Runs every 20 s and on node deletions."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from controllers.manager.base import Base
from kemu.rest import NODES, PODS, ApiError, NotFound

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PERIOD_S = 20.0


class PodGC(Base):
    name = "podgc"
    component = "pod-garbage-collector"

    def setup(self) -> None:
        self.pods = self.ctx.informer(PODS)
        self.nodes = self.ctx.informer(NODES)
        self.nodes.add_handler(lambda t, o, n: self.enqueue_key("sweep") if t == "DELETED" else None)

    def background(self) -> list[Any]:
        return [self._tick()]

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(PERIOD_S)
            self.enqueue_key("sweep")

    async def _force_delete(self, pod: Obj) -> None:
        md = pod.get("metadata") or {}
        try:
            await self.ctx.client.delete(PODS, md["name"], md["namespace"], grace_period_seconds=0,
                                         preconditions={"uid": md.get("uid", "")})
        except NotFound:
            pass
        except ApiError as e:
            log.info("podgc: deleting %s/%s: %s", md.get("namespace"), md.get("name"), e)

    async def reconcile(self, key: str) -> float | None:
        known = set(self.nodes.cache.keys())
        missing: dict[str, bool] = {}
        for pod in self.pods.cache.list():
            node = (pod.get("spec") or {}).get("nodeName")
            if not node or node in known:
                continue
            if node not in missing:
                missing[node] = await self.ctx.client.get_or_none(NODES, node) is None
            if missing[node]:
                await self._force_delete(pod)
        terminated = [p for p in self.pods.cache.list()
                      if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")]
        excess = len(terminated) - self.ctx.options.terminated_pod_gc_threshold
        if excess > 0:
            terminated.sort(key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")
            for p in terminated[:excess]:
                await self._force_delete(p)
        return None
