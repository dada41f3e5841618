"""ReplicaSet decision (pure): claim pods (adopt orphans matching the selector, release owned pods that no
longer match), create or delete pods toward ``spec.replicas`` (deleting by the real ranking), and compute status.

Inputs: the ReplicaSet, every pod of its namespace (from the cache), ``now``, ``burst`` (500, as the real
controller's burstReplicas). Creates use ``generateName: <rs>-`` and count toward the owner's expectations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controllers.logic.actions import Create, Delete, Event, Patch, Plan, UpdateStatus
from controllers.logic.podutil import deletion_order, is_active, is_available, is_ready, meta, pod_from_template
from kemu.api.meta import format_time, set_condition
from kemu.api.selectors import SelectorError, label_selector_from_dict
from kemu.rest import PODS, Resource

Obj = dict[str, Any]
BURST = 500


def claim(owner: Obj, pods: list[Obj], selector_dict: Obj | None, plan: Plan, res: Resource = PODS) -> list[Obj]:
    """The objects (pods, or a Deployment's ReplicaSets with ``res``) this owner controls after adoption and
    release (ClaimPods / ClaimReplicaSets); the ownerReference patches go into ``plan``."""
    try:
        sel = label_selector_from_dict(selector_dict)
    except SelectorError:
        return []
    uid = meta(owner).get("uid")
    deleting = bool(meta(owner).get("deletionTimestamp"))
    out = []
    for p in pods:
        ref = next((r for r in meta(p).get("ownerReferences") or [] if r.get("controller")), None)
        matches = sel.matches(meta(p).get("labels") or {})
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                out.append(p)
            elif is_active(p):  # release: drop our controller reference
                refs = [r for r in meta(p).get("ownerReferences") or [] if r.get("uid") != uid]
                plan.add(Patch(res, meta(p)["namespace"], meta(p)["name"],
                               {"metadata": {"ownerReferences": refs, "uid": meta(p).get("uid")}}))
            continue
        if matches and not deleting and is_active(p):
            ref_new = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta(owner)["name"],
                       "uid": uid, "controller": True, "blockOwnerDeletion": True}
            refs = [*(meta(p).get("ownerReferences") or []), ref_new]
            plan.add(Patch(res, meta(p)["namespace"], meta(p)["name"],
                           {"metadata": {"ownerReferences": refs, "uid": meta(p).get("uid")}}))
            out.append(p)
    return out


def rs_status(rs: Obj, pods: list[Obj], now: datetime, failure: str | None = None) -> Obj:
    spec = rs.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    tmpl_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    active = [p for p in pods if is_active(p)]
    st: Obj = {
        "replicas": len(active),
        "fullyLabeledReplicas": sum(1 for p in active
                                    if all((meta(p).get("labels") or {}).get(k) == v for k, v in tmpl_labels.items())),
        "readyReplicas": sum(1 for p in active if is_ready(p)),
        "availableReplicas": sum(1 for p in active if is_available(p, min_ready, now)),
        "observedGeneration": meta(rs).get("generation", 0),
    }
    conds = [dict(c) for c in (rs.get("status") or {}).get("conditions") or []]
    if failure:
        holder: Obj = {"conditions": conds}
        set_condition(holder, "ReplicaFailure", "True", "FailedCreate", failure, now)
        conds = holder["conditions"]
    elif conds:
        conds = [c for c in conds if c.get("type") != "ReplicaFailure"]
    if conds:
        st["conditions"] = conds
    return st


def _status_changed(old: Obj, new: Obj) -> bool:
    keys = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration",
            "conditions")
    return any((old.get(k) or 0) != (new.get(k) or 0) for k in keys)


def decide(rs: Obj, ns_pods: list[Obj], now: datetime, res: Resource, can_manage: bool = True,
           burst: int = BURST) -> Plan:
    """``can_manage`` is False while earlier creates/deletes are still unobserved (expectations)."""
    plan = Plan()
    spec = rs.get("spec") or {}
    owned = claim(rs, ns_pods, spec.get("selector"), plan)
    active = [p for p in owned if is_active(p)]
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    key = f"{meta(rs).get('namespace')}/{meta(rs)['name']}"
    if can_manage and not meta(rs).get("deletionTimestamp"):
        diff = len(active) - want
        if diff < 0:
            n = min(-diff, burst)
            for _ in range(n):
                plan.add(Create(PODS, pod_from_template(spec.get("template") or {}, rs, f"{meta(rs)['name']}-"),
                                expectation=key))
        elif diff > 0:
            victims = deletion_order(active)[:min(diff, burst)]
            for p in victims:
                plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""),
                                expectation=key))
                plan.add(Event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta(p)['name']}"))
    new_status = rs_status(rs, owned, now)
    old_status = rs.get("status") or {}
    if _status_changed(old_status, new_status):
        plan.add(UpdateStatus(res, {**rs, "status": new_status}))
    min_ready = int(spec.get("minReadySeconds") or 0)
    if min_ready > 0 and new_status["readyReplicas"] > new_status["availableReplicas"]:
        plan.requeue(float(min_ready))  # a ready pod becomes available later: look again then
    return plan


def create_events(rs: Obj, created: list[Obj], errors: list[str]) -> list[Event]:
    """SuccessfulCreate / FailedCreate events as the real controller words them."""
    evs = [Event(rs, "Normal", "SuccessfulCreate", f"Created pod: {meta(p)['name']}") for p in created]
    evs += [Event(rs, "Warning", "FailedCreate", f"Error creating: {e}") for e in errors]
    return evs


def stamp(now: datetime) -> str:
    return format_time(now)
