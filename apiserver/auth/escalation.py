"""RBAC privilege-escalation prevention for writes of Roles, ClusterRoles and their bindings.

As kube-apiserver's RBAC registry: a user may create or update a (Cluster)Role only with rules it already holds
(in the object's namespace; cluster-wide for ClusterRoles) unless it is in ``system:masters`` or may ``escalate``
that role; an ``aggregationRule`` needs full (cluster-admin) authority. A (Cluster)RoleBinding may only reference a
role whose rules the user holds, unless the user may ``bind`` that role. Updates that touch nothing but
garbage-collection fields (ownerReferences, finalizers) are not checked.

Refusals are 403 Forbidden worded as Kubernetes: ``roles.rbac.authorization.k8s.io "r" is forbidden: user "alice"
(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:`` followed by one
line per missing permission in compact form (``{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.admission.shape import dicts, dig, text
from apiserver.auth.attributes import Attributes, RbacSource
from apiserver.auth.rbac import RBAC_GROUP, ClusterRoleIndex, authorize, visit_rules
from apiserver.auth.user import SYSTEM_MASTERS, UserInfo
from apiserver.errors import ApiError

Obj = dict[str, Any]
RESOURCE_OF = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
               "ClusterRoleBinding": "clusterrolebindings"}
FULL_AUTHORITY: list[Obj] = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                             {"verbs": ["*"], "nonResourceURLs": ["*"]}]
GC_FIELDS = ("ownerReferences", "finalizers", "resourceVersion", "managedFields", "generation")


def _list(rule: Obj, key: str) -> list[str]:
    v = rule.get(key)
    return [s for s in v if isinstance(s, str)] if isinstance(v, list) else []


# --- rule coverage (Kubernetes' policy comparator) ----------------------------------------------------------------
def breakdown(rule: Obj) -> list[Obj]:
    """Equivalent rules with one group, resource and verb (and at most one resource name) each."""
    out: list[Obj] = []
    names = _list(rule, "resourceNames")
    for group in _list(rule, "apiGroups"):
        for resource in _list(rule, "resources"):
            for verb in _list(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                out += [{**base, "resourceNames": [n]} for n in names] if names else [base]
    for url in _list(rule, "nonResourceURLs"):
        for verb in _list(rule, "verbs"):
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def _resources_cover(owner: list[str], wanted: list[str]) -> bool:
    if "*" in owner or set(wanted) <= set(owner):
        return True
    for path in wanted:
        if path in owner:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owner:
            return False
    return True


def _urls_cover(owner: list[str], wanted: list[str]) -> bool:
    return all(any(o == p or (o.endswith("*") and p.startswith(o.rstrip("*"))) for o in owner) for p in wanted)


def rule_covers(owner: Obj, sub: Obj) -> bool:
    verbs, groups = _list(owner, "verbs"), _list(owner, "apiGroups")
    owner_names, sub_names = _list(owner, "resourceNames"), _list(sub, "resourceNames")
    names_ok = not owner_names if not sub_names else (not owner_names or set(sub_names) <= set(owner_names))
    return (("*" in verbs or set(_list(sub, "verbs")) <= set(verbs))
            and ("*" in groups or set(_list(sub, "apiGroups")) <= set(groups))
            and _resources_cover(_list(owner, "resources"), _list(sub, "resources"))
            and _urls_cover(_list(owner, "nonResourceURLs"), _list(sub, "nonResourceURLs"))
            and names_ok)


def uncovered(owner_rules: list[Obj], wanted: list[Obj]) -> list[Obj]:
    return [sub for rule in wanted for sub in breakdown(rule) if not any(rule_covers(o, sub) for o in owner_rules)]


def compact(rules: list[Obj]) -> list[Obj]:
    """Merge the verbs of single-group, single-resource rules (at most one name) into one rule each."""
    out: list[Obj] = []
    simple: dict[tuple[str, str, str | None], Obj] = {}
    for rule in rules:
        names = _list(rule, "resourceNames")
        if len(_list(rule, "apiGroups")) == 1 and len(_list(rule, "resources")) == 1 and len(names) <= 1 \
                and not _list(rule, "nonResourceURLs"):
            key = (rule["apiGroups"][0], rule["resources"][0], names[0] if names else None)
            if key in simple:
                simple[key]["verbs"] += [v for v in _list(rule, "verbs") if v not in simple[key]["verbs"]]
            else:
                simple[key] = copy.deepcopy(rule)
        else:
            out.append(rule)
    return out + list(simple.values())


def _go_quoted_list(items: list[str]) -> str:
    return "[" + " ".join(json.dumps(i) for i in items) + "]"


def compact_string(rule: Obj) -> str:
    parts = [f"{label}:{_go_quoted_list(_list(rule, key))}" for label, key in (
        ("APIGroups", "apiGroups"), ("Resources", "resources"), ("NonResourceURLs", "nonResourceURLs"),
        ("ResourceNames", "resourceNames"), ("Verbs", "verbs")) if _list(rule, key)]
    return "{" + ", ".join(parts) + "}"


def escalation_message(user: UserInfo, missing: list[Obj]) -> str:
    lines = sorted({compact_string(r) for r in compact(missing)})
    return (f'user "{user.name}" (groups={_go_quoted_list(list(user.groups))}) is attempting to grant RBAC '
            f"permissions not currently held:\n" + "\n".join(lines))


# --- the registry checks --------------------------------------------------------------------------------------------
def _forbidden(resource: str, name: str, detail: str) -> ApiError:
    return ApiError(403, "Forbidden", f'{resource}.{RBAC_GROUP} "{name}" is forbidden: {detail}',
                    {"name": name, "group": RBAC_GROUP, "kind": resource})


def _allowed(user: UserInfo, verb: str, resource: str, name: str, namespace: str, source: RbacSource) -> bool:
    return authorize(Attributes(user, verb, True, api_group=RBAC_GROUP, api_version="*", resource=resource,
                                namespace=namespace, name=name), source)[0]


def _held_rules(user: UserInfo, namespace: str, source: RbacSource) -> list[Obj]:
    return [rule for _, rule, _ in visit_rules(user, namespace, source) if rule is not None]


def _gc_only(obj: Obj, old: Obj | None) -> bool:
    if old is None:
        return False

    def strip(o: Obj) -> Obj:
        o = copy.deepcopy(o)
        meta = o.get("metadata")
        if isinstance(meta, dict):
            for f in GC_FIELDS:
                meta.pop(f, None)
        return o

    return strip(obj) == strip(old)


def check_rbac_write(user: UserInfo, kind: str, obj: Obj, source: RbacSource, old: Obj | None = None) -> None:
    """Raise ``ApiError`` 403 (or 404 for a binding to a missing role) when writing ``obj`` -- a Role,
    ClusterRole, RoleBinding or ClusterRoleBinding -- would grant ``user`` more than it holds."""
    if kind not in RESOURCE_OF or SYSTEM_MASTERS in user.groups or _gc_only(obj, old):
        return
    resource = RESOURCE_OF[kind]
    name = text(dig(obj, "metadata", "name"))
    namespace = text(dig(obj, "metadata", "namespace")) if kind in ("Role", "RoleBinding") else ""
    if kind in ("Role", "ClusterRole"):
        if _allowed(user, "escalate", resource, name, namespace, source):
            return
        rules = dicts(obj.get("rules"))
        held = _held_rules(user, namespace, source)
        missing = uncovered(held, rules)
        if missing:
            raise _forbidden(resource, name, escalation_message(user, missing))
        if kind == "ClusterRole" and obj.get("aggregationRule") and uncovered(held, FULL_AUTHORITY):
            raise _forbidden(resource, name, "must have cluster-admin privileges to use the aggregationRule")
        return
    ref = dig(obj, "roleRef")
    ref_kind, ref_name = text(dig(ref, "kind")), text(dig(ref, "name"))
    if ref_kind in ("Role", "ClusterRole") and _allowed(user, "bind", RESOURCE_OF[ref_kind], ref_name, namespace,
                                                        source):
        return
    if ref_kind == "ClusterRole":
        roles = ClusterRoleIndex(source.cluster_roles())
        if roles.get(ref_name) is None:
            raise ApiError(404, "NotFound", f'clusterroles.{RBAC_GROUP} "{ref_name}" not found',
                           {"name": ref_name, "group": RBAC_GROUP, "kind": "clusterroles"})
        wanted = roles.rules(ref_name)
    elif ref_kind == "Role":
        found = [r for r in source.roles(namespace) if dig(r, "metadata", "name") == ref_name]
        if not found:
            raise ApiError(404, "NotFound", f'roles.{RBAC_GROUP} "{ref_name}" not found',
                           {"name": ref_name, "group": RBAC_GROUP, "kind": "roles"})
        wanted = dicts(found[0].get("rules"))
    else:
        raise _forbidden(resource, name, f'unsupported role reference kind: "{ref_kind}"')
    missing = uncovered(_held_rules(user, namespace, source), wanted)
    if missing:
        raise _forbidden(resource, name, escalation_message(user, missing))
