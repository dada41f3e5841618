"""User impersonation (``kubectl --as``, ``--as-group``, ``--as-uid``; the ``Impersonate-*`` request headers).

Every requested identity part is authorized for the *requesting* user with the ``impersonate`` verb, as
kube-apiserver's impersonation filter does: ``users`` (cluster scope, name = user), ``serviceaccounts`` (in the
account's namespace) for ``system:serviceaccount:<ns>:<name>``, ``groups``, ``uids`` and ``userextras/<key>`` (both
in ``authentication.k8s.io``). The first denial is 403 with the usual Forbidden message, e.g. ``users "alice" is
forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope``. Groups, uid or
extras without a user are 400.

The impersonated user gets the requested groups (a service account without requested groups gets its fixed
ones), plus ``system:authenticated`` unless it asked for ``system:authenticated``/``system:unauthenticated``
itself (``system:anonymous`` gets ``system:unauthenticated`` instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from apiserver.auth.attributes import Attributes, RbacSource
from apiserver.auth.messages import forbidden_message
from apiserver.auth.rbac import authorize
from apiserver.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    ANONYMOUS,
    SYSTEM_MASTERS,
    UserInfo,
    service_account_groups,
    split_service_account_username,
)
from apiserver.errors import ApiError

USER_HEADER = "impersonate-user"
GROUP_HEADER = "impersonate-group"
UID_HEADER = "impersonate-uid"
EXTRA_PREFIX = "impersonate-extra-"
AUTHN_GROUP = "authentication.k8s.io"


def _unescape_extra_key(key: str) -> str:
    """Header names carry extra keys percent-encoded (``Impersonate-Extra-scopes%2Fa``)."""
    return unquote(key)


def impersonation_requested(headers: Iterable[tuple[str, str]]) -> bool:
    return any(k.lower() in (USER_HEADER, GROUP_HEADER, UID_HEADER) or k.lower().startswith(EXTRA_PREFIX)
               for k, _ in headers)


def _check(requester: UserInfo, attrs: Attributes, source: RbacSource | None) -> None:
    if source is None or SYSTEM_MASTERS in requester.groups:
        return
    allowed, reason = authorize(attrs, source)
    if not allowed:
        details = {"name": attrs.name, "kind": attrs.resource}
        if attrs.api_group:
            details["group"] = attrs.api_group
        raise ApiError(403, "Forbidden", forbidden_message(attrs, reason), details)


def impersonate(requester: UserInfo, headers: Iterable[tuple[str, str]], source: RbacSource | None) -> UserInfo:
    """The identity the request acts as: ``requester`` itself without ``Impersonate-*`` headers. ``source`` None
    means authorization is off (every impersonation allowed). Raises ``ApiError`` 400/403."""
    user_name: str | None = None
    groups: list[str] = []
    uid: str | None = None
    extra: dict[str, list[str]] = {}
    for key, value in headers:
        k = key.lower()
        if k == USER_HEADER:
            user_name = value
        elif k == GROUP_HEADER:
            groups.append(value)
        elif k == UID_HEADER:
            uid = value
        elif k.startswith(EXTRA_PREFIX):
            extra.setdefault(_unescape_extra_key(k[len(EXTRA_PREFIX):]), []).append(value)
    if user_name is None:
        if groups or uid is not None or extra:
            raise ApiError(400, "BadRequest", "requested impersonation of groups, uid or extra fields without "
                                              "impersonating a user")
        return requester

    def attrs(resource: str, name: str, group: str = "", namespace: str = "", sub: str = "") -> Attributes:
        return Attributes(requester, "impersonate", True, api_group=group, api_version="v1", resource=resource,
                          subresource=sub, namespace=namespace, name=name)

    sa = split_service_account_username(user_name)
    if sa is not None:
        _check(requester, attrs("serviceaccounts", sa[1], namespace=sa[0]), source)
    else:
        _check(requester, attrs("users", user_name), source)
    for g in groups:
        _check(requester, attrs("groups", g), source)
    if sa is not None and not groups:
        groups = list(service_account_groups(sa[0]))  # a fixed mapping: nothing more to authorize
    if uid is not None:
        _check(requester, attrs("uids", uid, AUTHN_GROUP), source)
    for key, values in extra.items():
        for v in values:
            _check(requester, attrs("userextras", v, AUTHN_GROUP, sub=key), source)
    if user_name != ANONYMOUS:
        if ALL_AUTHENTICATED not in groups and ALL_UNAUTHENTICATED not in groups:
            groups.append(ALL_AUTHENTICATED)
    elif ALL_UNAUTHENTICATED not in groups:
        groups.append(ALL_UNAUTHENTICATED)
    return UserInfo(user_name, uid or "", tuple(groups), {k: tuple(v) for k, v in extra.items()})
