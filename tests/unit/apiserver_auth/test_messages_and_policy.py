"""Forbidden messages verbatim, and the default policy: shape and what each component identity may do."""

from __future__ import annotations

import pytest

from apiserver.auth import Attributes, StaticRbac, UserInfo, authorize, bootstrap_objects, forbidden_message

pytestmark = pytest.mark.unit

ALICE = UserInfo("alice", groups=("system:authenticated",))


@pytest.mark.parametrize(("attrs", "reason", "message"), [
    (Attributes(ALICE, "list", True, resource="pods", namespace="default"), "",
     'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'),
    (Attributes(ALICE, "get", True, resource="pods", namespace="default", name="web"), "",
     'pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"'),
    (Attributes(ALICE, "list", True, resource="nodes"), "",
     'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope'),
    (Attributes(ALICE, "watch", True, api_group="apps", resource="deployments"), "",
     'deployments.apps is forbidden: User "alice" cannot watch resource "deployments" in API group "apps" at the '
     'cluster scope'),
    (Attributes(ALICE, "patch", True, api_group="apps", resource="deployments", subresource="scale",
                namespace="prod", name="web"), "",
     'deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments/scale" in API group '
     '"apps" in the namespace "prod"'),
    (Attributes(ALICE, "get", True, resource="pods", subresource="log", namespace="x", name="p"), "",
     'pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "x"'),
    (Attributes(ALICE, "create", True, resource="namespaces", name="team"), "",
     'namespaces "team" is forbidden: User "alice" cannot create resource "namespaces" in API group "" at the '
     'cluster scope'),
    (Attributes(ALICE, "get", False, path="/metrics"), "",
     'forbidden: User "alice" cannot get path "/metrics"'),
    (Attributes(ALICE, "get", True, resource="pods", namespace="x"), 'RBAC: role.rbac.authorization.k8s.io "r" not '
     'found', 'pods is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "x": '
              'RBAC: role.rbac.authorization.k8s.io "r" not found'),
    (Attributes(UserInfo("system:serviceaccount:ns:sa"), "delete", True, resource="secrets", namespace="ns",
                name="s"), "",
     'secrets "s" is forbidden: User "system:serviceaccount:ns:sa" cannot delete resource "secrets" in API group "" '
     'in the namespace "ns"'),
])
def test_forbidden_message(attrs: Attributes, reason: str, message: str) -> None:
    assert forbidden_message(attrs, reason) == message


OBJS = bootstrap_objects()
SOURCE = StaticRbac([o for o in OBJS if o["kind"] == "ClusterRole"],
                    [o for o in OBJS if o["kind"] == "ClusterRoleBinding"], [], [])


def test_bootstrap_shape() -> None:
    names = {(o["kind"], o["metadata"]["name"]) for o in OBJS}
    assert len(names) == len(OBJS)
    for name in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
                 "system:public-info-viewer", "system:node", "system:kube-scheduler", "system:kube-controller-manager",
                 "system:node-proxier", "system:monitoring", "system:controller:replicaset-controller",
                 "system:controller:deployment-controller", "system:controller:namespace-controller",
                 "system:controller:generic-garbage-collector"):
        assert ("ClusterRole", name) in names, name
    roles = {o["metadata"]["name"] for o in OBJS if o["kind"] == "ClusterRole"}
    for o in OBJS:
        assert o["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert o["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert o["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
        if o["kind"] == "ClusterRoleBinding":
            assert o["roleRef"]["name"] in roles
    view = next(o for o in OBJS if o["metadata"]["name"] == "view")
    assert view["aggregationRule"] == {"clusterRoleSelectors": [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert view["rules"]  # filled in as the aggregation controller would
    crb = {o["metadata"]["name"]: o for o in OBJS if o["kind"] == "ClusterRoleBinding"}
    assert crb["cluster-admin"]["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                                 "name": "system:masters"}]
    assert "subjects" not in crb["system:node"]   # the Node authorizer's job; kemu binds kemu:node instead
    assert bootstrap_objects() == OBJS and bootstrap_objects() is not OBJS


SCHED = UserInfo("system:kube-scheduler", groups=("system:authenticated",))
KCM = UserInfo("system:kube-controller-manager", groups=("system:authenticated",))
NODE = UserInfo("system:node:node-1", groups=("system:nodes", "system:authenticated"))
ANYONE = UserInfo("someone", groups=("system:authenticated",))


def can(user: UserInfo, verb: str, resource: str, ns: str = "", group: str = "", sub: str = "", name: str = "",
        path: str = "") -> bool:
    if path:
        return authorize(Attributes(user, verb, False, path=path), SOURCE)[0]
    return authorize(Attributes(user, verb, True, api_group=group, resource=resource, subresource=sub,
                                namespace=ns, name=name), SOURCE)[0]


@pytest.mark.parametrize(("user", "args", "allowed"), [
    (ANYONE, ("get", "", "", "", "", "", "/version"), True),
    (ANYONE, ("get", "", "", "", "", "", "/apis/apps/v1"), True),
    (ANYONE, ("get", "", "", "", "", "", "/metrics"), False),
    (ANYONE, ("create", "selfsubjectaccessreviews", "", "authorization.k8s.io"), True),
    (ANYONE, ("create", "selfsubjectrulesreviews", "", "authorization.k8s.io"), True),
    (ANYONE, ("list", "pods", "default"), False),
    (SCHED, ("create", "pods", "default", "", "binding", "p"), True),
    (SCHED, ("watch", "nodes"), True),
    (SCHED, ("update", "leases", "kube-system", "coordination.k8s.io", "", "kube-scheduler"), True),
    (SCHED, ("update", "leases", "kube-system", "coordination.k8s.io", "", "other"), False),
    (SCHED, ("patch", "pods", "default", "", "status", "p"), True),
    (SCHED, ("create", "events", "default", "events.k8s.io"), True),
    (KCM, ("create", "pods", "default"), True),                        # via kemu:controller-manager:* bindings
    (KCM, ("update", "deployments", "default", "apps", "status", "d"), True),
    (KCM, ("delete", "configmaps", "default", "", "", "x"), True),     # garbage collector / namespace controller
    (KCM, ("update", "leases", "kube-system", "coordination.k8s.io", "", "kube-controller-manager"), True),
    (KCM, ("create", "endpointslices", "default", "discovery.k8s.io"), True),
    (KCM, ("impersonate", "users"), False),
    (NODE, ("create", "nodes"), True),
    (NODE, ("patch", "nodes", "", "", "status", "node-1"), True),
    (NODE, ("watch", "pods"), True),
    (NODE, ("update", "pods", "default", "", "status", "p"), True),
    (NODE, ("update", "leases", "kube-node-lease", "coordination.k8s.io", "", "node-1"), True),
    (NODE, ("create", "serviceaccounts", "default", "", "token", "default"), True),
    (NODE, ("watch", "endpointslices", "", "discovery.k8s.io"), True),  # the node's proxy (kemu:node-proxier)
    (NODE, ("delete", "nodes", "", "", "", "node-2"), False),
    (NODE, ("list", "secrets", "default"), True),
    (NODE, ("create", "deployments", "default", "apps"), False),
])
def test_component_identities(user: UserInfo, args: tuple[str, ...], allowed: bool) -> None:
    assert can(user, *args) is allowed
