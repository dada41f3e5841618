"""Node lifecycle decisions (pure, injected clock).

Health: a node is healthy while its kubelet keeps posting -- the node's Lease (kube-node-lease) renewTime or its
Ready condition's lastHeartbeatTime changes. Like the real controller, staleness is measured on the
controller's own clock from when it last *observed* a change (``Observed``), not from the timestamps, so clock
skew does not matter. After ``grace_s`` (--node-monitor-grace-period, 40 s) without a change every condition
becomes Unknown ("Kubelet stopped posting node status.").

Taints follow Ready: Unknown -> ``node.kubernetes.io/unreachable`` NoSchedule + NoExecute; False ->
``node.kubernetes.io/not-ready`` NoSchedule + NoExecute; True -> neither. Pods on a node whose Ready is not True
are marked Ready=False.

Taint-based eviction: a pod on a node with NoExecute taints is deleted at once if it does not tolerate one of
them, otherwise when the smallest matching ``tolerationSeconds`` since the taint's ``timeAdded`` has passed
(pods without a not-ready/unreachable toleration get ``default_toleration_s``, 300 s, as the
DefaultTolerationSeconds admission plugin would give them); tolerations without seconds keep the pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from controllers.logic.podutil import meta
from controllers.scheduler.affinity import tolerated, tolerates
from kemu.api.meta import format_time, parse_time

Obj = dict[str, Any]
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


@dataclass(frozen=True)
class Observed:
    record: tuple[Any, ...] = ()
    at: datetime | None = None


def heartbeat_record(node: Obj, lease: Obj | None) -> tuple[Any, ...]:
    ready: Obj = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    renew = ((lease or {}).get("spec") or {}).get("renewTime")
    return (ready.get("lastHeartbeatTime"), ready.get("status"), renew)


def observe(prev: Observed, node: Obj, lease: Obj | None, now: datetime) -> Observed:
    rec = heartbeat_record(node, lease)
    if rec != prev.record or prev.at is None:
        return Observed(rec, now)
    return prev


def ready_status(node: Obj) -> str:
    c = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    return str(c.get("status")) if c else "Unknown"


def unknown_conditions(node: Obj, now: datetime) -> list[Obj] | None:
    """The node's conditions turned Unknown (None when they already are)."""
    stamp = format_time(now)
    conds = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    changed = False
    seen = set()
    for c in conds:
        if c.get("type") in CONDITION_TYPES:
            seen.add(c["type"])
            if c.get("status") != "Unknown":
                c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                         lastTransitionTime=stamp)
                changed = True
    for t in CONDITION_TYPES:
        if t not in seen:
            conds.append({"type": t, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                          "message": "Kubelet never posted node status.", "lastHeartbeatTime": None,
                          "lastTransitionTime": stamp})
            changed = True
    return conds if changed else None


def desired_taints(node: Obj, now: datetime) -> list[Obj] | None:
    """The node's taints with the lifecycle ones set from Ready (None when unchanged)."""
    taints = [dict(t) for t in (node.get("spec") or {}).get("taints") or []]
    status = ready_status(node)
    want_key = {"Unknown": UNREACHABLE, "False": NOT_READY}.get(status)
    kept = [t for t in taints if t.get("key") not in (UNREACHABLE, NOT_READY) or t.get("key") == want_key]
    if want_key:
        for eff in ("NoSchedule", "NoExecute"):
            if not any(t.get("key") == want_key and t.get("effect") == eff for t in kept):
                t: Obj = {"key": want_key, "effect": eff}
                if eff == "NoExecute":
                    t["timeAdded"] = format_time(now)
                kept.append(t)
    return None if kept == taints else kept


def eviction_time(pod: Obj, taints: list[Obj], default_toleration_s: float) -> datetime | bool | None:
    """When the pod must go: True = now, a datetime = then, None = never (tolerated forever / no NoExecute)."""
    tols = list((pod.get("spec") or {}).get("tolerations") or [])
    no_exec = [t for t in taints if t.get("effect") == "NoExecute"]
    if not no_exec:
        return None
    for key in (NOT_READY, UNREACHABLE):  # what the DefaultTolerationSeconds admission plugin adds
        if not any((t.get("key") == key and t.get("effect") in (None, "", "NoExecute")) or
                   (t.get("operator") == "Exists" and not t.get("key")) for t in tols):
            tols.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": int(default_toleration_s)})
    if not all(tolerated(tols, t) for t in no_exec):
        return True
    earliest: datetime | None = None
    for taint in no_exec:
        secs = [t.get("tolerationSeconds") for t in tols if tolerates(t, taint)]
        if any(s is None for s in secs):
            continue  # tolerated forever by at least one toleration
        limit = min(int(s) for s in secs if s is not None)
        try:
            added = parse_time(taint["timeAdded"]) if taint.get("timeAdded") else None
        except ValueError:
            added = None
        if added is None:
            return True
        at = added + timedelta(seconds=max(limit, 0))
        earliest = at if earliest is None or at < earliest else earliest
    return earliest


def pod_not_ready_patch(pod: Obj, now: datetime) -> Obj | None:
    """The status patch marking a pod Ready=False (None when it already is)."""
    conds = (pod.get("status") or {}).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") == "False" or (pod.get("status") or {}).get("phase") in (
            "Succeeded", "Failed") or meta(pod).get("deletionTimestamp"):
        return None
    return {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "NodeNotReady",
                                       "message": "", "lastTransitionTime": format_time(now)}]}}
