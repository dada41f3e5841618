"""PodDisruptionBudget status (pure): pods matching the selector in the namespace; ``expectedPods`` from their
controllers' scale (the sum of distinct owners' replicas, falling back to the number of pods);
``desiredHealthy`` from minAvailable (int or percentage of expected, rounded up) or expected - maxUnavailable
(percentage rounded up); ``disruptionsAllowed`` = max(currentHealthy - desiredHealthy, 0); the
DisruptionAllowed condition (SufficientPods / InsufficientPods) as the disruption controller sets it."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from controllers.logic.podutil import is_active, is_ready, meta
from kemu.api.meta import format_time
from kemu.api.selectors import SelectorError, label_selector_from_dict

Obj = dict[str, Any]


def _resolve(v: Any, total: int) -> int:
    if isinstance(v, str) and v.endswith("%"):
        return math.ceil(int(v[:-1]) * total / 100)
    return int(v)


def pdb_status(pdb: Obj, pods: list[Obj], owner_replicas: dict[str, int], now: datetime) -> Obj:
    spec = pdb.get("spec") or {}
    try:
        sel = label_selector_from_dict(spec.get("selector"))
    except SelectorError:
        sel = label_selector_from_dict(None)
    matched = [p for p in pods if is_active(p) and sel.matches(meta(p).get("labels") or {})]
    healthy = sum(1 for p in matched if is_ready(p))
    owners: dict[str, int] = {}
    unowned = 0
    for p in matched:
        ref = next((r for r in meta(p).get("ownerReferences") or [] if r.get("controller")), None)
        if ref is not None and ref.get("uid") in owner_replicas:
            owners[ref["uid"]] = owner_replicas[ref["uid"]]
        else:
            unowned += 1
    expected = sum(owners.values()) + unowned
    if spec.get("minAvailable") is not None:
        desired = _resolve(spec["minAvailable"], expected)
    elif spec.get("maxUnavailable") is not None:
        desired = max(expected - _resolve(spec["maxUnavailable"], expected), 0)
    else:
        desired = expected
    allowed = max(healthy - desired, 0)
    old = pdb.get("status") or {}
    cond_status = "True" if allowed > 0 else "False"
    reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
    prev = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    ltt = prev["lastTransitionTime"] if prev and prev.get("status") == cond_status else format_time(now)
    return {"observedGeneration": meta(pdb).get("generation", 0), "currentHealthy": healthy,
            "desiredHealthy": desired, "expectedPods": expected, "disruptionsAllowed": allowed,
            "disruptedPods": old.get("disruptedPods") or {},
            "conditions": [{"type": "DisruptionAllowed", "status": cond_status, "reason": reason, "message": "",
                            "observedGeneration": meta(pdb).get("generation", 0), "lastTransitionTime": ltt}]}
