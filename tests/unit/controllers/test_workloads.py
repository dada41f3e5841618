"""StatefulSet and DaemonSet decisions on an in-memory world (pods become Running/Ready when told)."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.logic import daemonset as dsl
from controllers.logic import statefulset as stl
from controllers.logic.actions import Create, Delete
from controllers.logic.revisions import REVISION_LABEL
from tests.unit.controllers.sim import T0, World

pytestmark = pytest.mark.unit
Obj = dict[str, Any]


def sts(replicas: int = 3, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "pg", "namespace": "d", "uid": "sts-uid", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "pg", "selector": {"matchLabels": {"app": "pg"}},
                     "template": {"metadata": {"labels": {"app": "pg"}},
                                  "spec": {"containers": [{"name": "c", "image": "pg:1"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                               "spec": {"resources": {"requests": {"storage": "1Gi"}}}}], **spec}}


def make_ready(w: World) -> None:
    for p in w.list("pods"):
        p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                                           "lastTransitionTime": "2026-01-01T00:00:00Z"}]}


def step_sts(w: World) -> Any:
    s = w.objs[("statefulsets", "d", "pg")]
    plan = stl.decide(s, w.list("pods"), w.list("persistentvolumeclaims"), w.list("controllerrevisions"))
    w.apply(plan)
    return plan


def test_ordered_start_with_pvcs() -> None:
    w = World()
    w.put("statefulsets", sts())
    order = []
    for _ in range(10):
        plan = step_sts(w)
        order += [a.obj["metadata"]["name"] for a in plan.actions if isinstance(a, Create) and a.res.resource == "pods"]
        if len(order) < 3:
            # without readiness the next ordinal waits
            assert not [a for a in step_sts(w).actions if isinstance(a, Create) and a.res.resource == "pods"]
        make_ready(w)
    assert order == ["pg-0", "pg-1", "pg-2"]
    assert sorted(p["metadata"]["name"] for p in w.list("persistentvolumeclaims")) == \
        ["data-pg-0", "data-pg-1", "data-pg-2"]
    p0 = w.objs[("pods", "d", "pg-0")]
    assert p0["spec"]["hostname"] == "pg-0" and p0["spec"]["subdomain"] == "pg"
    assert p0["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-pg-0"}}]
    assert p0["metadata"]["labels"][stl.POD_NAME] == "pg-0" and p0["metadata"]["labels"][stl.POD_INDEX] == "0"
    st = w.objs[("statefulsets", "d", "pg")]["status"]
    assert st["readyReplicas"] == 3 and st["currentRevision"] == st["updateRevision"]


def test_scale_down_keeps_pvcs_and_goes_from_the_top() -> None:
    w = World()
    w.put("statefulsets", sts(5))
    for _ in range(12):
        step_sts(w)
        make_ready(w)
    w.objs[("statefulsets", "d", "pg")]["spec"]["replicas"] = 3
    deleted = []
    for _ in range(6):
        plan = step_sts(w)
        deleted += [a.name for a in plan.actions if isinstance(a, Delete)]
    assert deleted == ["pg-4", "pg-3"]
    assert len(w.list("persistentvolumeclaims")) == 5  # retained


def test_rolling_update_from_highest_with_partition() -> None:
    w = World()
    w.put("statefulsets", sts(3, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))
    for _ in range(8):
        step_sts(w)
        make_ready(w)
    s = w.objs[("statefulsets", "d", "pg")]
    s["spec"]["template"]["spec"]["containers"][0]["image"] = "pg:2"
    deleted = []
    for _ in range(12):
        plan = step_sts(w)
        deleted += [a.name for a in plan.actions if isinstance(a, Delete)]
        make_ready(w)
    assert deleted == ["pg-2", "pg-1"]  # pg-0 is below the partition
    hashes = {p["metadata"]["name"]: p["metadata"]["labels"][REVISION_LABEL] for p in w.list("pods")}
    assert hashes["pg-1"] == hashes["pg-2"] != hashes["pg-0"]
    assert len(w.list("controllerrevisions")) == 2


def test_parallel_creates_all() -> None:
    w = World()
    w.put("statefulsets", sts(3, podManagementPolicy="Parallel"))
    plan = step_sts(w)
    assert len([a for a in plan.actions if isinstance(a, Create) and a.res.resource == "pods"]) == 3


def node(name: str, labels: dict[str, str] | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def ds(**tmpl_spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "d", "uid": "ds-uid", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": "a:1"}], **tmpl_spec}}}}


def step_ds(w: World, nodes: list[Obj]) -> Any:
    plan = dsl.decide(w.objs[("daemonsets", "d", "agent")], nodes, w.list("pods"), w.list("controllerrevisions"), T0)
    w.apply(plan)
    return plan


def test_daemonset_one_per_eligible_node() -> None:
    cp = node("cp", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    nodes = [node("a"), node("b", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]), cp]
    w = World()
    w.put("daemonsets", ds())
    step_ds(w, nodes)
    placed = sorted(dsl.pod_node(p) or "" for p in w.list("pods"))
    assert placed == ["a", "b"]
    p = w.list("pods")[0]
    assert p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchFields"][0]["key"] == "metadata.name"
    assert any(t["key"] == "node.kubernetes.io/unschedulable" for t in p["spec"]["tolerations"])
    assert step_ds(w, nodes).actions == [] or all(not isinstance(a, Create) for a in step_ds(w, nodes).actions)
    # a node joins, a node leaves
    step_ds(w, [node("a"), node("c")])
    assert sorted(dsl.pod_node(p) or "" for p in w.list("pods")) == ["a", "c"]
    # nodeSelector restricts
    w2 = World()
    w2.put("daemonsets", ds(nodeSelector={"disk": "ssd"}))
    step_ds(w2, [node("a"), node("b", {"disk": "ssd"})])
    assert [dsl.pod_node(p) for p in w2.list("pods")] == ["b"]


def test_daemonset_rolling_update_one_at_a_time() -> None:
    nodes = [node(n) for n in "abc"]
    w = World()
    w.put("daemonsets", ds())
    step_ds(w, nodes)
    make_ready(w)
    w.objs[("daemonsets", "d", "agent")]["spec"]["template"]["spec"]["containers"][0]["image"] = "a:2"
    rounds = 0
    while rounds < 12:
        plan = step_ds(w, nodes)
        dels = [a for a in plan.actions if isinstance(a, Delete)]
        assert len(dels) <= 1
        make_ready(w)
        rounds += 1
    st = w.objs[("daemonsets", "d", "agent")]["status"]
    assert st["updatedNumberScheduled"] == 3 and st["desiredNumberScheduled"] == 3


def test_pvc_retention_policy_delete() -> None:
    w = World()
    w.put("statefulsets", sts(3, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete",
                                                                         "whenScaled": "Delete"}))
    for _ in range(10):
        step_sts(w)
        make_ready(w)
    claims = w.list("persistentvolumeclaims")
    assert len(claims) == 3 and claims[0]["metadata"]["ownerReferences"][0]["uid"] == "sts-uid"
    w.objs[("statefulsets", "d", "pg")]["spec"]["replicas"] = 1
    for _ in range(8):
        step_sts(w)
        make_ready(w)
    assert [c["metadata"]["name"] for c in w.list("persistentvolumeclaims")] == ["data-pg-0"]
