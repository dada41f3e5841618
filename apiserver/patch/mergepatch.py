"""RFC 7386 JSON Merge Patch: objects merge recursively, ``null`` deletes a member, anything else replaces.

Pure: the input document is never modified; the result shares nothing mutable with the inputs.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_value(target: Any, patch: Any) -> Any:
    """MergePatch(Target, Patch) of RFC 7386 section 2, for any JSON values."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_value(result.get(key), value)
    return result


def merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = merge_value(doc, patch)
    assert isinstance(out, dict)
    return out
