"""Privilege-escalation prevention on RBAC writes: coverage, escalate/bind verbs, messages."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.auth import StaticRbac, UserInfo, bootstrap_objects, check_rbac_write
from apiserver.auth.escalation import compact_string, rule_covers
from apiserver.errors import ApiError

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def rule(verbs: str, groups: str, resources: str, names: str = "") -> Obj:
    out: Obj = {"verbs": verbs.split(), "apiGroups": ["" if g == "core" else g for g in groups.split()],
                "resources": resources.split()}
    if names:
        out["resourceNames"] = names.split()
    return out


@pytest.mark.parametrize(("owner", "sub", "covers"), [
    (rule("*", "*", "*"), rule("get", "core", "pods"), True),
    (rule("get list", "core", "pods"), rule("get", "core", "pods"), True),
    (rule("get", "core", "pods"), rule("list", "core", "pods"), False),
    (rule("get", "apps", "pods"), rule("get", "core", "pods"), False),
    (rule("get", "core", "*/scale"), rule("get", "core", "deployments/scale"), True),
    (rule("get", "core", "pods"), rule("get", "core", "pods/log"), False),
    (rule("get", "core", "pods", "a b"), rule("get", "core", "pods", "a"), True),
    (rule("get", "core", "pods", "a"), rule("get", "core", "pods"), False),
    (rule("get", "core", "pods"), rule("get", "core", "pods", "a"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/api/*"]}, {"verbs": ["get"], "nonResourceURLs": ["/api/v1"]}, True),
    ({"verbs": ["get"], "nonResourceURLs": ["/api"]}, {"verbs": ["get"], "nonResourceURLs": ["/apis"]}, False),
])
def test_rule_covers(owner: Obj, sub: Obj, covers: bool) -> None:
    assert rule_covers(owner, sub) is covers


def test_compact_string() -> None:
    assert compact_string(rule("create delete", "core apps", "pods", "x")) == \
        '{APIGroups:["" "apps"], Resources:["pods"], ResourceNames:["x"], Verbs:["create" "delete"]}'
    assert compact_string({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}) == \
        '{NonResourceURLs:["/metrics"], Verbs:["get"]}'


def _source() -> StaticRbac:
    objs = bootstrap_objects()
    src = StaticRbac([o for o in objs if o["kind"] == "ClusterRole"],
                     [o for o in objs if o["kind"] == "ClusterRoleBinding"], [], [])
    src.role_list.append({"kind": "Role", "metadata": {"name": "pod-admin", "namespace": "team"},
                          "rules": [rule("get list create delete", "core", "pods")]})
    src.role_binding_list += [
        {"kind": "RoleBinding", "metadata": {"name": "lead-admin", "namespace": "team"},
         "roleRef": {"kind": "ClusterRole", "name": "admin"}, "subjects": [{"kind": "User", "name": "lead"}]},
        {"kind": "RoleBinding", "metadata": {"name": "dev-edit", "namespace": "team"},
         "roleRef": {"kind": "ClusterRole", "name": "edit"}, "subjects": [{"kind": "User", "name": "dev"}]},
    ]
    src.cluster_role_list.append({"kind": "ClusterRole", "metadata": {"name": "binder"}, "rules": [
        rule("bind", "rbac.authorization.k8s.io", "clusterroles", "view"),
        rule("escalate", "rbac.authorization.k8s.io", "roles"),
        rule("create", "rbac.authorization.k8s.io", "roles rolebindings")]})
    src.cluster_role_binding_list.append(
        {"kind": "ClusterRoleBinding", "metadata": {"name": "binder"}, "roleRef": {"kind": "ClusterRole",
                                                                                     "name": "binder"},
         "subjects": [{"kind": "User", "name": "delegate"}]})
    return src


LEAD = UserInfo("lead", groups=("system:authenticated",))
DELEGATE = UserInfo("delegate", groups=("system:authenticated",))
ADMIN = UserInfo("admin", groups=("system:masters",))


def role(name: str, rules: list[Obj], ns: str = "team") -> Obj:
    return {"kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules}


def binding(name: str, kind: str, role_name: str, ns: str = "team") -> Obj:
    meta: Obj = {"name": name, **({"namespace": ns} if ns else {})}
    return {"metadata": meta, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name},
            "subjects": [{"kind": "User", "name": "someone"}]}


@pytest.mark.parametrize(("user", "kind", "obj", "error"), [
    (LEAD, "Role", role("r", [rule("get list", "core", "pods secrets")]), None),        # admin holds these
    (LEAD, "Role", role("r", [rule("get", "core", "nodes")]),
     'roles.rbac.authorization.k8s.io "r" is forbidden: user "lead" (groups=["system:authenticated"]) is '
     'attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], '
     'Verbs:["get"]}'),
    (LEAD, "Role", role("r", [rule("get", "core", "pods")], ns="other"), "attempting to grant"),  # not held there
    (LEAD, "RoleBinding", binding("b", "ClusterRole", "edit"), None),
    (LEAD, "RoleBinding", binding("b", "Role", "pod-admin"), None),
    (LEAD, "RoleBinding", binding("b", "ClusterRole", "cluster-admin"),
     'rolebindings.rbac.authorization.k8s.io "b" is forbidden: user "lead" (groups=["system:authenticated"]) is '
     'attempting to grant RBAC permissions not currently held:\n'),
    (LEAD, "RoleBinding", binding("b", "ClusterRole", "ghost"),
     'clusterroles.rbac.authorization.k8s.io "ghost" not found'),
    (LEAD, "ClusterRoleBinding", binding("b", "ClusterRole", "view", ns=""), "attempting to grant"),
    (DELEGATE, "ClusterRoleBinding", binding("b", "ClusterRole", "view", ns=""), None),  # bind verb on view
    (DELEGATE, "RoleBinding", binding("b", "ClusterRole", "edit"), "attempting to grant"),
    (DELEGATE, "Role", role("r", [rule("*", "*", "*")]), None),                           # escalate verb
    (ADMIN, "ClusterRole", {"metadata": {"name": "x"}, "rules": [rule("*", "*", "*")]}, None),
    (LEAD, "ClusterRole", {"metadata": {"name": "agg"}, "rules": [],
                           "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}},
     'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the '
     'aggregationRule'),
])
def test_rbac_writes(user: UserInfo, kind: str, obj: Obj, error: str | None) -> None:
    src = _source()
    if error is None:
        check_rbac_write(user, kind, obj, src)
        return
    with pytest.raises(ApiError) as e:
        check_rbac_write(user, kind, obj, src)
    assert e.value.message.startswith(error) or error in e.value.message
    assert e.value.code == (404 if "not found" in error else 403)


def test_missing_rights_are_compacted_and_sorted() -> None:
    dev = UserInfo("dev", groups=("system:authenticated",))
    with pytest.raises(ApiError) as e:
        check_rbac_write(dev, "Role", role("r", [rule("create delete", "rbac.authorization.k8s.io", "roles"),
                                                 rule("get", "core", "nodes")]), _source())
    assert e.value.message.split("\n")[1:] == [
        '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}',
        '{APIGroups:["rbac.authorization.k8s.io"], Resources:["roles"], Verbs:["create" "delete"]}']


def test_gc_only_updates_pass() -> None:
    dev = UserInfo("dev", groups=("system:authenticated",))
    old = role("r", [rule("get", "core", "nodes")])
    new = role("r", [rule("get", "core", "nodes")])
    new["metadata"]["finalizers"] = ["x"]
    check_rbac_write(dev, "Role", new, _source(), old=old)
    new["metadata"]["labels"] = {"a": "b"}
    with pytest.raises(ApiError):
        check_rbac_write(dev, "Role", new, _source(), old=old)


def test_star_verb_is_not_covered_by_a_list_of_verbs() -> None:
    with pytest.raises(ApiError) as e:
        check_rbac_write(LEAD, "Role", role("r", [rule("*", "core", "pods")]), _source())
    assert e.value.message.endswith('{APIGroups:[""], Resources:["pods"], Verbs:["*"]}')
