"""Server-side apply list merging: the order structured-merge-diff gives merged sets and keyed lists (its own
merge test vectors; cases with duplicate live items left out)."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.patch.apply import _merge

pytestmark = pytest.mark.unit

SETS: list[tuple[list[Any], list[Any], list[Any]]] = [
    (["a", "b", "c"], ["a", "b"], ["a", "b", "c"]),
    (["a", "b"], ["a", "b", "c"], ["a", "b", "c"]),
    (["a", "b", "c"], [], ["a", "b", "c"]),
    ([], ["a", "b", "c"], ["a", "b", "c"]),
    (["a", "b"], ["b", "a"], ["b", "a"]),
    (["a", "b", "c"], ["d", "e", "f"], ["a", "b", "c", "d", "e", "f"]),
    (["a", "b", "c"], ["c", "d", "e", "f"], ["a", "b", "c", "d", "e", "f"]),
    (["a", "b", "c", "g", "f"], ["c", "d", "e", "f"], ["a", "b", "c", "g", "d", "e", "f"]),
    (["a", "b", "c"], ["d", "e", "f", "x", "y", "z"], ["a", "b", "c", "d", "e", "f", "x", "y", "z"]),
    (["c", "d", "e", "f"], ["a", "c", "e"], ["a", "c", "d", "e", "f"]),
    (["a", "b", "c", "x", "y", "z"], ["d", "e", "f"], ["a", "b", "c", "x", "y", "z", "d", "e", "f"]),
    (["a", "b", "c", "x", "y", "z"], ["d", "e", "f", "x", "y", "z"], ["a", "b", "c", "d", "e", "f", "x", "y", "z"]),
    (["c", "a", "g", "f"], ["c", "f", "a", "g"], ["c", "f", "a", "g"]),
    (["a", "b", "c", "d"], ["d", "e", "f", "a"], ["b", "c", "d", "e", "f", "a"]),
    (["c", "d", "e", "f", "g", "h", "i", "j"], ["2", "h", "3", "e", "4", "k", "l"],
     ["c", "d", "f", "g", "2", "h", "i", "j", "3", "e", "4", "k", "l"]),
    (["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], ["1", "b", "2", "h", "3", "e", "4", "k", "l"],
     ["a", "1", "b", "c", "d", "f", "g", "2", "h", "i", "j", "3", "e", "4", "k", "l"]),
    ([True], [False], [True, False]),
    ([1, 2, 3.14159], [1, 2, 3], [1, 2, 3.14159, 3]),
]


@pytest.mark.parametrize(("live", "applied", "want"), SETS)
def test_set_merge_order(live: list[Any], applied: list[Any], want: list[Any]) -> None:
    assert _merge({"s": live}, {"s": applied}, (), lambda p: ("merge,ssa:set", None))["s"] == want


def _items(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"key": k, "id": i} for k, i in pairs]


KEYED: list[tuple[list[Any], list[Any], list[Any]]] = [
    (_items(("a", 1)), _items(("a", 2)), _items(("a", 1), ("a", 2))),
    (_items(("a", 1), ("b", 1)), _items(("a", 1), ("a", 2)), _items(("a", 1), ("b", 1), ("a", 2))),
    (_items(("b", 2)), _items(("a", 1), ("b", 2), ("c", 3)), _items(("a", 1), ("b", 2), ("c", 3))),
    (_items(("a", 1), ("b", 2), ("c", 3)), _items(("c", 3), ("b", 2)), _items(("a", 1), ("c", 3), ("b", 2))),
    (_items(("a", 1), ("b", 2), ("c", 3)), _items(("c", 3), ("a", 1)), _items(("b", 2), ("c", 3), ("a", 1))),
]


@pytest.mark.parametrize(("live", "applied", "want"), KEYED)
def test_keyed_merge_order(live: list[Any], applied: list[Any], want: list[Any]) -> None:
    assert _merge({"l": live}, {"l": applied}, (), lambda p: ("ssa:map", "key,id"))["l"] == want


def test_keyed_items_merge_field_by_field() -> None:
    live = [{"key": "a", "id": 1, "value": {"x": "1"}, "bv": True}]
    applied = [{"key": "a", "id": 1, "value": {"y": "2"}}]
    out = _merge({"l": live}, {"l": applied}, (), lambda p: ("ssa:map", "key,id"))
    assert out["l"] == [{"key": "a", "id": 1, "value": {"x": "1", "y": "2"}, "bv": True}]
