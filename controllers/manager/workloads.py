"""StatefulSet and DaemonSet controllers: owner-indexed pods and ControllerRevisions in, decisions out."""

from __future__ import annotations

from typing import Any

from controllers.logic import daemonset as ds_logic
from controllers.logic import statefulset as sts_logic
from controllers.manager.base import Base, owner_key
from controllers.runtime.cache import split_key
from kemu.rest import CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS, PVCS, STATEFULSETS

Obj = dict[str, Any]


class _Owned(Base):
    kind = ""

    def watch_owned(self) -> None:
        self.pods = self.ctx.informer(PODS)
        self.revs = self.ctx.informer(CONTROLLERREVISIONS)
        self.pods.add_handler(self._on_pod)
        self.revs.add_handler(lambda t, o, n: self._wake_owner(n or o))

    def _wake_owner(self, obj: Obj | None) -> None:
        if obj is None:
            return
        key = owner_key(obj, self.kind)
        if key is not None:
            self.enqueue_key(key)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        pod = new or old
        assert pod is not None
        key = owner_key(pod, self.kind)
        if key is None:
            return
        if typ == "ADDED":
            self.expectations.observe_add(key)
        elif typ == "DELETED":
            self.expectations.observe_delete(key, (pod.get("metadata") or {}).get("uid", ""))
        elif new is not None and (new.get("metadata") or {}).get("deletionTimestamp") and \
                not ((old or {}).get("metadata") or {}).get("deletionTimestamp"):
            self.expectations.observe_delete(key, (new.get("metadata") or {}).get("uid", ""))
        self.enqueue_key(key)

    def owned(self, obj: Obj) -> tuple[list[Obj], list[Obj]]:
        uid = (obj.get("metadata") or {}).get("uid", "")
        return self.pods.cache.by_index("owner", uid), self.revs.cache.by_index("owner", uid)


class StatefulSetController(_Owned):
    name = "statefulset"
    component = "statefulset-controller"
    kind = "StatefulSet"

    def setup(self) -> None:
        self.sets = self.ctx.informer(STATEFULSETS)
        self.pvcs = self.ctx.informer(PVCS)
        self.sets.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.watch_owned()

    async def reconcile(self, key: str) -> float | None:
        sts = self.sets.cache.get(key)
        if sts is None:
            self.expectations.forget(key)
            return None
        if not self.expectations.satisfied(key):
            return 1.0
        ns, _ = split_key(key)
        pods, revs = self.owned(sts)
        plan = sts_logic.decide(sts, pods, self.pvcs.cache.by_index("namespace", ns), revs)
        await self.executor.run(plan)
        return plan.requeue_after_s


class DaemonSetController(_Owned):
    name = "daemonset"
    component = "daemonset-controller"
    kind = "DaemonSet"

    def setup(self) -> None:
        self.sets = self.ctx.informer(DAEMONSETS)
        self.nodes = self.ctx.informer(NODES)
        self.sets.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.nodes.add_handler(self._on_node)
        self.watch_owned()

    def _on_node(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        if typ == "MODIFIED" and old is not None and new is not None and \
                (old.get("metadata") or {}).get("labels") == (new.get("metadata") or {}).get("labels") and \
                (old.get("spec") or {}).get("taints") == (new.get("spec") or {}).get("taints"):
            return  # heartbeats do not change where daemons run
        for ds in self.sets.cache.list():
            self.enqueue(ds)

    async def reconcile(self, key: str) -> float | None:
        ds = self.sets.cache.get(key)
        if ds is None:
            self.expectations.forget(key)
            return None
        if not self.expectations.satisfied(key):
            return 1.0
        pods, revs = self.owned(ds)
        plan = ds_logic.decide(ds, self.nodes.cache.list(), pods, revs, self.ctx.now())
        await self.executor.run(plan)
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        return plan.requeue_after_s if plan.requeue_after_s is not None else (float(min_ready) if min_ready else None)
