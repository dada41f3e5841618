"""RBAC authorization over plain JSON RBAC objects, with Kubernetes' semantics and reason strings.

Decision (``authorize``): the request is allowed when any rule reachable from a binding that names the user allows it:
every ClusterRoleBinding applies everywhere; RoleBindings of the request's namespace apply there and reference a Role
of that namespace or a ClusterRole. Subjects: ``User`` by name, ``Group`` by membership, ``ServiceAccount`` by the
``system:serviceaccount:<ns>:<name>`` user name (a RoleBinding subject without namespace means the binding's).
Rules: verbs / apiGroups / resources (``"*"``, ``"pods/log"``, ``"*/scale"``) / resourceNames (empty = any) for
resource requests; verbs / nonResourceURLs (``"*"`` or a trailing ``*`` prefix) for the rest.

Aggregated ClusterRoles (``aggregationRule.clusterRoleSelectors``) are resolved here, transitively, from the labels
of the other ClusterRoles -- what kube-controller-manager's clusterrole-aggregation controller would have written --
so ``admin``/``edit``/``view`` work without that controller; rules a controller already wrote are kept too.

Reasons are Kubernetes': ``RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`` when allowed;
when denied, empty unless a binding could not be resolved (``RBAC: clusterrole.rbac.authorization.k8s.io "y" not
found``). Deny is "no opinion": there is no other authorizer behind RBAC here, so the caller answers 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from apiserver.admission.shape import dicts, dig, obj, text
from apiserver.auth.attributes import Attributes, RbacSource
from apiserver.auth.user import UserInfo, service_account_username
from kemu.api.selectors import LabelSelector, SelectorError, label_selector_from_dict

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"


# --- rule matching ------------------------------------------------------------------------------------------------
def _strings(rule: Obj, key: str) -> list[str]:
    v = rule.get(key)
    return [s for s in v if isinstance(s, str)] if isinstance(v, list) else []


def verb_matches(rule: Obj, verb: str) -> bool:
    verbs = _strings(rule, "verbs")
    return "*" in verbs or verb in verbs


def api_group_matches(rule: Obj, group: str) -> bool:
    groups = _strings(rule, "apiGroups")
    return "*" in groups or group in groups


def resource_matches(rule: Obj, combined_resource: str, subresource: str) -> bool:
    for res in _strings(rule, "resources"):
        if res in ("*", combined_resource):
            return True
        # "*/scale" grants the scale subresource of every resource.
        if subresource and res == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: Obj, name: str) -> bool:
    names = _strings(rule, "resourceNames")
    return not names or name in names


def non_resource_url_matches(rule: Obj, path: str) -> bool:
    for url in _strings(rule, "nonResourceURLs"):
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    if not verb_matches(rule, attrs.verb):
        return False
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (api_group_matches(rule, attrs.api_group) and resource_matches(rule, combined, attrs.subresource)
                and resource_name_matches(rule, attrs.name))
    return non_resource_url_matches(rule, attrs.path)


# --- subjects -----------------------------------------------------------------------------------------------------
def applies_to_user(user: UserInfo, subject: Obj, namespace: str) -> bool:
    kind, name = subject.get("kind"), text(subject.get("name"))
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = text(subject.get("namespace")) or namespace
        if not sa_namespace:
            return False
        return user.name == service_account_username(sa_namespace, name)
    return False


def _first_applying(user: UserInfo, binding: Obj, namespace: str) -> Obj | None:
    for subject in dicts(binding.get("subjects")):
        if applies_to_user(user, subject, namespace):
            return subject
    return None


def describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind, name = text(subject.get("kind")), text(subject.get("name"))
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{text(subject.get("namespace")) or binding_namespace}"'
    return f'{kind} "{name}"'


# --- roles --------------------------------------------------------------------------------------------------------
class ClusterRoleIndex:
    """ClusterRoles by name, with aggregated rules resolved (memoized, cycle-safe)."""

    def __init__(self, cluster_roles: Iterable[Obj]) -> None:
        self.by_name: dict[str, Obj] = {}
        for cr in cluster_roles:
            if isinstance(cr, dict):
                self.by_name[text(dig(cr, "metadata", "name"))] = cr
        self._rules: dict[str, list[Obj]] = {}

    def get(self, name: str) -> Obj | None:
        return self.by_name.get(name)

    def rules(self, name: str, _visiting: frozenset[str] = frozenset()) -> list[Obj]:
        if name in self._rules:
            return self._rules[name]
        cr = self.by_name.get(name)
        if cr is None:
            return []
        own = dicts(cr.get("rules"))
        agg = cr.get("aggregationRule")
        if not isinstance(agg, dict):
            self._rules[name] = own
            return own
        selectors: list[LabelSelector] = []
        for sel in dicts(agg.get("clusterRoleSelectors")):
            try:
                selectors.append(label_selector_from_dict(sel))
            except (SelectorError, TypeError, AttributeError, ValueError):
                continue  # a malformed selector selects nothing
        out = list(own)
        visiting = _visiting | {name}
        for other in sorted(self.by_name):
            if other in visiting:
                continue
            labels = {k: v for k, v in obj(dig(self.by_name[other], "metadata", "labels")).items()
                      if isinstance(k, str) and isinstance(v, str)}
            if any(s.matches(labels) for s in selectors):
                for rule in self.rules(other, visiting):
                    if rule not in out:
                        out.append(rule)
        if not _visiting:
            self._rules[name] = out
        return out


def _role_rules(role_ref: Obj, namespace: str, roles: ClusterRoleIndex, source: RbacSource
                ) -> tuple[list[Obj], str | None]:
    kind, name = role_ref.get("kind"), text(role_ref.get("name"))
    if kind == "ClusterRole":
        if roles.get(name) is None:
            return [], f'clusterrole.{RBAC_GROUP} "{name}" not found'
        return roles.rules(name), None
    if kind == "Role":
        for role in source.roles(namespace):
            if isinstance(role, dict) and dig(role, "metadata", "name") == name:
                return dicts(role.get("rules")), None
        return [], f'role.{RBAC_GROUP} "{name}" not found'
    return [], f'unsupported role reference kind: "{kind}"'


def visit_rules(user: UserInfo, namespace: str, source: RbacSource) -> Iterator[tuple[str, Obj | None, str | None]]:
    """(binding description, rule, resolution error) for every rule that applies to ``user`` in ``namespace``
    (cluster-wide bindings first, as Kubernetes' rule resolver walks them)."""
    roles = ClusterRoleIndex(source.cluster_roles())
    for crb in source.cluster_role_bindings():
        subject = _first_applying(user, crb, "") if isinstance(crb, dict) else None
        if subject is None:
            continue
        ref = obj(crb.get("roleRef"))
        rules, err = _role_rules(ref, "", roles, source)
        if err is not None:
            yield "", None, err
            continue
        desc = (f'ClusterRoleBinding "{text(dig(crb, "metadata", "name"))}" of {text(ref.get("kind"))} '
                f'"{text(ref.get("name"))}" to {describe_subject(subject, "")}')
        for rule in rules:
            yield desc, rule, None
    if not namespace:
        return
    for rb in source.role_bindings(namespace):
        subject = _first_applying(user, rb, namespace) if isinstance(rb, dict) else None
        if subject is None:
            continue
        ref = obj(rb.get("roleRef"))
        rules, err = _role_rules(ref, namespace, roles, source)
        if err is not None:
            yield "", None, err
            continue
        rb_ns = text(dig(rb, "metadata", "namespace")) or namespace
        desc = (f'RoleBinding "{text(dig(rb, "metadata", "name"))}/{rb_ns}" of {text(ref.get("kind"))} '
                f'"{text(ref.get("name"))}" to {describe_subject(subject, rb_ns)}')
        for rule in rules:
            yield desc, rule, None


def aggregate_message(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several deduplicated inside brackets."""
    seen: list[str] = []
    for e in errors:
        if e not in seen:
            seen.append(e)
    if not seen:
        return ""
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def authorize(attrs: Attributes, source: RbacSource) -> tuple[bool, str]:
    errors: list[str] = []
    for desc, rule, err in visit_rules(attrs.user, attrs.namespace, source):
        if rule is not None and rule_allows(attrs, rule):
            return True, f"RBAC: allowed by {desc}"
        if err is not None:
            errors.append(err)
    return False, f"RBAC: {aggregate_message(errors)}" if errors else ""


def self_subject_rules(user: UserInfo, namespace: str, source: RbacSource) -> dict[str, Any]:
    """A SelfSubjectRulesReview ``status``: every applicable rule as-is (kubectl compacts them for display)."""
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    errors: list[str] = []
    for _, rule, err in visit_rules(user, namespace, source):
        if err is not None:
            errors.append(err)
        if rule is None:
            continue
        if _strings(rule, "resources"):
            rr: Obj = {"verbs": _strings(rule, "verbs")}
            for key in ("apiGroups", "resources", "resourceNames"):
                if _strings(rule, key):
                    rr[key] = _strings(rule, key)
            resource_rules.append(rr)
        if _strings(rule, "nonResourceURLs"):
            non_resource_rules.append({"verbs": _strings(rule, "verbs"),
                                       "nonResourceURLs": _strings(rule, "nonResourceURLs")})
    status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    if errors:
        status["evaluationError"] = aggregate_message(errors)
    return status
