"""Seeded fuzz: RBAC evaluation, escalation checks, impersonation and token parsing never raise anything but the
API's own errors, whatever shapes RBAC objects, headers and tokens take."""

from __future__ import annotations

import random
import string

import pytest

from apiserver.auth import (
    Attributes,
    ServiceAccountTokens,
    StaticRbac,
    TokenFile,
    UserInfo,
    authenticate_request,
    authorize,
    bootstrap_objects,
    check_rbac_write,
    impersonate,
    self_subject_rules,
)
from apiserver.errors import ApiError
from tests.unit.apiserver_admission.test_fuzz import Obj, mutate

pytestmark = pytest.mark.unit

ROLE: Obj = {"kind": "Role", "metadata": {"name": "r", "namespace": "team", "labels": {"a": "b"}},
             "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["x"]},
                       {"verbs": ["get"], "nonResourceURLs": ["/x*"]}]}
ROLE_BINDING: Obj = {"kind": "RoleBinding", "metadata": {"name": "rb", "namespace": "team"},
                     "roleRef": {"kind": "Role", "name": "r"},
                     "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s"}]}
CLUSTER_ROLE: Obj = {"kind": "ClusterRole", "metadata": {"name": "agg", "labels": {"x": "y"}}, "rules": [],
                     "aggregationRule": {"clusterRoleSelectors": [
                         {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "k", "operator": "In",
                                                                           "values": ["v"]}]}]}}
CLUSTER_ROLE_BINDING: Obj = {"kind": "ClusterRoleBinding", "metadata": {"name": "crb"},
                             "roleRef": {"kind": "ClusterRole", "name": "agg"},
                             "subjects": [{"kind": "Group", "name": "g"}]}
USER = UserInfo("u", groups=("g", "system:authenticated"))
DEFAULT_ROLES = [o for o in bootstrap_objects() if o["kind"] == "ClusterRole"][:20]


def _exercise(rng: random.Random) -> None:
    src = StaticRbac([*DEFAULT_ROLES, mutate(rng, CLUSTER_ROLE)], [mutate(rng, CLUSTER_ROLE_BINDING)],
                     [mutate(rng, ROLE)], [mutate(rng, ROLE_BINDING)])
    authorize(Attributes(USER, "get", True, resource="pods", namespace="team", name="x"), src)
    authorize(Attributes(USER, "get", False, path="/xy"), src)
    self_subject_rules(USER, "team", src)
    for kind, base in (("Role", ROLE), ("RoleBinding", ROLE_BINDING), ("ClusterRole", CLUSTER_ROLE),
                       ("ClusterRoleBinding", CLUSTER_ROLE_BINDING)):
        try:
            check_rbac_write(USER, kind, mutate(rng, base), src, old=mutate(rng, base) if rng.random() < .3 else None)
        except ApiError:
            pass
    try:
        impersonate(USER, [("Impersonate-User", rng.choice(["a", "system:serviceaccount:a:b", "system:anonymous"])),
                           ("Impersonate-Extra-x%2Fy", "v"), ("Impersonate-Group", "g")], src)
    except ApiError:
        pass


@pytest.mark.parametrize("seed", [1, 2])
def test_rbac_never_crashes(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        _exercise(rng)


def test_token_parsing_never_crashes() -> None:
    rng = random.Random(5)
    sa = ServiceAccountTokens(b"k" * 32)
    good = sa.issue("ns", "n", "u", [], 600, 1000.0)
    alphabet = string.ascii_letters + string.digits + ".-_=,\"\n \\/+"
    for _ in range(500):
        token = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        if rng.random() < 0.3:  # damage a valid token in one place
            i = rng.randrange(len(good))
            token = good[:i] + rng.choice(alphabet) + good[i + 1:]
        assert authenticate_request(f"Bearer {token}", None, sa, 1000.0) in (None, sa.authenticate(token, 1000.0))
        try:
            TokenFile.parse(token)
        except ValueError:
            pass
