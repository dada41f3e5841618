"""ResourceQuota: charge a new object against every quota of its namespace, or refuse it.

Usage per object (Kubernetes' quota evaluators):
- every resource: ``count/<resource>[.<group>]`` = 1; the legacy names ``pods``, ``services``, ``secrets``,
  ``configmaps``, ``persistentvolumeclaims``, ``replicationcontrollers``, ``resourcequotas`` too;
- pods (not Succeeded/Failed): ``requests.cpu``/``cpu``, ``requests.memory``/``memory``, ``limits.cpu``,
  ``limits.memory`` (and ephemeral-storage) from the pod's totals;
- services: ``services.loadbalancers``, ``services.nodeports`` (one per port of a NodePort/LoadBalancer service);
- persistentvolumeclaims: ``requests.storage`` and the per-StorageClass names.

Check (``resource_quota_check``): a quota is interesting when its ``spec.hard`` names something the object uses.
If it limits cpu/memory, every container must state them: 403 ``failed quota: q: must specify limits.cpu for:
c1,c2; requests.memory for: c1``. The new usage ``used + requested`` must stay within hard for every such name,
else 403 ``exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`` (only the exceeded names). Used
comes from ``usage_of(quota)`` -- the quota's ``status.used`` unless the caller recomputes it; a name absent there
counts as zero. On updates (``old`` given) only growth is charged. Scopes (``spec.scopes`` and
``spec.scopeSelector``) apply to pods: Terminating, NotTerminating, BestEffort, NotBestEffort,
CrossNamespacePodAffinity and PriorityClass (In/NotIn/Exists); a scoped quota does not apply to other resources.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from apiserver.admission.errors import forbidden
from apiserver.admission.quantities import (
    ZERO,
    Amount,
    add_lists,
    containers,
    count,
    pod_qos_class,
    pod_totals,
    pretty,
    resource_list,
)
from apiserver.admission.shape import dicts, dig, name_of, obj, seq, strs, text

LEGACY_COUNTED = frozenset({"pods", "services", "secrets", "configmaps", "persistentvolumeclaims",
                            "replicationcontrollers", "resourcequotas"})
BUILTIN_GROUPS = {
    "deployments": "apps", "replicasets": "apps", "statefulsets": "apps", "daemonsets": "apps",
    "controllerrevisions": "apps", "jobs": "batch", "cronjobs": "batch",
    "horizontalpodautoscalers": "autoscaling", "poddisruptionbudgets": "policy",
    "ingresses": "networking.k8s.io", "networkpolicies": "networking.k8s.io", "ingressclasses": "networking.k8s.io",
    "endpointslices": "discovery.k8s.io", "leases": "coordination.k8s.io", "roles": "rbac.authorization.k8s.io",
    "rolebindings": "rbac.authorization.k8s.io", "csistoragecapacities": "storage.k8s.io",
}
COMPUTE = ("cpu", "memory", "ephemeral-storage")
# Names that require every container to state the matching request/limit (the pod evaluator's validation set).
VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"


def _split(resource: str, group: str) -> tuple[str, str]:
    if "." in resource and not group:
        resource, group = resource.split(".", 1)
    return resource, group or BUILTIN_GROUPS.get(resource, "")


def _compute_usage(requests: Mapping[str, Amount], limits: Mapping[str, Amount]) -> dict[str, Amount]:
    out: dict[str, Amount] = {}
    for name in COMPUTE:
        if name in requests:
            out[name] = requests[name]
            out["requests." + name] = requests[name]
        if name in limits:
            out["limits." + name] = limits[name]
    for name, q in requests.items():
        if name not in COMPUTE and "/" in name:  # extended resources are quota'd by request only
            out["requests." + name] = q
    return out


def _pod_terminal(pod: Mapping[str, Any]) -> bool:
    return dig(pod, "status", "phase") in ("Succeeded", "Failed")


def object_usage(resource: str, o: Mapping[str, Any], group: str = "") -> dict[str, Amount]:
    resource, group = _split(resource, group)
    if resource == "pods" and not group and _pod_terminal(o):
        return {}
    usage: dict[str, Amount] = {f"count/{resource}.{group}" if group else f"count/{resource}": count(1)}
    if group:
        return usage
    if resource in LEGACY_COUNTED:
        usage[resource] = count(1)
    spec = obj(o.get("spec"))
    if resource == "pods":
        usage.update(_compute_usage(pod_totals(o, "requests"), pod_totals(o, "limits")))
    elif resource == "services":
        kind = text(spec.get("type")) or "ClusterIP"
        if kind == "LoadBalancer":
            usage["services.loadbalancers"] = count(1)
        if kind in ("LoadBalancer", "NodePort"):
            usage["services.nodeports"] = count(len(seq(spec.get("ports"))))
    elif resource == "persistentvolumeclaims":
        storage = resource_list(dig(spec, "resources", "requests")).get("storage")
        sc = text(spec.get("storageClassName"))
        if storage is not None:
            usage["requests.storage"] = storage
        if sc:
            usage[f"{sc}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = count(1)
            if storage is not None:
                usage[f"{sc}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return usage


def _scope_selectors(quota: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``spec.scopes`` (as Exists) plus ``spec.scopeSelector.matchExpressions``."""
    spec = obj(quota.get("spec"))
    out: list[dict[str, Any]] = [{"scopeName": s, "operator": "Exists"} for s in strs(spec.get("scopes"))]
    out += dicts(dig(spec, "scopeSelector", "matchExpressions"))
    return out


def _cross_namespace_affinity(pod: Mapping[str, Any]) -> bool:
    for kind in ("podAffinity", "podAntiAffinity"):
        terms = obj(dig(pod, "spec", "affinity", kind))
        all_terms = dicts(terms.get("requiredDuringSchedulingIgnoredDuringExecution")) + [
            obj(w.get("podAffinityTerm")) for w in dicts(terms.get("preferredDuringSchedulingIgnoredDuringExecution"))]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in all_terms):
            return True
    return False


def _scope_matches(selector: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    scope, op = text(selector.get("scopeName")), text(selector.get("operator"))
    spec = obj(pod.get("spec"))
    if scope == "PriorityClass":
        pc = text(spec.get("priorityClassName"))
        values = strs(selector.get("values"))
        # Kubernetes matches a label selector against {"PriorityClass": <name>}: the key is always present.
        return {"Exists": bool(pc), "In": pc in values, "NotIn": pc not in values,
                "DoesNotExist": False}.get(op, False)
    deadline = spec.get("activeDeadlineSeconds") is not None
    best_effort = pod_qos_class(pod) == "BestEffort"
    present = {"Terminating": deadline, "NotTerminating": not deadline, "BestEffort": best_effort,
               "NotBestEffort": not best_effort,
               "CrossNamespacePodAffinity": _cross_namespace_affinity(pod)}.get(scope)
    if present is None:
        return False
    return present if op == "Exists" else (not present if op == "DoesNotExist" else False)


def _scopes_match(quota: Mapping[str, Any], resource: str, obj: Mapping[str, Any]) -> bool:
    selectors = _scope_selectors(quota)
    if not selectors:
        return True
    if resource != "pods":
        return False
    return all(_scope_matches(sel, obj) for sel in selectors)


def _missing_constraints(pod: Mapping[str, Any], required: set[str]) -> str | None:
    required = required & set(VALIDATION_SET)
    if not required:
        return None
    missing: dict[str, set[str]] = {}
    for c in [*containers(pod), *containers(pod, init=True)]:
        have = set(_compute_usage(resource_list(dig(c, "resources", "requests")),
                                  resource_list(dig(c, "resources", "limits"))))
        for name in required - have:
            missing.setdefault(name, set()).add(text(c.get("name")))
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)


def _used_of(result: Any) -> Mapping[str, Any]:
    """``usage_of`` may hand back the used mapping itself or a quota object (then its status.used)."""
    if isinstance(result, Mapping) and ("status" in result or "spec" in result or "metadata" in result):
        return obj(dig(result, "status", "used"))
    return result if isinstance(result, Mapping) else {}


def resource_quota_check(obj: dict[str, Any], resource: str, quotas: list[dict[str, Any]],
                         usage_of: Callable[[dict[str, Any]], Any], group: str = "",
                         old: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The quotas charged with ``obj`` (copies with ``status.used`` raised, ``status.hard`` = ``spec.hard``);
    raises ``AdmissionError`` 403 when a quota is exceeded or a required request/limit is missing. For an update,
    ``old`` is the stored object and only the growth is charged (a PVC expanded, a Service turned NodePort)."""
    res, grp = _split(resource, group)
    name = name_of(obj)
    requested = object_usage(res, obj, grp)
    if old is not None:
        before = object_usage(res, old, grp)
        requested = {k: Amount(v.value - before[k].value, v.fmt) if k in before else v
                     for k, v in requested.items()}
        requested = {k: v for k, v in requested.items() if v.value > 0}
        if not requested:
            return []
    charged: list[dict[str, Any]] = []
    for quota in quotas:
        hard = resource_list(dig(quota, "spec", "hard"))
        restricted = set(hard) & set(requested)
        if res == "pods" and not grp:
            restricted |= set(hard) & set(VALIDATION_SET)
        if not restricted or not _scopes_match(quota, res, obj):
            continue
        qname = name_of(quota)
        if res == "pods" and not grp:
            missing = _missing_constraints(obj, restricted)
            if missing:
                raise forbidden("pods", name, f"failed quota: {qname}: {missing}")
        used = resource_list(_used_of(usage_of(quota)))
        delta = {k: v for k, v in requested.items() if k in restricted}
        new_used = add_lists(used, delta)
        exceeded = sorted(k for k in delta if new_used[k].millis() > hard[k].millis())
        if exceeded:
            shown_used = {k: used.get(k, ZERO) for k in exceeded}
            raise forbidden(res, name, f"exceeded quota: {qname}, requested: {pretty(delta, exceeded)}, "
                                       f"used: {pretty(shown_used)}, limited: {pretty(hard, exceeded)}", grp)
        updated = copy.deepcopy(quota)
        if not isinstance(updated.get("status"), dict):
            updated["status"] = {}
        status = updated["status"]
        status["hard"] = {k: str(v) for k, v in hard.items()}
        status["used"] = {**{k: str(v) for k, v in used.items()}, **{k: str(new_used[k]) for k in sorted(delta)}}
        for k in hard:
            status["used"].setdefault(k, "0")
        charged.append(updated)
    return charged


def quota_usage(resource: str, objects: list[dict[str, Any]], group: str = "",
                hard: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Total usage of ``objects`` (all of one resource in one namespace) as a ``status.used`` map; with ``hard``,
    exactly its names (zero when unused)."""
    total: dict[str, Amount] = {}
    for o in objects:
        total = add_lists(total, object_usage(resource, o, group))
    if hard is not None:
        return {k: str(total.get(k, ZERO)) for k in sorted(hard)}
    return {k: str(v) for k, v in sorted(total.items())}
