"""Impersonation: each requested part authorized with the impersonate verb; the resulting identity."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.auth import StaticRbac, UserInfo, impersonate, impersonation_requested
from apiserver.errors import ApiError

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def _role(name: str, rules: list[Obj]) -> Obj:
    return {"kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}


def _bind(name: str, role: str, user: str) -> Obj:
    return {"kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"kind": "ClusterRole", "name": role}, "subjects": [{"kind": "User", "name": user}]}


SOURCE = StaticRbac(
    [_role("imp-alice", [{"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"],
                          "resourceNames": ["alice"]},
                         {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["groups"],
                          "resourceNames": ["devs"]}]),
     _role("imp-sa", [{"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]}]),
     _role("imp-extra", [{"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"]},
                         {"verbs": ["impersonate"], "apiGroups": ["authentication.k8s.io"],
                          "resources": ["userextras/scopes", "uids"]}])],
    [_bind("b1", "imp-alice", "bob"), _bind("b2", "imp-sa", "ci"), _bind("b3", "imp-extra", "proxy")], [], [])
BOB = UserInfo("bob", groups=("system:authenticated",))
ADMIN = UserInfo("admin", groups=("system:masters", "system:authenticated"))


def test_no_headers_is_the_requester() -> None:
    assert impersonate(BOB, [("Accept", "application/json")], SOURCE) is BOB
    assert not impersonation_requested([("Accept", "x")])
    assert impersonation_requested([("Impersonate-User", "alice")])


@pytest.mark.parametrize(("requester", "headers", "want"), [
    (BOB, [("Impersonate-User", "alice")], UserInfo("alice", groups=("system:authenticated",))),
    (BOB, [("impersonate-user", "alice"), ("Impersonate-Group", "devs")],
     UserInfo("alice", groups=("devs", "system:authenticated"))),
    (BOB, [("Impersonate-User", "alice"), ("Impersonate-Group", "devs"), ("Impersonate-Group", "system:authenticated")],
     None),  # system:authenticated was not granted to bob
    (UserInfo("ci"), [("Impersonate-User", "system:serviceaccount:team:builder")],
     UserInfo("system:serviceaccount:team:builder",
              groups=("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"))),
    (UserInfo("proxy"), [("Impersonate-User", "carol"), ("Impersonate-Uid", "u-1"),
                         ("Impersonate-Extra-Scopes", "view"), ("Impersonate-Extra-Scopes", "edit")],
     UserInfo("carol", "u-1", ("system:authenticated",), {"scopes": ("view", "edit")})),
    (ADMIN, [("Impersonate-User", "system:anonymous")], UserInfo("system:anonymous",
                                                                 groups=("system:unauthenticated",))),
    (ADMIN, [("Impersonate-User", "x"), ("Impersonate-Group", "system:unauthenticated")],
     UserInfo("x", groups=("system:unauthenticated",))),
])
def test_allowed(requester: UserInfo, headers: list[tuple[str, str]], want: UserInfo | None) -> None:
    if want is None:
        with pytest.raises(ApiError):
            impersonate(requester, headers, SOURCE)
        return
    assert impersonate(requester, headers, SOURCE) == want


@pytest.mark.parametrize(("requester", "headers", "code", "message"), [
    (BOB, [("Impersonate-User", "carol")], 403,
     'users "carol" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster '
     'scope'),
    (BOB, [("Impersonate-User", "alice"), ("Impersonate-Group", "admins")], 403,
     'groups "admins" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the '
     'cluster scope'),
    (BOB, [("Impersonate-User", "system:serviceaccount:kube-system:default")], 403,
     'serviceaccounts "default" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API '
     'group "" in the namespace "kube-system"'),
    (UserInfo("proxy"), [("Impersonate-User", "carol"), ("Impersonate-Extra-Other", "x")], 403,
     'userextras.authentication.k8s.io "x" is forbidden: User "proxy" cannot impersonate resource '
     '"userextras/other" in API group "authentication.k8s.io" at the cluster scope'),
    (BOB, [("Impersonate-Group", "devs")], 400,
     "requested impersonation of groups, uid or extra fields without impersonating a user"),
])
def test_denied(requester: UserInfo, headers: list[tuple[str, str]], code: int, message: str) -> None:
    with pytest.raises(ApiError) as e:
        impersonate(requester, headers, SOURCE)
    assert (e.value.code, e.value.message) == (code, message)


def test_without_authorization_everything_is_allowed() -> None:
    got = impersonate(BOB, [("Impersonate-User", "root"), ("Impersonate-Group", "system:masters")], None)
    assert got == UserInfo("root", groups=("system:masters", "system:authenticated"))
