"""Filter plugins (pure), in the default profile's order. Each returns None (fits) or a Failure.

Reasons are the real plugins' strings, so the FitError message reads like kube-scheduler 1.32's. ``unresolvable``
marks UnschedulableAndUnresolvable failures: preemption cannot help on such nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controllers.scheduler.affinity import (
    required_node_affinity_matches,
    term_matches_pod,
    tolerated,
)
from controllers.scheduler.nodeinfo import NodeInfo
from controllers.scheduler.resources import host_ports, pod_requests
from kemu.api.selectors import SelectorError, label_selector_from_dict

Obj = dict[str, Any]

ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_NODE_NAME = "node(s) didn't match the requested node name"
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS = "Too many pods"
ERR_SPREAD = "node(s) didn't match pod topology spread constraints"
ERR_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


@dataclass(frozen=True)
class Failure:
    reasons: tuple[str, ...]
    unresolvable: bool = False
    plugin: str = ""


@dataclass
class Cycle:
    """Per-pod data computed once per scheduling attempt."""

    pod: Obj
    infos: dict[str, NodeInfo]

    def __post_init__(self) -> None:
        spec = self.pod.get("spec") or {}
        self.tolerations: list[Obj] = list(spec.get("tolerations") or [])
        self.requests = pod_requests(self.pod)
        self.ports = host_ports(self.pod)
        self.namespace = str((self.pod.get("metadata") or {}).get("namespace") or "default")
        self.spread_cache: dict[int, tuple[dict[str, int], bool]] = {}
        self.non_zero_requests = pod_requests(self.pod, non_zero=True)
        # existing pods with required anti-affinity terms that select this pod: (their node, topologyKey)
        self.existing_anti: list[tuple[NodeInfo, str]] = [
            (other, term.get("topologyKey", ""))
            for other in self.infos.values() for p in other.with_affinity
            for term in _required_terms(p, "podAntiAffinity") if term_matches_pod(term, p, self.pod)]


def node_taints(node: Obj) -> list[Obj]:
    """The node's taints; a node whose Ready condition is not True carries the not-ready taint even before the
    node lifecycle controller has written it (the scheduler would see it a moment later anyway)."""
    taints = list((node.get("spec") or {}).get("taints") or [])
    conds = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    if (ready is None or ready.get("status") != "True") and not any(
            t.get("key") in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable") for t in taints):
        taints.append(dict(NOT_READY_TAINT))
    return taints


def node_unschedulable(c: Cycle, ni: NodeInfo) -> Failure | None:
    if (ni.node.get("spec") or {}).get("unschedulable") and not tolerated(c.tolerations, UNSCHEDULABLE_TAINT):
        return Failure((ERR_UNSCHEDULABLE,), True)
    return None


def node_name(c: Cycle, ni: NodeInfo) -> Failure | None:
    want = (c.pod.get("spec") or {}).get("nodeName")
    if want and want != ni.name:
        return Failure((ERR_NODE_NAME,), True)
    return None


def taint_toleration(c: Cycle, ni: NodeInfo) -> Failure | None:
    for t in node_taints(ni.node):
        if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerated(c.tolerations, t):
            return Failure((f"node(s) had untolerated taint {{{t.get('key', '')}: {t.get('value', '')}}}",), True)
    return None


def node_affinity(c: Cycle, ni: NodeInfo) -> Failure | None:
    if not required_node_affinity_matches(c.pod, ni.node):
        return Failure((ERR_NODE_AFFINITY,), True)
    return None


def node_ports(c: Cycle, ni: NodeInfo) -> Failure | None:
    for proto, ip, port in c.ports:
        for uproto, uip, uport in ni.used_ports:
            if proto == uproto and port == uport and (ip == uip or "0.0.0.0" in (ip, uip)):
                return Failure((ERR_PORTS,))
    return None


def node_resources_fit(c: Cycle, ni: NodeInfo) -> Failure | None:
    alloc = ni.allocatable
    reasons: list[str] = []
    if len(ni.pods) + 1 > alloc.get("pods", 110):
        reasons.append(ERR_TOO_MANY_PODS)
    for res in sorted(c.requests, key=lambda r: (r not in ("cpu", "memory", "ephemeral-storage"), r)):
        want = c.requests[res]
        if want <= 0:
            continue
        if want > alloc.get(res, 0) - ni.requested.get(res, 0):
            reasons.append(f"Insufficient {res}")
    return Failure(tuple(reasons)) if reasons else None


def _domain_counts(c: Cycle, constraint: Obj) -> tuple[dict[str, int], bool]:
    """Matching pods per topology value over eligible nodes; and whether the pod matches its own selector."""
    key = constraint.get("topologyKey", "")
    try:
        sel = label_selector_from_dict(constraint.get("labelSelector"))
    except SelectorError:
        sel = label_selector_from_dict(None)
    counts: dict[str, int] = {}
    honor_affinity = constraint.get("nodeAffinityPolicy", "Honor") == "Honor"
    honor_taints = constraint.get("nodeTaintsPolicy", "Ignore") == "Honor"
    for other in c.infos.values():
        value = other.labels.get(key)
        if value is None:
            continue
        if honor_affinity and not required_node_affinity_matches(c.pod, other.node):
            continue
        if honor_taints and taint_toleration(c, other) is not None:
            continue
        n = counts.setdefault(value, 0)
        for p in other.pods:
            pm = p.get("metadata") or {}
            if pm.get("namespace") == c.namespace and sel.matches(pm.get("labels") or {}) and \
                    not pm.get("deletionTimestamp"):
                n += 1
        counts[value] = n
    self_match = sel.matches((c.pod.get("metadata") or {}).get("labels") or {})
    return counts, self_match


def pod_topology_spread(c: Cycle, ni: NodeInfo) -> Failure | None:
    for con in (c.pod.get("spec") or {}).get("topologySpreadConstraints") or []:
        if con.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        value = ni.labels.get(con.get("topologyKey", ""))
        if value is None:
            return Failure((ERR_SPREAD_LABEL,), True)
        counts, self_match = c_counts(c, con)
        min_domains = int(con.get("minDomains") or 1)
        lowest = min(counts.values()) if counts and len(counts) >= min_domains else 0
        skew = counts.get(value, 0) + (1 if self_match else 0) - lowest
        if skew > int(con.get("maxSkew") or 1):
            return Failure((ERR_SPREAD,))
    return None


def c_counts(c: Cycle, con: Obj) -> tuple[dict[str, int], bool]:
    k = id(con)
    if k not in c.spread_cache:
        c.spread_cache[k] = _domain_counts(c, con)
    return c.spread_cache[k]


def _same_topology(a: NodeInfo, b: NodeInfo, key: str) -> bool:
    va = a.labels.get(key)
    return va is not None and va == b.labels.get(key)


def _required_terms(pod: Obj, kind: str) -> list[Obj]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return list(aff.get("requiredDuringSchedulingIgnoredDuringExecution") or [])


def inter_pod_affinity(c: Cycle, ni: NodeInfo) -> Failure | None:
    # existing pods' required anti-affinity against the incoming pod
    for other, key in c.existing_anti:
        if _same_topology(other, ni, key):
            return Failure((ERR_EXISTING_ANTI,))
    # the incoming pod's required affinity: every term needs a matching pod in the node's domain
    terms = _required_terms(c.pod, "podAffinity")
    if terms:
        all_ok = True
        any_match_anywhere = False
        for term in terms:
            found = False
            for other in c.infos.values():
                for p in other.pods:
                    if term_matches_pod(term, c.pod, p):
                        any_match_anywhere = True
                        if _same_topology(other, ni, term.get("topologyKey", "")):
                            found = True
            all_ok = all_ok and found
        if not all_ok:
            # the first pod of a group that selects itself may go anywhere the topology key exists
            self_ok = all(term_matches_pod(t, c.pod, c.pod) and t.get("topologyKey", "") in ni.labels for t in terms)
            if any_match_anywhere or not self_ok:
                return Failure((ERR_AFFINITY,), True)
    for term in _required_terms(c.pod, "podAntiAffinity"):
        for other in c.infos.values():
            if not _same_topology(other, ni, term.get("topologyKey", "")):
                continue
            if any(term_matches_pod(term, c.pod, p) for p in other.pods):
                return Failure((ERR_ANTI_AFFINITY,))
    return None


FILTERS: list[tuple[str, Callable[[Cycle, NodeInfo], Failure | None]]] = [
    ("NodeUnschedulable", node_unschedulable),
    ("NodeName", node_name),
    ("TaintToleration", taint_toleration),
    ("NodeAffinity", node_affinity),
    ("NodePorts", node_ports),
    ("NodeResourcesFit", node_resources_fit),
    ("PodTopologySpread", pod_topology_spread),
    ("InterPodAffinity", inter_pod_affinity),
]


def run_filters(c: Cycle, ni: NodeInfo) -> Failure | None:
    """The first failing plugin's verdict (the framework stops at the first failure, as the real one does)."""
    for name, fn in FILTERS:
        f = fn(c, ni)
        if f is not None:
            return Failure(f.reasons, f.unresolvable, name)
    return None
