"""Autoscaling, policy, networking, RBAC, apiextensions, scheduling and storage kinds.

Defaults: HPA minReplicas 1; autoscaling/v2 metrics default to 80% average CPU utilisation and a given
``behavior`` gets its missing scale-up/scale-down rules (Pods 4 / Percent 100 per 15 s, Max; scale-down window
300 s, Percent 100 per 15 s); NetworkPolicy policyTypes (Ingress, plus Egress when egress rules exist) and port
protocol TCP; RBAC subjects' apiGroup; CRD names.singular/listKind and conversion strategy None; PriorityClass
preemptionPolicy; StorageClass reclaimPolicy Delete and volumeBindingMode Immediate; Ingress pathType is
required in v1, not defaulted.

Validation: required references and enums users get wrong (HPA scaleTargetRef and replica bounds, PDB
minAvailable/maxUnavailable, Ingress rules and backends, NetworkPolicy policyTypes, RBAC roleRef/subjects, CRD
naming).
"""

from __future__ import annotations

from typing import Any

from apiserver.kinds.common import (
    GoValue,
    Obj,
    d,
    go_int_or_string,
    is_int,
    lst,
    path_segment,
    s,
    validate_label_selector,
    validate_positive_int_or_percent,
)
from apiserver.kinds.field import Cause, forbidden, immutable, invalid, not_supported, required
from kemu.api import names
from kemu.api.gofmt import go_quote

RBAC_GROUP = "rbac.authorization.k8s.io"


# --- HPA -------------------------------------------------------------------------------------------------------

def _scale_up_defaults(rules: Any) -> Obj:
    r = dict(rules) if isinstance(rules, dict) else {}
    r.setdefault("stabilizationWindowSeconds", 0)
    r.setdefault("selectPolicy", "Max")
    if not r.get("policies"):
        r["policies"] = [{"type": "Pods", "value": 4, "periodSeconds": 15},
                         {"type": "Percent", "value": 100, "periodSeconds": 15}]
    return r


def _scale_down_defaults(rules: Any) -> Obj:
    r = dict(rules) if isinstance(rules, dict) else {}
    r.setdefault("stabilizationWindowSeconds", 300)
    r.setdefault("selectPolicy", "Max")
    if not r.get("policies"):
        r["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    return r


def default_hpa(obj: Obj, version: str) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if version == "v1":
        return
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scale_up_defaults(behavior.get("scaleUp"))
        behavior["scaleDown"] = _scale_down_defaults(behavior.get("scaleDown"))


def validate_hpa(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out: list[Cause] = []
    ref = d(spec.get("scaleTargetRef"))
    if not s(ref.get("kind")):
        out.append(required("spec.scaleTargetRef.kind"))
    if not s(ref.get("name")):
        out.append(required("spec.scaleTargetRef.name"))
    mn, mx = spec.get("minReplicas"), spec.get("maxReplicas")
    if is_int(mn) and mn < 1:
        out.append(invalid("spec.minReplicas", mn, "must be greater than or equal to 1"))
    if not is_int(mx) or mx < 1:
        out.append(invalid("spec.maxReplicas", mx if is_int(mx) else 0, "must be greater than 0"))
    elif is_int(mn) and mx < mn:
        out.append(invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
    tcu = spec.get("targetCPUUtilizationPercentage")
    if is_int(tcu) and tcu < 1:
        out.append(invalid("spec.targetCPUUtilizationPercentage", tcu, "must be greater than 0"))
    return out


# --- PDB -------------------------------------------------------------------------------------------------------

def validate_pdb(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out: list[Cause] = []
    mina, maxu = spec.get("minAvailable"), spec.get("maxUnavailable")
    if mina is not None and maxu is not None:
        out.append(invalid("spec", go_int_or_string(mina), "minAvailable and maxUnavailable cannot be both set"))
    for key, v in (("minAvailable", mina), ("maxUnavailable", maxu)):
        out.extend(validate_positive_int_or_percent(v, f"spec.{key}"))
        if isinstance(v, str) and v.endswith("%") and v[:-1].isdigit() and int(v[:-1]) > 100:
            out.append(invalid(f"spec.{key}", go_int_or_string(v), "must not be greater than 100%"))
    if spec.get("selector") is not None:
        out.extend(validate_label_selector(spec.get("selector"), "spec.selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("AlwaysAllow", "IfHealthyBudget"):
        out.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]))
    return out


# --- networking ------------------------------------------------------------------------------------------------

def _validate_backend(b: Any, path: str) -> list[Cause]:
    bd = d(b)
    svc, res = bd.get("service"), bd.get("resource")
    if svc is None and res is None:
        return [invalid(path, "", "one backend (`service` or `resource`) must be specified")]
    if svc is not None and res is not None:
        return [invalid(path, "", "cannot set both `service` and `resource` backends")]
    out: list[Cause] = []
    if svc is not None:
        sd = d(svc)
        name = s(sd.get("name"))
        if not name:
            out.append(required(f"{path}.service.name"))
        else:
            out.extend(invalid(f"{path}.service.name", name, m) for m in names.is_dns1035_label(name))
        port = d(sd.get("port"))
        has_name, has_num = bool(s(port.get("name"))), port.get("number") is not None
        if has_name and has_num:
            out.append(invalid(f"{path}.service.port", "", "cannot set both port name & port number"))
        elif not has_name and not has_num:
            out.append(invalid(f"{path}.service.port", "", "port name or number is required"))
        elif has_num and is_int(port.get("number")):
            out.extend(invalid(f"{path}.service.port.number", port["number"], m)
                       for m in names.is_valid_port_num(port["number"]))
    return out


_PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]


def validate_ingress(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out: list[Cause] = []
    rules = lst(spec.get("rules"))
    cls = spec.get("ingressClassName")
    if isinstance(cls, str):
        out.extend(invalid("spec.ingressClassName", cls, m) for m in names.is_dns1123_subdomain(cls))
    if spec.get("defaultBackend") is not None:
        out.extend(_validate_backend(spec.get("defaultBackend"), "spec.defaultBackend"))
    elif not rules:
        out.append(invalid("spec.rules", [], "either `defaultBackend` or `rules` must be specified"))
    for i, rule in enumerate(rules):
        rd, rp = d(rule), f"spec.rules[{i}]"
        host = s(rd.get("host"))
        if host:
            check = host[2:] if host.startswith("*.") else host
            out.extend(invalid(f"{rp}.host", host, m) for m in names.is_dns1123_subdomain(check))
        http = rd.get("http")
        if http is None:
            continue
        paths = lst(d(http).get("paths"))
        if not paths:
            out.append(required(f"{rp}.http.paths"))
        for j, p in enumerate(paths):
            pd, pp = d(p), f"{rp}.http.paths[{j}]"
            pt = pd.get("pathType")
            if pt is None:
                out.append(required(f"{pp}.pathType", "pathType must be specified"))
            elif pt not in _PATH_TYPES:
                out.append(not_supported(f"{pp}.pathType", pt, _PATH_TYPES))
            path_text = s(pd.get("path"))
            if pt in ("Exact", "Prefix") and not path_text.startswith("/"):
                out.append(invalid(f"{pp}.path", path_text, "must be an absolute path"))
            out.extend(_validate_backend(pd.get("backend"), f"{pp}.backend"))
    return out


def default_network_policy(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types
    for direction in ("ingress", "egress"):
        for rule in lst(spec.get(direction)):
            for p in lst(d(rule).get("ports")):
                if isinstance(p, dict) and not p.get("protocol"):
                    p["protocol"] = "TCP"


def validate_network_policy(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out = validate_label_selector(spec.get("podSelector"), "spec.podSelector")
    types = lst(spec.get("policyTypes"))
    for i, t in enumerate(types):
        if t not in ("Ingress", "Egress"):
            out.append(not_supported(f"spec.policyTypes[{i}]", t, ["Egress", "Ingress"]))
    if len(types) > 2:
        out.append(invalid("spec.policyTypes", [str(t) for t in types], "may not specify more than two policyTypes"))
    return out


# --- RBAC ------------------------------------------------------------------------------------------------------

def default_binding(obj: Obj) -> None:
    for subj in lst(obj.get("subjects")):
        if isinstance(subj, dict) and not subj.get("apiGroup"):
            if subj.get("kind") in ("User", "Group"):
                subj["apiGroup"] = RBAC_GROUP
            elif subj.get("kind") == "ServiceAccount":
                subj["apiGroup"] = ""


def validate_role(obj: Obj, namespaced: bool = True) -> list[Cause]:
    out: list[Cause] = []
    for i, rule in enumerate(lst(obj.get("rules"))):
        rd, rp = d(rule), f"rules[{i}]"
        if not lst(rd.get("verbs")):
            out.append(required(f"{rp}.verbs", "verbs must contain at least one value"))
        if lst(rd.get("nonResourceURLs")):
            if namespaced:
                out.append(invalid(f"{rp}.nonResourceURLs", [str(u) for u in lst(rd.get("nonResourceURLs"))],
                                   "namespaced rules cannot apply to non-resource URLs"))
            if lst(rd.get("apiGroups")) or lst(rd.get("resources")) or lst(rd.get("resourceNames")):
                out.append(invalid(f"{rp}.nonResourceURLs", [str(u) for u in lst(rd.get("nonResourceURLs"))],
                                   "rules cannot apply to both regular resources and non-resource URLs"))
        else:
            if not lst(rd.get("apiGroups")):
                out.append(required(f"{rp}.apiGroups", "resource rules must supply at least one api group"))
            if not lst(rd.get("resources")):
                out.append(required(f"{rp}.resources", "resource rules must supply at least one resource"))
    return out


def validate_binding(obj: Obj, namespaced: bool = True) -> list[Cause]:
    out: list[Cause] = []
    ref = d(obj.get("roleRef"))
    if s(ref.get("apiGroup")) != RBAC_GROUP:
        out.append(not_supported("roleRef.apiGroup", s(ref.get("apiGroup")), [RBAC_GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if s(ref.get("kind")) not in kinds:
        out.append(not_supported("roleRef.kind", s(ref.get("kind")), kinds))
    if not s(ref.get("name")):
        out.append(required("roleRef.name"))
    else:
        out.extend(invalid("roleRef.name", s(ref.get("name")), m) for m in path_segment(s(ref.get("name"))))
    for i, subj in enumerate(lst(obj.get("subjects"))):
        sd, sp = d(subj), f"subjects[{i}]"
        if not s(sd.get("name")):
            out.append(required(f"{sp}.name"))
        kind = s(sd.get("kind"))
        if kind not in ("ServiceAccount", "User", "Group"):
            out.append(not_supported(f"{sp}.kind", kind, ["ServiceAccount", "User", "Group"]))
        elif kind == "ServiceAccount":
            if s(sd.get("name")):
                out.extend(invalid(f"{sp}.name", s(sd.get("name")), m)
                           for m in names.is_dns1123_subdomain(s(sd.get("name"))))
            if s(sd.get("apiGroup")):
                out.append(not_supported(f"{sp}.apiGroup", s(sd.get("apiGroup")), [""]))
            if not namespaced and not s(sd.get("namespace")):
                out.append(required(f"{sp}.namespace"))
        elif s(sd.get("apiGroup")) != RBAC_GROUP:
            out.append(not_supported(f"{sp}.apiGroup", s(sd.get("apiGroup")), [RBAC_GROUP]))
    return out


def validate_binding_update(new: Obj, old: Obj, namespaced: bool = True) -> list[Cause]:
    out = validate_binding(new, namespaced)
    if d(new.get("roleRef")) != d(old.get("roleRef")):
        out.append(invalid("roleRef", _go_role_ref(d(new.get("roleRef"))), "cannot change roleRef"))
    return out


def _go_role_ref(ref: Obj) -> GoValue:
    return GoValue(f"rbac.RoleRef{{APIGroup:{go_quote(s(ref.get('apiGroup')))}, Kind:{go_quote(s(ref.get('kind')))}, "
                   f"Name:{go_quote(s(ref.get('name')))}}}")


# --- apiextensions ---------------------------------------------------------------------------------------------

def default_crd(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    n = spec.get("names")
    if isinstance(n, dict):
        kind = s(n.get("kind"))
        if not n.get("singular") and kind:
            n["singular"] = kind.lower()
        if not n.get("listKind") and kind:
            n["listKind"] = kind + "List"
    if not isinstance(spec.get("conversion"), dict):
        spec["conversion"] = {"strategy": "None"}


def validate_crd(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    n = d(spec.get("names"))
    out: list[Cause] = []
    group, plural = s(spec.get("group")), s(n.get("plural"))
    name = s(d(obj.get("metadata")).get("name"))
    if name != f"{plural}.{group}":
        out.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        out.append(required("spec.group"))
    elif len(group.split(".")) < 2:
        out.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = s(spec.get("scope"))
    if scope not in ("Cluster", "Namespaced"):
        out.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]) if scope
                   else required("spec.scope"))
    if not plural:
        out.append(required("spec.names.plural"))
    else:
        out.extend(invalid("spec.names.plural", plural, m) for m in names.is_dns1035_label(plural))
    if not s(n.get("kind")):
        out.append(required("spec.names.kind"))
    versions = lst(spec.get("versions"))
    if not versions:
        out.append(invalid("spec.versions", [], "must have exactly one version marked as storage version"))
    else:
        storage = [v for v in versions if d(v).get("storage") is True]
        if len(storage) != 1:
            out.append(invalid("spec.versions", GoValue("[]apiextensions.CustomResourceDefinitionVersion{...}"),
                               "must have exactly one version marked as storage version"))
    return out


def validate_crd_update(new: Obj, old: Obj) -> list[Cause]:
    out = validate_crd(new)
    nscope, oscope = s(d(new.get("spec")).get("scope")), s(d(old.get("spec")).get("scope"))
    if nscope != oscope:
        out.append(immutable("spec.scope", nscope))
    if s(d(new.get("spec")).get("group")) != s(d(old.get("spec")).get("group")):
        out.append(immutable("spec.group", s(d(new.get("spec")).get("group"))))
    return out


# --- scheduling / storage --------------------------------------------------------------------------------------

def default_priority_class(obj: Obj) -> None:
    if not obj.get("preemptionPolicy"):
        obj["preemptionPolicy"] = "PreemptLowerPriority"


def validate_priority_class(obj: Obj) -> list[Cause]:
    out: list[Cause] = []
    v = obj.get("value")
    name = s(d(obj.get("metadata")).get("name"))
    if is_int(v) and v > 1000000000 and not name.startswith("system-"):
        out.append(forbidden("value", "maximum allowed value of a user defined priority is 1000000000"))
    return out


def default_storage_class(obj: Obj) -> None:
    if not obj.get("reclaimPolicy"):
        obj["reclaimPolicy"] = "Delete"
    if not obj.get("volumeBindingMode"):
        obj["volumeBindingMode"] = "Immediate"


def validate_storage_class(obj: Obj) -> list[Cause]:
    out: list[Cause] = []
    prov = s(obj.get("provisioner"))
    if not prov:
        out.append(required("provisioner"))
    rp = s(obj.get("reclaimPolicy"))
    if rp not in ("Delete", "Retain"):
        out.append(not_supported("reclaimPolicy", rp, ["Delete", "Retain"]))
    vbm = s(obj.get("volumeBindingMode"))
    if vbm not in ("Immediate", "WaitForFirstConsumer"):
        out.append(not_supported("volumeBindingMode", vbm, ["Immediate", "WaitForFirstConsumer"]))
    return out
