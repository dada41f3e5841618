"""HPA replica calculation: utilization ratio, tolerance, missing metrics, bounds, stabilization and rate limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controllers.logic import hpa as hl
from tests.unit.controllers.sim import T0

pytestmark = pytest.mark.unit
Obj = dict[str, Any]


def hpa(lo: int = 1, hi: int = 10, target: int = 50, behavior: Obj | None = None) -> Obj:
    return {"metadata": {"generation": 1},
            "spec": {"minReplicas": lo, "maxReplicas": hi, "behavior": behavior or {},
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": target}}}]}}


def pod(name: str, req: str = "100m", ready: bool = True) -> Obj:
    return {"metadata": {"name": name}, "spec": {"containers": [{"resources": {"requests": {"cpu": req}}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def usage(**m: str) -> dict[str, Obj]:
    return {k: {"containers": [{"usage": {"cpu": v}}]} for k, v in m.items()}


def test_scale_up_by_ratio() -> None:
    pods = [pod("a"), pod("b")]
    desired, st = hl.decide(hpa(), 2, pods, usage(a="100m", b="100m"), T0, hl.History())
    assert desired == 4  # 100% vs 50% target
    assert st["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 100
    assert st["lastScaleTime"] == "2026-01-01T00:00:00Z"


def test_tolerance_and_bounds() -> None:
    pods = [pod("a"), pod("b")]
    assert hl.decide(hpa(), 2, pods, usage(a="52m", b="52m"), T0, hl.History())[0] == 2
    desired, st = hl.decide(hpa(hi=3), 2, pods, usage(a="100m", b="100m"), T0, hl.History())
    assert desired == 3
    assert any(c["type"] == "ScalingLimited" and c["reason"] == "TooManyReplicas" for c in st["conditions"])


def test_scale_down_is_stabilized_for_five_minutes() -> None:
    pods = [pod(n) for n in "abcd"]
    h = hl.History()
    assert hl.decide(hpa(), 4, pods, usage(a="50m", b="50m", c="50m", d="50m"), T0, h)[0] == 4
    low = usage(a="10m", b="10m", c="10m", d="10m")
    assert hl.decide(hpa(), 4, pods, low, T0 + timedelta(seconds=60), h)[0] == 4
    assert hl.decide(hpa(), 4, pods, low, T0 + timedelta(seconds=301), h)[0] == 1


def test_scale_up_rate_limit() -> None:
    pods = [pod("a")]
    desired, _ = hl.decide(hpa(hi=100), 1, pods, usage(a="1000m"), T0, hl.History())
    assert desired == 5  # max(100% -> 2, 4 pods -> 5) per 15 s
    h = hl.History()
    beh: Obj = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    assert hl.decide(hpa(hi=100, behavior=beh), 1, pods, usage(a="1000m"), T0, h)[0] == 2
    assert hl.decide(hpa(hi=100, behavior=beh), 2, [pod("a"), pod("b")], usage(a="1000m", b="1000m"),
                     T0 + timedelta(seconds=10), h)[0] == 2  # already used the period's budget


def test_missing_metrics_and_unavailable_api() -> None:
    pods = [pod("a"), pod("b")]
    desired, _ = hl.decide(hpa(), 2, pods, usage(a="200m"), T0, hl.History())
    assert desired == 4  # b counts as 0 usage when scaling up: (200+0)/200 = 100% -> x2
    desired, st = hl.decide(hpa(), 2, pods, None, T0, hl.History())
    assert desired == 2
    cond = next(c for c in st["conditions"] if c["type"] == "ScalingActive")
    assert cond["status"] == "False" and cond["reason"] == "FailedGetResourceMetric"
