"""Authentication (static token file, service-account JWTs), RBAC authorization and the default RBAC policy.

Pure code: RBAC objects come from the caller's ``RbacSource`` (the apiserver's watch-fed cache); times are passed
in. The HTTP layer maps ``authenticate_request() is None`` to 401 and ``authorize() == (False, reason)`` to 403 with
``forbidden_message(attrs, reason)``.
"""

from apiserver.auth.attributes import Attributes, RbacSource, StaticRbac
from apiserver.auth.authn import authenticate_request, authenticate_token, bearer_token
from apiserver.auth.escalation import check_rbac_write
from apiserver.auth.impersonation import impersonate, impersonation_requested
from apiserver.auth.messages import forbidden_message
from apiserver.auth.policy import bootstrap_objects
from apiserver.auth.rbac import ClusterRoleIndex, authorize, rule_allows, self_subject_rules, visit_rules
from apiserver.auth.satoken import DEFAULT_ISSUER, ServiceAccountTokens
from apiserver.auth.tokenfile import TokenFile
from apiserver.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    SYSTEM_MASTERS,
    UserInfo,
    service_account_username,
    split_service_account_username,
)

__all__ = [
    "ALL_AUTHENTICATED",
    "ALL_UNAUTHENTICATED",
    "DEFAULT_ISSUER",
    "SYSTEM_MASTERS",
    "Attributes",
    "ClusterRoleIndex",
    "RbacSource",
    "ServiceAccountTokens",
    "StaticRbac",
    "TokenFile",
    "UserInfo",
    "authenticate_request",
    "authenticate_token",
    "authorize",
    "bearer_token",
    "bootstrap_objects",
    "check_rbac_write",
    "forbidden_message",
    "impersonate",
    "impersonation_requested",
    "rule_allows",
    "self_subject_rules",
    "service_account_username",
    "split_service_account_username",
    "visit_rules",
]
