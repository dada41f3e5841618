"""PersistentVolume binder (with the hostPath provisioner and default StorageClass), ResourceQuota status and
PodDisruptionBudget status controllers."""

from __future__ import annotations

from typing import Any

from controllers.logic import pdb as pdb_logic
from controllers.logic import quota as quota_logic
from controllers.logic import volumes as vol_logic
from controllers.logic.actions import Plan, UpdateStatus
from controllers.manager.base import Base
from controllers.runtime.cache import object_key, split_key
from kemu.rest import (
    CONFIGMAPS,
    DEPLOYMENTS,
    PDBS,
    PODS,
    PVCS,
    PVS,
    REPLICASETS,
    RESOURCEQUOTAS,
    SECRETS,
    SERVICES,
    STATEFULSETS,
    STORAGECLASSES,
)

Obj = dict[str, Any]


class VolumeBinder(Base):
    name = "persistentvolume-binder"
    component = "persistentvolume-controller"

    def setup(self) -> None:
        self.pvs = self.ctx.informer(PVS)
        self.pvcs = self.ctx.informer(PVCS)
        self.classes = self.ctx.informer(STORAGECLASSES)
        self.pvcs.add_handler(lambda t, o, n: self.enqueue_key("pvc|" + object_key(n or o or {})))
        self.pvs.add_handler(self._on_pv)
        self.classes.add_handler(lambda t, o, n: self.enqueue_key("classes|"))

    def _on_pv(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        pv = new or old
        assert pv is not None
        self.enqueue_key("pv|" + object_key(pv))
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.enqueue_key(f"pvc|{ref.get('namespace')}/{ref['name']}")
        else:  # a new free volume may satisfy a pending claim
            for c in self.pvcs.cache.list():
                if (c.get("status") or {}).get("phase") != "Bound":
                    self.enqueue_key("pvc|" + object_key(c))

    def background(self) -> list[Any]:
        async def once() -> None:
            self.enqueue_key("classes|")
        return [once()]

    async def reconcile(self, key: str) -> float | None:
        kind, _, k = key.partition("|")
        classes = self.classes.cache.list()
        if kind == "classes":
            await self.executor.run(vol_logic.default_class_plan(classes))
            return None
        if kind == "pvc":
            pvc = self.pvcs.cache.get(k)
            if pvc is None:
                return None
            await self.executor.run(vol_logic.decide_claim(pvc, self.pvs.cache.list(), classes))
            return None
        pv = self.pvs.cache.get(k)
        if pv is None:
            return None
        claims = {split_key(ck): c for ck, c in ((object_key(c), c) for c in self.pvcs.cache.list())}
        await self.executor.run(vol_logic.decide_volume(pv, claims))
        return None


LOWER_AFTER_S = 1.0
QUOTA_SOURCES = {"pods": PODS, "services": SERVICES, "configmaps": CONFIGMAPS, "secrets": SECRETS,
                 "persistentvolumeclaims": PVCS, "resourcequotas": RESOURCEQUOTAS}


class QuotaController(Base):
    name = "resourcequota"
    component = "resourcequota-controller"

    def setup(self) -> None:
        self.quotas = self.ctx.informer(RESOURCEQUOTAS)
        self.lowering: dict[str, float] = {}  # quota key -> when a lower usage was first computed
        self.sources = {name: self.ctx.informer(res) for name, res in QUOTA_SOURCES.items()}
        self.quotas.add_handler(lambda t, o, n: self.enqueue(n) if n is not None else None)
        for inf in self.sources.values():
            inf.add_handler(self._on_object)

    def _on_object(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        assert obj is not None
        for q in self.quotas.cache.by_index("namespace", (obj.get("metadata") or {}).get("namespace", "")):
            self.enqueue(q)

    async def reconcile(self, key: str) -> float | None:
        q = self.quotas.cache.get(key)
        if q is None:
            return None
        ns, _ = split_key(key)
        objects = {name: inf.cache.by_index("namespace", ns) for name, inf in self.sources.items()}
        st = quota_logic.quota_status(q, objects)
        if st is None:
            self.lowering.pop(key, None)
            return None
        if quota_logic.lowers_usage((q.get("status") or {}).get("used") or {}, st["used"]):
            # The apiserver's quota admission charges status.used as it admits objects, before our caches see
            # them: lowering usage from a lagging cache would hand that room out twice. Lower only when the
            # lower count has held for LOWER_AFTER_S.
            since = self.lowering.setdefault(key, self.ctx.monotonic())
            if self.ctx.monotonic() - since < LOWER_AFTER_S:
                return LOWER_AFTER_S
        self.lowering.pop(key, None)
        await self.executor.run(Plan([UpdateStatus(RESOURCEQUOTAS, {**q, "status": st})]))
        return None


class DisruptionController(Base):
    name = "disruption"
    component = "controllermanager"

    def setup(self) -> None:
        self.pdbs = self.ctx.informer(PDBS)
        self.pods = self.ctx.informer(PODS)
        self.owners = [self.ctx.informer(r) for r in (REPLICASETS, DEPLOYMENTS, STATEFULSETS)]
        self.pdbs.add_handler(lambda t, o, n: self.enqueue(n) if n is not None else None)
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        assert obj is not None
        for p in self.pdbs.cache.by_index("namespace", (obj.get("metadata") or {}).get("namespace", "")):
            self.enqueue(p)

    async def reconcile(self, key: str) -> float | None:
        pdb = self.pdbs.cache.get(key)
        if pdb is None:
            return None
        ns, _ = split_key(key)
        replicas: dict[str, int] = {}
        for inf in self.owners:
            for o in inf.cache.by_index("namespace", ns):
                r = (o.get("spec") or {}).get("replicas")
                replicas[(o.get("metadata") or {}).get("uid", "")] = 1 if r is None else int(r)
        st = pdb_logic.pdb_status(pdb, self.pods.cache.by_index("namespace", ns), replicas, self.ctx.now())
        if st != (pdb.get("status") or {}):
            await self.executor.run(Plan([UpdateStatus(PDBS, {**pdb, "status": st})]))
        return None
