"""Name/label/annotation validators: Kubernetes' exact wording."""

from __future__ import annotations

import random

import pytest

from kemu.api import names

pytestmark = pytest.mark.unit

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
         "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
QN = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
      "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


@pytest.mark.parametrize(("value", "errs"), [
    ("web", []), ("a.b-c", []), ("1abc", []), ("Foo_bar", [SUBDOMAIN]), ("a" * 254, ["must be no more than 253 "
                                                                                     "characters"]),
    ("-a", [SUBDOMAIN]), ("a.", [SUBDOMAIN]), ("web\n", [SUBDOMAIN]),
])
def test_dns1123_subdomain(value: str, errs: list[str]) -> None:
    assert names.is_dns1123_subdomain(value) == errs


@pytest.mark.parametrize(("value", "errs"), [
    ("web", []), ("a.b", ["must not contain dots"]), ("A", [LABEL]),
    ("a" * 64, ["must be no more than 63 characters"]),
])
def test_dns1123_label(value: str, errs: list[str]) -> None:
    assert names.is_dns1123_label(value) == errs


@pytest.mark.parametrize(("value", "errs"), [("web", []), ("1web", [DNS1035]), ("web-", [DNS1035])])
def test_dns1035_label(value: str, errs: list[str]) -> None:
    assert names.is_dns1035_label(value) == errs


@pytest.mark.parametrize(("value", "errs"), [
    ("app", []), ("app.kubernetes.io/name", []), ("Foo_Bar.1", []),
    ("/a", ["prefix part must be non-empty"]),
    ("a/", ["name part must be non-empty", "name part " + QN]),
    ("Ex.com/a", ["prefix part " + SUBDOMAIN]),
    ("a_", ["name part " + QN]),
    ("a" * 64, ["name part must be no more than 63 characters"]),
    ("a/b/c", ["a qualified name " + QN + " with an optional DNS subdomain prefix and '/' (e.g. "
               "'example.com/MyName')"]),
])
def test_qualified_name(value: str, errs: list[str]) -> None:
    assert names.is_qualified_name(value) == errs


def test_label_value_and_maps() -> None:
    assert names.is_label_value("") == []
    assert names.is_label_value("a_b.c-1") == []
    assert len(names.is_label_value("-a")) == 1
    assert names.is_label_value("a" * 64)[0] == "must be no more than 63 characters"
    assert [(k, key) for k, key, _ in names.validate_labels({"ok": "fine", "bad key": "v", "k": "bad value"})] == [
        ("key", "bad key"), ("value", "k")]


def test_annotations() -> None:
    bad, too_big = names.validate_annotations({"Example.COM/x": "anything at all", "a b": ""})
    assert [k for k, _ in bad] == ["a b"]
    assert not too_big
    _, too_big = names.validate_annotations({"big": "x" * (256 * 1024)})
    assert too_big


def test_ports() -> None:
    assert names.is_valid_port_num(80) == []
    assert names.is_valid_port_num(0) == ["must be between 1 and 65535, inclusive"]
    assert names.is_valid_port_name("http") == []
    assert names.is_valid_port_name("80") == ["must contain at least one letter (a-z)"]
    assert names.is_valid_port_name("a--b") == ["must not contain consecutive hyphens"]
    assert names.is_valid_port_name("a" * 16) == ["must be no more than 15 characters"]


def test_generate_name_is_seeded_and_fits() -> None:
    a = names.generate_name("web-", random.Random(1))
    assert a == names.generate_name("web-", random.Random(1))
    assert a.startswith("web-") and len(a) == 9
    assert all(c in names.GENERATE_NAME_ALPHABET for c in a[4:])
    assert len(names.generate_name("x" * 80, random.Random(2))) == 63
