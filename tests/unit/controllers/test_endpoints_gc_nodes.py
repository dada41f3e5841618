"""Endpoints/EndpointSlices, garbage-collector and node-lifecycle decisions (pure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from controllers.logic import endpoints as ep
from controllers.logic import gc
from controllers.logic import nodelifecycle as nl
from controllers.logic.actions import Create, Delete, Patch, Update
from kemu.rest import DEPLOYMENTS, PODS, REPLICASETS
from tests.unit.controllers.sim import T0

pytestmark = pytest.mark.unit
Obj = dict[str, Any]


def svc(target: Any = 8080, **spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": "d", "uid": "svc-uid", "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10",
                     "ports": [{"name": "http", "port": 80, "targetPort": target, "protocol": "TCP"}], **spec}}


def pod(name: str, ip: str, ready: bool = True, labels: dict[str, str] | None = None, port_name: str = "http",
        deleting: bool = False, node: str = "n1") -> Obj:
    md: Obj = {"name": name, "namespace": "d", "uid": f"u-{name}", "labels": labels or {"app": "web"}}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md,
            "spec": {"nodeName": node, "containers": [{"ports": [{"name": port_name, "containerPort": 9000}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


PODS_ = [pod("b", "10.0.0.10"), pod("a", "10.0.0.9"), pod("nr", "10.0.0.5", ready=False),
         pod("other", "10.0.0.7", labels={"app": "x"}), pod("term", "10.0.0.6", deleting=True),
         pod("noip", "")]


def test_endpoints_ready_not_ready_and_order() -> None:
    e = ep.desired_endpoints(svc(), PODS_)
    (sub,) = e["subsets"]
    assert [a["ip"] for a in sub["addresses"]] == ["10.0.0.9", "10.0.0.10"]
    assert [a["ip"] for a in sub["notReadyAddresses"]] == ["10.0.0.5"]
    assert sub["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert sub["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "d", "name": "a", "uid": "u-a"}
    assert sub["addresses"][0]["nodeName"] == "n1" and e["metadata"]["labels"] == {"team": "a"}


def test_named_target_port() -> None:
    pods = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", port_name="other")]
    (sub,) = ep.desired_endpoints(svc("http"), pods)["subsets"]
    assert sub["ports"][0]["port"] == 9000 and [a["ip"] for a in sub["addresses"]] == ["10.0.0.1"]


def test_endpoints_plan_create_update_noop_delete() -> None:
    plan = ep.decide_endpoints(svc(), None, PODS_)
    (c,) = plan.actions
    assert isinstance(c, Create)
    cur = {**c.obj, "metadata": {**c.obj["metadata"], "uid": "e1", "resourceVersion": "5"}}
    assert ep.decide_endpoints(svc(), cur, PODS_).actions == []
    (u,) = ep.decide_endpoints(svc(), cur, PODS_[:1]).actions
    assert isinstance(u, Update) and u.obj["metadata"]["resourceVersion"] == "5"
    (d,) = ep.decide_endpoints(None, cur, PODS_).actions
    assert isinstance(d, Delete)
    assert ep.decide_endpoints({**svc(), "spec": {"ports": []}}, None, PODS_).actions == []  # selector-less


def test_slices_conditions_and_chunking() -> None:
    (s,) = ep.desired_slices(svc(), PODS_)
    assert s["metadata"]["labels"][ep.SERVICE_NAME] == "web" and s["addressType"] == "IPv4"
    assert s["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    conds = {e["targetRef"]["name"]: e["conditions"] for e in s["endpoints"]}
    assert conds["a"] == {"ready": True, "serving": True, "terminating": False}
    assert conds["nr"] == {"ready": False, "serving": False, "terminating": False}
    assert conds["term"] == {"ready": False, "serving": True, "terminating": True}
    many = [pod(f"p{i}", f"10.1.{i // 250}.{i % 250 + 1}") for i in range(250)]
    slices = ep.desired_slices(svc(), many)
    assert [len(x["endpoints"]) for x in slices] == [100, 100, 50]
    empty = ep.desired_slices(svc(), [])
    assert len(empty) == 1 and empty[0]["endpoints"] == [] and empty[0]["ports"] == []


def test_slices_plan_reuses_existing() -> None:
    want = ep.desired_slices(svc(), PODS_)
    cur = [{**want[0], "metadata": {**want[0]["metadata"], "name": "web-abcde", "uid": "s1"}}]
    assert ep.decide_slices(svc(), cur, PODS_).actions == []
    (u,) = ep.decide_slices(svc(), cur, PODS_[:1]).actions
    assert isinstance(u, Update) and u.obj["metadata"]["name"] == "web-abcde"
    extra = [*cur, {**cur[0], "metadata": {**cur[0]["metadata"], "name": "web-zzzzz"}}]
    assert [type(a) for a in ep.decide_slices(svc(), extra, PODS_).actions] == [Delete]


def owned(name: str, *uids: str, **md: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "d", "uid": f"u-{name}", "resourceVersion": "3",
                         "ownerReferences": [{"uid": u, "kind": "ReplicaSet", "name": u} for u in uids], **md}}


def test_gc_dependents() -> None:
    alive = {"rs1"}
    exists = lambda r: r["uid"] in alive  # noqa: E731
    (d,) = gc.decide_dependent(PODS, owned("p", "gone"), exists).actions
    assert isinstance(d, Delete) and d.propagation == "Background"
    (p,) = gc.decide_dependent(PODS, owned("p", "gone", "rs1"), exists).actions
    assert isinstance(p, Patch) and [r["uid"] for r in p.body["metadata"]["ownerReferences"]] == ["rs1"]
    assert gc.decide_dependent(PODS, owned("p", "rs1"), exists).actions == []
    assert gc.decide_dependent(PODS, owned("p", "gone", deletionTimestamp="x"), exists).actions == []


def test_gc_foreground_and_orphan() -> None:
    owner = {"metadata": {"name": "web", "namespace": "d", "uid": "dep", "deletionTimestamp": "x",
                          "finalizers": ["foregroundDeletion"]}}
    deps = [(REPLICASETS, owned("rs", "dep")), (REPLICASETS, owned("rs2", "dep", deletionTimestamp="x"))]
    plan = gc.decide_owner(DEPLOYMENTS, owner, deps)
    assert [(type(a).__name__, getattr(a, "name", "")) for a in plan.actions] == [("Delete", "rs")]
    assert plan.actions[0].propagation == "Foreground"  # type: ignore[union-attr]
    (u,) = gc.decide_owner(DEPLOYMENTS, owner, []).actions
    assert isinstance(u, Update) and u.obj["metadata"]["finalizers"] == []
    orphaner = {"metadata": {**owner["metadata"], "finalizers": ["orphan"]}}
    (p,) = gc.decide_owner(DEPLOYMENTS, orphaner, deps[:1]).actions
    assert isinstance(p, Patch) and p.body["metadata"]["ownerReferences"] == []
    (u,) = gc.decide_owner(DEPLOYMENTS, orphaner, []).actions
    assert isinstance(u, Update) and u.obj["metadata"]["finalizers"] == []


def node(ready: str = "True", hb: str = "2026-01-01T00:00:00Z", taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": "n1"}, "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": hb},
                                      {"type": "MemoryPressure", "status": "False"}]}}


def test_node_observation_uses_own_clock() -> None:
    o = nl.observe(nl.Observed(), node(), None, T0)
    assert o.at == T0
    o2 = nl.observe(o, node(), None, T0 + timedelta(seconds=30))
    assert o2.at == T0  # nothing changed: still observed at T0
    o3 = nl.observe(o2, node(), {"spec": {"renewTime": "2026-01-01T00:00:10.000000Z"}}, T0 + timedelta(seconds=31))
    assert o3.at == T0 + timedelta(seconds=31)  # a lease renewal counts as a heartbeat


def test_unknown_conditions_and_taints() -> None:
    conds = nl.unknown_conditions(node(), T0)
    assert conds is not None
    by = {c["type"]: c for c in conds}
    assert by["Ready"]["status"] == "Unknown" and by["Ready"]["message"] == "Kubelet stopped posting node status."
    assert by["DiskPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert nl.unknown_conditions({"status": {"conditions": conds}}, T0) is None
    t = nl.desired_taints(node("Unknown"), T0)
    assert t == [{"key": nl.UNREACHABLE, "effect": "NoSchedule"},
                 {"key": nl.UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}]
    t2 = nl.desired_taints(node("False", taints=t), T0)
    assert t2 is not None and {x["key"] for x in t2} == {nl.NOT_READY}
    assert nl.desired_taints(node("True", taints=t2), T0) == []
    assert nl.desired_taints(node("True", taints=[{"key": "mine", "effect": "NoSchedule"}]), T0) is None


def test_eviction_times() -> None:
    taints = [{"key": nl.UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}]
    plain: Obj = {"spec": {}}
    assert nl.eviction_time(plain, taints, 300) == T0 + timedelta(seconds=300)
    short = {"spec": {"tolerations": [{"key": nl.UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                       "tolerationSeconds": 5}]}}
    assert nl.eviction_time(short, taints, 300) == T0 + timedelta(seconds=5)
    forever = {"spec": {"tolerations": [{"operator": "Exists"}]}}
    assert nl.eviction_time(forever, taints, 300) is None
    other = [{"key": "dedicated", "value": "x", "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}]
    assert nl.eviction_time(plain, other, 300) is True
    assert nl.eviction_time(plain, [{"key": "k", "effect": "NoSchedule"}], 300) is None
    p = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}, "metadata": {}}
    patch = nl.pod_not_ready_patch(p, T0)
    assert patch is not None and patch["status"]["conditions"][0]["reason"] == "NodeNotReady"
