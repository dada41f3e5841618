"""EndpointSlices seen from a node (pure): which slices belong to which Service, and which endpoints serve.

Shared by the service proxy (node_agent/proxy) and cluster DNS (node_agent/dns), so both agree on what is ready.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = Mapping[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def slices_by_service(slices: Iterable[Obj]) -> dict[tuple[str, str], list[Obj]]:
    """(namespace, service name) -> its EndpointSlices, by the kubernetes.io/service-name label."""
    out: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        meta = sl.get("metadata", {})
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            out.setdefault((meta.get("namespace", "default"), owner), []).append(sl)
    return out


def serving(endpoint: Obj) -> bool:
    """Takes new connections: ready (a missing condition means ready) and not terminating."""
    cond = endpoint.get("conditions") or {}
    return cond.get("ready", True) is not False and not cond.get("terminating", False)
