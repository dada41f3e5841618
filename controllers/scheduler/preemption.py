"""Preemption (pure): find a node where evicting lower-priority pods lets the pod fit, with the fewest, least
important victims -- DefaultPreemption's selection.

Per candidate node (only nodes whose failure is resolvable): remove every pod of lower priority; if the pod
still does not fit, the node is out. Otherwise reprieve victims from the most important down (higher priority,
then earlier start), keeping each one whose return still lets the pod fit. Among candidates pick, in order:
fewest PDB violations, lowest highest-victim priority, lowest sum of victim priorities, fewest victims, latest
start of the highest-priority victim, then node name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controllers.scheduler.filters import Cycle, Failure, run_filters
from controllers.scheduler.nodeinfo import NodeInfo

Obj = dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    node: str
    victims: list[Obj]
    pdb_violations: int = 0


def _prio(p: Obj) -> int:
    return int((p.get("spec") or {}).get("priority") or 0)


def _start(p: Obj) -> str:
    return str((p.get("status") or {}).get("startTime") or (p.get("metadata") or {}).get("creationTimestamp") or "")


def _fits(pod: Obj, infos: dict[str, NodeInfo], node: str, ni: NodeInfo) -> bool:
    trial = dict(infos)
    trial[node] = ni
    return run_filters(Cycle(pod, trial), ni) is None


def victims_on(pod: Obj, infos: dict[str, NodeInfo], node: str) -> list[Obj] | None:
    ni = infos[node]
    prio = _prio(pod)
    lower = [p for p in ni.pods if _prio(p) < prio and not (p.get("metadata") or {}).get("deletionTimestamp")]
    if not lower:
        return None
    stripped = ni.without(lower)
    if not _fits(pod, infos, node, stripped):
        return None
    victims: list[Obj] = []
    # most important first: they are the ones we try hardest to keep
    for p in sorted(lower, key=lambda p: (-_prio(p), _start(p))):
        trial = stripped.with_pod(p)
        if _fits(pod, infos, node, trial):
            stripped = trial
        else:
            victims.append(p)
    return victims


def preempt(pod: Obj, infos: dict[str, NodeInfo], failures: dict[str, Failure]) -> Candidate | None:
    if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
        return None
    cands: list[Candidate] = []
    for node in sorted(failures):
        if failures[node].unresolvable:
            continue
        v = victims_on(pod, infos, node)
        if v:
            cands.append(Candidate(node, v))
    if not cands:
        return None

    def rank(c: Candidate) -> tuple[Any, ...]:
        prios = [_prio(v) for v in c.victims]
        top = max(prios)
        top_start = max((_start(v) for v in c.victims if _prio(v) == top), default="")
        return (c.pdb_violations, top, sum(prios), len(c.victims), _neg(top_start), c.node)

    return min(cands, key=rank)


def _neg(s: str) -> tuple[int, ...]:
    """Sort key that orders later timestamps first."""
    return tuple(-ord(ch) for ch in s)
