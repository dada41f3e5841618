"""Field sets for server-side apply: paths, the FieldsV1 encoding, and the set/compare walks over objects.

A path is a tuple of FieldsV1 path elements, exactly as Kubernetes spells them: ``f:<field>`` for a map key,
``k:{"name":"web"}`` for an item of a list keyed by merge keys (JSON of the key fields, sorted by name),
``v:"a"`` for an item of a set-like list of scalars, ``i:<n>`` for an item of a positional list (unused by the
built-in kinds). A set is a Python ``set`` of such tuples. In FieldsV1 each member is ``{}`` and ``"."`` marks a
member that also has members below it.

Walk rules (after sigs.k8s.io/structured-merge-diff, with ``PatchMeta`` standing in for the schema):
- ``field_set`` (what an applied configuration sets): every scalar, every list item, every atomic list or map,
  and every map-valued field that is null or empty. Non-empty maps are reached through their children.
- ``compare(old, new)``: ``added`` holds every node (maps included) that exists only in ``new``; ``removed``
  every node only in ``old``; ``modified`` the leaves (scalars, atomic lists/maps) whose values differ.
A map is atomic when its strategy contains ``atomic`` or ``replace`` (an item of a list marked
``ssa:atomic-items`` too). A list follows its ``ssa:map``/``ssa:set``/``ssa:atomic`` token when it has one;
otherwise it is keyed when its strategy contains ``merge`` and it has a merge key, a set when ``merge`` without a
key, atomic otherwise. Unchanged subtrees are skipped by ``compare`` (the common case on updates).
"""

from __future__ import annotations

import json
from typing import Any

from apiserver.patch.errors import PatchError
from apiserver.patch.jsonpatch import json_equal
from apiserver.patch.merge_keys import SSA_ATOMIC, SSA_ATOMIC_ITEMS, SSA_MAP, SSA_SET, PatchMeta, key_fields, strategies

Path = tuple[str, ...]
FieldSet = set[Path]

# Key fields Kubernetes defaults when an item omits them (so the item key still resolves).
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def names_of(path: Path) -> tuple[str, ...]:
    """The field names of a path (what PatchMeta is asked about): list item elements are skipped."""
    return tuple(pe[2:] for pe in path if pe.startswith("f:"))


def list_kind(meta: PatchMeta, names: tuple[str, ...]) -> tuple[str, list[str]]:
    """("keyed", keys) | ("set", []) | ("atomic", []): the list's server-side apply type."""
    strategy, merge_key = meta(names)
    tokens = strategies(strategy)
    keys = key_fields(merge_key)
    if SSA_MAP in tokens and keys:
        return "keyed", keys
    if SSA_SET in tokens:
        return "set", []
    if SSA_ATOMIC in tokens or "merge" not in tokens:
        return "atomic", []
    return ("keyed", keys) if keys else ("set", [])


def items_atomic(meta: PatchMeta, names: tuple[str, ...]) -> bool:
    return SSA_ATOMIC_ITEMS in strategies(meta(names)[0])


def map_is_atomic(meta: PatchMeta, names: tuple[str, ...]) -> bool:
    return bool(strategies(meta(names)[0]) & {"atomic", "replace"})


def atomic_map_at(meta: PatchMeta, path: Path) -> bool:
    """Whether the map at ``path`` is owned as one value: an atomic map field, or an item of a list whose items
    are atomic structs."""
    if not path:
        return False
    if path[-1].startswith("k:"):
        return items_atomic(meta, names_of(path))
    return map_is_atomic(meta, names_of(path))


def item_element(item: Any, keys: list[str], where: Path) -> str:
    """The path element of an item of a keyed list."""
    if not isinstance(item, dict):
        raise PatchError(f"{path_string(where)}: expected map, got {_json(item)}")
    fields: dict[str, Any] = {}
    for k in sorted(keys):
        if k in item:
            fields[k] = item[k]
        elif k in _KEY_DEFAULTS:
            fields[k] = _KEY_DEFAULTS[k]
        else:
            raise PatchError(f"{path_string(where)}: associative list with keys has an element that omits key "
                             f'field "{k}" (and doesn\'t have default value)')
    return "k:" + _json(fields)


def value_element(item: Any) -> str:
    return "v:" + _json(item)


def _items(value: list[Any], path: Path, meta: PatchMeta) -> tuple[str, list[tuple[str, Any]]]:
    """(kind, [(path element, item)]) of a list value; duplicates keep the first item."""
    kind, keys = list_kind(meta, names_of(path))
    if kind == "atomic":
        return kind, []
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for item in value:
        pe = item_element(item, keys, path) if kind == "keyed" else value_element(item)
        if pe not in seen:
            seen.add(pe)
            out.append((pe, item))
    return kind, out


# --- the set an applied configuration specifies --------------------------------------------------------------

def field_set(obj: dict[str, Any], meta: PatchMeta) -> FieldSet:
    out: FieldSet = set()
    _set_map(obj, (), meta, out)
    return out


def _set_value(value: Any, path: Path, meta: PatchMeta, out: FieldSet) -> None:
    if isinstance(value, dict):
        if not value or atomic_map_at(meta, path):
            out.add(path)
        else:
            _set_map(value, path, meta, out)
    elif isinstance(value, list):
        kind, items = _items(value, path, meta)
        if kind == "atomic":
            out.add(path)
            return
        for pe, item in items:
            child = (*path, pe)
            out.add(child)
            if kind == "keyed" and not atomic_map_at(meta, child):
                _set_map(item, child, meta, out)
    else:
        out.add(path)


def _set_map(obj: dict[str, Any], path: Path, meta: PatchMeta, out: FieldSet) -> None:
    for key, value in obj.items():
        _set_value(value, (*path, "f:" + key), meta, out)


def duplicate_keys(obj: Any, meta: PatchMeta, path: Path = ()) -> str | None:
    """The first keyed or set list with a repeated item, as structured-merge-diff reports it
    (``.spec.containers: duplicate entries for key [name="web"]``), or None."""
    if isinstance(obj, dict):
        if path and atomic_map_at(meta, path):
            return None
        for key, value in obj.items():
            found = duplicate_keys(value, meta, (*path, "f:" + key))
            if found:
                return found
    elif isinstance(obj, list):
        kind, keys = list_kind(meta, names_of(path))
        if kind == "atomic":
            return None
        seen: set[str] = set()
        for item in obj:
            pe = item_element(item, keys, path) if kind == "keyed" else value_element(item)
            if pe in seen:
                what = "key" if kind == "keyed" else "value"
                return f"{path_string(path)}: duplicate entries for {what} {path_string((pe,))}"
            seen.add(pe)
            if kind == "keyed":
                found = duplicate_keys(item, meta, (*path, pe))
                if found:
                    return found
    return None


# --- every node of a value (for added/removed subtrees) ------------------------------------------------------

def all_nodes(value: Any, path: Path, meta: PatchMeta, out: FieldSet) -> None:
    out.add(path)
    if isinstance(value, dict):
        if atomic_map_at(meta, path):
            return
        for key, v in value.items():
            all_nodes(v, (*path, "f:" + key), meta, out)
    elif isinstance(value, list):
        kind, items = _items(value, path, meta)
        for pe, item in items:
            if kind == "keyed":
                all_nodes(item, (*path, pe), meta, out)
            else:
                out.add((*path, pe))


# --- comparison ----------------------------------------------------------------------------------------------

class Comparison:
    def __init__(self) -> None:
        self.added: FieldSet = set()
        self.modified: FieldSet = set()
        self.removed: FieldSet = set()


def compare(old: dict[str, Any], new: dict[str, Any], meta: PatchMeta) -> Comparison:
    c = Comparison()
    _compare_map(old, new, (), meta, c)
    return c


def _compare_map(old: dict[str, Any], new: dict[str, Any], path: Path, meta: PatchMeta, c: Comparison) -> None:
    for key in old.keys() | new.keys():
        child = (*path, "f:" + key)
        if key not in new:
            all_nodes(old[key], child, meta, c.removed)
        elif key not in old:
            all_nodes(new[key], child, meta, c.added)
        else:
            _compare_value(old[key], new[key], child, meta, c)


def _compare_value(old: Any, new: Any, path: Path, meta: PatchMeta, c: Comparison) -> None:
    if type(old) is type(new) and old == new:
        return  # unchanged subtree (the common case): nothing to walk
    if isinstance(old, dict) and isinstance(new, dict) and not atomic_map_at(meta, path):
        _compare_map(old, new, path, meta, c)
        return
    if isinstance(old, list) and isinstance(new, list):
        kind, old_items = _items(old, path, meta)
        if kind != "atomic":
            _, new_items = _items(new, path, meta)
            olds, news = dict(old_items), dict(new_items)
            for pe in olds.keys() | news.keys():
                child = (*path, pe)
                if pe not in news:
                    all_nodes(olds[pe], child, meta, c.removed)
                elif pe not in olds:
                    all_nodes(news[pe], child, meta, c.added)
                elif kind == "keyed":
                    _compare_value(olds[pe], news[pe], child, meta, c)
            return
    shape_changed = type(old) is not type(new) and (isinstance(old, dict | list) or isinstance(new, dict | list))
    if shape_changed:
        # the old subtree is gone, the new one is there
        gone: FieldSet = set()
        all_nodes(old, path, meta, gone)
        fresh: FieldSet = set()
        all_nodes(new, path, meta, fresh)
        c.removed |= gone - {path}
        c.added |= fresh - {path}
        c.modified.add(path)
        return
    if not json_equal(old, new):
        c.modified.add(path)


# --- helpers over sets ---------------------------------------------------------------------------------------

def drop_subtrees(fields: FieldSet, prefixes: set[Path]) -> FieldSet:
    """``fields`` without the given paths and everything below them."""
    return {p for p in fields if not any(p[:len(q)] == q for q in prefixes)}


def value_at(obj: Any, path: Path) -> tuple[bool, Any]:
    """(found, value) of a path inside an object."""
    node = obj
    for pe in path:
        if pe.startswith("f:") and isinstance(node, dict):
            if pe[2:] not in node:
                return False, None
            node = node[pe[2:]]
        elif pe[:2] in ("k:", "v:") and isinstance(node, list):
            for item in node:
                if pe.startswith("v:") and value_element(item) == pe:
                    node = item
                    break
                if pe.startswith("k:") and isinstance(item, dict) and _matches_key(item, json.loads(pe[2:])):
                    node = item
                    break
            else:
                return False, None
        elif pe.startswith("i:") and isinstance(node, list) and int(pe[2:]) < len(node):
            node = node[int(pe[2:])]
        else:
            return False, None
    return True, node


def _matches_key(item: dict[str, Any], key: dict[str, Any]) -> bool:
    return all(json_equal(item.get(k, _KEY_DEFAULTS.get(k)), v) for k, v in key.items())


def iteration_order(fields: FieldSet) -> list[Path]:
    """Paths in the order Kubernetes' field sets iterate them: at each level the members before the paths that
    go deeper, each group sorted by element."""
    def key(path: Path) -> tuple[tuple[int, str], ...]:
        return tuple((0 if i == len(path) - 1 else 1, pe) for i, pe in enumerate(path))
    return sorted(fields, key=key)


# --- FieldsV1 ------------------------------------------------------------------------------------------------

def to_fields_v1(fields: FieldSet) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(fields):
        node = root
        for pe in path:
            node = node.setdefault(pe, {})
    # Members with children carry ".": {} (a member without children is a bare {}).
    for path in fields:
        node = root
        for pe in path:
            node = node[pe]
        if node and "." not in node:
            node["."] = {}
    return _sorted_tree(root)


def _sorted_tree(node: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted_tree(node[k]) for k in sorted(node)}


def from_fields_v1(tree: Any) -> FieldSet:
    out: FieldSet = set()
    _decode(tree, (), out)
    return out


def _decode(node: Any, path: Path, out: FieldSet) -> None:
    if not isinstance(node, dict):
        return
    for key, child in node.items():
        if key == ".":
            if path:
                out.add(path)
            continue
        here = (*path, key)
        if not child:
            out.add(here)
        else:
            _decode(child, here, out)


def path_string(path: Path) -> str:
    """fieldpath.Path.String(): .spec.replicas, .spec.containers[name="web"].image, .metadata.finalizers[="x"]."""
    parts: list[str] = []
    for pe in path:
        kind, text = pe[:2], pe[2:]
        if kind == "f:":
            parts.append("." + text)
        elif kind == "k:":
            try:
                fields = json.loads(text)
                parts.append("[" + ",".join(f"{k}={_json(v)}" for k, v in sorted(fields.items())) + "]")
            except (ValueError, AttributeError):
                parts.append("[" + text + "]")
        elif kind == "v:":
            parts.append("[=" + text + "]")
        elif kind == "i:":
            parts.append("[" + text + "]")
        else:
            parts.append(pe)
    return "".join(parts)
