"""NamespaceLifecycle: no new content in a missing or terminating namespace; the system namespaces stay.

Operations are admission's: CREATE, UPDATE, DELETE, CONNECT. Namespaces themselves may always be created and
updated; ``default``, ``kube-system`` and ``kube-public`` may not be deleted. Deleting other objects is always
allowed, as are access reviews. Anything else in a missing namespace is 404 ``namespaces "x" not found``; a
CREATE in a namespace whose ``status.phase`` is Terminating is 403 with the NamespaceTerminating cause.
"""

from __future__ import annotations

from typing import Any

from apiserver.admission.errors import forbidden, not_found
from apiserver.admission.shape import dig

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
ACCESS_REVIEWS = frozenset({"localsubjectaccessreviews"})


def namespace_lifecycle(op: str, namespace_obj: dict[str, Any] | None, resource: str, namespace: str,
                        name: str = "", group: str = "") -> None:
    """``namespace`` is the request's namespace -- for the ``namespaces`` resource, the namespace's own name.
    ``namespace_obj`` is the stored Namespace (None when missing); ``name`` the object's name (for messages)."""
    op = op.upper()
    if resource == "namespaces" and not group:
        if op == "DELETE" and namespace in IMMORTAL_NAMESPACES:
            raise forbidden("namespaces", namespace, "this namespace may not be deleted")
        return
    if not namespace or op == "DELETE" or resource in ACCESS_REVIEWS:
        return
    if namespace_obj is None:
        raise not_found("namespaces", namespace)
    if op == "CREATE" and dig(namespace_obj, "status", "phase") == "Terminating":
        raise forbidden(resource, name,
                        f"unable to create new content in namespace {namespace} because it is being terminated",
                        group, causes=[{"reason": "NamespaceTerminating",
                                        "message": f"namespace {namespace} is being terminated",
                                        "field": "metadata.namespace"}])
