"""ReplicaSet decisions: burst creation, adoption/release, deletion ranking, status, expectations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controllers.logic import replicaset as rsl
from controllers.logic.actions import Create, Delete, Patch, UpdateStatus
from controllers.logic.podutil import deletion_order
from controllers.runtime.expectations import Expectations
from kemu.rest import REPLICASETS
from tests.unit.controllers.sim import T0

pytestmark = pytest.mark.unit
Obj = dict[str, Any]


def rs(replicas: int = 3, min_ready: int = 0) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-abc", "namespace": "d", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}},
            "status": {}}


def pod(name: str, owner: str | None = "rs-uid", labels: dict[str, str] | None = None, node: str = "",
        phase: str = "Running", ready: bool = True, created: int = 0, ready_at: int = 0, restarts: int = 0,
        **meta: Any) -> Obj:
    md: Obj = {"name": name, "namespace": "d", "uid": f"u-{name}",
               "labels": {"app": "web"} if labels is None else labels,
               "creationTimestamp": (T0 + timedelta(seconds=created)).strftime("%Y-%m-%dT%H:%M:%SZ"), **meta}
    if owner:
        md["ownerReferences"] = [{"uid": owner, "controller": True, "kind": "ReplicaSet", "name": "x"}]
    conds = [{"type": "Ready", "status": "True" if ready else "False",
              "lastTransitionTime": (T0 + timedelta(seconds=ready_at)).strftime("%Y-%m-%dT%H:%M:%SZ")}]
    return {"metadata": md, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conds, "containerStatuses": [{"restartCount": restarts}]}}


def test_creates_missing_with_template_and_owner() -> None:
    plan = rsl.decide(rs(3), [pod("a")], T0, REPLICASETS)
    creates = [a for a in plan.actions if isinstance(a, Create)]
    assert len(creates) == 2
    p = creates[0].obj
    assert p["metadata"]["generateName"] == "web-abc-" and p["metadata"]["labels"] == {"app": "web"}
    assert p["metadata"]["ownerReferences"][0]["uid"] == "rs-uid" and p["metadata"]["ownerReferences"][0]["controller"]
    assert creates[0].expectation == "d/web-abc"


def test_burst_and_expectations_gate() -> None:
    assert len([a for a in rsl.decide(rs(700), [], T0, REPLICASETS).actions if isinstance(a, Create)]) == 500
    plan = rsl.decide(rs(3), [], T0, REPLICASETS, can_manage=False)
    assert not [a for a in plan.actions if isinstance(a, (Create, Delete))]


def test_adopt_orphans_and_release_mismatches() -> None:
    pods = [pod("orphan", owner=None), pod("mine-but-relabeled", labels={"app": "other"}),
            pod("foreign", owner="someone-else"), pod("done", owner=None, phase="Succeeded")]
    plan = rsl.decide(rs(1), pods, T0, REPLICASETS)
    patches = {a.name: a.body for a in plan.actions if isinstance(a, Patch)}
    assert set(patches) == {"orphan", "mine-but-relabeled"}
    assert patches["orphan"]["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"
    assert patches["mine-but-relabeled"]["metadata"]["ownerReferences"] == []
    assert not [a for a in plan.actions if isinstance(a, (Create, Delete))]  # the adopted orphan counts


def test_deletion_ranking() -> None:
    pods = [pod("running-old", node="n1", created=1, ready_at=5), pod("pending", node="", phase="Pending", ready=False),
            pod("notready", node="n2", ready=False), pod("running-new", node="n1", created=9, ready_at=50),
            pod("crashy", node="n3", restarts=5, ready_at=5),
            pod("cheap", node="n3", ready_at=5, annotations={"controller.kubernetes.io/pod-deletion-cost": "-10"})]
    order = [p["metadata"]["name"] for p in deletion_order(pods)]
    assert order[:3] == ["pending", "notready", "cheap"]
    # n1 and n3 hold two pods of the set each; then the one ready more recently, then more restarts
    assert order[3:] == ["running-new", "crashy", "running-old"]


def test_scale_down_deletes_by_rank() -> None:
    pods = [pod("a", node="n1"), pod("b", node="", phase="Pending", ready=False), pod("c", node="n2")]
    plan = rsl.decide(rs(2), pods, T0, REPLICASETS)
    assert [a.name for a in plan.actions if isinstance(a, Delete)] == ["b"]


def test_status_counts_and_min_ready_requeue() -> None:
    pods = [pod("a", ready_at=0), pod("b", ready=False), pod("c", ready_at=100),
            pod("gone", deletionTimestamp="2026-01-01T00:00:00Z")]
    plan = rsl.decide(rs(3, min_ready=30), pods, T0 + timedelta(seconds=110), REPLICASETS)
    (st,) = [a.obj["status"] for a in plan.actions if isinstance(a, UpdateStatus)]
    assert (st["replicas"], st["readyReplicas"], st["availableReplicas"], st["observedGeneration"]) == (3, 2, 1, 2)
    assert plan.requeue_after_s == 30


def test_expectations() -> None:
    t = [0.0]
    e = Expectations(lambda: t[0], ttl_s=300)
    e.expect("k", adds=2)
    assert not e.satisfied("k")
    e.observe_add("k")
    e.observe_add("k")
    assert e.satisfied("k")
    e.expect("k", deleted_uids={"u1"})
    e.observe_delete("k", "other")
    assert not e.satisfied("k")
    t[0] = 301
    assert e.satisfied("k")
