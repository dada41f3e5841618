"""What is being asked (``authorizer.Attributes``) and where RBAC objects come from (``RbacSource``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from apiserver.admission.shape import dig
from apiserver.auth.user import UserInfo


@dataclass(frozen=True)
class Attributes:
    """One authorization question. Resource requests carry group/resource/subresource/namespace/name (namespace
    empty for cluster-scoped objects and for all-namespace lists); non-resource requests carry ``path``."""

    user: UserInfo
    verb: str
    resource_request: bool
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


class RbacSource(Protocol):
    """The four RBAC kinds as plain JSON objects (the apiserver keeps them in a watch-fed cache)."""

    def cluster_roles(self) -> Iterable[dict[str, Any]]: ...

    def cluster_role_bindings(self) -> Iterable[dict[str, Any]]: ...

    def roles(self, namespace: str) -> Iterable[dict[str, Any]]: ...

    def role_bindings(self, namespace: str) -> Iterable[dict[str, Any]]: ...


@dataclass
class StaticRbac:
    """An ``RbacSource`` over fixed lists (tests, tools)."""

    cluster_role_list: list[dict[str, Any]]
    cluster_role_binding_list: list[dict[str, Any]]
    role_list: list[dict[str, Any]]
    role_binding_list: list[dict[str, Any]]

    def cluster_roles(self) -> Iterable[dict[str, Any]]:
        return self.cluster_role_list

    def cluster_role_bindings(self) -> Iterable[dict[str, Any]]:
        return self.cluster_role_binding_list

    def roles(self, namespace: str) -> Iterable[dict[str, Any]]:
        return [r for r in self.role_list if dig(r, "metadata", "namespace") == namespace]

    def role_bindings(self, namespace: str) -> Iterable[dict[str, Any]]:
        return [r for r in self.role_binding_list if dig(r, "metadata", "namespace") == namespace]
