"""Garbage collector: watches the resources that carry ownerReferences, keeps a uid -> object map over all of
them, and applies ``logic.gc`` decisions. An owner missing from the caches is confirmed with a live GET before
its dependents are deleted (the caches may simply lag), as the real collector does."""

from __future__ import annotations

from typing import Any

from controllers.logic import gc as logic
from controllers.manager.base import Base
from kemu.rest import (
    CONFIGMAPS,
    CONTROLLERREVISIONS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTSLICES,
    JOBS,
    PODS,
    PVCS,
    REPLICASETS,
    SECRETS,
    SERVICES,
    STATEFULSETS,
    NotFound,
    Resource,
    resource_for,
)

Obj = dict[str, Any]
WATCHED = [PODS, REPLICASETS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, JOBS, CRONJOBS, CONTROLLERREVISIONS,
           ENDPOINTSLICES, SERVICES, PVCS, CONFIGMAPS, SECRETS]


class GarbageCollector(Base):
    name = "garbagecollector"
    component = "garbage-collector-controller"

    def setup(self) -> None:
        self.by_res: dict[str, Resource] = {r.resource: r for r in WATCHED}
        self.uids: dict[str, tuple[Resource, Obj]] = {}
        self.dependents: dict[str, set[tuple[str, str]]] = {}  # owner uid -> {(resource, key)}
        for res in WATCHED:
            inf = self.ctx.informer(res)
            inf.add_handler(lambda t, o, n, res=res: self._on(res, t, o, n))  # type: ignore[misc]

    def _key(self, res: Resource, obj: Obj) -> str:
        md = obj.get("metadata") or {}
        ns = md.get("namespace")
        return f"{res.resource}|{ns}/{md.get('name')}" if ns else f"{res.resource}|{md.get('name')}"

    def _on(self, res: Resource, typ: str, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        assert obj is not None
        md = obj.get("metadata") or {}
        uid = md.get("uid", "")
        key = self._key(res, obj)
        if old is not None:
            for r in (old.get("metadata") or {}).get("ownerReferences") or []:
                self.dependents.get(r.get("uid", ""), set()).discard((res.resource, key))
        if typ == "DELETED":
            self.uids.pop(uid, None)
            for dep in self.dependents.pop(uid, set()):
                self.enqueue_key(dep[1])
            for r in md.get("ownerReferences") or []:  # may unblock an owner's foreground deletion
                owner = self.uids.get(r.get("uid", ""))
                if owner is not None:
                    self.enqueue_key(self._key(owner[0], owner[1]))
            return
        assert new is not None
        self.uids[uid] = (res, new)
        for r in md.get("ownerReferences") or []:
            self.dependents.setdefault(r.get("uid", ""), set()).add((res.resource, key))
            if r.get("uid") not in self.uids:
                self.enqueue_key(key)
        fins = md.get("finalizers") or []
        if md.get("deletionTimestamp") and (logic.FOREGROUND in fins or logic.ORPHAN in fins):
            self.enqueue_key(key)
        # a dependent going away or letting go may unblock its owner's foreground or orphan deletion
        refs = [*(md.get("ownerReferences") or []), *((old or {}).get("metadata") or {}).get("ownerReferences", [])]
        for r in refs:
            owner = self.uids.get(r.get("uid", ""))
            if owner is not None and (owner[1].get("metadata") or {}).get("deletionTimestamp"):
                self.enqueue_key(self._key(owner[0], owner[1]))

    async def _owner_exists(self, ref: Obj, namespace: str) -> bool:
        if ref.get("uid") in self.uids:
            return True
        res = resource_for(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if res is None:
            return True  # unknown kinds (CRDs) are left alone rather than guessed at
        try:
            live = await self.ctx.client.get(res, str(ref.get("name")), namespace if res.namespaced else None)
        except NotFound:
            return False
        return bool((live.get("metadata") or {}).get("uid") == ref.get("uid"))

    async def reconcile(self, key: str) -> float | None:
        rname, _, okey = key.partition("|")
        res = self.by_res.get(rname)
        if res is None:
            return None
        obj = self.ctx.informer(res).cache.get(okey)
        if obj is None:
            return None
        md = obj.get("metadata") or {}
        fins = md.get("finalizers") or []
        if md.get("deletionTimestamp") and (logic.FOREGROUND in fins or logic.ORPHAN in fins):
            deps = []
            for dres_name, dkey in sorted(self.dependents.get(md.get("uid", ""), set())):
                dres = self.by_res[dres_name]
                d = self.ctx.informer(dres).cache.get(dkey.partition("|")[2])
                if d is not None:
                    deps.append((dres, d))
            await self.executor.run(logic.decide_owner(res, obj, deps))
            return None
        exists: dict[str, bool] = {}
        for r in md.get("ownerReferences") or []:
            exists[r.get("uid", "")] = await self._owner_exists(r, md.get("namespace", ""))
        plan = logic.decide_dependent(res, obj, lambda r: exists.get(r.get("uid", ""), True))
        await self.executor.run(plan)
        return None
