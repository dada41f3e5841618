"""RFC 7386 JSON Merge Patch, as the Go library Kubernetes uses (evanphx/json-patch) applies it.

Objects merge recursively, ``null`` deletes a member, anything else replaces. Like the Go library (checked against
kubectl), a value that lands where there was no object has its null members pruned -- inside nested objects and
inside arrays' objects too -- while an array or scalar replacing an existing object is taken as sent.
Pure: the input document is never modified; the result shares nothing mutable with the inputs.
"""

from __future__ import annotations

import copy
from typing import Any


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def merge_value(target: Any, patch: Any) -> Any:
    """MergePatch(Target, Patch) for any JSON values."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        return _pruned(patch)
    result = copy.deepcopy(target)
    _merge_into(result, patch)
    return result


def _merge_into(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif doc.get(key) is None:
            doc[key] = _pruned(value)
        elif isinstance(doc[key], dict) and isinstance(value, dict):
            _merge_into(doc[key], value)
        elif isinstance(doc[key], dict):
            doc[key] = copy.deepcopy(value)  # a non-object replacing an object is taken as sent
        else:
            doc[key] = _pruned(value)


def merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = merge_value(doc, patch)
    assert isinstance(out, dict)
    return out
