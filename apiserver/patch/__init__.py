"""The apiserver's patch library: pure functions, no I/O.

- ``json_patch`` (RFC 6902, application/json-patch+json), ``merge_patch`` (RFC 7386,
  application/merge-patch+json), ``strategic_merge_patch`` (Kubernetes SMP, application/strategic-merge-patch+json)
- server-side apply (application/apply-patch+yaml): ``server_side_apply``, ``update_managed_fields``,
  ``fields_of`` with managedFields in the FieldsV1 encoding
- ``PatchMeta``: per-field patch strategy and merge keys: ``builtin_patch_meta(group, kind[, version])`` for
  built-in kinds (from the Kubernetes type table), ``openapi_patch_meta(openAPIV3Schema)`` for custom resources
Errors: ``PatchError`` (``str(e)``, ``.code``, ``.reason`` give the Status), ``ApplyConflict`` (409; ``.message``
and ``.causes`` give the Status as Kubernetes words it).
"""

from __future__ import annotations

from typing import Any

from apiserver.patch.apply import server_side_apply, update_managed_fields
from apiserver.patch.errors import ApplyConflict, PatchError
from apiserver.patch.fieldsets import field_set, path_string, to_fields_v1
from apiserver.patch.jsonpatch import json_patch
from apiserver.patch.merge_keys import PatchMeta, builtin_patch_meta, openapi_patch_meta, schema_patch_meta
from apiserver.patch.mergepatch import merge_patch
from apiserver.patch.strategic import strategic_merge_patch


def fields_of(obj: dict[str, Any], meta: PatchMeta) -> dict[str, Any]:
    """The FieldsV1 set of the fields an object (or an applied configuration) sets."""
    return to_fields_v1(field_set(obj, meta))


__all__ = [
    "ApplyConflict",
    "PatchError",
    "PatchMeta",
    "builtin_patch_meta",
    "fields_of",
    "json_patch",
    "merge_patch",
    "openapi_patch_meta",
    "path_string",
    "schema_patch_meta",
    "server_side_apply",
    "strategic_merge_patch",
    "update_managed_fields",
]
