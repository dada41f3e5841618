"""Score plugins (pure) with the default profile's weights; every plugin's scores are normalised to 0..100.

Weights (kube-scheduler 1.32 default profile): NodeResourcesFit (LeastAllocated) 1, BalancedAllocation 1,
InterPodAffinity 2, NodeAffinity 2, PodTopologySpread 2, TaintToleration 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from controllers.scheduler.affinity import node_selector_term_matches, term_matches_pod, tolerated
from controllers.scheduler.filters import Cycle, c_counts
from controllers.scheduler.nodeinfo import NodeInfo

Obj = dict[str, Any]
MAX = 100
Scores = dict[str, float]


def _fractions(c: Cycle, ni: NodeInfo) -> list[float]:
    req = c.non_zero_requests
    alloc = ni.allocatable
    out = []
    for r in ("cpu", "memory"):
        cap = alloc.get(r, 0)
        used = ni.non_zero_requested.get(r, 0) + req.get(r, 0)
        out.append(min(used / cap, 1.0) if cap > 0 else 1.0)
    return out


def least_allocated(c: Cycle, nodes: list[NodeInfo]) -> Scores:
    return {ni.name: sum((1 - f) * MAX for f in _fractions(c, ni)) / 2 for ni in nodes}


def balanced_allocation(c: Cycle, nodes: list[NodeInfo]) -> Scores:
    out = {}
    for ni in nodes:
        f = _fractions(c, ni)
        mean = sum(f) / len(f)
        std = math.sqrt(sum((x - mean) ** 2 for x in f) / len(f))
        out[ni.name] = (1 - std) * MAX
    return out


def _normalize(raw: Scores, reverse: bool = False) -> Scores:
    top = max(raw.values(), default=0)
    if top <= 0:
        return {k: (MAX if reverse else 0) for k in raw}
    return {k: (MAX - v * MAX / top) if reverse else v * MAX / top for k, v in raw.items()}


def node_affinity_preferred(c: Cycle, nodes: list[NodeInfo]) -> Scores:
    prefs = ((((c.pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    raw = {ni.name: float(sum(int(p.get("weight") or 0) for p in prefs
                              if node_selector_term_matches(p.get("preference") or {}, ni.node))) for ni in nodes}
    return _normalize(raw)


def taint_toleration_prefer(c: Cycle, nodes: list[NodeInfo]) -> Scores:
    tols = [t for t in c.tolerations if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"]
    raw: Scores = {}
    for ni in nodes:
        taints: list[Obj] = (ni.node.get("spec") or {}).get("taints") or []
        raw[ni.name] = float(len([t for t in taints if t.get("effect") == "PreferNoSchedule"
                                  and not tolerated(tols, t)]))
    return _normalize(raw, reverse=True)


def _preferred(pod: Obj, kind: str) -> list[Obj]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return list(aff.get("preferredDuringSchedulingIgnoredDuringExecution") or [])


def inter_pod_affinity_preferred(c: Cycle, nodes: list[NodeInfo]) -> Scores:
    terms = [(t, 1) for t in _preferred(c.pod, "podAffinity")] + [(t, -1) for t in _preferred(c.pod, "podAntiAffinity")]
    # topology value -> score contribution
    by_topo: dict[tuple[str, str], float] = {}
    for other in c.infos.values():
        for p in (other.pods if terms else other.with_affinity):
            for wt, sign in terms:
                term = wt.get("podAffinityTerm") or {}
                key = term.get("topologyKey", "")
                if key in other.labels and term_matches_pod(term, c.pod, p):
                    k = (key, other.labels[key])
                    by_topo[k] = by_topo.get(k, 0) + sign * int(wt.get("weight") or 0)
            for kind, sign in (("podAffinity", 1), ("podAntiAffinity", -1)):  # existing pods' preferences
                for wt in _preferred(p, kind):
                    term = wt.get("podAffinityTerm") or {}
                    key = term.get("topologyKey", "")
                    if key in other.labels and term_matches_pod(term, p, c.pod):
                        k = (key, other.labels[key])
                        by_topo[k] = by_topo.get(k, 0) + sign * int(wt.get("weight") or 0)
    if not by_topo:
        return {ni.name: 0.0 for ni in nodes}
    raw = {ni.name: sum(v for (key, val), v in by_topo.items() if ni.labels.get(key) == val) for ni in nodes}
    lo, hi = min(raw.values()), max(raw.values())
    if hi == lo:
        return {k: 0.0 for k in raw}
    return {k: (v - lo) * MAX / (hi - lo) for k, v in raw.items()}


def topology_spread_preferred(c: Cycle, nodes: list[NodeInfo]) -> Scores:
    cons = [con for con in (c.pod.get("spec") or {}).get("topologySpreadConstraints") or []
            if con.get("whenUnsatisfiable") == "ScheduleAnyway"]
    if not cons:
        return {ni.name: 0.0 for ni in nodes}
    raw: dict[str, float] = {}
    missing: set[str] = set()
    for ni in nodes:
        total = 0.0
        for con in cons:
            key = con.get("topologyKey", "")
            if key not in ni.labels:
                missing.add(ni.name)
                continue
            counts, _ = c_counts(c, con)
            # weight by log(#domains + 2), as the real plugin, so keys with many domains weigh more
            total += counts.get(ni.labels[key], 0) * math.log(len(counts) + 2)
        raw[ni.name] = total
    present = [v for k, v in raw.items() if k not in missing]
    if not present:
        return {k: 0.0 for k in raw}
    lo, hi = min(present), max(present)
    out = {}
    for k, v in raw.items():
        if k in missing:
            out[k] = 0.0
        elif hi == 0:
            out[k] = MAX
        else:
            out[k] = MAX * (hi + lo - v) / hi
    return out


SCORES: list[tuple[str, int, Callable[[Cycle, list[NodeInfo]], Scores]]] = [
    ("TaintToleration", 3, taint_toleration_prefer),
    ("NodeAffinity", 2, node_affinity_preferred),
    ("NodeResourcesFit", 1, least_allocated),
    ("PodTopologySpread", 2, topology_spread_preferred),
    ("InterPodAffinity", 2, inter_pod_affinity_preferred),
    ("NodeResourcesBalancedAllocation", 1, balanced_allocation),
]


def score_nodes(c: Cycle, nodes: list[NodeInfo]) -> dict[str, float]:
    total = {ni.name: 0.0 for ni in nodes}
    for _, weight, fn in SCORES:
        for name, s in fn(c, nodes).items():
            total[name] += weight * s
    return total
