from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from node_agent.kubelet.backoff import CrashLoopBackOff
from node_agent.kubelet.resources import QuantityError, linux_resources, parse_quantity, qos_class

from .helpers import c, pod

pytestmark = pytest.mark.unit


def test_backoff_doubles_to_cap_and_resets_after_ten_minutes() -> None:
    b = CrashLoopBackOff()
    now = 1000.0
    assert b.remaining_s("k", finished_at=now, now=now) == 0  # first restart is immediate
    delays = []
    for _ in range(8):
        b.record_restart("k", finished_at=now, now=now)
        finished = now + 1  # crashes after 1 s
        delays.append(b.delay_s("k"))
        assert b.remaining_s("k", finished, finished) == b.delay_s("k")
        now = finished + b.delay_s("k")
        assert b.remaining_s("k", finished, now) == 0
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    # ran for more than 10 minutes after the last restart: the next restart is immediate again
    b.record_restart("k", finished_at=now, now=now)
    assert b.remaining_s("k", now + 601, now + 601) == 0
    b.record_restart("k", finished_at=now + 601, now=now + 601)
    assert b.delay_s("k") == 10


def test_backoff_forget_by_pod_prefix() -> None:
    b = CrashLoopBackOff()
    b.record_restart("u1/a", 0, 0)
    b.record_restart("u2/a", 0, 0)
    b.forget("u1/")
    assert b.delay_s("u1/a") == 0 and b.delay_s("u2/a") == 10


@pytest.mark.parametrize("q,want", [
    ("100m", Fraction(1, 10)), ("1", 1), ("1.5", Fraction(3, 2)), ("1Gi", 2**30), ("128Mi", 128 * 2**20),
    ("1k", 1000), ("1e3", 1000), ("500M", 500 * 10**6), (2, 2), ("0.5", Fraction(1, 2)),
])
def test_parse_quantity(q: object, want: Fraction) -> None:
    assert parse_quantity(q) == want


@pytest.mark.parametrize("q", ["", "abc", "1Qi", "--1", True])
def test_parse_quantity_rejects(q: object) -> None:
    with pytest.raises(QuantityError, match="quantities must match"):
        parse_quantity(q)


def _r(req: dict[str, str] | None = None, lim: dict[str, str] | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {}
    if req is not None:
        r["requests"] = req
    if lim is not None:
        r["limits"] = lim
    return {"resources": r}


@pytest.mark.parametrize("containers,init,want", [
    ([c("a")], [], "BestEffort"),
    ([c("a", **_r(lim={"cpu": "1", "memory": "1Gi"}))], [], "Guaranteed"),
    ([c("a", **_r({"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1024Mi"}))], [], "Guaranteed"),
    ([c("a", **_r({"cpu": "500m"}, {"cpu": "1", "memory": "1Gi"}))], [], "Burstable"),
    ([c("a", **_r({"memory": "1Gi"}))], [], "Burstable"),
    ([c("a", **_r(lim={"cpu": "1", "memory": "1Gi"})), c("b")], [], "Burstable"),
    ([c("a", **_r(lim={"cpu": "1", "memory": "1Gi"}))], [c("i")], "Burstable"),
    ([c("a", **_r(lim={"cpu": "1"}))], [], "Burstable"),
])
def test_qos_class(containers: list[dict[str, object]], init: list[dict[str, object]], want: str) -> None:
    assert qos_class(pod(containers, init=init)) == want


def test_linux_resources() -> None:
    r = linux_resources(c("a", **_r({"cpu": "250m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})))
    assert (r.cpu_shares, r.cpu_quota, r.cpu_period, r.memory_limit_in_bytes) == (256, 50000, 100000, 128 * 2**20)
    r = linux_resources(c("a"))
    assert (r.cpu_shares, r.cpu_quota, r.memory_limit_in_bytes) == (2, 0, 0)
    r = linux_resources(c("a", **_r(lim={"cpu": "1m"})))
    assert (r.cpu_shares, r.cpu_quota) == (2, 1000)


def test_pod_requests_and_admission() -> None:
    from node_agent.kubelet.resources import admit, pod_requests

    big = pod([c("a", **_r({"cpu": "1", "memory": "1Gi"})), c("b", **_r({"cpu": "500m"}))],
              init=[c("i", **_r({"cpu": "2"})), c("side", restartPolicy="Always", **_r({"cpu": "100m"}))])
    assert pod_requests(big) == {"cpu": Fraction(2), "memory": 2**30}
    small = pod([c("a", **_r({"cpu": "500m"}))])
    alloc = {"cpu": "2", "memory": "2Gi", "pods": "3"}
    assert admit(small, [], alloc) is None
    assert admit(big, [], alloc) is None
    assert admit(small, [big], alloc) == (
        "OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 500, used: 2000, "
                    "capacity: 2000")
    mem = pod([c("a", **_r({"memory": "3Gi"}))])
    assert admit(mem, [], alloc) is not None and admit(mem, [], alloc)[0] == "OutOfmemory"  # type: ignore[index]
    assert admit(pod(), [pod(), pod(), pod()], alloc) == (
        "OutOfpods", "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3")
    assert admit(pod(), [], {}) is None
