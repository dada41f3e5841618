"""Versions that share storage with another, as in kube-apiserver (one object seen through two APIs):
``events.k8s.io/v1`` Events are stored as core ``v1`` Events, ``autoscaling/v1`` HPAs as ``autoscaling/v2``.
Pure field mapping both ways; unknown fields pass through.
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

# events.k8s.io/v1 field -> core/v1 field
_EVENT_FIELDS = {"regarding": "involvedObject", "note": "message", "reportingController": "reportingComponent",
                 "deprecatedSource": "source", "deprecatedFirstTimestamp": "firstTimestamp",
                 "deprecatedLastTimestamp": "lastTimestamp", "deprecatedCount": "count"}
_CORE_FIELDS = {v: k for k, v in _EVENT_FIELDS.items()}


def _rename(obj: Obj, mapping: dict[str, str], api_version: str) -> Obj:
    out: Obj = {}
    for k, v in obj.items():
        out[mapping.get(k, k)] = copy.deepcopy(v)
    out["apiVersion"] = api_version
    out["kind"] = "Event"
    return out


def events_to_core(obj: Obj) -> Obj:
    return _rename(obj, _EVENT_FIELDS, "v1")


def core_to_events(obj: Obj) -> Obj:
    return _rename(obj, _CORE_FIELDS, "events.k8s.io/v1")


def _cpu_metric(percent: int) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                        "averageUtilization": percent}}}


def hpa_v1_to_v2(obj: Obj) -> Obj:
    """autoscaling/v1 (CPU target only) -> the stored autoscaling/v2 form; no target means the default 80%."""
    out = copy.deepcopy(obj)
    out["apiVersion"], out["kind"] = "autoscaling/v2", "HorizontalPodAutoscaler"
    spec = out.get("spec")
    if isinstance(spec, dict):
        target = spec.pop("targetCPUUtilizationPercentage", None)
        spec["metrics"] = [_cpu_metric(target if isinstance(target, int) else 80)]
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentCPUUtilizationPercentage", None)
        if isinstance(current, int):
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": current}}}]
    return out


def hpa_v2_to_v1(obj: Obj) -> Obj:
    """The stored v2 object as autoscaling/v1 shows it: only the CPU utilization target/current survive."""
    out = copy.deepcopy(obj)
    out["apiVersion"], out["kind"] = "autoscaling/v1", "HorizontalPodAutoscaler"
    spec = out.get("spec")
    if isinstance(spec, dict):
        for m in spec.pop("metrics", None) or []:
            res = (m or {}).get("resource") or {}
            if m.get("type") == "Resource" and res.get("name") == "cpu" and \
                    (res.get("target") or {}).get("type") == "Utilization":
                spec["targetCPUUtilizationPercentage"] = res["target"].get("averageUtilization")
        spec.pop("behavior", None)
    status = out.get("status")
    if isinstance(status, dict):
        for m in status.pop("currentMetrics", None) or []:
            res = (m or {}).get("resource") or {}
            if m.get("type") == "Resource" and res.get("name") == "cpu":
                status["currentCPUUtilizationPercentage"] = (res.get("current") or {}).get("averageUtilization")
        status.pop("conditions", None)
    return out


CODECS = {("events.k8s.io", "v1", "events"): (events_to_core, core_to_events),
          ("autoscaling", "v1", "horizontalpodautoscalers"): (hpa_v1_to_v2, hpa_v2_to_v1)}
