"""Endpoints and EndpointSlice controllers: a Service key is reconciled when the Service, its Endpoints/slices,
or any pod of its namespace changes (pods are matched against the namespace's services' selectors)."""

from __future__ import annotations

from typing import Any

from controllers.logic import endpoints as logic
from controllers.manager.base import Base
from controllers.runtime.cache import split_key
from kemu.api.selectors import selector_from_set
from kemu.rest import ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES

Obj = dict[str, Any]


class _ServiceBased(Base):
    def setup(self) -> None:
        self.svcs = self.ctx.informer(SERVICES)
        self.pods = self.ctx.informer(PODS)
        self.svcs.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        for pod in (old, new):
            if pod is None:
                continue
            md = pod.get("metadata") or {}
            for svc in self.svcs.cache.by_index("namespace", md.get("namespace", "")):
                sel = (svc.get("spec") or {}).get("selector")
                if sel and selector_from_set(sel).matches(md.get("labels") or {}):
                    self.enqueue(svc)


class EndpointsController(_ServiceBased):
    name = "endpoint"
    component = "endpoint-controller"

    def setup(self) -> None:
        super().setup()
        self.eps = self.ctx.informer(ENDPOINTS)  # read for the current state; changes come from services/pods

    async def reconcile(self, key: str) -> float | None:
        ns, _ = split_key(key)
        svc = self.svcs.cache.get(key)
        cur = self.eps.cache.get(key)
        if svc is None and cur is None:
            return None
        plan = logic.decide_endpoints(svc, cur, self.pods.cache.by_index("namespace", ns))
        await self.executor.run(plan)
        return None


class EndpointSliceController(_ServiceBased):
    name = "endpointslice"
    component = "endpointslice-controller"

    def setup(self) -> None:
        super().setup()
        self.slices = self.ctx.informer(ENDPOINTSLICES)
        self.slices.add_handler(self._on_slice)

    def _on_slice(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        s = new or old
        assert s is not None
        md = s.get("metadata") or {}
        svc = (md.get("labels") or {}).get(logic.SERVICE_NAME)
        if svc and (md.get("labels") or {}).get(logic.MANAGED_BY) == logic.SLICE_MANAGER:
            self.enqueue_key(f"{md.get('namespace')}/{svc}")

    async def reconcile(self, key: str) -> float | None:
        ns, name = split_key(key)
        svc = self.svcs.cache.get(key)
        current = [s for s in self.slices.cache.by_index("namespace", ns)
                   if ((s.get("metadata") or {}).get("labels") or {}).get(logic.SERVICE_NAME) == name
                   and ((s.get("metadata") or {}).get("labels") or {}).get(logic.MANAGED_BY) == logic.SLICE_MANAGER]
        plan = logic.decide_slices(svc, current, self.pods.cache.by_index("namespace", ns))
        await self.executor.run(plan)
        return None
