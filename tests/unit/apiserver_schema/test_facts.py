"""The committed type table agrees with the official Python client 32.0.1 (a dev dependency): same field names and
the same JSON types for every model both know -- a check that the generated facts are Kubernetes 1.32's."""

from __future__ import annotations

import inspect
import re
from collections import defaultdict

import pytest

from apiserver.schema import types

pytestmark = pytest.mark.unit

models = pytest.importorskip("kubernetes.client.models")

_SCALARS = {"str": "string", "int": "integer", "bool": "boolean", "float": "number", "datetime": "string",
            "date": "string"}


def _python_classes() -> dict[str, type]:
    return {name: cls for name, cls in vars(models).items()
            if isinstance(cls, type) and hasattr(cls, "openapi_types") and hasattr(cls, "attribute_map")}


def _pairs() -> list[tuple[str, type]]:
    """(definition, client class) for definitions whose client class name is unambiguous (V1<Name>, V2<Name>...)."""
    by_short: dict[str, list[str]] = defaultdict(list)
    for name in types.definitions():
        parts = name.split(".")
        by_short[parts[-2].capitalize() + parts[-1]].append(name)
    classes = _python_classes()
    return [(names[0], classes[cls]) for cls, names in sorted(by_short.items())
            if len(names) == 1 and cls in classes]


def _json_type(py: str) -> str | None:
    if py.startswith("list["):
        return "array"
    if py.startswith("dict("):
        return "object"
    return _SCALARS.get(py)


def test_client_models_match_the_table() -> None:
    pairs = _pairs()
    assert len(pairs) > 400
    for defname, cls in pairs:
        d = types.definitions()[defname]
        props = d.get("properties") or {}
        fields = dict(cls.attribute_map)  # type: ignore[attr-defined]
        assert set(fields.values()) == set(props), defname
        for attr, json_name in fields.items():
            want = _json_type(cls.openapi_types[attr])  # type: ignore[attr-defined]
            p = props[json_name]
            got = p.get("type") or ("object" if "$ref" in p else None)
            if want is not None and "$ref" not in p:
                assert got == want, (defname, json_name, got, want)


def test_required_fields_match_client_constructors() -> None:
    # the generated client's setters raise "must not be `None`" exactly for required fields
    for defname, cls in _pairs():
        required = set(types.definitions()[defname].get("required") or ())
        raising = set(re.findall(r"Invalid value for `(\w+)`, must not be `None`", inspect.getsource(cls)))
        json_names = {cls.attribute_map[a] for a in raising if a in cls.attribute_map}  # type: ignore[attr-defined]
        assert json_names == required, defname
