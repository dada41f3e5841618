"""HorizontalPodAutoscaler controller: every 15 s (--horizontal-pod-autoscaler-sync-period) per HPA: read the
target's ``/scale`` (its replicas and selector), the pods, and PodMetrics from ``metrics.k8s.io/v1beta1`` (when
no metrics API is served, the HPA reports ScalingActive=False/FailedGetResourceMetric as with a missing
metrics-server); decide with ``logic.hpa``; write the scale and the status."""

from __future__ import annotations

import logging
from typing import Any

from controllers.logic import hpa as logic
from controllers.manager.base import Base
from controllers.runtime.cache import split_key
from kemu.api.selectors import SelectorError, parse_label_selector
from kemu.rest import HPAS, PODS, TRANSPORT_ERRORS, ApiError, NotFound, Resource, api_path, split_api_version

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SYNC_PERIOD_S = 15.0
_PLURALS = {"Deployment": "deployments", "ReplicaSet": "replicasets", "StatefulSet": "statefulsets",
            "ReplicationController": "replicationcontrollers"}


class HPAController(Base):
    name = "horizontalpodautoscaling"
    component = "horizontal-pod-autoscaler"

    def setup(self) -> None:
        self.hpas = self.ctx.informer(HPAS)
        self.pods = self.ctx.informer(PODS)
        self.hpas.add_handler(lambda t, o, n: self.enqueue(n) if n is not None else None)
        self.history: dict[str, logic.History] = {}

    async def _metrics(self, ns: str, selector: str) -> dict[str, Obj] | None:
        try:
            doc = await self.ctx.client.request("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods",
                                                params={"labelSelector": selector or None})
        except TRANSPORT_ERRORS:
            return None
        return {i["metadata"]["name"]: i for i in (doc or {}).get("items") or []}

    async def reconcile(self, key: str) -> float | None:
        hpa = self.hpas.cache.get(key)
        if hpa is None:
            self.history.pop(key, None)
            return None
        ns, _ = split_key(key)
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        group, version = split_api_version(str(ref.get("apiVersion", "apps/v1")))
        plural = _PLURALS.get(str(ref.get("kind")), str(ref.get("kind", "")).lower() + "s")
        target = Resource(group, version, plural)
        try:
            scale = await self.ctx.client.request("GET", api_path(group, version, plural, ns, ref.get("name"),
                                                                  "scale"))
        except NotFound:
            return SYNC_PERIOD_S
        current = int((scale.get("status") or {}).get("replicas") or (scale.get("spec") or {}).get("replicas") or 0)
        selector = str((scale.get("status") or {}).get("selector") or "")
        try:
            sel = parse_label_selector(selector)
        except SelectorError:
            return SYNC_PERIOD_S
        pods = [p for p in self.pods.cache.by_index("namespace", ns)
                if sel.matches((p.get("metadata") or {}).get("labels") or {})]
        metrics = await self._metrics(ns, selector)
        hist = self.history.setdefault(key, logic.History())
        if current == 0:  # scaling to zero disables autoscaling, as in Kubernetes
            return SYNC_PERIOD_S
        desired, status = logic.decide(hpa, current, pods, metrics, self.ctx.now(), hist)
        if desired != current:
            await self.ctx.client.patch(target, str(ref.get("name")), {"spec": {"replicas": desired}}, ns,
                                        subresource="scale")
            reason = "above" if desired > current else "below"
            self.recorder.emit(hpa, "Normal", "SuccessfulRescale",
                               f"New size: {desired}; reason: cpu resource utilization (percentage of request) "
                               f"{reason} target")
        if status != (hpa.get("status") or {}):
            try:
                await self.ctx.client.update_status(HPAS, {**hpa, "status": status})
            except ApiError as e:
                log.info("hpa %s status: %s", key, e)
        return SYNC_PERIOD_S
