"""Server-side apply scenarios from structured-merge-diff's own tests (leaf fields, sets, several appliers and
updaters): the object and every manager's field set after a sequence of applies and updates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.patch import ApplyConflict, server_side_apply, update_managed_fields
from apiserver.patch.fieldsets import from_fields_v1
from apiserver.patch.merge_keys import PatchMeta

pytestmark = pytest.mark.unit


def meta(path: tuple[str, ...]) -> tuple[str | None, str | None]:
    return ("merge,ssa:set", None) if path == ("list",) else (None, None)


META: PatchMeta = meta
Op = tuple[str, str, dict[str, Any]]  # (apply | force | update, manager, object)


def run(ops: list[Op]) -> dict[str, Any] | None:
    obj: dict[str, Any] | None = None
    for n, (kind, manager, config) in enumerate(ops):
        now = f"2026-01-01T00:00:{n:02d}Z"
        if kind in ("apply", "force"):
            obj = server_side_apply(obj, copy.deepcopy(config), manager, "v1", kind == "force", META, now)
        else:
            new = copy.deepcopy(config)
            if obj is not None and "managedFields" in obj.get("metadata", {}):
                new.setdefault("metadata", {})["managedFields"] = copy.deepcopy(obj["metadata"]["managedFields"])
            update_managed_fields(obj, new, manager, "Update", "v1", META, now)
            obj = new
    return obj


def managed(obj: dict[str, Any]) -> dict[str, set[tuple[str, ...]]]:
    return {e["manager"]: from_fields_v1(e["fieldsV1"]) for e in obj.get("metadata", {}).get("managedFields", [])}


def body(obj: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "metadata"}
    meta_rest = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    if meta_rest:
        out["metadata"] = meta_rest
    return out


def f(*names: str) -> tuple[str, ...]:
    return tuple("f:" + n for n in names)


def v(item: str) -> tuple[str, ...]:
    return ("f:list", f'v:"{item}"')


SCENARIOS: list[tuple[str, list[Op], dict[str, Any], dict[str, set[tuple[str, ...]]]]] = [
    ("leaf apply_twice",
     [("apply", "default", {"numeric": 1, "string": "string"}),
      ("apply", "default", {"numeric": 2, "string": "string", "bool": False})],
     {"numeric": 2, "string": "string", "bool": False},
     {"default": {f("numeric"), f("string"), f("bool")}}),
    ("leaf apply_update_apply_no_conflict",
     [("apply", "default", {"numeric": 1, "string": "string"}),
      ("update", "controller", {"numeric": 1, "string": "string", "bool": True}),
      ("apply", "default", {"numeric": 2, "string": "string"})],
     {"numeric": 2, "string": "string", "bool": True},
     {"default": {f("numeric"), f("string")}, "controller": {f("bool")}}),
    ("leaf apply_update_apply_with_conflict, then forced",
     [("apply", "default", {"numeric": 1, "string": "string"}),
      ("update", "controller", {"numeric": 1, "string": "controller string", "bool": True}),
      ("force", "default", {"numeric": 2, "string": "user string"})],
     {"numeric": 2, "string": "user string", "bool": True},
     {"default": {f("numeric"), f("string")}, "controller": {f("bool")}}),
    ("leaf apply_twice_remove",
     [("apply", "default", {"numeric": 1, "string": "string", "bool": False}),
      ("apply", "default", {"string": "new string"})],
     {"string": "new string"},
     {"default": {f("string")}}),
    ("leaf update_apply_omits",
     [("apply", "default", {"numeric": 2}),
      ("update", "controller", {"numeric": 1}),
      ("apply", "default", {})],
     {"numeric": 1},
     {"controller": {f("numeric")}}),
    ("set apply_update_apply_with_overlap",
     [("apply", "default", {"list": ["a", "c"]}),
      ("update", "controller", {"list": ["a", "b", "c", "d"]}),
      ("apply", "default", {"list": ["a", "b", "c"]})],
     {"list": ["a", "b", "c", "d"]},
     {"default": {v("a"), v("b"), v("c")}, "controller": {v("b"), v("d")}}),
    ("set apply_twice_reorder",
     [("apply", "default", {"list": ["a", "b", "c", "d"]}),
      ("apply", "default", {"list": ["a", "d", "c", "b"]})],
     {"list": ["a", "d", "c", "b"]},
     {"default": {v("a"), v("b"), v("c"), v("d")}}),
    ("set apply_twice_remove",
     [("apply", "default", {"list": ["a", "b", "c", "d"]}),
      ("apply", "default", {"list": ["a", "c"]})],
     {"list": ["a", "c"]},
     {"default": {v("a"), v("c")}}),
    ("appliers same_value_no_conflict",
     [("apply", "apply-one", {"numeric": 1}),
      ("apply", "apply-two", {"numeric": 1})],
     {"numeric": 1},
     {"apply-one": {f("numeric")}, "apply-two": {f("numeric")}}),
    ("shared with an updater: an applier letting go keeps the field",
     [("update", "updater", {"struct": {"name": "a", "scalar": "a"}}),
      ("apply", "applier", {"struct": {"name": "a", "scalar": "a"}}),
      ("apply", "applier", {"struct": {"name": "a"}})],
     {"struct": {"name": "a", "scalar": "a"}},
     {"updater": {f("struct"), f("struct", "name"), f("struct", "scalar")}, "applier": {f("struct", "name")}}),
    ("an updater claims a changed field",
     [("apply", "applier", {"struct": {"name": "a", "scalar": "a"}}),
      ("update", "updater", {"struct": {"name": "a", "scalar": "b"}})],
     {"struct": {"name": "a", "scalar": "b"}},
     {"updater": {f("struct", "scalar")}, "applier": {f("struct", "name")}}),
]


@pytest.mark.parametrize(("name", "ops", "want_obj", "want_managed"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario(name: str, ops: list[Op], want_obj: dict[str, Any],
                  want_managed: dict[str, set[tuple[str, ...]]]) -> None:
    obj = run(ops)
    assert obj is not None
    assert body(obj) == want_obj
    assert managed(obj) == want_managed


def test_leaf_conflict_names_the_updater() -> None:
    with pytest.raises(ApplyConflict) as e:
        run([("apply", "default", {"numeric": 1, "string": "string"}),
             ("update", "controller", {"numeric": 1, "string": "controller string", "bool": True}),
             ("apply", "default", {"numeric": 2, "string": "user string"})])
    assert e.value.conflicts == [("controller", ".string")]


def test_appliers_change_value_conflict() -> None:
    with pytest.raises(ApplyConflict) as e:
        run([("apply", "apply-one", {"numeric": 1}), ("apply", "apply-two", {"numeric": 2})])
    assert e.value.message == 'Apply failed with 1 conflict: conflict with "apply-one": .numeric'
