"""ReplicaSet controller: reconcile(key) = read the cache, ``logic.replicaset.decide``, execute.

Pod events wake the owning ReplicaSet (and count toward its expectations); an orphan pod wakes every
ReplicaSet of its namespace whose selector matches it, so it can be adopted.
"""

from __future__ import annotations

from typing import Any

from controllers.logic import replicaset as logic
from controllers.manager.base import Base, controller_ref, owner_key
from controllers.runtime.cache import object_key, split_key
from kemu.api.selectors import SelectorError, label_selector_from_dict
from kemu.rest import PODS, REPLICASETS

Obj = dict[str, Any]


class ReplicaSetController(Base):
    name = "replicaset"
    component = "replicaset-controller"

    def setup(self) -> None:
        self.rss = self.ctx.informer(REPLICASETS)
        self.pods = self.ctx.informer(PODS)
        self.rss.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        pod = new or old
        assert pod is not None
        key = owner_key(pod, "ReplicaSet")
        if key is not None:
            if typ == "ADDED":
                self.expectations.observe_add(key)
            elif typ == "DELETED":
                self.expectations.observe_delete(key, (pod.get("metadata") or {}).get("uid", ""))
            elif new is not None and (new.get("metadata") or {}).get("deletionTimestamp") and \
                    not ((old or {}).get("metadata") or {}).get("deletionTimestamp"):
                self.expectations.observe_delete(key, (new.get("metadata") or {}).get("uid", ""))
            self.enqueue_key(key)
        old_key = owner_key(old, "ReplicaSet") if old is not None else None
        if old_key is not None and old_key != key:
            self.enqueue_key(old_key)
        if controller_ref(pod) is None and typ != "DELETED":
            self._wake_matching(pod)

    def _wake_matching(self, pod: Obj) -> None:
        md = pod.get("metadata") or {}
        for rs in self.rss.cache.by_index("namespace", md.get("namespace", "")):
            try:
                if label_selector_from_dict((rs.get("spec") or {}).get("selector")).matches(md.get("labels") or {}):
                    self.enqueue(rs)
            except SelectorError:
                continue

    async def reconcile(self, key: str) -> float | None:
        rs = self.rss.cache.get(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        if self.executor.stale(rs):
            return 0.05  # our last status write is not in the cache yet
        ns, _ = split_key(key)
        pods = self.pods.cache.by_index("namespace", ns)
        plan = logic.decide(rs, pods, self.ctx.now(), REPLICASETS, can_manage=self.expectations.satisfied(key))
        await self.executor.run(plan)
        return plan.requeue_after_s


__all__ = ["ReplicaSetController", "object_key"]
