"""Deployment controller: reconcile(key) = read the cache, ``logic.deployment.decide``, execute.

ReplicaSet events wake their owning Deployment (orphans wake matching Deployments for adoption); pod deletions
wake the Deployment of the pod's ReplicaSet (Recreate waits for old pods to be gone).
"""

from __future__ import annotations

from typing import Any

from controllers.logic import deployment as logic
from controllers.manager.base import Base, owner_key
from controllers.runtime.cache import split_key
from kemu.rest import DEPLOYMENTS, PODS, REPLICASETS

Obj = dict[str, Any]


class DeploymentController(Base):
    name = "deployment"
    component = "deployment-controller"

    def setup(self) -> None:
        self.deps = self.ctx.informer(DEPLOYMENTS)
        self.rss = self.ctx.informer(REPLICASETS)
        self.pods = self.ctx.informer(PODS)
        self.deps.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.rss.add_handler(self._on_rs)
        self.pods.add_handler(self._on_pod)

    def _on_rs(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        rs = new or old
        assert rs is not None
        key = owner_key(rs, "Deployment")
        if key is not None:
            self.enqueue_key(key)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        if typ != "DELETED":
            return
        assert old is not None
        rs_key = owner_key(old, "ReplicaSet")
        if rs_key is None:
            return
        rs = self.rss.cache.get(rs_key)
        if rs is not None:
            key = owner_key(rs, "Deployment")
            if key is not None:
                self.enqueue_key(key)

    async def reconcile(self, key: str) -> float | None:
        d = self.deps.cache.get(key)
        if d is None:
            return None
        ns, _ = split_key(key)
        rss = self.rss.cache.by_index("namespace", ns)
        if self.executor.stale(d) or any(self.executor.stale(r) for r in rss):
            return 0.05  # our last writes are not in the cache yet: deciding now would repeat them
        plan = logic.decide(d, rss, self.pods.cache.by_index("namespace", ns), self.ctx.now())
        await self.executor.run(plan)
        return plan.requeue_after_s
