"""LimitRanger: LimitRange defaults for containers, then min / max / maxLimitRequestRatio checks.

Defaulting (pods, app containers then init containers): per LimitRange, its ``type: Container`` items' ``default``
fill missing limits and ``defaultRequest`` missing requests (the LimitRange's own defaulting is applied first:
default <- max, defaultRequest <- default, then <- min). Earlier LimitRanges win. What was set is recorded in the
``kubernetes.io/limit-ranger`` annotation (``LimitRanger plugin set: cpu, memory request for container c; ...``);
the QoS class is recomputed, so the order against ``pod_defaults`` does not matter.

Checks, per item type: ``Container`` per init/app container, ``Pod`` on the pod's totals, ``PersistentVolumeClaim``
on ``spec.resources.requests``. The first LimitRange with violations gives one 403 Forbidden with Kubernetes'
texts, several in brackets:
``pods "p" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi``. Comparisons use
milli-units as Kubernetes does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from apiserver.admission.errors import aggregate, forbidden
from apiserver.admission.pods import set_qos_class
from apiserver.admission.quantities import Amount, containers, pod_totals, resource_list
from apiserver.admission.shape import dicts, dig, name_of, obj, text

ANNOTATION = "kubernetes.io/limit-ranger"
KIND_RESOURCE = {"Pod": "pods", "PersistentVolumeClaim": "persistentvolumeclaims"}


def _items(limit_range: Mapping[str, Any]) -> list[dict[str, Any]]:
    return dicts(dig(limit_range, "spec", "limits"))


def _quantities(v: Any) -> dict[str, Any]:
    """The entries of a ResourceList that can be quantities (others are skipped)."""
    return {k: q for k, q in obj(v).items() if isinstance(k, str) and isinstance(q, str | int | float)
            and not isinstance(q, bool)}


def defaulted_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """SetDefaults_LimitRangeItem for Container items (a no-op on already-defaulted ones)."""
    out = copy.deepcopy(dict(item))
    if out.get("type") != "Container":
        return out
    default = _quantities(out.get("default"))
    request = _quantities(out.get("defaultRequest"))
    for k, v in _quantities(out.get("max")).items():
        default.setdefault(k, v)
    for k, v in default.items():
        request.setdefault(k, v)
    for k, v in _quantities(out.get("min")).items():
        request.setdefault(k, v)
    out["default"], out["defaultRequest"] = default, request
    return out


def container_defaults(limit_range: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(default limits, default requests) of one LimitRange: its Container items merged, later items winning."""
    limits: dict[str, Any] = {}
    requests: dict[str, Any] = {}
    for item in _items(limit_range):
        if item.get("type") == "Container":
            item = defaulted_item(item)
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    return limits, requests


def apply_defaults(pod: dict[str, Any], limit_ranges: list[dict[str, Any]]) -> None:
    """Each LimitRange in turn fills what is still missing; the annotation reports the last one that set
    something (each LimitRange's mutation rewrites it, as in Kubernetes)."""
    for lr in limit_ranges:
        limits, requests = container_defaults(lr)
        notes: list[str] = []
        for init, prefix in ((False, "container"), (True, "init container")):
            for c in containers(pod, init=init):
                notes += _merge(c, limits, requests, prefix)
        meta = pod.get("metadata")
        if notes and isinstance(meta, dict) and isinstance(meta.get("annotations") or {}, dict):
            meta["annotations"] = {**(meta.get("annotations") or {}),
                                   ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes)}


def _merge(c: dict[str, Any], limits: Mapping[str, Any], requests: Mapping[str, Any], prefix: str) -> list[str]:
    if not limits and not requests:
        return []
    res = c.setdefault("resources", {})
    if not isinstance(res, dict) or not isinstance(res.get("limits") or {}, dict) \
            or not isinstance(res.get("requests") or {}, dict):
        return []  # malformed: validation rejects the pod
    have_limits = dict(res.get("limits") or {})
    have_requests = dict(res.get("requests") or {})
    set_limits = sorted(k for k in limits if k not in have_limits)
    set_requests = sorted(k for k in requests if k not in have_requests)
    for k in set_limits:
        have_limits[k] = limits[k]
    for k in set_requests:
        have_requests[k] = requests[k]
    if have_limits:
        res["limits"] = have_limits
    if have_requests:
        res["requests"] = have_requests
    name = text(c.get("name"))
    notes = []
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {prefix} {name}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {prefix} {name}")
    return notes


# --- constraints --------------------------------------------------------------------------------------------------
def _values(req: Amount | None, lim: Amount | None, enforced: Amount) -> tuple[int, int, int]:
    """Milli-values, as requestLimitEnforcedValues (the values here never overflow milli precision)."""
    return (req.millis() if req else 0, lim.millis() if lim else 0, enforced.millis())


def _min(kind: str, name: str, enforced: Amount, requests: Mapping[str, Amount], limits: Mapping[str, Amount]
         ) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    r, limit, e = _values(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if r < e:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and limit < e:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return None


def _max(kind: str, name: str, enforced: Amount, requests: Mapping[str, Amount], limits: Mapping[str, Amount]
         ) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    r, limit, e = _values(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if limit > e:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and r > e:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def _max_request(kind: str, name: str, enforced: Amount, requests: Mapping[str, Amount]) -> str | None:
    req = requests.get(name)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if req.millis() > enforced.millis():
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def _ratio(kind: str, name: str, enforced: Amount, requests: Mapping[str, Amount], limits: Mapping[str, Amount]
           ) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    r, limit, _ = _values(req, lim, enforced)
    if req is None or r == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or " \
               f"request is 0"
    if lim is None or limit == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
    observed = limit / r
    if observed * 1000 > enforced.millis():
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {observed:f}"
    return None


def _check(kind: str, item: Mapping[str, Any], requests: Mapping[str, Amount], limits: Mapping[str, Amount]
           ) -> list[str]:
    errs: list[str | None] = []
    for name, q in sorted(resource_list(item.get("min")).items()):
        errs.append(_min(kind, name, q, requests, limits))
    for name, q in sorted(resource_list(item.get("max")).items()):
        errs.append(_max(kind, name, q, requests, limits))
    for name, q in sorted(resource_list(item.get("maxLimitRequestRatio")).items()):
        errs.append(_ratio(kind, name, q, requests, limits))
    return [e for e in errs if e]


def pod_violations(pod: Mapping[str, Any], limit_range: Mapping[str, Any]) -> list[str]:
    errs: list[str] = []
    for item in _items(limit_range):
        if item.get("type") == "Container":
            for c in [*containers(pod), *containers(pod, init=True)]:
                errs += _check("Container", item, resource_list(dig(c, "resources", "requests")),
                               resource_list(dig(c, "resources", "limits")))
        elif item.get("type") == "Pod":
            errs += _check("Pod", item, pod_totals(pod, "requests", overhead=False),
                           pod_totals(pod, "limits", overhead=False))
    return errs


def pvc_violations(pvc: Mapping[str, Any], limit_range: Mapping[str, Any]) -> list[str]:
    errs: list[str | None] = []
    requests = resource_list(dig(pvc, "spec", "resources", "requests"))
    for item in _items(limit_range):
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, q in sorted(resource_list(item.get("min")).items()):
            errs.append(_min("PersistentVolumeClaim", name, q, requests, {}))
        for name, q in sorted(resource_list(item.get("max")).items()):
            errs.append(_max_request("PersistentVolumeClaim", name, q, requests))
    return [e for e in errs if e]


def limit_ranger(obj: dict[str, Any], kind: str, limit_ranges: list[dict[str, Any]]) -> None:
    """Mutates a Pod (defaults, annotation, qosClass) and raises ``AdmissionError`` 403 on violations."""
    if kind not in KIND_RESOURCE or not limit_ranges:
        return
    if kind == "Pod":
        apply_defaults(obj, limit_ranges)
        set_qos_class(obj)
    for lr in limit_ranges:
        # The first LimitRange with violations decides the answer (Kubernetes stops there too).
        errs = pod_violations(obj, lr) if kind == "Pod" else pvc_violations(obj, lr)
        if errs:
            raise forbidden(KIND_RESOURCE[kind], name_of(obj), aggregate(errs))
