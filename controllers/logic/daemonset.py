"""DaemonSet decision (pure): one pod per eligible node, placed by the default scheduler through a required
node affinity on ``metadata.name`` (as Kubernetes does since 1.12), with the DaemonSet default tolerations;
pods on nodes that stop qualifying (or that vanish) are deleted; RollingUpdate replaces pods of an older
revision at most ``maxUnavailable`` at a time (OnDelete leaves them).

Eligibility: the pod template's nodeSelector/required node affinity match the node, and every NoSchedule/
NoExecute taint of the node is tolerated (the default tolerations cover not-ready, unreachable, the pressure
taints and unschedulable, so cordoned and NotReady nodes keep their daemons).
"""

from __future__ import annotations

import json
from typing import Any

from controllers.logic.actions import Create, Delete, Plan, UpdateStatus
from controllers.logic.deployment import int_or_percent
from controllers.logic.podutil import is_active, is_available, meta, pod_from_template
from controllers.logic.revisions import REVISION_LABEL, find_revision, hash_of, new_revision
from controllers.scheduler.affinity import required_node_affinity_matches, tolerated
from kemu.rest import CONTROLLERREVISIONS, DAEMONSETS, PODS

Obj = dict[str, Any]
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def with_default_tolerations(tols: list[Obj], host_network: bool) -> list[Obj]:
    out = list(tols)
    extra = list(DEFAULT_TOLERATIONS)
    if host_network:
        extra.append({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"})
    for t in extra:
        if not any(x.get("key") == t["key"] and x.get("effect") == t["effect"] for x in out):
            out.append(t)
    return out


def should_run(ds: Obj, node: Obj) -> bool:
    tmpl = ((ds.get("spec") or {}).get("template") or {})
    pod = {"spec": tmpl.get("spec") or {}}
    if not required_node_affinity_matches(pod, node):
        return False
    tols = with_default_tolerations(list(pod["spec"].get("tolerations") or []),
                                    bool(pod["spec"].get("hostNetwork")))
    return all(tolerated(tols, t) for t in (node.get("spec") or {}).get("taints") or []
               if t.get("effect") in ("NoSchedule", "NoExecute"))


def ds_pod(ds: Obj, node: str, rev_hash: str) -> Obj:
    spec = ds.get("spec") or {}
    pod = pod_from_template(spec.get("template") or {}, ds, f"{meta(ds)['name']}-", {REVISION_LABEL: rev_hash})
    ps = json.loads(json.dumps(pod["spec"]))
    ps["tolerations"] = with_default_tolerations(list(ps.get("tolerations") or []), bool(ps.get("hostNetwork")))
    aff = ps.setdefault("affinity", {})
    na = aff.setdefault("nodeAffinity", {})
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    pod["spec"] = ps
    return pod


def pod_node(pod: Obj) -> str | None:
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        return str(node)
    terms = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for t in terms:
        for f in t.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("values"):
                return str(f["values"][0])
    return None


def decide(ds: Obj, nodes: list[Obj], pods: list[Obj], revs: list[Obj], now: Any) -> Plan:
    plan = Plan()
    md = meta(ds)
    spec = ds.get("spec") or {}
    if md.get("deletionTimestamp"):
        return plan
    key = f"{md['namespace']}/{md['name']}"
    tmpl = spec.get("template") or {}
    rev = find_revision(revs, tmpl)
    if rev is None:
        rev = new_revision(ds, tmpl, revs, int((ds.get("status") or {}).get("collisionCount") or 0))
        plan.add(Create(CONTROLLERREVISIONS, rev))
    h = hash_of(rev)
    min_ready = int(spec.get("minReadySeconds") or 0)
    active = [p for p in pods if is_active(p)]
    by_node: dict[str, list[Obj]] = {}
    for p in active:
        n = pod_node(p)
        if n:
            by_node.setdefault(n, []).append(p)
    node_names = {n["metadata"]["name"] for n in nodes}
    eligible = {n["metadata"]["name"] for n in nodes if should_run(ds, n)}
    for p in pods:  # failed daemon pods are replaced
        if (p.get("status") or {}).get("phase") == "Failed" and not meta(p).get("deletionTimestamp"):
            plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
    for name in sorted(eligible):
        here = sorted(by_node.get(name, []), key=lambda p: meta(p).get("creationTimestamp") or "")
        if not here:
            plan.add(Create(PODS, ds_pod(ds, name, h), expectation=key))
        for extra in here[1:]:
            plan.add(Delete(PODS, meta(extra)["namespace"], meta(extra)["name"], meta(extra).get("uid", ""),
                            expectation=key))
    misscheduled = 0
    for name, here in sorted(by_node.items()):
        if name not in eligible:
            if name in node_names:
                misscheduled += 1
            for p in here:
                plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
    # rolling update
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        max_unavail = int_or_percent(((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)),
                                     len(eligible), True) or 1
        current = [by_node[n][0] for n in sorted(eligible) if by_node.get(n)]
        unavailable = len(eligible) - sum(1 for p in current if is_available(p, min_ready, now))
        old = [p for p in current if (meta(p).get("labels") or {}).get(REVISION_LABEL) != h]
        old.sort(key=lambda p: (is_available(p, min_ready, now), pod_node(p) or ""))  # unavailable old pods first
        budget = max_unavail - unavailable
        for p in old:
            if is_available(p, min_ready, now):
                if budget <= 0:
                    break
                budget -= 1
            plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
    sched = [by_node[n][0] for n in sorted(eligible) if by_node.get(n)]
    old_status = ds.get("status") or {}
    st: Obj = {"currentNumberScheduled": len(sched), "numberMisscheduled": misscheduled,
               "desiredNumberScheduled": len(eligible),
               "numberReady": sum(1 for p in sched if is_available(p, 0, now)),
               "updatedNumberScheduled": sum(1 for p in sched
                                             if (meta(p).get("labels") or {}).get(REVISION_LABEL) == h),
               "numberAvailable": sum(1 for p in sched if is_available(p, min_ready, now)),
               "observedGeneration": md.get("generation", 0)}
    st["numberUnavailable"] = st["desiredNumberScheduled"] - st["numberAvailable"]
    if any(old_status.get(k) != v for k, v in st.items()):
        plan.add(UpdateStatus(DAEMONSETS, {**ds, "status": {**old_status, **st}}))
    return plan
