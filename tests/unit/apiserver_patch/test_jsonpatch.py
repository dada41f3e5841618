"""RFC 6902 JSON Patch: the RFC's Appendix A vectors, Kubernetes error mapping, and input immutability."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.patch import PatchError, json_patch
from apiserver.patch.errors import GENERIC_422

pytestmark = pytest.mark.unit

# (name, document, patch, expected result or None when the RFC says it is an error)
RFC6902: list[tuple[str, Any, list[Any], Any]] = [
    ("A.1 add member", {"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
     {"baz": "qux", "foo": "bar"}),
    ("A.2 add array element", {"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ("A.3 remove member", {"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ("A.4 remove array element", {"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
     {"foo": ["bar", "baz"]}),
    ("A.5 replace", {"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    ("A.6 move member", {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ("A.7 move array element", {"foo": ["all", "grass", "cows", "eat"]},
     [{"op": "move", "from": "/foo/1", "path": "/foo/3"}], {"foo": ["all", "cows", "eat", "grass"]}),
    ("A.8 test success", {"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ("A.9 test failure", {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], None),
    ("A.10 add nested object", {"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ("A.11 unknown members ignored", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}], {"foo": "bar", "baz": "qux"}),
    ("A.12 add to missing target", {"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], None),
    ("A.14 ~ escapes", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ("A.15 string is not number", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}], None),
    ("A.16 add array value", {"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    # further cases
    ("~1 in a key", {"a/b": 1}, [{"op": "replace", "path": "/a~1b", "value": 2}], {"a/b": 2}),
    ("copy", {"a": {"b": [1]}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": [1]}, "c": {"b": [1]}}),
    # Where the Go library Kubernetes uses departs from the RFC (checked against kubectl):
    ("replace of a missing member adds it", {"a": 1}, [{"op": "replace", "path": "/b", "value": 2}],
     {"a": 1, "b": 2}),
    ("replace with a missing parent", {"a": 1}, [{"op": "replace", "path": "/b/c", "value": 2}], None),
    ("leading zero index is Atoi's", {"a": [1, 2]}, [{"op": "remove", "path": "/a/01"}], {"a": [1]}),
    ("negative index removes from the end", {"a": [1, 2]}, [{"op": "remove", "path": "/a/-1"}], {"a": [1]}),
    ("negative index adds before the end", {"a": [1, 2]}, [{"op": "add", "path": "/a/-2", "value": 9}],
     {"a": [1, 9, 2]}),
    ("negative index too far", {"a": [1, 2]}, [{"op": "add", "path": "/a/-4", "value": 9}], None),
    ("root add fails", {"a": 1}, [{"op": "add", "path": "", "value": {}}], None),
    ("root remove fails", {"a": 1}, [{"op": "remove", "path": ""}], None),
    ("root replace", {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    ("root test", {"a": 1}, [{"op": "test", "path": "", "value": {"a": 1.0}}], {"a": 1}),
    ("pointer without slash", {"a": 1}, [{"op": "add", "path": "a", "value": 2}], None),
    ("root replace with a scalar does nothing", {"a": 1}, [{"op": "replace", "path": "", "value": 1}], {"a": 1}),
    ("test of a missing member without a value", {"a": 1}, [{"op": "test", "path": "/b"}], None),
    ("remove missing", {"a": 1}, [{"op": "remove", "path": "/b"}], None),
    ("index out of range", {"a": [1]}, [{"op": "add", "path": "/a/5", "value": 2}], None),
    ("unknown op", {"a": 1}, [{"op": "frobnicate", "path": "/a"}], None),
    ("missing path", {"a": 1}, [{"op": "add", "value": 1}], None),
    ("test true is not 1", {"a": True}, [{"op": "test", "path": "/a", "value": 1}], None),
    ("test 1 equals 1.0", {"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
    ("test missing member equals null", {"a": 1}, [{"op": "test", "path": "/b", "value": None}], {"a": 1}),
    ("move into own child", {"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/c"}], None),
    ("atomic: later failure keeps nothing", {"a": 1},
     [{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zzz"}], None),
]


@pytest.mark.parametrize(("name", "doc", "ops", "want"), RFC6902, ids=[c[0] for c in RFC6902])
def test_rfc6902(name: str, doc: Any, ops: list[Any], want: Any) -> None:
    before = copy.deepcopy(doc)
    if want is None:
        with pytest.raises(PatchError) as e:
            json_patch(doc, ops)
        # Kubernetes answers application failures with the generic 422 sentence.
        assert e.value.code == 422
        assert e.value.reason == "Invalid"
        assert str(e.value) == GENERIC_422
        assert e.value.detail
    else:
        assert json_patch(doc, ops) == want
    assert doc == before


def test_test_failure_detail_as_the_go_library_words_it() -> None:
    with pytest.raises(PatchError) as e:
        json_patch({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}])
    assert e.value.detail == "testing value /baz failed: test failed"


def test_result_shares_nothing_with_the_patch_value() -> None:
    value = {"x": [1]}
    out = json_patch({}, [{"op": "add", "path": "/v", "value": value}])
    out["v"]["x"].append(2)
    assert value == {"x": [1]}


@pytest.mark.parametrize("ops", [{"op": "add"}, ["add"], [1]])
def test_malformed_patch_document_is_400(ops: Any) -> None:
    with pytest.raises(PatchError) as e:
        json_patch({}, ops)
    assert e.value.code == 400
    assert e.value.reason == "BadRequest"
    assert "cannot unmarshal" in str(e.value)


def test_operation_cap_is_413() -> None:
    with pytest.raises(PatchError) as e:
        json_patch({}, [{"op": "test", "path": "", "value": {}}] * 10001)
    assert e.value.code == 413
    assert str(e.value).endswith("The allowed maximum operations in a JSON patch is 10000, got 10001")
