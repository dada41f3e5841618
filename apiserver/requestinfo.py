"""Parse a request path and method into what it asks for (kube-apiserver's RequestInfo), as a pure function.

``/api/v1/namespaces/ns/pods/x/log`` → resource request: verb get, group "", version v1, namespace ns, resource pods,
name x, subresource log. ``/version`` → non-resource request. The legacy ``/watch/`` path segment and
``?watch=true`` both make a list a watch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# /namespaces/<name>/<x>: these x are subresources of the namespace itself, anything else is a namespaced resource.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True)
class RequestInfo:
    resource_request: bool
    verb: str
    path: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    parts: tuple[str, ...] = ()


def truthy(value: str | None) -> bool:
    """Go's strconv.ParseBool true values (the Python client sends ``watch=True``)."""
    return value in ("1", "t", "T", "true", "TRUE", "True")


def parse(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    segs = [s for s in path.split("/") if s]
    non_resource = RequestInfo(False, method.lower(), path)
    if not segs or segs[0] not in ("api", "apis"):
        return non_resource
    if segs[0] == "api":
        if len(segs) < 2:
            return non_resource
        group, version, rest = "", segs[1], segs[2:]
    else:
        if len(segs) < 3:
            return non_resource
        group, version, rest = segs[1], segs[2], segs[3:]
    if not rest:
        return non_resource
    watch_prefix = rest[0] == "watch"
    if watch_prefix:
        rest = rest[1:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    elif len(rest) >= 2 and rest[0] == "namespaces":
        # /namespaces/<name>[/status|finalize]: the namespace object itself
        namespace = ""
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if resource == "namespaces" and name and not namespace:
        namespace = name
    if method == "GET" or method == "HEAD":
        watching = watch_prefix or (truthy(query.get("watch")) and not subresource)
        verb = "watch" if watching else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _METHOD_VERBS.get(method, method.lower())
    return RequestInfo(True, verb, path, group, version, namespace, resource, name, subresource, tuple(rest[3:]))
