"""ResourceQuota status (pure): ``status.hard`` mirrors ``spec.hard``; ``status.used`` counts what the namespace
holds for every tracked resource named in ``hard`` -- pods (non-terminal), requests/limits of cpu and memory
(``cpu``/``memory`` mean requests), object counts (``services``, ``configmaps``, ``secrets``,
``persistentvolumeclaims``, ``count/<resource>.<group>``), ``requests.storage``, ``services.nodeports`` and
``services.loadbalancers``. Quantities are printed canonically (cpu in decimal SI, memory/storage in binary SI
when exact). Enforcement is the apiserver's admission; this only keeps usage current."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from controllers.logic.podutil import meta
from controllers.scheduler.resources import qty
from kemu.api.quantity import format_quantity

Obj = dict[str, Any]
COUNTED = {"services": "services", "configmaps": "configmaps", "secrets": "secrets",
           "persistentvolumeclaims": "persistentvolumeclaims", "replicationcontrollers": "replicationcontrollers",
           "resourcequotas": "resourcequotas"}


def _pod_sum(pods: list[Obj], kind: str, res: str) -> int:
    total = 0
    for p in pods:
        spec = p.get("spec") or {}
        app = sum(qty(res, ((c.get("resources") or {}).get(kind) or {}).get(res, 0) or 0)
                  for c in spec.get("containers") or [])
        init = max([qty(res, ((c.get("resources") or {}).get(kind) or {}).get(res, 0) or 0)
                    for c in spec.get("initContainers") or []] or [0])
        total += max(app, init)
    return total


def _fmt(res: str, v: int) -> str:
    if res.endswith("cpu"):
        return format_quantity(Decimal(v) / 1000)
    return format_quantity(Decimal(v), binary=True)


def usage(hard: dict[str, Any], objects: dict[str, list[Obj]]) -> dict[str, str]:
    """``objects``: resource plural (or ``<plural>.<group>``) -> the namespace's objects."""
    pods = [p for p in objects.get("pods", []) if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    used: dict[str, str] = {}
    for name in hard:
        if name == "pods" or name == "count/pods":
            used[name] = str(len(pods))
        elif name in ("cpu", "requests.cpu", "memory", "requests.memory", "limits.cpu", "limits.memory",
                      "requests.ephemeral-storage", "limits.ephemeral-storage"):
            kind, _, res = name.partition(".") if "." in name else ("requests", "", name)
            used[name] = _fmt(res, _pod_sum(pods, kind, res))
        elif name == "requests.storage":
            total = sum(qty("storage", ((c.get("spec") or {}).get("resources") or {}).get("requests", {}).get(
                "storage", 0) or 0) for c in objects.get("persistentvolumeclaims", []))
            used[name] = _fmt("storage", total)
        elif name == "services.nodeports":
            used[name] = str(sum(1 for s in objects.get("services", []) for p in (s.get("spec") or {}).get("ports")
                                 or [] if p.get("nodePort")))
        elif name == "services.loadbalancers":
            used[name] = str(sum(1 for s in objects.get("services", [])
                                 if (s.get("spec") or {}).get("type") == "LoadBalancer"))
        elif name in COUNTED:
            used[name] = str(len(objects.get(COUNTED[name], [])))
        elif name.startswith("count/"):
            used[name] = str(len(objects.get(name[len("count/"):], [])))
    return used


def quota_status(quota: Obj, objects: dict[str, list[Obj]]) -> Obj | None:
    """The new status, or None when unchanged."""
    hard = dict((quota.get("spec") or {}).get("hard") or {})
    st = {"hard": hard, "used": usage(hard, objects)}
    return None if (quota.get("status") or {}) == st else st


def lowers_usage(old: dict[str, Any], new: dict[str, str]) -> bool:
    """Whether any tracked amount in ``new`` is below the one in ``old``."""
    for name, value in new.items():
        if name not in old:
            continue
        res = name.split(".")[-1] if name.startswith(("requests.", "limits.")) else name
        if qty(res, value) < qty(res, old[name]):
            return True
    return False


def tracked_resources(quotas: list[Obj]) -> set[str]:
    names: set[str] = set()
    for q in quotas:
        for n in ((q.get("spec") or {}).get("hard") or {}):
            names.add(n)
    return names


__all__ = ["lowers_usage", "meta", "quota_status", "tracked_resources", "usage"]
