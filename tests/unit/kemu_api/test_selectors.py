"""Label and field selectors: canonical strings, matching and Kubernetes' exact error wording."""

from __future__ import annotations

import pytest

from kemu.api.selectors import (
    SelectorError,
    field_selector_from_set,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
    selector_from_set,
)

pytestmark = pytest.mark.unit

_QN = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
       "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
       "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_LV = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
       "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
       "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


@pytest.mark.parametrize(("text", "canonical"), [
    ("", ""),
    ("a=b", "a=b"),
    ("a==b", "a==b"),
    ("  a  =  b  ", "a=b"),
    ("z!=1,a=2", "a=2,z!=1"),
    ("x in (b,a), !y, z", "x in (a,b),!y,z"),
    ("env notin (prod)", "env notin (prod)"),
    ("a in (b,b)", "a in (b)"),
    ("a in ()", "a in ()"),
    ("a in (,x)", "a in (,x)"),
    ("in=notin", "in=notin"),
    ("app.kubernetes.io/name=web", "app.kubernetes.io/name=web"),
    ("a=", "a="),
    ("n>1,n<10", "n>1,n<10"),
])
def test_label_selector_canonical(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(("text", "labels", "want"), [
    ("", {}, True),
    ("", None, True),
    ("a=b", {"a": "b"}, True),
    ("a=b", {"a": "c"}, False),
    ("a=b", {}, False),
    ("a!=b", {}, True),
    ("a!=b", {"a": "b"}, False),
    ("a in (x,y)", {"a": "y"}, True),
    ("a in (x,y)", {}, False),
    ("a notin (x,y)", {}, True),
    ("a notin (x,y)", {"a": "x"}, False),
    ("a", {"a": ""}, True),
    ("a", {"b": "1"}, False),
    ("!a", {"b": "1"}, True),
    ("!a", {"a": "1"}, False),
    ("a=b,c", {"a": "b", "c": "d"}, True),
    ("a=b,c", {"a": "b"}, False),
    ("n>5", {"n": "7"}, True),
    ("n>5", {"n": "x"}, False),
    ("n<5", {"n": "7"}, False),
    ("a=", {"a": ""}, True),
])
def test_label_selector_matches(text: str, labels: dict[str, str] | None, want: bool) -> None:
    assert parse_label_selector(text).matches(labels) is want


@pytest.mark.parametrize(("text", "message"), [
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("x,,y", "found ',', expected: identifier after ','"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("=", "found '=', expected: !, identifier, or 'end of string'"),
    ("a_=b", 'unable to parse requirement: <nil>: Invalid value: "a_": name part ' + _QN),
    ("a=b_", 'unable to parse requirement: values[0][a]: Invalid value: "b_": ' + _LV),
    ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value "
            "must be an integer"),
])
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as e:
        parse_label_selector(text)
    assert str(e.value) == message


def test_label_selector_from_dict_nil_vs_empty() -> None:
    assert not label_selector_from_dict(None).matches({"a": "b"})
    assert not label_selector_from_dict(None).empty
    assert label_selector_from_dict({}).matches({"a": "b"})
    assert label_selector_from_dict({}).empty
    assert label_selector_from_dict({"matchLabels": {}, "matchExpressions": []}).empty


def test_label_selector_from_dict_requirements() -> None:
    sel = label_selector_from_dict({
        "matchLabels": {"tier": "web", "app": "x"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]},
                             {"key": "gone", "operator": "DoesNotExist"},
                             {"key": "has", "operator": "Exists"},
                             {"key": "not", "operator": "NotIn", "values": ["z"]}],
    })
    assert str(sel) == "app=x,env in (a,b),!gone,has,not notin (z),tier=web"
    assert sel.matches({"app": "x", "tier": "web", "env": "a", "has": ""})
    assert not sel.matches({"app": "x", "tier": "web", "env": "a", "has": "", "gone": "1"})
    assert not sel.matches({"app": "x", "tier": "web", "env": "c", "has": ""})


@pytest.mark.parametrize(("sel", "message"), [
    ({"matchExpressions": [{"key": "a", "operator": "Foo"}]}, '"Foo" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "a", "operator": "In"}]},
     "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'),
    ({"matchLabels": {"a b": "c"}}, 'key: Invalid value: "a b": name part ' + _QN),
    ({"matchLabels": {"a": "c d"}}, 'values[0][a]: Invalid value: "c d": ' + _LV),
])
def test_label_selector_from_dict_errors(sel: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SelectorError) as e:
        label_selector_from_dict(sel)
    assert str(e.value) == message


def test_selector_from_set() -> None:
    sel = selector_from_set({"b": "2", "a": "1"})
    assert str(sel) == "a=1,b=2"
    assert sel.matches({"a": "1", "b": "2", "c": "3"})
    assert selector_from_set({}).empty


@pytest.mark.parametrize(("text", "reqs", "canonical"), [
    ("", [], ""),
    ("metadata.name=web", [("metadata.name", "=", "web")], "metadata.name=web"),
    ("metadata.name==web", [("metadata.name", "=", "web")], "metadata.name=web"),
    ("status.phase!=Running,spec.nodeName=n1",
     [("spec.nodeName", "=", "n1"), ("status.phase", "!=", "Running")], "spec.nodeName=n1,status.phase!=Running"),
    ("a=x\\,y", [("a", "=", "x,y")], "a=x\\,y"),
    ("a=x\\=y\\\\", [("a", "=", "x=y\\")], "a=x\\=y\\\\"),
    ("spec.nodeName=", [("spec.nodeName", "=", "")], "spec.nodeName="),
])
def test_field_selector_parse(text: str, reqs: list[tuple[str, str, str]], canonical: str) -> None:
    sel = parse_field_selector(text)
    assert sel.requirements == reqs
    assert str(sel) == canonical


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    ("a=b\\x", "invalid field selector: invalid escape sequence: \\x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a==b=c", "invalid field selector: unescaped character in value: 61"),
])
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as e:
        parse_field_selector(text)
    assert str(e.value) == message


def test_field_selector_matching_and_exact_value() -> None:
    sel = parse_field_selector("metadata.name=web,status.phase!=Failed")
    assert sel.matches({"metadata.name": "web", "status.phase": "Running"})
    assert not sel.matches({"metadata.name": "web", "status.phase": "Failed"})
    assert not sel.matches({"metadata.name": "db"})
    assert sel.exact_value("metadata.name") == "web"
    assert sel.exact_value("status.phase") is None
    assert parse_field_selector("spec.nodeName=").matches({})
    assert parse_field_selector("").empty
    assert str(field_selector_from_set({"spec.nodeName": "n1"})) == "spec.nodeName=n1"
