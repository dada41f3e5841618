"""Pod predicates shared by controllers (pure): active, ready, available, and the ReplicaSet deletion ranking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kemu.api.meta import get_condition, parse_time

Obj = dict[str, Any]
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def is_active(pod: Obj) -> bool:
    """Not terminal and not being deleted (controller.FilterActivePods)."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and \
        not meta(pod).get("deletionTimestamp")


def is_ready(pod: Obj) -> bool:
    c = get_condition(pod.get("status"), "Ready")
    return c is not None and c.get("status") == "True"


def ready_since(pod: Obj) -> datetime | None:
    c = get_condition(pod.get("status"), "Ready")
    if c is None or c.get("status") != "True" or not c.get("lastTransitionTime"):
        return None
    try:
        return parse_time(c["lastTransitionTime"])
    except ValueError:
        return None


def is_available(pod: Obj, min_ready_s: int, now: datetime) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_s <= 0:
        return True
    since = ready_since(pod)
    return since is not None and (now - since).total_seconds() >= min_ready_s


def restarts(pod: Obj) -> int:
    return max([int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or []]
               or [0])


def _phase_rank(pod: Obj) -> int:
    return {"Pending": 0, "Unknown": 1, "Running": 2}.get((pod.get("status") or {}).get("phase") or "Pending", 0)


def _cost(pod: Obj) -> int:
    try:
        return int((meta(pod).get("annotations") or {}).get(DELETION_COST, "0"))
    except ValueError:
        return 0


def deletion_order(pods: list[Obj], related: list[Obj] | None = None) -> list[Obj]:
    """Pods sorted so the first ones should be deleted first (ActivePodsWithRanks' Less):
    unassigned first; Pending < Unknown < Running; not ready before ready; lower pod-deletion-cost first;
    more pods of the same owner on the node first; recently ready first; more restarts first; newer first."""
    per_node: dict[str, int] = {}
    for p in related if related is not None else pods:
        n = (p.get("spec") or {}).get("nodeName")
        if n:
            per_node[n] = per_node.get(n, 0) + 1

    def key(p: Obj) -> tuple[Any, ...]:
        node = (p.get("spec") or {}).get("nodeName") or ""
        since = ready_since(p)
        created = meta(p).get("creationTimestamp") or ""
        return (1 if node else 0, _phase_rank(p), 1 if is_ready(p) else 0, _cost(p),
                -per_node.get(node, 0) if node else 0,
                # recently ready first: later readiness sorts earlier (no readiness sorts first)
                (0, "") if since is None else (1, _desc(since.isoformat())),
                -restarts(p), _desc(created), meta(p).get("name", ""))
    return sorted(pods, key=key)


def _desc(s: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in s)


def pod_from_template(template: Obj, owner: Obj, generate_name: str, extra_labels: dict[str, str] | None = None,
                      name: str | None = None) -> Obj:
    """A Pod for ``owner`` from its pod template (labels, annotations, finalizers, spec), with a controller ref."""
    tm = template.get("metadata") or {}
    md: Obj = {"labels": {**(tm.get("labels") or {}), **(extra_labels or {})},
               "namespace": meta(owner).get("namespace"),
               "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": meta(owner)["name"], "uid": meta(owner)["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]}
    if name:
        md["name"] = name
    else:
        md["generateName"] = generate_name
    if tm.get("annotations"):
        md["annotations"] = dict(tm["annotations"])
    if tm.get("finalizers"):
        md["finalizers"] = list(tm["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": dict(template.get("spec") or {})}
