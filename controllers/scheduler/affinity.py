"""Matching helpers (pure): tolerations vs taints, node selector terms, pod affinity terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kemu.api.selectors import SelectorError, label_selector_from_dict

Obj = dict[str, Any]


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """v1 Toleration.ToleratesTaint."""
    eff = toleration.get("effect") or ""
    if eff and eff != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if not key:  # an empty key with Equal matches nothing
        return False
    return bool((toleration.get("value") or "") == (taint.get("value") or ""))


def tolerated(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def _num(s: str) -> int | None:
    try:
        return int(s)
    except ValueError:
        return None


def _requirement(expr: Mapping[str, Any], value: str | None) -> bool:
    op = expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        a, b = _num(value), _num(values[0])
        if a is None or b is None:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_selector_term_matches(term: Mapping[str, Any], node: Obj) -> bool:
    """A NodeSelectorTerm: AND of its matchExpressions (labels) and matchFields (metadata.name); empty -> no match."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    if not all(_requirement(e, labels.get(e.get("key"))) for e in exprs):
        return False
    return all(f.get("key") == "metadata.name" and _requirement(f, meta.get("name")) for f in fields)


def required_node_affinity_matches(pod: Obj, node: Obj) -> bool:
    """nodeSelector (all labels equal) AND required nodeAffinity (OR over nodeSelectorTerms)."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if req is None:
        return True
    return any(node_selector_term_matches(t, node) for t in req.get("nodeSelectorTerms") or [])


def term_namespaces(term: Mapping[str, Any], pod: Obj) -> set[str] | None:
    """Namespaces a pod affinity term applies to; None means all (an empty namespaceSelector)."""
    nss = set(term.get("namespaces") or [])
    if term.get("namespaceSelector") is not None and not (term["namespaceSelector"] or {}):
        return None
    if not nss:
        nss = {str((pod.get("metadata") or {}).get("namespace") or "default")}
    return nss


def term_matches_pod(term: Mapping[str, Any], owner: Obj, other: Obj) -> bool:
    """Does ``other`` match the pod affinity ``term`` declared by ``owner``?"""
    nss = term_namespaces(term, owner)
    ometa = other.get("metadata") or {}
    if nss is not None and ometa.get("namespace") not in nss:
        return False
    try:
        sel = label_selector_from_dict(term.get("labelSelector"))
    except SelectorError:
        return False
    return sel.matches(ometa.get("labels") or {})
