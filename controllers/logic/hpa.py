"""HorizontalPodAutoscaler (autoscaling/v2) decision (pure, injected clock).

Per Resource metric (cpu/memory, Utilization or AverageValue): usage from PodMetrics (metrics.k8s.io) over the
target's pods; the proposal is ``ceil(current * usage/target)`` unless the ratio is within the 10% tolerance.
Pods without metrics count as 0 usage when scaling up and as 100% of their request when scaling down (the real
controller's conservative rule); pods not yet Ready are left out of cpu scale-ups. Several metrics: the largest
proposal wins. The proposal is bounded by min/maxReplicas, then by ``behavior``: stabilization (scale-down
default 300 s: the highest recommendation in the window; scale-up default 0 s: the lowest) and rate policies
(scale-up default: max(100% , 4 pods) per 15 s; scale-down: 100% per 15 s). ``History`` keeps recommendations
and scale events between calls (the real controller keeps them in memory too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from controllers.logic.podutil import is_active, is_ready, meta
from controllers.scheduler.resources import qty
from kemu.api.meta import format_time

Obj = dict[str, Any]
TOLERANCE = 0.1
DEFAULT_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
              "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                           {"type": "Pods", "value": 4, "periodSeconds": 15}]}
DEFAULT_DOWN = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


@dataclass
class History:
    recommendations: list[tuple[datetime, int]] = field(default_factory=list)
    events: list[tuple[datetime, int]] = field(default_factory=list)  # (time, replica change)


class MetricsUnavailable(Exception):
    pass


def _usage(pm: Obj, resource: str) -> int:
    return sum(qty(resource, ((c.get("usage") or {}).get(resource, 0)) or 0) for c in pm.get("containers") or [])


def _request(pod: Obj, resource: str) -> int:
    return sum(qty(resource, (((c.get("resources") or {}).get("requests") or {}).get(resource, 0)) or 0)
               for c in (pod.get("spec") or {}).get("containers") or [])


def propose(metric: Obj, current: int, pods: list[Obj], metrics: dict[str, Obj]) -> tuple[int, Obj]:
    """(replica proposal, currentMetrics entry) for one Resource metric; MetricsUnavailable when nothing reports."""
    res = metric.get("resource") or {}
    name = str(res.get("name", "cpu"))
    target = res.get("target") or {}
    active = [p for p in pods if is_active(p)]
    have = [p for p in active if meta(p)["name"] in metrics]
    if not have:
        raise MetricsUnavailable(f"failed to get {name} utilization: unable to get metrics for resource {name}: "
                                 "no metrics returned from resource metrics API")
    missing = [p for p in active if meta(p)["name"] not in metrics]
    unready = [p for p in have if name == "cpu" and not is_ready(p)]
    counted = [p for p in have if p not in unready]
    usage = sum(_usage(metrics[meta(p)["name"]], name) for p in counted)
    if target.get("type", "Utilization") == "Utilization":
        req = sum(_request(p, name) for p in counted)
        if req <= 0:
            raise MetricsUnavailable(f"failed to get {name} utilization: missing request for {name}")
        util = usage * 100 / req
        want = float(target.get("averageUtilization") or 80)
        ratio = util / want
        entry = {"type": "Resource", "resource": {"name": name, "current": {
            "averageUtilization": round(util),
            "averageValue": _fmt(name, usage // max(len(counted), 1))}}}
    else:
        avg_target = qty(name, target.get("averageValue") or 0)
        avg = usage / max(len(counted), 1)
        ratio = avg / avg_target if avg_target else 1.0
        entry = {"type": "Resource", "resource": {"name": name, "current": {"averageValue": _fmt(name, int(avg))}}}
    if missing or unready:  # recompute conservatively with the pods that did not report
        up = ratio > 1
        extra_usage = 0.0
        extra_req = 0
        for p in missing:
            r = _request(p, name)
            extra_req += r
            extra_usage += 0 if up else r
        for p in (unready if up else []):
            extra_req += _request(p, name)
        if target.get("type", "Utilization") == "Utilization":
            req_all = sum(_request(p, name) for p in counted) + extra_req
            ratio = ((usage + extra_usage) * 100 / req_all) / float(target.get("averageUtilization") or 80) \
                if req_all else ratio
    if abs(ratio - 1.0) <= TOLERANCE:
        return current, entry
    return math.ceil(ratio * len(counted) if not (missing or unready) else ratio * current), entry


def _fmt(name: str, v: int) -> str:
    return f"{v}m" if name == "cpu" else str(v)


def _limit(behavior: Obj, direction: str, current: int, now: datetime, hist: History) -> int:
    rules = {**(DEFAULT_UP if direction == "up" else DEFAULT_DOWN), **(behavior.get(
        "scaleUp" if direction == "up" else "scaleDown") or {})}
    if rules.get("selectPolicy") == "Disabled":
        return current
    limits = []
    for pol in rules.get("policies") or []:
        period = timedelta(seconds=int(pol.get("periodSeconds") or 15))
        changed = sum(d for t, d in hist.events if now - t < period and (d > 0) == (direction == "up"))
        base = current - changed  # replicas at the start of the period
        if pol.get("type") == "Pods":
            lim = base + int(pol["value"]) if direction == "up" else base - int(pol["value"])
        else:
            delta = math.ceil(base * int(pol["value"]) / 100) if direction == "up" else \
                math.floor(base * int(pol["value"]) / 100)
            lim = base + delta if direction == "up" else base - delta
        limits.append(lim)
    if not limits:
        return current
    pick = min if rules.get("selectPolicy") == "Min" else max
    if direction == "down":
        pick = max if rules.get("selectPolicy") == "Min" else min
    return int(pick(limits))


def decide(hpa: Obj, current: int, pods: list[Obj], metrics: dict[str, Obj] | None, now: datetime,
           hist: History) -> tuple[int, Obj]:
    """(desired replicas, new status)."""
    spec = hpa.get("spec") or {}
    lo = int(spec.get("minReplicas") or 1)
    hi = int(spec.get("maxReplicas") or lo)
    behavior = spec.get("behavior") or {}
    stamp = format_time(now)
    old = hpa.get("status") or {}
    conds: list[Obj] = []
    proposals: list[int] = []
    current_metrics: list[Obj] = []
    error = ""
    for m in spec.get("metrics") or [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]:
        if m.get("type") != "Resource":
            continue
        try:
            if metrics is None:
                raise MetricsUnavailable("failed to get cpu utilization: unable to get metrics for resource cpu: "
                                         "no metrics returned from resource metrics API")
            p, entry = propose(m, current, pods, metrics)
            proposals.append(p)
            current_metrics.append(entry)
        except MetricsUnavailable as e:
            error = str(e)
    conds.append(_cond("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's "
                       "current scale", stamp, old))
    if not proposals:
        conds.append(_cond("ScalingActive", "False", "FailedGetResourceMetric",
                           f"the HPA was unable to compute the replica count: {error}", stamp, old))
        failed: Obj = {**old, "currentReplicas": current, "desiredReplicas": current, "conditions": conds}
        return current, failed
    conds.append(_cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a "
                       "replica count from cpu resource utilization (percentage of request)", stamp, old))
    rec = max(proposals)
    hist.recommendations.append((now, rec))
    up_win = timedelta(seconds=int((behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds", 0)))
    down_win = timedelta(seconds=int((behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds", 300)))
    keep = max(up_win, down_win, timedelta(seconds=600))
    hist.recommendations = [(t, r) for t, r in hist.recommendations if now - t <= keep]
    hist.events = [(t, d) for t, d in hist.events if now - t <= keep]
    stabilized = rec
    if rec > current:
        stabilized = min([r for t, r in hist.recommendations if now - t <= up_win] or [rec])
        stabilized = max(stabilized, current)
    elif rec < current:
        stabilized = max([r for t, r in hist.recommendations if now - t <= down_win] or [rec])
        stabilized = min(stabilized, current)
    desired = stabilized
    if desired > current:
        desired = min(desired, _limit(behavior, "up", current, now, hist))
    elif desired < current:
        desired = max(desired, _limit(behavior, "down", current, now, hist))
    bounded = min(max(desired, lo), hi)
    if bounded != desired:
        conds.append(_cond("ScalingLimited", "True", "TooManyReplicas" if desired > hi else "TooFewReplicas",
                           f"the desired replica count is {'more' if desired > hi else 'less'} than the "
                           f"{'maximum' if desired > hi else 'minimum'} replica count", stamp, old))
    else:
        conds.append(_cond("ScalingLimited", "False", "DesiredWithinRange",
                           "the desired count is within the acceptable range", stamp, old))
    desired = bounded
    status: Obj = {**old, "currentReplicas": current, "desiredReplicas": desired, "currentMetrics": current_metrics,
                   "conditions": conds, "observedGeneration": meta(hpa).get("generation", 0)}
    if desired != current:
        hist.events.append((now, desired - current))
        status["lastScaleTime"] = stamp
    return desired, status


def _cond(type_: str, status: str, reason: str, message: str, stamp: str, old: Obj) -> Obj:
    prev = next((c for c in old.get("conditions") or [] if c.get("type") == type_), None)
    ltt = prev.get("lastTransitionTime") if prev and prev.get("status") == status else stamp
    return {"type": type_, "status": status, "lastTransitionTime": ltt, "reason": reason, "message": message}
