"""ReplicaSet controller: reconcile(key) = read the cache, ``logic.replicaset.decide``, execute.

Pod events wake the owning ReplicaSet (and count toward its expectations); an orphan pod wakes every
ReplicaSet of its namespace whose selector matches it, so it can be adopted.
"""

from __future__ import annotations

from typing import Any

from controllers.logic import replicaset as logic
from controllers.logic.actions import Create, Plan
from controllers.manager.base import Base, controller_ref, owner_key
from controllers.runtime.cache import object_key, split_key
from kemu.api.selectors import SelectorError, label_selector_from_dict
from kemu.rest import PODS, REPLICASETS, ApiError

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
        try:
            await self.executor.run(plan)
        except ApiError as e:
            if any(isinstance(a, Create) for a in plan.actions):
                # creates failed (quota, admission): say so on the ReplicaSet, as the real controller does
                await self._record_failure(key, rs, pods, e.message or str(e))
            raise
        return plan.requeue_after_s


    async def _record_failure(self, key: str, rs: Obj, pods: list[Obj], message: str) -> None:
        for _ in range(3):  # our own status writes race with this one: re-read on conflict
            claimed = logic.claim(rs, pods, (rs.get("spec") or {}).get("selector"), Plan())
            st = logic.rs_status(rs, claimed, self.ctx.now(), failure=message)
            if st == (rs.get("status") or {}):
                return
            try:
                await self.ctx.client.update_status(REPLICASETS, {**rs, "status": st})
                return
            except ApiError:
                ns, name = split_key(key)
                fresh = await self.ctx.client.get_or_none(REPLICASETS, name, ns)
                if fresh is None:
                    return
                rs = fresh


__all__ = ["ReplicaSetController", "object_key"]
