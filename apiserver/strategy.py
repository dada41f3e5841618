"""Per-kind strategy: the seam between the generic request path and the per-kind pure modules.

Defaulting and validation live in ``apiserver.kinds``, schemas (unknown fields, wrong types) in ``apiserver.schema``,
patch merge keys in ``apiserver.patch``; this module adapts a served ``Resource`` to them so handlers stay generic.
Custom resources are validated against their CRD's schema instead.
"""

from __future__ import annotations

from typing import Any

from apiserver import errors, kinds, schema
from apiserver.kinds import Cause
from apiserver.patch import PatchMeta
from apiserver.patch.merge_keys import builtin_patch_meta, openapi_patch_meta
from apiserver.resources import Resource

Obj = dict[str, Any]


def invalid(r: Resource, name: str, causes: list[Cause]) -> errors.ApiError:
    """422 Invalid with NewInvalid's message and the causes in ``details``."""
    details: dict[str, Any] = {"name": name, "kind": r.kind,
                               "causes": [{"reason": c.type, "message": c.message, "field": c.field}
                                          for c in causes]}
    if r.group:
        details["group"] = r.group
    return errors.ApiError(422, "Invalid", kinds.invalid_message(r.kind, name, causes, r.group), details)


def decode_error(r: Resource, obj: Obj) -> str | None:
    """The 400 message for values the real decoder refuses (e.g. malformed quantities), or None."""
    return None if r.crd else kinds.decode_error(r.group, r.version, r.kind, obj)


def apply_defaults(r: Resource, obj: Obj) -> None:
    if not r.crd:
        kinds.apply_defaults(r.group, r.version, r.kind, obj)
        return
    sch = r.extra.get("schema")
    if isinstance(sch, dict):
        schema.crd_apply_defaults(sch, obj)


def prepare_update(r: Resource, new: Obj, old: Obj) -> None:
    if not r.crd:
        kinds.prepare_update(r.group, r.version, r.kind, new, old)


def validate_create(r: Resource, obj: Obj) -> list[Cause]:
    if r.crd:
        return _crd_causes(r, obj)
    return kinds.validate_create(r.group, r.version, r.kind, obj)


def validate_update(r: Resource, new: Obj, old: Obj) -> list[Cause]:
    if r.crd:
        return _crd_causes(r, new)
    return kinds.validate_update(r.group, r.version, r.kind, new, old)


def validate_status_update(r: Resource, new: Obj, old: Obj) -> list[Cause]:
    if r.crd:
        return _crd_causes(r, new)
    return kinds.validate_status_update(r.group, r.version, r.kind, new, old)


def _crd_causes(r: Resource, obj: Obj) -> list[Cause]:
    sch = r.extra.get("schema")
    if not isinstance(sch, dict):
        return []
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    props = {k: v for k, v in (sch.get("properties") or {}).items() if k not in ("apiVersion", "kind", "metadata")}
    return [Cause(t, m, f) for t, m, f in schema.crd_schema_errors({**sch, "properties": props}, body)]


def unknown_fields(r: Resource, obj: Obj) -> list[str]:
    if r.crd:
        sch = r.extra.get("schema")
        if not isinstance(sch, dict):
            return []
        return schema.prune_unknown(sch, dict(obj))
    return schema.unknown_fields(r.group, r.version, r.kind, obj)


def type_errors(r: Resource, obj: Obj) -> list[str]:
    return [] if r.crd else schema.type_errors(r.group, r.version, r.kind, obj)


def prune(r: Resource, obj: Obj) -> None:
    """Drop unknown fields in place (what the server stores when validation is Ignore or Warn)."""
    if r.crd:
        sch = r.extra.get("schema")
        if isinstance(sch, dict):
            schema.prune_unknown(sch, obj)
        return
    for path in schema.unknown_fields(r.group, r.version, r.kind, obj):
        _drop(obj, path)


def _drop(obj: Obj, path: str) -> None:
    import re

    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    cur: Any = obj
    for p in parts[:-1]:
        if isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def patch_meta(r: Resource) -> PatchMeta:
    if r.crd:
        sch = r.extra.get("schema")
        return openapi_patch_meta(sch) if isinstance(sch, dict) else (lambda path: (None, None))
    return builtin_patch_meta(r.group, r.kind, r.version)
