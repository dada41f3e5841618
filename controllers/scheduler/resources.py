"""Resource arithmetic of the scheduler (pure): pod requests, node allocatable, per-node usage.

A pod's request per resource is max(sum over app containers, max over init containers) plus pod overhead, as
the scheduler's ``computePodResourceRequest``. Quantities are integers: cpu in millicores, everything else in
units (bytes for memory/storage). ``NON_ZERO`` defaults (100m cpu, 200 MiB memory) apply only to scoring, for
containers without requests, as the real scheduler does so empty pods still spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kemu.api.quantity import QuantityError, to_bytes, to_millis

Obj = dict[str, Any]
Resources = dict[str, int]
DEFAULT_CPU_M = 100
DEFAULT_MEMORY = 200 * 1024 * 1024


def qty(resource: str, value: Any) -> int:
    try:
        return to_millis(value) if resource == "cpu" else to_bytes(value)
    except (QuantityError, ValueError, ArithmeticError):
        return 0


def resource_list(rl: Mapping[str, Any] | None) -> Resources:
    return {k: qty(k, v) for k, v in (rl or {}).items()}


def _add(into: Resources, add: Mapping[str, int]) -> None:
    for k, v in add.items():
        into[k] = into.get(k, 0) + v


def pod_requests(pod: Obj, non_zero: bool = False) -> Resources:
    spec = pod.get("spec") or {}
    total: Resources = {}
    for c in spec.get("containers") or []:
        req = resource_list((c.get("resources") or {}).get("requests"))
        if non_zero:
            req.setdefault("cpu", DEFAULT_CPU_M)
            req.setdefault("memory", DEFAULT_MEMORY)
        _add(total, req)
    for c in spec.get("initContainers") or []:
        req = resource_list((c.get("resources") or {}).get("requests"))
        if c.get("restartPolicy") == "Always":  # sidecars run alongside the app containers
            _add(total, req)
            continue
        for k, v in req.items():
            total[k] = max(total.get(k, 0), v)
    _add(total, resource_list(spec.get("overhead")))
    return total


def node_allocatable(node: Obj) -> Resources:
    st = node.get("status") or {}
    alloc = resource_list(st.get("allocatable") or st.get("capacity"))
    alloc.setdefault("pods", 110)
    return alloc


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def host_ports(pod: Obj) -> list[tuple[str, str, int]]:
    """(protocol, hostIP, hostPort) of every container port with a hostPort."""
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            hp = p.get("hostPort")
            if hp:
                out.append((str(p.get("protocol") or "TCP"), str(p.get("hostIP") or "0.0.0.0"), int(hp)))
    return out
