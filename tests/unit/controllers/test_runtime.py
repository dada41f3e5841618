"""Controller runtime pure parts: work queue, cache, leader-election decisions, event correlation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllers.runtime.cache import Cache, object_key, split_key
from controllers.runtime.controller import Controller
from controllers.runtime.events import EventCorrelator, object_reference
from controllers.runtime.leaderelection import LeaderElectionConfig, Observed, decide, released
from controllers.runtime.workqueue import ExponentialRateLimiter, RetryConfig, WorkQueue

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_doubles_to_cap() -> None:
    rl = ExponentialRateLimiter(RetryConfig(0.005, 1000.0))
    delays = [rl.when("a") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1000.0 and max(delays) == 1000.0
    assert rl.num_requeues("a") == 20
    rl.forget("a")
    assert rl.when("a") == 0.005
    assert all(rl.when("b") <= 1000.0 for _ in range(200))


def test_queue_dedupes_and_defers_while_processing() -> None:
    q = WorkQueue(now=FakeClock())
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    assert q.try_get() == "a"
    q.add("a")  # while processing: dirty, not queued twice
    assert q.try_get() == "b"
    assert q.try_get() is None
    q.done("a")
    assert q.try_get() == "a"
    q.done("a")
    q.done("b")
    assert q.try_get() is None


def test_queue_delayed_and_rate_limited() -> None:
    clock = FakeClock()
    q = WorkQueue(RetryConfig(1.0, 8.0), now=clock)
    q.add_after("x", 5)
    q.add_rate_limited("y")  # 1 s
    assert q.try_get() is None
    clock.t = 1.0
    assert q.try_get() == "y"
    q.done("y")
    q.add_rate_limited("y")  # 2 s
    clock.t = 2.5
    assert q.try_get() is None
    clock.t = 5.0
    assert {q.try_get(), q.try_get()} == {"x", "y"}


async def test_queue_get_wakes_on_add_and_deadline() -> None:
    q = WorkQueue()
    q.add_after("late", 0.05)
    got = await asyncio.wait_for(q.get(), 2)
    assert got == "late"
    task = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    q.add("now")
    assert await asyncio.wait_for(task, 2) == "now"


async def test_controller_retries_then_succeeds() -> None:
    calls: list[str] = []

    async def rec(key: str) -> float | None:
        calls.append(key)
        if len(calls) < 3:
            raise RuntimeError("boom")
        return None

    c = Controller("t", rec, workers=1, retry=RetryConfig(0.001, 0.01))
    c.enqueue("k")
    task = asyncio.create_task(c.run())
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.005)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert calls == ["k", "k", "k"] and c.errors == 2 and c.queue.num_requeues("k") == 0


def pod(name: str, ns: str = "ns", rv: str = "1", node: str = "", owner: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": rv}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def test_cache_indexes_and_replace() -> None:
    c = Cache()
    assert c.apply("ADDED", pod("a", node="n1", owner="u1")) == ("ADDED", None, pod("a", node="n1", owner="u1"))
    c.apply("ADDED", pod("b", node="n1"))
    assert [object_key(p) for p in c.by_index("nodeName", "n1")] == ["ns/a", "ns/b"]
    assert [object_key(p) for p in c.by_index("owner", "u1")] == ["ns/a"]
    ev = c.apply("MODIFIED", pod("a", rv="2", node="n2"))
    assert ev is not None and ev[0] == "MODIFIED"
    assert [object_key(p) for p in c.by_index("nodeName", "n1")] == ["ns/b"]
    assert c.by_index("owner", "u1") == []
    assert c.apply("BOOKMARK", {"metadata": {"resourceVersion": "9"}}) is None
    events = c.replace([pod("a", rv="2", node="n2"), pod("c", rv="3")])
    assert sorted((t, object_key(o or n or {})) for t, o, n in events) == [("ADDED", "ns/c"), ("DELETED", "ns/b")]
    assert c.by_index("nodeName", "n1") == []
    assert split_key("ns/a") == ("ns", "a") and split_key("node1") == ("", "node1")


CFG = LeaderElectionConfig(name="kube-scheduler", lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)


def test_leader_election_create_renew_wait_acquire() -> None:
    d = decide(None, "a", T0, Observed(), CFG)
    assert d.action == "create" and d.lease is not None
    spec = d.lease["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseTransitions"] == 0 and spec["leaseDurationSeconds"] == 15
    lease = {**d.lease, "metadata": {**d.lease["metadata"], "resourceVersion": "7"}}
    # b sees it for the first time: not expired on b's clock even if the renewTime is old
    db = decide(lease, "b", T0 + timedelta(seconds=100), Observed(), CFG)
    assert db.action == "wait" and db.holder == "a"
    db2 = decide(lease, "b", T0 + timedelta(seconds=114), db.observed, CFG)
    assert db2.action == "wait"
    db3 = decide(lease, "b", T0 + timedelta(seconds=115), db2.observed, CFG)
    assert db3.action == "acquire" and db3.lease is not None
    assert db3.lease["spec"]["holderIdentity"] == "b" and db3.lease["spec"]["leaseTransitions"] == 1
    assert db3.lease["metadata"]["resourceVersion"] == "7"  # the write is conditional on what we saw
    # a renews its own lease and keeps acquireTime
    da = decide(lease, "a", T0 + timedelta(seconds=2), Observed(), CFG)
    assert da.action == "renew" and da.lease is not None
    assert da.lease["spec"]["acquireTime"] == spec["acquireTime"] and da.lease["spec"]["renewTime"] != spec["renewTime"]


def test_leader_election_renewals_keep_others_waiting() -> None:
    lease = decide(None, "a", T0, Observed(), CFG).lease
    assert lease is not None
    obs = Observed()
    for i in range(10):  # a renews every 2 s; b never sees it expire
        now = T0 + timedelta(seconds=2 * i)
        lease = decide(lease, "a", now, Observed(), CFG).lease
        assert lease is not None
        d = decide(lease, "b", now, obs, CFG)
        obs = d.observed
        assert d.action == "wait"


def test_leader_election_release_and_free_lease() -> None:
    lease = decide(None, "a", T0, Observed(), CFG).lease
    assert lease is not None
    assert released(lease, "b", T0) is None
    rel = released(lease, "a", T0)
    assert rel is not None and rel["spec"]["holderIdentity"] == ""
    d = decide(rel, "b", T0, Observed(), CFG)
    assert d.action == "acquire" and d.lease is not None and d.lease["spec"]["leaseTransitions"] == 0


def test_event_correlator_aggregates() -> None:
    ec = EventCorrelator("deployment-controller")
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns", "uid": "u"}}
    ref = object_reference(obj)
    w1 = ec.record(ref, "Normal", "ScalingReplicaSet", "Scaled up", T0)
    assert w1.action == "create" and w1.body["count"] == 1 and w1.name.startswith("web.")
    assert w1.body["involvedObject"]["kind"] == "Deployment"
    assert w1.body["source"] == {"component": "deployment-controller"}
    assert w1.body["firstTimestamp"] == "2026-01-01T00:00:00Z"
    w2 = ec.record(ref, "Normal", "ScalingReplicaSet", "Scaled up", T0 + timedelta(seconds=3))
    assert w2.action == "patch" and w2.name == w1.name
    assert w2.body["count"] == 2 and w2.body["lastTimestamp"] == "2026-01-01T00:00:03Z"
    w3 = ec.record(ref, "Normal", "ScalingReplicaSet", "Scaled down", T0)
    assert w3.action == "create"
