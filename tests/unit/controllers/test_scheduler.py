"""Scheduler framework: filters, scores, FitError messages and preemption, table-tested on plain dicts."""

from __future__ import annotations

import random
from typing import Any

import pytest

from controllers.scheduler.framework import fit_error, histogram, schedule
from controllers.scheduler.nodeinfo import build_snapshot
from controllers.scheduler.resources import pod_requests

pytestmark = pytest.mark.unit
Obj = dict[str, Any]
CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name: str, cpu: str = "4", mem: str = "8Gi", pods: int = 110, labels: dict[str, str] | None = None,
         taints: list[Obj] | None = None, ready: bool = True, unschedulable: bool = False) -> Obj:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": str(pods)},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pod(name: str, cpu: str | None = None, mem: str | None = None, node_name: str = "", ns: str = "default",
        labels: dict[str, str] | None = None, prio: int = 0, **spec: Any) -> Obj:
    req = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {}, "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": req}}], "nodeName": node_name,
                     "priority": prio, **spec},
            "status": {"phase": "Running" if node_name else "Pending"}}


def run(p: Obj, nodes: list[Obj], pods: list[Obj] | None = None, seed: int = 1) -> Any:
    return schedule(p, build_snapshot(nodes, pods or []), random.Random(seed))


def test_the_real_message_shape() -> None:
    nodes = [node("cp1", taints=[CP_TAINT]), node("cp2", taints=[CP_TAINT]), node("w1", cpu="1")]
    r = run(pod("big", cpu="2"), nodes)
    assert r.node is None
    assert r.message == ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
                         "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: "
                         "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")


def test_histogram_sorts_as_strings() -> None:
    assert histogram(["b", "a", "b"]) == "1 a, 2 b"
    assert fit_error(0, {}) == "no nodes available to schedule pods"


@pytest.mark.parametrize("p,nodes,pods,want", [
    (pod("p", nodeSelector={"disk": "ssd"}), [node("a"), node("b", labels={"disk": "ssd"})], [], "b"),
    (pod("p"), [node("a", unschedulable=True), node("b")], [], "b"),
    (pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]),
     [node("a", unschedulable=True)], [], "a"),
    (pod("p"), [node("a", ready=False), node("b")], [], "b"),
    (pod("p"), [node("a", taints=[{"key": "k", "value": "v", "effect": "NoExecute"}]), node("b")], [], "b"),
    (pod("p", tolerations=[{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}]),
     [node("a", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])], [], "a"),
    (pod("p", tolerations=[{"operator": "Exists"}]), [node("a", taints=[CP_TAINT])], [], "a"),
    (pod("p", cpu="2"), [node("a", cpu="4"), node("b", cpu="4")], [pod("x", cpu="3", node_name="a")], "b"),
    (pod("p"), [node("a", pods=1), node("b", pods=1)], [pod("x", node_name="a")], "b"),
    (pod("p", nodeName="b"), [node("a"), node("b")], [], "b"),
    (pod("p", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["3"]}]}]}}}),
     [node("a", labels={"gen": "3"}), node("b", labels={"gen": "5"})], [], "b"),
    (pod("p", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}}),
     [node("a"), node("b")], [], "a"),
])
def test_filters_place(p: Obj, nodes: list[Obj], pods: list[Obj], want: str) -> None:
    r = run(p, nodes, pods)
    assert r.node == want, r.message


@pytest.mark.parametrize("p,nodes,pods,reason", [
    (pod("p", nodeSelector={"disk": "ssd"}), [node("a")], [], "1 node(s) didn't match Pod's node affinity/selector"),
    (pod("p"), [node("a", unschedulable=True)], [], "1 node(s) were unschedulable"),
    (pod("p"), [node("a", ready=False)], [], "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }"),
    (pod("p", mem="16Gi"), [node("a")], [], "1 Insufficient memory"),
    (pod("p"), [node("a", pods=1)], [pod("x", node_name="a")], "1 Too many pods"),
    (pod("p", nodeName="zz"), [node("a")], [], "1 node(s) didn't match the requested node name"),
])
def test_filter_reasons(p: Obj, nodes: list[Obj], pods: list[Obj], reason: str) -> None:
    r = run(p, nodes, pods)
    assert r.node is None and r.message.startswith(f"0/1 nodes are available: {reason}."), r.message


def test_cpu_and_memory_both_reported() -> None:
    r = run(pod("p", cpu="8", mem="16Gi"), [node("a"), node("b")])
    assert r.message.startswith("0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.")


def test_host_ports() -> None:
    def hp(name: str, n: str = "", ip: str = "") -> Obj:
        p = pod(name, node_name=n)
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080,
                                                **({"hostIP": ip} if ip else {})}]
        return p
    r = run(hp("p"), [node("a"), node("b")], [hp("x", "a")])
    assert r.node == "b"
    r = run(hp("p"), [node("a")], [hp("x", "a")])
    assert "1 node(s) didn't have free ports for the requested pod ports" in r.message


def test_requests_init_containers_and_overhead() -> None:
    p = pod("p", cpu="200m", mem="1Mi")
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]
    p["spec"]["overhead"] = {"cpu": "10m"}
    assert pod_requests(p) == {"cpu": 1010, "memory": 1024 * 1024}
    assert pod_requests(pod("e"), non_zero=True) == {"cpu": 100, "memory": 200 * 1024 * 1024}


ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
AFF = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}]}}


def test_pod_anti_affinity_spreads_and_fails() -> None:
    nodes = [node("a"), node("b")]
    existing = [pod("w1", node_name="a", labels={"app": "web"}, affinity=ANTI)]
    assert run(pod("w2", labels={"app": "web"}, affinity=ANTI), nodes, existing).node == "b"
    existing.append(pod("w2", node_name="b", labels={"app": "web"}, affinity=ANTI))
    r = run(pod("w3", labels={"app": "web"}, affinity=ANTI), nodes, existing)
    assert r.node is None
    # the existing pods' anti-affinity is checked first, as in the real plugin
    assert "2 node(s) didn't satisfy existing pods anti-affinity rules" in r.message
    assert "2 No preemption victims found for incoming pod" in r.message
    # a plain pod is kept off by the existing pods' anti-affinity too
    r = run(pod("other", labels={"app": "web"}), nodes, existing)
    assert r.node is None


def test_pod_affinity_follows_zone() -> None:
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"}), node("c", labels={"zone": "z2"})]
    existing = [pod("db", node_name="b", labels={"app": "db"})]
    for seed in range(5):
        assert run(pod("web", affinity=AFF), nodes, existing, seed=seed).node in ("b", "c")
    r = run(pod("web", affinity=AFF), nodes, [])
    assert r.node is None and "3 node(s) didn't match pod affinity rules" in r.message
    # a pod that matches its own affinity may start the group
    r = run(pod("db1", labels={"app": "db"}, affinity=AFF), nodes, [])
    assert r.node is not None


def test_topology_spread_do_not_schedule() -> None:
    con = {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
           "labelSelector": {"matchLabels": {"app": "s"}}}
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"}), node("n", labels={})]
    existing = [pod("s1", node_name="a", labels={"app": "s"})]
    r = run(pod("s2", labels={"app": "s"}, topologySpreadConstraints=[con]), nodes, existing)
    assert r.node == "b"
    existing.append(pod("s2", node_name="a", labels={"app": "s"}))
    r = run(pod("s3", labels={"app": "s"}, topologySpreadConstraints=[con]), nodes, existing)
    assert r.node == "b"
    ignore = {**con, "nodeAffinityPolicy": "Ignore"}  # z2 counts as a domain though the pod may not go there
    r = run(pod("s3", labels={"app": "s"}, topologySpreadConstraints=[ignore], nodeSelector={"zone": "z1"}),
            nodes, existing)
    assert r.node is None
    assert r.message.startswith("0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
                                "2 node(s) didn't match Pod's node affinity/selector.")
    r = run(pod("s3", labels={"app": "s"}, topologySpreadConstraints=[con]), nodes[2:], [])
    assert "1 node(s) didn't match pod topology spread constraints (missing required label)" in r.message


def test_scores_prefer_empty_then_preferences() -> None:
    nodes = [node("a"), node("b")]
    assert run(pod("p", cpu="1"), nodes, [pod("x", cpu="2", mem="2Gi", node_name="a")]).node == "b"
    pref = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "fast", "operator": "Exists"}]}}]}}
    nodes = [node("a"), node("b", labels={"fast": "1"})]
    assert all(run(pod("p", affinity=pref), nodes, seed=s).node == "b" for s in range(5))
    soft = [node("a", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), node("b")]
    assert all(run(pod("p"), soft, seed=s).node == "b" for s in range(5))
    spread = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
              "labelSelector": {"matchLabels": {"app": "s"}}}
    existing = [pod("s1", node_name="a", labels={"app": "s"}), pod("s2", node_name="a", labels={"app": "s"})]
    assert run(pod("s3", labels={"app": "s"}, topologySpreadConstraints=[spread]), nodes, existing).node == "b"


def test_seeded_tie_break_is_deterministic_and_spreads() -> None:
    nodes = [node(f"n{i}") for i in range(4)]
    picks = [run(pod("p"), nodes, seed=s).node for s in range(40)]
    assert picks == [run(pod("p"), nodes, seed=s).node for s in range(40)]
    assert len(set(picks)) == 4


def test_preemption_picks_lowest_priority_victims() -> None:
    nodes = [node("a", cpu="2"), node("b", cpu="2")]
    existing = [pod("lo-a", cpu="1500m", node_name="a", prio=10), pod("hi-b", cpu="1500m", node_name="b", prio=50)]
    r = run(pod("urgent", cpu="1", prio=100), nodes, existing)
    assert r.node is None and r.nominated == "a"
    assert [v["metadata"]["name"] for v in r.victims] == ["lo-a"]
    # equal priority cannot preempt
    r = run(pod("same", cpu="1", prio=10), nodes, existing)
    assert r.nominated is None and "2 No preemption victims found for incoming pod" in r.message
    # preemptionPolicy Never
    r = run(pod("never", cpu="1", prio=100, preemptionPolicy="Never"), nodes, existing)
    assert r.nominated is None and r.message.endswith("preemption: not eligible due to preemptionPolicy=Never.")


def test_preemption_reprieves_what_it_can() -> None:
    nodes = [node("a", cpu="3")]
    existing = [pod("v1", cpu="1", node_name="a", prio=1), pod("v2", cpu="1", node_name="a", prio=2),
                pod("v3", cpu="1", node_name="a", prio=3)]
    r = run(pod("p", cpu="1", prio=10), nodes, existing)
    assert r.nominated == "a" and [v["metadata"]["name"] for v in r.victims] == ["v1"]


def test_space_freed_by_preemption_is_kept_for_the_nominated_pod() -> None:
    nodes = [node("a", cpu="2")]
    infos = build_snapshot(nodes, [])
    nominated = {"a": [pod("vip", cpu="2", prio=100)]}
    r = schedule(pod("small", cpu="1", prio=1), infos, random.Random(1), nominated=nominated)
    assert r.node is None and "1 Insufficient cpu" in r.message
    # a pod of higher priority than the nominated one is not held back
    assert schedule(pod("boss", cpu="1", prio=1000), infos, random.Random(1), nominated=nominated).node == "a"
    # the nominated pod itself fits
    assert schedule(nominated["a"][0], infos, random.Random(1), nominated=nominated).node == "a"


def test_volume_prefilter() -> None:
    from controllers.scheduler.framework import prefilter_error, unbound_claims
    p = pod("db")
    p["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db"}}]
    assert unbound_claims(p, {}) == 'persistentvolumeclaim "data-db" not found'
    pending = {"default/data-db": {"metadata": {"name": "data-db"}, "status": {"phase": "Pending"}}}
    msg = unbound_claims(p, pending)
    assert msg == "pod has unbound immediate PersistentVolumeClaims"
    assert prefilter_error(3, msg) == ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                                       "preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
                                       "scheduling.")
    bound = {"default/data-db": {"metadata": {"name": "data-db"}, "status": {"phase": "Bound"}}}
    assert unbound_claims(p, bound) is None
