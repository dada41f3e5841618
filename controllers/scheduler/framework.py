"""One scheduling attempt (pure): filter every node, score the feasible ones, pick the best with a seeded
tie-break; on failure build kube-scheduler's FitError message and, for pods with a priority, try preemption.

Message shape (1.32): ``0/N nodes are available: <sorted "count reason" list>.`` followed by the preemption
post-filter message ``preemption: 0/N nodes are available: <...>.`` (``Preemption is not helpful for
scheduling`` on nodes whose failure is unresolvable, ``No preemption victims found for incoming pod`` where
removing lower-priority pods would not help). Reason strings are sorted as strings, as the real histogram is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from controllers.scheduler.filters import Cycle, Failure, run_filters
from controllers.scheduler.nodeinfo import NodeInfo
from controllers.scheduler.scores import score_nodes

Obj = dict[str, Any]
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


@dataclass
class Result:
    node: str | None
    failures: dict[str, Failure] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    message: str = ""
    nominated: str | None = None
    victims: list[Obj] = field(default_factory=list)


def histogram(reasons: list[str]) -> str:
    counts: dict[str, int] = {}
    for r in reasons:
        counts[r] = counts.get(r, 0) + 1
    return ", ".join(sorted(f"{n} {r}" for r, n in counts.items()))


def fit_error(num_nodes: int, failures: dict[str, Failure], post_filter: str = "") -> str:
    if num_nodes == 0:
        return "no nodes available to schedule pods"
    reasons = [r for f in failures.values() for r in f.reasons]
    msg = f"0/{num_nodes} nodes are available: {histogram(reasons)}."
    if post_filter:
        msg += f" {post_filter}."
    return msg


def prefilter_error(num_nodes: int, message: str) -> str:
    """A PreFilter rejection: the reason stands alone, every node counts as not helped by preemption."""
    if num_nodes == 0:
        return "no nodes available to schedule pods"
    return (f"0/{num_nodes} nodes are available: {message}. preemption: 0/{num_nodes} nodes are available: "
            f"{num_nodes} {NOT_HELPFUL}.")


def unbound_claims(pod: Obj, claims: dict[str, Obj]) -> str | None:
    """VolumeBinding's PreFilter: the pod's PVCs must exist and (Immediate binding) be Bound.
    ``claims``: ``namespace/name`` -> PVC."""
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    unbound = False
    for v in (pod.get("spec") or {}).get("volumes") or []:
        name = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if not name:
            continue
        pvc = claims.get(f"{ns}/{name}")
        if pvc is None:
            return f'persistentvolumeclaim "{name}" not found'
        if (pvc.get("metadata") or {}).get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if (pvc.get("status") or {}).get("phase") != "Bound":
            unbound = True
    return "pod has unbound immediate PersistentVolumeClaims" if unbound else None


def priority(pod: Obj) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def find_fit(pod: Obj, infos: dict[str, NodeInfo], nominated: dict[str, list[Obj]] | None = None,
             ) -> tuple[list[NodeInfo], dict[str, Failure], Cycle]:
    """Filter every node. Pods nominated to a node (after preempting there) with at least this pod's priority
    count as already running on it, so freed space is kept for them (the real scheduler's two-pass check:
    the pod must fit both with and without them)."""
    c = Cycle(pod, infos)
    feasible: list[NodeInfo] = []
    failures: dict[str, Failure] = {}
    me = (pod.get("metadata") or {}).get("uid")
    for name in sorted(infos):
        ni = infos[name]
        f = run_filters(c, ni)
        ahead = [p for p in (nominated or {}).get(name, [])
                 if (p.get("metadata") or {}).get("uid") != me and priority(p) >= priority(pod)]
        if f is None and ahead:
            with_nominated = ni.without([])
            for p in ahead:
                with_nominated.add_pod(p)
            f = run_filters(Cycle(pod, {**infos, name: with_nominated}), with_nominated)
        if f is None:
            feasible.append(ni)
        else:
            failures[name] = f
    return feasible, failures, c


def select_host(scores: dict[str, float], rng: random.Random) -> str:
    best = max(scores.values())
    ties = sorted(n for n, s in scores.items() if abs(s - best) < 1e-9)
    return ties[rng.randrange(len(ties))]


def schedule(pod: Obj, infos: dict[str, NodeInfo], rng: random.Random, preempt: bool = True,
             nominated: dict[str, list[Obj]] | None = None) -> Result:
    feasible, failures, c = find_fit(pod, infos, nominated)
    if feasible:
        if len(feasible) == 1:
            return Result(feasible[0].name, failures, {feasible[0].name: 0.0})
        scores = score_nodes(c, feasible)
        return Result(select_host(scores, rng), failures, scores)
    post = ""
    res = Result(None, failures)
    if preempt and infos:
        from controllers.scheduler.preemption import preempt as run_preemption
        cand = run_preemption(pod, infos, failures)
        if cand is not None:
            res.nominated, res.victims = cand.node, cand.victims
        else:
            lines = [NOT_HELPFUL if f.unresolvable else NO_VICTIMS for f in failures.values()]
            if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
                post = "preemption: not eligible due to preemptionPolicy=Never"
            else:
                post = f"preemption: 0/{len(infos)} nodes are available: {histogram(lines)}"
    res.message = fit_error(len(infos), failures, post)
    return res
