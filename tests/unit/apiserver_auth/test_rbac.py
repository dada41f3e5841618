"""RBAC decisions, reasons, aggregation and SelfSubjectRulesReview, over a small in-memory policy."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.auth import Attributes, StaticRbac, UserInfo, authorize, bootstrap_objects, self_subject_rules

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def role(name: str, rules: list[Obj], ns: str = "", labels: dict[str, str] | None = None,
         aggregate: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    obj: Obj = {"kind": "Role" if ns else "ClusterRole", "metadata": meta, "rules": rules}
    if aggregate is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
    return obj


def bind(name: str, kind: str, role_name: str, subjects: list[Obj], ns: str = "") -> Obj:
    meta: Obj = {"name": name, **({"namespace": ns} if ns else {})}
    return {"kind": "RoleBinding" if ns else "ClusterRoleBinding", "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name},
            "subjects": subjects}


def rule(verbs: str, groups: str, resources: str, names: str = "") -> Obj:
    out: Obj = {"verbs": verbs.split(), "apiGroups": ["" if g == "core" else g for g in groups.split()],
                "resources": resources.split()}
    if names:
        out["resourceNames"] = names.split()
    return out


def U(kind: str, name: str, ns: str = "") -> Obj:
    return {"kind": kind, "name": name, **({"namespace": ns} if ns else {})}


SOURCE = StaticRbac(
    cluster_role_list=[
        role("pod-reader", [rule("get list watch", "core", "pods")]),
        role("log-reader", [rule("get", "core", "pods/log")]),
        role("scaler", [rule("get update", "*", "*/scale")]),
        role("cm-one", [rule("get update", "core", "configmaps", "app-config")]),
        role("all-apps", [rule("*", "apps", "*")]),
        role("health", [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/healthz/*", "/metrics"]}]),
        role("aggregated", [], aggregate={"agg": "yes"}),
        role("part-a", [rule("list", "batch", "jobs")], labels={"agg": "yes"}),
        role("part-b", [rule("create", "batch", "jobs")], labels={"agg": "yes"}),
    ],
    cluster_role_binding_list=[
        bind("readers", "ClusterRole", "pod-reader", [U("Group", "readers")]),
        bind("apps-admin", "ClusterRole", "all-apps", [U("User", "carol")]),
        bind("health", "ClusterRole", "health", [U("Group", "system:authenticated")]),
        bind("sa-scaler", "ClusterRole", "scaler", [U("ServiceAccount", "hpa", "kube-system")]),
        bind("sa-no-ns", "ClusterRole", "pod-reader", [U("ServiceAccount", "lost")]),   # never applies
        bind("dangling", "ClusterRole", "does-not-exist", [U("User", "dave")]),
        bind("agg", "ClusterRole", "aggregated", [U("User", "erin")]),
    ],
    role_list=[
        role("secrets", [rule("get", "core", "secrets")], ns="team"),
    ],
    role_binding_list=[
        bind("alice-secrets", "Role", "secrets", [U("User", "alice")], ns="team"),
        bind("alice-logs", "ClusterRole", "log-reader", [U("User", "alice")], ns="team"),
        bind("cm", "ClusterRole", "cm-one", [U("User", "alice")], ns="team"),
        bind("local-sa", "ClusterRole", "pod-reader", [U("ServiceAccount", "ci")], ns="team"),
        bind("missing-role", "Role", "nope", [U("User", "bob")], ns="team"),
    ],
)

ALICE = UserInfo("alice", groups=("system:authenticated",))
BOB = UserInfo("bob", groups=("readers", "system:authenticated"))
CAROL = UserInfo("carol")
HPA = UserInfo("system:serviceaccount:kube-system:hpa")
CI = UserInfo("system:serviceaccount:team:ci")
LOST = UserInfo("system:serviceaccount:default:lost")
ERIN = UserInfo("erin")


def res(user: UserInfo, verb: str, resource: str, ns: str = "", group: str = "", sub: str = "",
        name: str = "") -> Attributes:
    return Attributes(user=user, verb=verb, resource_request=True, api_group=group, api_version="v1",
                      resource=resource, subresource=sub, namespace=ns, name=name)


def path(user: UserInfo, verb: str, p: str) -> Attributes:
    return Attributes(user=user, verb=verb, resource_request=False, path=p)


@pytest.mark.parametrize(("attrs", "allowed"), [
    # ClusterRoleBinding via group: everywhere, cluster-wide lists too
    (res(BOB, "list", "pods", "any"), True),
    (res(BOB, "list", "pods"), True),
    (res(BOB, "delete", "pods", "any", name="p"), False),
    (res(BOB, "list", "pods", "any", group="apps"), False),
    (res(BOB, "get", "pods", "any", sub="log", name="p"), False),     # subresources are separate
    # RoleBinding to a Role: only in its namespace
    (res(ALICE, "get", "secrets", "team", name="s"), True),
    (res(ALICE, "get", "secrets", "other", name="s"), False),
    (res(ALICE, "get", "secrets", "", name="s"), False),
    (res(ALICE, "list", "secrets", "team"), False),
    # RoleBinding to a ClusterRole: the subresource form "pods/log"
    (res(ALICE, "get", "pods", "team", sub="log", name="p"), True),
    (res(ALICE, "get", "pods", "team", name="p"), False),
    (res(ALICE, "get", "pods", "other", sub="log", name="p"), False),
    # resourceNames
    (res(ALICE, "get", "configmaps", "team", name="app-config"), True),
    (res(ALICE, "update", "configmaps", "team", name="app-config"), True),
    (res(ALICE, "get", "configmaps", "team", name="other"), False),
    (res(ALICE, "list", "configmaps", "team"), False),
    (res(ALICE, "create", "configmaps", "team"), False),
    # wildcards: verbs and resources
    (res(CAROL, "deletecollection", "deployments", "x", group="apps"), True),
    (res(CAROL, "patch", "statefulsets", "x", group="apps", sub="scale", name="s"), True),
    (res(CAROL, "get", "jobs", "x", group="batch"), False),
    # "*/scale" matches any resource's scale subresource, nothing else
    (res(HPA, "update", "deployments", "x", group="apps", sub="scale", name="d"), True),
    (res(HPA, "get", "replicationcontrollers", "x", sub="scale", name="r"), True),
    (res(HPA, "get", "deployments", "x", group="apps", name="d"), False),
    (res(HPA, "get", "deployments", "x", group="apps", sub="status", name="d"), False),
    # ServiceAccount subjects: a RoleBinding's subject without namespace means the binding's namespace
    (res(CI, "list", "pods", "team"), True),
    (res(CI, "list", "pods", "other"), False),
    (res(LOST, "list", "pods", "default"), False),
    # nonResourceURLs, exact and trailing-* prefix
    (path(ALICE, "get", "/healthz"), True),
    (path(ALICE, "get", "/healthz/etcd"), True),
    (path(ALICE, "get", "/metrics"), True),
    (path(ALICE, "get", "/metricsz"), False),
    (path(ALICE, "post", "/healthz"), False),
    (path(CAROL, "get", "/healthz"), False),
    # aggregated ClusterRole resolved from labels
    (res(ERIN, "list", "jobs", "x", group="batch"), True),
    (res(ERIN, "create", "jobs", "x", group="batch"), True),
    (res(ERIN, "delete", "jobs", "x", group="batch"), False),
])
def test_decisions(attrs: Attributes, allowed: bool) -> None:
    assert authorize(attrs, SOURCE)[0] is allowed


@pytest.mark.parametrize(("attrs", "reason"), [
    (res(BOB, "list", "pods", "any"),
     'RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "pod-reader" to Group "readers"'),
    (res(ALICE, "get", "secrets", "team", name="s"),
     'RBAC: allowed by RoleBinding "alice-secrets/team" of Role "secrets" to User "alice"'),
    (res(CI, "list", "pods", "team"),
     'RBAC: allowed by RoleBinding "local-sa/team" of ClusterRole "pod-reader" to ServiceAccount "ci/team"'),
    (res(HPA, "get", "deployments", "x", group="apps", sub="scale"),
     'RBAC: allowed by ClusterRoleBinding "sa-scaler" of ClusterRole "scaler" to ServiceAccount "hpa/kube-system"'),
    (res(CAROL, "get", "pods", "x"), ""),
    (res(UserInfo("dave"), "get", "pods", "x"),
     'RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found'),
    (res(UserInfo("bob"), "get", "pods", "team"), 'RBAC: role.rbac.authorization.k8s.io "nope" not found'),
])
def test_reasons(attrs: Attributes, reason: str) -> None:
    assert authorize(attrs, SOURCE)[1] == reason


def test_aggregation_is_transitive_and_cycle_safe() -> None:
    src = StaticRbac(
        [role("top", [], aggregate={"to-top": "true"}),
         role("mid", [rule("get", "core", "pods")], labels={"to-top": "true"}, aggregate={"to-mid": "true"}),
         role("leaf", [rule("get", "core", "secrets")], labels={"to-mid": "true", "to-top": "true"}),
         role("loop", [rule("get", "core", "nodes")], labels={"to-top": "true"}, aggregate={"to-top": "true"})],
        [bind("b", "ClusterRole", "top", [U("User", "u")])], [], [])
    u = UserInfo("u")
    assert authorize(res(u, "get", "secrets", "x"), src)[0]
    assert authorize(res(u, "get", "pods", "x"), src)[0]
    assert authorize(res(u, "get", "nodes"), src)[0]
    assert not authorize(res(u, "list", "pods", "x"), src)[0]


def _bootstrap() -> StaticRbac:
    objs = bootstrap_objects()
    for o in objs:
        if "aggregationRule" in o:
            o["rules"] = []  # as stored before kube-controller-manager's aggregation controller ran
    return StaticRbac([o for o in objs if o["kind"] == "ClusterRole"],
                      [o for o in objs if o["kind"] == "ClusterRoleBinding"], [], [])


@pytest.mark.parametrize(("role_name", "verb", "resource", "group", "sub", "allowed"), [
    ("view", "list", "pods", "", "", True),
    ("view", "get", "pods", "", "log", True),
    ("view", "get", "secrets", "", "", False),
    ("view", "create", "pods", "", "", False),
    ("view", "list", "rolebindings", "rbac.authorization.k8s.io", "", False),
    ("edit", "get", "secrets", "", "", True),
    ("edit", "create", "deployments", "apps", "", True),
    ("edit", "patch", "deployments", "apps", "scale", True),
    ("edit", "create", "pods", "", "exec", True),
    ("edit", "list", "pods", "", "", True),                              # view aggregated into edit
    ("edit", "create", "rolebindings", "rbac.authorization.k8s.io", "", False),
    ("admin", "create", "rolebindings", "rbac.authorization.k8s.io", "", True),
    ("admin", "delete", "jobs", "batch", "", True),
    ("admin", "list", "pods", "", "", True),                             # view through edit through admin
    ("admin", "create", "resourcequotas", "", "", False),
    ("admin", "delete", "namespaces", "", "", False),
])
def test_default_aggregated_roles_through_a_rolebinding(role_name: str, verb: str, resource: str, group: str,
                                                         sub: str, allowed: bool) -> None:
    src = _bootstrap()
    src.role_binding_list.append(bind("dev", "ClusterRole", role_name, [U("User", "dev")], ns="team"))
    dev = UserInfo("dev", groups=("system:authenticated",))
    assert authorize(res(dev, verb, resource, "team", group=group, sub=sub), src)[0] is allowed
    assert not authorize(res(dev, verb, resource, "elsewhere", group=group, sub=sub), src)[0]


def test_self_subject_rules() -> None:
    status = self_subject_rules(ALICE, "team", SOURCE)
    assert status["incomplete"] is False
    assert {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]} in status["resourceRules"]
    assert {"verbs": ["get", "update"], "apiGroups": [""], "resources": ["configmaps"],
            "resourceNames": ["app-config"]} in status["resourceRules"]
    assert status["nonResourceRules"] == [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/healthz/*",
                                                                                "/metrics"]}]
    elsewhere = self_subject_rules(ALICE, "other", SOURCE)
    assert elsewhere["resourceRules"] == []
    broken = self_subject_rules(UserInfo("bob", groups=("readers",)), "team", SOURCE)
    assert broken["evaluationError"] == 'role.rbac.authorization.k8s.io "nope" not found'
    assert broken["resourceRules"] == [{"verbs": ["get", "list", "watch"], "apiGroups": [""],
                                        "resources": ["pods"]}]
