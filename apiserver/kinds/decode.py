"""Decode-time errors: values the real apiserver rejects while decoding the body (400), before validation (422).

The one users meet is a malformed resource quantity (``memory: 1Gb``): Go's ``resource.Quantity`` unmarshaller
fails, and the apiserver answers 400 BadRequest ``<Kind> in version "<v>" cannot be handled as a <Kind>:
quantities must match the regular expression '...'``. ``decode_error`` finds the first such value in the places
built-in kinds keep quantities and returns that message (None when the body decodes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apiserver.kinds.common import Obj, d, lst
from kemu.api.quantity import QuantityError, parse_quantity


def _pod_specs(kind: str, obj: Obj) -> Iterator[Any]:
    spec = d(obj.get("spec"))
    if kind == "Pod":
        yield spec
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"):
        yield d(spec.get("template")).get("spec")
    elif kind == "PodTemplate":
        yield d(obj.get("template")).get("spec")
    elif kind == "CronJob":
        yield d(d(d(spec.get("jobTemplate")).get("spec")).get("template")).get("spec")


def _resource_lists(group: str, kind: str, obj: Obj) -> Iterator[Any]:
    for ps in _pod_specs(kind, obj):
        sp = d(ps)
        for c in lst(sp.get("containers")) + lst(sp.get("initContainers")) + lst(sp.get("ephemeralContainers")):
            res = d(d(c).get("resources"))
            yield res.get("limits")
            yield res.get("requests")
        yield sp.get("overhead")
    spec = d(obj.get("spec"))
    if kind == "PersistentVolumeClaim":
        yield d(spec.get("resources")).get("requests")
        yield d(spec.get("resources")).get("limits")
    if kind == "StatefulSet":
        for claim in lst(spec.get("volumeClaimTemplates")):
            res = d(d(d(claim).get("spec")).get("resources"))
            yield res.get("requests")
            yield res.get("limits")
    if kind == "PersistentVolume":
        yield spec.get("capacity")
    if kind == "ResourceQuota":
        yield spec.get("hard")
    if kind == "LimitRange":
        for item in lst(spec.get("limits")):
            for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                yield d(item).get(key)
    if kind == "Node":
        status = d(obj.get("status"))
        yield status.get("capacity")
        yield status.get("allocatable")


def decode_error(group: str, version: str, kind: str, obj: Obj) -> str | None:
    """The 400 message for the first malformed quantity, or None."""
    if group not in ("", "apps", "batch") or not isinstance(obj, dict):
        return None
    for mapping in _resource_lists(group, kind, obj):
        for v in d(mapping).values():
            if v is None:
                continue  # JSON null decodes as a zero quantity
            try:
                # Go parses a non-string JSON value from its literal text; true or {} fail the format check.
                parse_quantity(v if isinstance(v, str) else "x" if isinstance(v, bool) else str(v)
                               if isinstance(v, int | float) else "x")
                continue
            except QuantityError as e:
                return f'{kind} in version "{version}" cannot be handled as a {kind}: {e}'
    return None
