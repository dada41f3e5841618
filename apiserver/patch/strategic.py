"""Kubernetes strategic merge patch (application/strategic-merge-patch+json), as the apiserver applies it.

Semantics (k8s.io/apimachinery strategicpatch, server side: parallel lists merged, unmatched nulls ignored):
- Maps merge recursively; ``null`` deletes a key; a value of another type replaces; a map whose strategy is
  ``replace`` is replaced whole.
- A list whose strategy contains ``merge`` is merged: lists of maps by the merge key (an item with the key of a
  live item merges into it, others are added), lists of scalars as a set. Other lists are replaced.
- Order of a merged list: items named by the patch keep the patch's order, live-only items keep the live order,
  and the two are interleaved by live position, so new items come before the live items that follow them
  (this is why ``kubectl patch`` adding a container lists it first).
- Directives: ``$patch: replace`` / ``$patch: delete`` in a map; in a list of maps an item ``{"$patch": "delete",
  <key>: v}`` deletes the live item and ``{"$patch": "replace"}`` replaces the list with the other items;
  ``$deleteFromPrimitiveList/<field>`` removes scalars; ``$setElementOrder/<field>`` fixes the final order;
  ``$retainKeys`` keeps only the listed keys of the live map before merging.
- Go details reproduced because clients see them: items added to a merged list (and the items of a replaced
  list) are taken as sent, not merged (leftover directive keys and nulls are dropped, as typed decoding drops
  them); ``$setElementOrder`` ordering sees the live list as Go's in-place deletes and appends leave it.
Errors: malformed directives are 400 BadRequest worded as Kubernetes; a list item without its merge key, an
unknown ``$patch`` value or a list of lists are 422 (the real apiserver answers the first two with a 500 carrying
the same message: we keep the message and report a client error).
Checked against kubectl's own copy of the library (``kubectl patch --local``): tests/integration/apiserver_patch.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.patch.errors import PatchError, bad_request, invalid
from apiserver.patch.jsonpatch import json_equal
from apiserver.patch.merge_keys import PatchMeta, key_fields, strategies

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"

Path = tuple[str, ...]


def strategic_merge_patch(doc: dict[str, Any], patch: dict[str, Any], meta: PatchMeta) -> dict[str, Any]:
    """Apply ``patch`` to a copy of ``doc``; ``meta`` gives each field's patch strategy and merge key."""
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    return _merge_map(copy.deepcopy(doc), copy.deepcopy(patch), (), meta)


def go_format(value: Any) -> str:
    """A JSON value as Go's %v prints the decoded interface{} (map keys sorted), for error messages."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _no_merge_key(item: dict[str, Any], key: str) -> PatchError:
    return PatchError(f"map: {go_format(item)} does not contain declared merge key: {key}")


def _merge_map(original: dict[str, Any], patch: dict[str, Any], path: Path, meta: PatchMeta) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            return _merge_map({}, {k: v for k, v in patch.items() if k != DIRECTIVE}, path, meta)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {go_format(directive)} in map: {go_format(patch)}")
    _retain_keys(original, patch)
    _set_element_orders(original, patch, path, meta)
    for key, value in patch.items():
        if key.startswith(DELETE_PRIMITIVE):
            field = key[len(DELETE_PRIMITIVE):]
            if not isinstance(value, list):
                raise bad_request("invalid patch format of primitive list")
            if isinstance(original.get(field), list):
                original[field] = [v for v in original[field] if not any(json_equal(v, d) for d in value)]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            original.pop(key, None)
            continue
        child = (*path, key)
        live = original.get(key)
        if key not in original or _kind(live) != _kind(value):
            original[key] = _fresh(value, child, meta)
        elif isinstance(value, dict) and isinstance(live, dict):
            if "replace" in strategies(meta(child)[0]):
                original[key] = _merge_map({}, value, child, meta)
            else:
                original[key] = _merge_map(live, value, child, meta)
        elif isinstance(value, list) and isinstance(live, list):
            original[key] = _merge_list_field(live, value, child, meta)
        else:
            original[key] = value
    return original


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def _fresh(value: Any, path: Path, meta: PatchMeta) -> Any:
    """A patch value with no live counterpart: directives processed and nulls dropped."""
    if isinstance(value, dict):
        return _merge_map({}, value, path, meta)
    if isinstance(value, list):
        return _merge_list_field([], value, path, meta)
    return value


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise bad_request("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PRIMITIVE, SET_ORDER)):
            continue
        if key not in keep:
            raise bad_request("invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_list_field(original: list[Any], patch: list[Any], path: Path, meta: PatchMeta) -> list[Any]:
    strategy, merge_key = meta(path)
    if "merge" not in strategies(strategy):
        return [_strip_directives(v) for v in patch]
    keys = key_fields(merge_key)
    return _merge_list(original, patch, keys[0] if keys else "", path, meta)


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _element_kind(*lists: list[Any]) -> str:
    kinds = {_kind(v) for lst in lists for v in lst}
    if "list" in kinds:
        raise invalid("lists of lists are not supported")
    if len(kinds) > 1:
        raise PatchError("array elements are not all of the same type")
    return kinds.pop() if kinds else "scalar"


def _merge_list(original: list[Any], patch: list[Any], key: str, path: Path, meta: PatchMeta) -> list[Any]:
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind == "scalar":
        merged = _dedupe([*original, *patch])
        order_key = ""
    else:
        if not key:
            raise PatchError(f"cannot merge lists without merge key for {'.'.join(path)}")
        original, patch, replaced = _special_elements(original, patch, key)
        if replaced:
            # the list is the patch's items, taken as they are (directives left in them are dropped, as the
            # apiserver's typed decoding drops unknown keys)
            original = [_as_decoded(item) for item in original]
        merged = _merge_by_key(original, patch, key, path, meta)
        order_key = key
    patch_items, server_only = _partition(merged, patch, order_key)
    return _normalize_order(patch_items, server_only, patch, original, order_key)


def _hkey(value: Any) -> str:
    """A hashable identity with json_equal's meaning (1 and 1.0 alike, true unlike 1) for merge-key values and
    scalar items, so list operations stay linear on long lists."""
    return json.dumps(_norm(value), sort_keys=True, separators=(",", ":"))


def _norm(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    seen: set[str] = set()
    for v in values:
        h = _hkey(v)
        if h not in seen:
            seen.add(h)
            out.append(v)
    return out


def _special_elements(original: list[Any], patch: list[Any], key: str) -> tuple[list[Any], list[Any], bool]:
    """Apply ``$patch`` items of a list of maps; returns (original, patch without them, replaced)."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise _no_merge_key(item, key)
            gone = _hkey(item[key])
            original = [o for o in original if not (isinstance(o, dict) and key in o and _hkey(o[key]) == gone)]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {go_format(directive)} in map: {go_format(item)}")
    if replace:
        return plain, [], True
    return original, plain, False


def _merge_by_key(original: list[Any], patch: list[Any], key: str, path: Path, meta: PatchMeta) -> list[Any]:
    merged = list(original)
    at: dict[str, int] = {}
    for i, live in enumerate(merged):
        if isinstance(live, dict) and key in live:
            at.setdefault(_hkey(live[key]), i)
    for item in patch:
        if key not in item:
            raise _no_merge_key(item, key)
        i = at.get(_hkey(item[key]), -1)
        if i >= 0:
            merged[i] = _merge_map(merged[i], item, path, meta)
        else:
            at[_hkey(item[key])] = len(merged)
            # a new item is added as sent (apimachinery appends it unmerged); what typed decoding would drop
            # from it -- leftover directive keys, nulls -- is dropped here
            merged.append(_as_decoded(item))
    return merged


def _as_decoded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_decoded(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_as_decoded(v) for v in value]
    return value


def _identity(item: Any, key: str) -> Any:
    return item.get(key) if key and isinstance(item, dict) else item


def _positions(items: list[Any], key: str) -> dict[str, int]:
    """Identity -> first position in ``items`` (the merge-key value for maps, the item for scalars)."""
    out: dict[str, int] = {}
    for i, item in enumerate(items):
        if key and isinstance(item, dict) and key not in item:
            continue
        out.setdefault(_hkey(_identity(item, key)), i)
    return out


def _index(positions: dict[str, int], item: Any, key: str) -> int:
    if key and isinstance(item, dict) and key not in item:
        return -1
    return positions.get(_hkey(_identity(item, key)), -1)


def _partition(merged: list[Any], present_in: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    """(items of ``merged`` named in ``present_in``, the others)."""
    named: list[Any] = []
    rest: list[Any] = []
    positions = _positions(present_in, key)
    for item in merged:
        if isinstance(item, dict) and key and key not in item:
            raise _no_merge_key(item, key)
        (named if _index(positions, item, key) >= 0 else rest).append(item)
    return named, rest


def _sorted_by(items: list[Any], order: list[Any], key: str) -> list[Any]:
    positions = _positions(order, key)

    def position(item: Any) -> int:
        i = _index(positions, item, key)
        return i if i >= 0 else len(order)
    return sorted(items, key=position)


def _normalize_order(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
                     server_order: list[Any], key: str) -> list[Any]:
    """Patch items in patch order, server-only items in live order, interleaved by live position: a server-only
    item goes first only when both it and the next patch item are live and it comes earlier in the live list."""
    right = _sorted_by(patch_items, patch_order, key)
    left = _sorted_by(server_only, server_order, key)
    server = _positions(server_order, key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            out.append(left[i])
            i += 1
        elif i >= len(left):
            out.append(right[j])
            j += 1
        else:
            li, ri = _index(server, left[i], key), _index(server, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _set_element_orders(original: dict[str, Any], patch: dict[str, Any], path: Path, meta: PatchMeta) -> None:
    """Process every ``$setElementOrder/<field>``: merge that field now and sort it by the given order."""
    for directive in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(directive)
        if not isinstance(order, list):
            raise bad_request("invalid patch format of setElementOrder list")
        field = directive[len(SET_ORDER):]
        child = (*path, field)
        keys = key_fields(meta(child)[1])
        key = keys[0] if keys else ""
        live = original.get(field)
        live_list = live if isinstance(live, list) else None
        patch_list = patch.get(field) if isinstance(patch.get(field), list) else None
        _check_order(patch_list or [], order, key)
        if live_list is None and patch_list is None:
            continue
        if not live_list and not patch_list:
            raise PatchError("no elements in any of the given slices")
        if live_list is not None and patch_list is None:
            merged = live_list
        elif live_list is None and patch_list is not None:
            merged = _fresh(patch_list, child, meta)
        elif live_list is not None and patch_list is not None:
            merged = _merge_list_field(live_list, patch_list, child, meta)
        else:
            continue
        patch_items, server_only = _partition(merged, order, key)
        server_order = _live_as_aliased(live_list, patch_list, key) if live_list and patch_list and key else live_list
        original[field] = _normalize_order(patch_items, server_only, order, server_order or [], key)
        patch.pop(field, None)


def _live_as_aliased(live: list[Any], patch: list[Any], key: str) -> list[Any]:
    """The live list as apimachinery's ordering step sees it after merging: Go deletes list items in place
    (shifting later items left within the same array) and appends new items into the room that frees, and the
    ordering step reads the original array, so it sees those shifted and appended items. Reproduced here because
    it decides where live-only items land when ``kubectl apply`` removes and adds items in one patch."""
    arr = list(live)
    size = len(arr)
    for item in patch:
        if isinstance(item, dict) and item.get(DIRECTIVE) == "delete" and key in item:
            while True:
                at = next((i for i in range(size) if isinstance(arr[i], dict)
                           and json_equal(arr[i].get(key), item[key])), None)
                if at is None:
                    break
                arr[at:size - 1] = arr[at + 1:size]
                size -= 1
    if any(isinstance(item, dict) and item.get(DIRECTIVE) == "replace" for item in patch):
        return arr
    for item in patch:
        if not isinstance(item, dict) or DIRECTIVE in item or key not in item:
            continue
        if any(isinstance(o, dict) and json_equal(o.get(key), item[key]) for o in arr[:size]):
            continue
        if size >= len(arr):
            break  # Go reallocates: later appends no longer touch the original array
        arr[size] = item
        size += 1
    return arr


def _check_order(patch_list: list[Any], order: list[Any], key: str) -> None:
    """As apimachinery validates a patch list against its order list: walking both, directive items are skipped
    and each order entry may match the next patch item; patch items left once the order list is used up fail."""
    if not order or not patch_list:
        return
    items = [v for v in patch_list if not (key and isinstance(v, dict) and v.get(DIRECTIVE) == "delete")]
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and DIRECTIVE in items[pi]:
            pi += 1
            continue
        if json_equal(_identity(items[pi], key), _identity(order[oi], key)):
            pi += 1
        oi += 1
    if pi < len(items) and oi >= len(order):
        raise PatchError(f"The order in patch list:\n{go_format(patch_list)}\n doesn't match {SET_ORDER[:-1]} list:\n"
                         f"{go_format(order)}\n")
