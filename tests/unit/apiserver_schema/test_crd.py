"""Custom resources against openAPIV3Schema: causes as the real apiserver's 422, and structural pruning."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver import schema

pytestmark = pytest.mark.unit

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
                "image": {"type": "string", "minLength": 3, "maxLength": 10},
                "replicas": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 10},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "multipleOf": 0.5},
                "color": {"type": "string", "enum": ["red", "blue"]},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": True},
                "hosts": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 2},
                "note": {"type": "string", "nullable": True},
                "when": {"type": "string", "format": "date-time"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def _errs(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    return schema.crd_schema_errors(SCHEMA, {"spec": {"cronSpec": "* * * * */5", **spec}})


def test_valid_object() -> None:
    ok = {"image": "nginx", "replicas": 3, "ratio": 1.5, "color": "red", "port": "http", "tags": ["a"],
          "hosts": [{"name": "h"}], "labels": {"a": "b"}, "note": None, "when": "2024-01-01T00:00:00Z",
          "free": {"x": {"y": 1}}, "template": {"apiVersion": "v1", "kind": "Pod", "spec": {}}}
    assert _errs(ok) == []
    assert _errs({"replicas": 3.0, "port": 8080}) == []   # an integral float is an integer, as in kube-openapi


@pytest.mark.parametrize("spec, expected", [
    ({"replicas": "three"}, [("FieldValueTypeInvalid",
                              'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
                              "spec.replicas")]),
    ({"replicas": 0}, [("FieldValueInvalid",
                        "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
                        "spec.replicas")]),
    ({"replicas": 11}, [("FieldValueInvalid",
                         "Invalid value: 11: spec.replicas in body should be less than or equal to 10",
                         "spec.replicas")]),
    ({"ratio": 0}, [("FieldValueInvalid", "Invalid value: 0: spec.ratio in body should be greater than 0",
                     "spec.ratio")]),
    ({"ratio": 0.7}, [("FieldValueInvalid", "Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5",
                       "spec.ratio")]),
    ({"image": "ab"}, [("FieldValueInvalid",
                        'Invalid value: "ab": spec.image in body should be at least 3 chars long', "spec.image")]),
    ({"image": "a" * 11}, [("FieldValueTooLong", "Too long: may not be more than 10 bytes", "spec.image")]),
    ({"color": "pink"}, [("FieldValueNotSupported",
                          'Unsupported value: "pink": supported values: "red", "blue"', "spec.color")]),
    ({"port": True}, [("FieldValueTypeInvalid",
                       'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
                       "spec.port")]),
    ({"tags": ["a", "b", "c"]}, [("FieldValueTooMany", "Too many: 3: must have at most 2 items", "spec.tags")]),
    ({"tags": ["a", "a"]}, [("FieldValueInvalid",
                             'Invalid value: "": spec.tags in body shouldn\'t contain duplicates', "spec.tags")]),
    ({"tags": ["a", 1]}, [("FieldValueTypeInvalid",
                           'Invalid value: "integer": spec.tags[1] in body must be of type string: "integer"',
                           "spec.tags[1]")]),
    ({"hosts": []}, [("FieldValueInvalid", "Invalid value: 0: spec.hosts in body should have at least 1 items",
                      "spec.hosts")]),
    ({"hosts": [{"name": "a"}, {}]}, [("FieldValueRequired", "Required value", "spec.hosts[1].name")]),
    ({"labels": {"a": 1}}, [("FieldValueTypeInvalid",
                             'Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
                             "spec.labels.a")]),
    ({"labels": {"a": "1", "b": "2", "c": "3"}}, [("FieldValueTooMany", "Too many: 3: must have at most 2 items",
                                                   "spec.labels")]),
    ({"image": None}, [("FieldValueTypeInvalid",
                        'Invalid value: "null": spec.image in body must be of type string: "null"', "spec.image")]),
    ({"when": "noon"}, [("FieldValueTypeInvalid",
                         'Invalid value: "noon": spec.when in body must be of type date-time: "noon"',
                         "spec.when")]),
    ({"cronSpec": "every minute"}, [("FieldValueInvalid",
                                     'Invalid value: "every minute": spec.cronSpec in body should match '
                                     "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'", "spec.cronSpec")]),
    ({"template": {"spec": {}}}, [("FieldValueRequired", "Required value: must not be empty",
                                   "spec.template.apiVersion"),
                                  ("FieldValueRequired", "Required value: must not be empty", "spec.template.kind")]),
])
def test_crd_causes(spec: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert _errs(spec) == expected


def test_required_and_root_type() -> None:
    assert schema.crd_schema_errors(SCHEMA, {"spec": {}}) == [("FieldValueRequired", "Required value",
                                                               "spec.cronSpec")]
    assert schema.crd_schema_errors(SCHEMA, {"spec": "x"}) == [
        ("FieldValueTypeInvalid", 'Invalid value: "string": spec in body must be of type object: "string"', "spec")]
    assert schema.crd_schema_errors({}, {"anything": 1}) == []


def test_prune_unknown() -> None:
    obj: dict[str, Any] = {
        "apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "x", "labels": {"a": "b"}, "bogus": 1},
        "spec": {"cronSpec": "* * * * *", "extra": 1, "hosts": [{"name": "a", "port": 1}],
                 "labels": {"k": "v"}, "free": {"x": {"y": 1}},
                 "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 2},
                              "spec": {"z": 1}}},
        "status": {"ready": True, "phase": "x"},
        "top": 1,
    }
    dropped = schema.prune_unknown(SCHEMA, obj)
    assert dropped == ["metadata.bogus", "spec.extra", "spec.hosts[0].port", "spec.template.metadata.junk",
                       "status.phase", "top"]
    assert obj["spec"]["hosts"] == [{"name": "a"}]
    assert obj["spec"]["free"] == {"x": {"y": 1}}
    assert obj["spec"]["template"]["spec"] == {"z": 1}
    assert obj["metadata"] == {"name": "x", "labels": {"a": "b"}}
    assert "top" not in obj and obj["status"] == {"ready": True}


def test_prune_object_without_properties_drops_everything() -> None:
    obj = {"apiVersion": "a/v1", "kind": "K", "metadata": {}, "spec": {"a": 1}}
    assert schema.prune_unknown({"type": "object", "properties": {"spec": {"type": "object"}}}, obj) == ["spec.a"]
    assert obj["spec"] == {}


def test_combinators() -> None:
    s = {"type": "object", "properties": {
        "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        "size": {"type": "string", "anyOf": [{"pattern": "^[0-9]+$"}, {"enum": ["small", "large"]}]},
        "mode": {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        "name": {"type": "string", "allOf": [{"minLength": 2}, {"maxLength": 4}], "not": {"enum": ["root"]}}}}
    assert schema.crd_schema_errors(s, {"port": 80, "size": "12", "mode": {"a": 1}, "name": "abc"}) == []
    assert schema.crd_schema_errors(s, {"size": "huge"}) == [
        ("FieldValueInvalid", 'Invalid value: "": "size" must validate at least one schema (anyOf)', "<nil>"),
        ("FieldValueInvalid", "Invalid value: \"huge\": size in body should match '^[0-9]+$'", "size")]
    assert schema.crd_schema_errors(s, {"mode": {"a": 1, "b": 2}}) == [
        ("FieldValueInvalid", 'Invalid value: "": "mode" must validate one and only one schema (oneOf). Found 2 '
                              'valid alternatives', "<nil>")]
    assert schema.crd_schema_errors(s, {"mode": {}})[0][1].endswith("(oneOf). Found none valid")
    assert schema.crd_schema_errors(s, {"name": "a"}) == [
        ("FieldValueInvalid", 'Invalid value: "a": name in body should be at least 2 chars long', "name"),
        ("FieldValueInvalid", 'Invalid value: "": "name" must validate all the schemas (allOf)', "<nil>")]
    # a controller-gen IntOrString: the type error, then anyOf's own complaint and its best failure
    assert schema.crd_schema_errors(s, {"port": True}) == [
        ("FieldValueTypeInvalid", 'Invalid value: "boolean": port in body must be of type integer,string: "boolean"',
         "port"),
        ("FieldValueInvalid", 'Invalid value: "": "port" must validate at least one schema (anyOf)', "<nil>"),
        ("FieldValueTypeInvalid", 'Invalid value: "boolean": port in body must be of type integer: "boolean"', "port")]
    assert schema.crd_schema_errors(s, {"name": "root"}) == [
        ("FieldValueInvalid", 'Invalid value: "": "name" must not validate the schema (not)', "<nil>")]


def test_apply_defaults() -> None:
    s = {"type": "object", "properties": {"spec": {"type": "object", "default": {}, "properties": {
        "replicas": {"type": "integer", "default": 1},
        "mode": {"type": "string", "default": "fast", "nullable": True},
        "ports": {"type": "array", "items": {"type": "object", "properties": {
            "protocol": {"type": "string", "default": "TCP"}}}},
        "limits": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "max": {"type": "integer", "default": 10}}}}}}}}
    obj: dict[str, Any] = {}
    schema.crd_apply_defaults(s, obj)
    assert obj == {"spec": {"replicas": 1, "mode": "fast"}}
    obj = {"spec": {"replicas": None, "mode": None, "ports": [{}, {"protocol": "UDP"}], "limits": {"a": {}}}}
    schema.crd_apply_defaults(s, obj)
    assert obj == {"spec": {"replicas": 1, "mode": None, "ports": [{"protocol": "TCP"}, {"protocol": "UDP"}],
                            "limits": {"a": {"max": 10}}}}


def test_list_type_set_and_map_uniqueness() -> None:
    s = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                             "port": {"type": "integer"}}}},
        "rules": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
                  "items": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}}}}}
    obj = {"spec": {"tags": ["x", "y", "x", "x"], "ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}, {}],
                    "rules": [{"a": "p", "b": 1}, {"b": 1, "a": "p"}]}}
    assert schema.crd_schema_errors(s, obj) == [
        ("FieldValueDuplicate", 'Duplicate value: "x"', "spec.tags[2]"),
        ("FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"name":"a"}', "spec.ports[1]"),
        ("FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"a":"p", "b":1}', "spec.rules[1]")]
    assert schema.crd_schema_errors(s, {"spec": {"ports": [{"name": "a"}, "b"]}}) == [
        ("FieldValueTypeInvalid", 'Invalid value: "string": spec.ports[1] in body must be of type object: "string"',
         "spec.ports[1]"),
        ("FieldValueInvalid", 'Invalid value: "b": must be an object for an array of list-type map', "spec.ports[1]")]
