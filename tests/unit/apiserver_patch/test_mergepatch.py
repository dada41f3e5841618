"""RFC 7386 JSON Merge Patch: the RFC's Appendix A vectors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.patch import merge_patch
from apiserver.patch.mergepatch import merge_value

pytestmark = pytest.mark.unit

RFC7386: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "want"), RFC7386)
def test_rfc7386(target: Any, patch: Any, want: Any) -> None:
    before = copy.deepcopy(target)
    assert merge_value(target, patch) == want
    assert target == before


def test_merge_patch_on_an_object() -> None:
    doc: dict[str, Any] = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}}
    out = merge_patch(doc, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"replicas": 3}})
    assert out == {"metadata": {"labels": {"b": "2", "c": "3"}}, "spec": {"replicas": 3}}
    assert doc["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_go_library_prunes_nulls_where_no_object_was() -> None:
    # nulls inside a value that lands where there was no object are pruned, even inside arrays' objects ...
    assert merge_value({"a": "x"}, {"a": [{"b": None, "c": 1}, None]}) == {"a": [{"c": 1}, None]}
    assert merge_value({}, {"a": [{"b": None}]}) == {"a": [{}]}
    # ... but an array replacing an object is taken as sent
    assert merge_value({"a": {"k": 1}}, {"a": [{"b": None}]}) == {"a": [{"b": None}]}
