"""Deployment decisions: rollout steps under maxSurge/maxUnavailable, revisions, undo, Recreate, history,
paused, progress deadline -- on an in-memory world where ReplicaSets become available instantly."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from controllers.logic import deployment as dl
from controllers.logic.actions import Patch
from controllers.logic.deployment import fenceposts, int_or_percent, template_hash
from tests.unit.controllers.sim import World

pytestmark = pytest.mark.unit
Obj = dict[str, Any]


def deploy(replicas: int = 3, image: str = "nginx:1", surge: Any = 1, unavail: Any = 0, strategy: str = "RollingUpdate",
           **spec: Any) -> Obj:
    st: Obj = {"type": strategy}
    if strategy == "RollingUpdate":
        st["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavail}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "d", "uid": "dep-uid", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "strategy": st,
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


def rss(w: World) -> list[Obj]:
    return w.list("replicasets")


def settle_rs(w: World, lag: int = 0) -> bool:
    """The ReplicaSet controller and kubelets: status follows spec; with ``lag`` > 0 at most ``lag`` more pods
    become available per round."""
    changed = False
    for rs in rss(w):
        want = rs["spec"]["replicas"]
        st = rs.setdefault("status", {})
        prev_avail = st.get("availableReplicas", 0)
        avail = want if want <= prev_avail or lag == 0 else min(want, prev_avail + lag)
        new = {"replicas": want, "readyReplicas": avail, "availableReplicas": avail,
               "observedGeneration": rs["metadata"].get("generation", 1)}
        changed = changed or new != rs["status"]
        rs["status"] = new
    return changed


def run(w: World, d_key: tuple[str, str, str] = ("deployments", "d", "web"), rounds: int = 40,
        lag: int = 0, check: Any = None) -> int:
    for i in range(rounds):
        d = w.objs[d_key]
        plan = dl.decide(d, rss(w), [], w.now)
        w.apply(plan)
        if check:
            check(w)
        if not settle_rs(w, lag) and not plan.actions:
            return i
    raise AssertionError("did not converge")


@pytest.mark.parametrize("value,total,up,want", [
    ("25%", 10, True, 3), ("25%", 10, False, 2), (1, 10, True, 1), ("0%", 3, True, 0), ("50%", 3, False, 1),
    ("100%", 3, True, 3), (None, 4, True, 0),
])
def test_int_or_percent(value: Any, total: int, up: bool, want: int) -> None:
    assert int_or_percent(value, total, up) == want


def test_fenceposts_defaults_and_zero_guard() -> None:
    assert fenceposts({"spec": {"replicas": 10}}) == (3, 2)
    assert fenceposts(deploy(3, surge=0, unavail=0)) == (0, 1)


def test_hash_stable_and_ignores_hash_label() -> None:
    t = deploy()["spec"]["template"]
    h = template_hash(t)
    assert h == template_hash(copy.deepcopy(t)) and 1 <= len(h) <= 10
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    t2 = copy.deepcopy(t)
    t2["metadata"]["labels"]["pod-template-hash"] = h
    assert template_hash(t2) == h and template_hash(t, 1) != h


def test_first_rollout_creates_rs_with_revision_and_status() -> None:
    w = World()
    w.put("deployments", deploy())
    run(w)
    (rs,) = rss(w)
    assert rs["metadata"]["name"].startswith("web-")
    assert rs["metadata"]["labels"]["pod-template-hash"] == rs["metadata"]["name"][4:]
    assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == rs["metadata"]["name"][4:]
    assert rs["metadata"]["annotations"][dl.REVISION] == "1" and rs["spec"]["replicas"] == 3
    d = w.objs[("deployments", "d", "web")]
    assert d["metadata"]["annotations"][dl.REVISION] == "1"
    st = d["status"]
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"], st["observedGeneration"]) == (3, 3, 3, 1)
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Available"]["status"] == "True" and conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conds["Progressing"]["message"] == f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.'
    assert any(e.reason == "ScalingReplicaSet" and e.message == f"Scaled up replica set {rs['metadata']['name']} "
               "from 0 to 3" for e in w.events)


@pytest.mark.parametrize("replicas,surge,unavail,lag", [
    (3, 1, 0, 0), (3, 1, 0, 1), (10, "25%", "25%", 2), (4, 0, 1, 1), (5, "50%", 0, 3), (1, 1, 0, 0),
])
def test_rolling_update_bounds(replicas: int, surge: Any, unavail: Any, lag: int) -> None:
    w = World()
    w.put("deployments", deploy(replicas, surge=surge, unavail=unavail))
    run(w)
    d = w.objs[("deployments", "d", "web")]
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    d["metadata"]["generation"] = 2
    max_surge, max_unavail = fenceposts(d)

    def check(w: World) -> None:
        total = sum(r["spec"]["replicas"] for r in rss(w))
        assert total <= replicas + max_surge
        avail = sum(min(r.get("status", {}).get("availableReplicas", 0), r["spec"]["replicas"]) for r in rss(w))
        assert avail >= replicas - max_unavail

    run(w, lag=lag, check=check)
    by_rev = {r["metadata"]["annotations"][dl.REVISION]: r for r in rss(w)}
    assert by_rev["2"]["spec"]["replicas"] == replicas and by_rev["1"]["spec"]["replicas"] == 0
    d = w.objs[("deployments", "d", "web")]
    assert d["metadata"]["annotations"][dl.REVISION] == "2"
    assert d["status"]["updatedReplicas"] == replicas and d["status"]["observedGeneration"] == 2


def test_undo_reuses_old_rs_with_next_revision() -> None:
    w = World()
    w.put("deployments", deploy())
    run(w)
    d = w.objs[("deployments", "d", "web")]
    old_tmpl = copy.deepcopy(d["spec"]["template"])
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    run(w)
    d["spec"]["template"] = old_tmpl  # what kubectl rollout undo writes
    run(w)
    revs = sorted((r["metadata"]["annotations"][dl.REVISION], r["spec"]["replicas"]) for r in rss(w))
    assert revs == [("2", 0), ("3", 3)] and len(rss(w)) == 2
    assert d["metadata"]["annotations"][dl.REVISION] == "3"


def test_change_cause_copied_and_history_limit() -> None:
    w = World()
    w.put("deployments", deploy(revisionHistoryLimit=1))
    run(w)
    d = w.objs[("deployments", "d", "web")]
    for i in range(2, 5):
        d["metadata"].setdefault("annotations", {})[dl.CHANGE_CAUSE] = f"set image v{i}"
        d["spec"]["template"]["spec"]["containers"][0]["image"] = f"nginx:{i}"
        run(w)
        run(w)  # a settled rollout prunes history
    names = sorted(r["metadata"]["annotations"][dl.REVISION] for r in rss(w))
    assert names == ["3", "4"]
    cur = next(r for r in rss(w) if r["metadata"]["annotations"][dl.REVISION] == "4")
    assert cur["metadata"]["annotations"][dl.CHANGE_CAUSE] == "set image v4"


def test_recreate_scales_old_to_zero_first() -> None:
    w = World()
    w.put("deployments", deploy(strategy="Recreate"))
    run(w)
    d = w.objs[("deployments", "d", "web")]
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"

    def check(w: World) -> None:
        active = [r for r in rss(w) if r["spec"]["replicas"] > 0]
        assert len(active) <= 1

    run(w, check=check)
    assert sorted(r["spec"]["replicas"] for r in rss(w)) == [0, 3]


def test_scale_and_pause() -> None:
    w = World()
    w.put("deployments", deploy())
    run(w)
    d = w.objs[("deployments", "d", "web")]
    d["spec"]["replicas"] = 5
    run(w)
    assert [r["spec"]["replicas"] for r in rss(w)] == [5]
    assert any(e.message.endswith("from 3 to 5") for e in w.events)
    d["spec"]["paused"] = True
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    run(w)
    assert len(rss(w)) == 1  # paused: no new ReplicaSet
    prog = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (prog["status"], prog["reason"]) == ("Unknown", "DeploymentPaused")
    d["spec"]["paused"] = False
    run(w)
    assert len(rss(w)) == 2


def test_progress_deadline_exceeded() -> None:
    w = World()
    w.put("deployments", deploy(progressDeadlineSeconds=30))
    d = w.objs[("deployments", "d", "web")]
    w.apply(dl.decide(d, rss(w), [], w.now))  # creates the RS; pods never become available
    for rs in rss(w):
        rs["status"] = {"replicas": 3, "availableReplicas": 0}
    plan = dl.decide(d, rss(w), [], w.now)
    w.apply(plan)
    assert plan.requeue_after_s is not None
    w.now += timedelta(seconds=31)
    w.apply(dl.decide(d, rss(w), [], w.now))
    prog = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")
    avail = next(c for c in d["status"]["conditions"] if c["type"] == "Available")
    assert avail["status"] == "False"


def test_orphan_replicaset_is_adopted() -> None:
    w = World()
    w.put("deployments", deploy())
    run(w)
    (rs,) = rss(w)
    rs["metadata"]["ownerReferences"] = []  # orphaned (e.g. the old Deployment was deleted with --cascade=orphan)
    d = w.objs[("deployments", "d", "web")]
    plan = dl.decide(d, rss(w), [], w.now)
    patches = [a for a in plan.actions if isinstance(a, Patch) and a.res.resource == "replicasets"
               and a.name == rs["metadata"]["name"]]
    assert patches and patches[0].body["metadata"]["ownerReferences"][0]["uid"] == "dep-uid"
    assert not [a for a in plan.actions if type(a).__name__ == "Create"]  # no second ReplicaSet


def test_change_cause_set_after_the_rollout_follows_to_the_replicaset() -> None:
    w = World()
    w.put("deployments", deploy())
    run(w)
    d = w.objs[("deployments", "d", "web")]
    d["metadata"].setdefault("annotations", {})[dl.CHANGE_CAUSE] = "kubectl annotate"
    run(w)
    (rs,) = rss(w)
    assert rs["metadata"]["annotations"][dl.CHANGE_CAUSE] == "kubectl annotate"


def test_replica_failure_is_surfaced_on_the_deployment() -> None:
    w = World()
    w.put("deployments", deploy())
    run(w)
    (rs,) = rss(w)
    rs["status"]["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                   "message": "pods is forbidden: exceeded quota"}]
    d = w.objs[("deployments", "d", "web")]
    w.apply(dl.decide(d, rss(w), [], w.now))
    cond = next(c for c in d["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert cond["reason"] == "FailedCreate" and "exceeded quota" in cond["message"]
    rs["status"]["conditions"] = []
    w.apply(dl.decide(d, rss(w), [], w.now))
    assert not [c for c in d["status"]["conditions"] if c["type"] == "ReplicaFailure"]
